#pragma once

// The bodies and queries of /api/v1/tenders (docs/TENDERS.md), read strictly into normalised
// JSON (times as epoch seconds) for the repository. Every refusal throws rejected_request
// (request.bad_json, request.bad_query) naming the field.

#include <boost/json/object.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace tender::api {

// A create: every required field, with the rule pack's defaults filled in.
boost::json::object tender_create(std::string_view body);
// A PATCH of a draft: the fields present (at least one).
boost::json::object tender_patch(std::string_view body);

// An amendment of a published tender: why, and what changes (title, times, lots).
struct tender_amendment {
  std::string reason;
  boost::json::object changes;
};
tender_amendment read_tender_amendment(std::string_view body);

// {"reason"} (1..2000 characters): cancel and suspend.
std::string reason_body(std::string_view body);
// Empty, or {"reason"?}: resume.
std::optional<std::string> optional_reason_body(std::string_view body);
// Empty (whitespace) or {}: publish, revocations.
void empty_body(std::string_view body);

// GET /api/v1/tenders?state=&owner=&after=&limit=
struct tender_list_query {
  std::string state;  // empty: any
  std::string owner;
  std::string after;
  int limit = 50;
};
tender_list_query read_tender_list_query(std::string_view query);

}  // namespace tender::api
