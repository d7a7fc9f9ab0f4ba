#include <tender/api/queries.hpp>
#include <tender/api/rejected.hpp>

#include <algorithm>
#include <charconv>
#include <string>

namespace tender::api {
using protocol::errc;

std::optional<std::uint64_t> decimal(std::string_view text) {
  if (text.empty() || text.size() > 19) return std::nullopt;
  std::uint64_t v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return v;
}

int lot_number(std::string_view segment) {
  const auto v = decimal(segment);
  if (!v || *v < 1 || *v > 999) {
    refuse(errc::tender_not_found,
           "no lot '" + std::string(segment.substr(0, 20)) + "' (lots are numbered 1 to 999)");
  }
  return static_cast<int>(*v);
}

void no_query(std::string_view query) {
  if (!query.empty()) refuse(errc::request_bad_query, "this endpoint takes no query parameters");
}

events_query read_events_query(std::string_view query, std::size_t default_limit,
                               std::size_t max_limit) {
  events_query out;
  out.limit = default_limit;
  bool seen_after = false;
  bool seen_limit = false;
  // A sequence number or a limit: no leading zeros, at most 18 digits.
  auto number = [](std::string_view v) -> std::optional<std::int64_t> {
    if (v.size() > 18 || (v.size() > 1 && v.front() == '0')) return std::nullopt;
    const auto n = decimal(v);
    if (!n) return std::nullopt;
    return static_cast<std::int64_t>(*n);
  };
  while (!query.empty()) {
    const auto amp = query.find('&');
    const std::string_view part = query.substr(0, amp);
    const auto eq = part.find('=');
    if (eq == std::string_view::npos) {
      refuse(errc::request_bad_query,
             "query parameter '" + std::string(part.substr(0, 40)) + "' is not name=value");
    }
    const std::string name(part.substr(0, eq));
    const std::string_view value = part.substr(eq + 1);
    if (name == "after" && !seen_after) {
      seen_after = true;
      const auto v = number(value);
      if (!v) {
        refuse(errc::hall_bad_cursor, "'after' must be a hall sequence number (whole number >= 0)");
      }
      out.after = *v;
    } else if (name == "limit" && !seen_limit) {
      seen_limit = true;
      const auto v = number(value);
      if (!v || *v < 1) refuse(errc::request_bad_query, "'limit' must be a whole number >= 1");
      out.limit = static_cast<std::size_t>(
          std::min<std::int64_t>(*v, static_cast<std::int64_t>(max_limit)));
    } else {
      refuse(errc::request_bad_query,
             "unknown or repeated query parameter '" + name.substr(0, 40) + "' (after, limit)");
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return out;
}

}  // namespace tender::api
