#pragma once

// Path segments and query strings shared by the endpoint families. Refusals throw
// rejected_request: request.bad_query, or tender.not_found for a lot that cannot exist.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace tender::api {

// A decimal number of at most 19 digits, nothing else; nullopt otherwise.
std::optional<std::uint64_t> decimal(std::string_view text);

// A {lot} path segment: 1..999 (tender.not_found "no lot '…'" otherwise).
int lot_number(std::string_view segment);

// An endpoint that takes no query string.
void no_query(std::string_view query);

// GET …/hall/events?after=&limit=
struct events_query {
  std::int64_t after = 0;
  std::size_t limit = 0;
};
// `limit` defaults to default_limit and is cut to max_limit; each name at most once.
events_query read_events_query(std::string_view query, std::size_t default_limit,
                               std::size_t max_limit);

}  // namespace tender::api
