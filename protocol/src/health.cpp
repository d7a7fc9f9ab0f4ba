#include <tender/protocol/health.hpp>

#include "json_read.hpp"

#include <boost/json.hpp>

#include <stdexcept>

namespace tender::protocol {
namespace json = boost::json;

using namespace json_read;  // parse, as_object, field, string_field

std::string to_json(const health& h) {
  return json::serialize(json::object{{"status", h.status},
                                      {"service", h.service},
                                      {"version", h.version},
                                      {"node_id", h.node_id},
                                      {"uptime_seconds", h.uptime_seconds}});
}

std::string to_json(const readiness& r) {
  return json::serialize(json::object{{"ready", r.ready},
                                      {"reason", r.reason},
                                      {"database", r.database},
                                      {"schema_version", r.schema_version},
                                      {"expected_schema_version", r.expected_schema_version},
                                      {"attempts", r.attempts}});
}

health parse_health(std::string_view text) {
  constexpr std::string_view what = "health";
  const auto v = parse(text, what);
  const auto& o = as_object(v, what);
  health h;
  h.status = string_field(o, "status", what);
  h.service = string_field(o, "service", what);
  h.version = string_field(o, "version", what);
  h.node_id = string_field(o, "node_id", what);
  const auto& up = field(o, "uptime_seconds", what);
  if (!up.is_number())
    throw std::invalid_argument("health: field 'uptime_seconds' must be a number");
  h.uptime_seconds = up.to_number<double>();
  return h;
}

readiness parse_readiness(std::string_view text) {
  constexpr std::string_view what = "readiness";
  const auto v = parse(text, what);
  const auto& o = as_object(v, what);
  readiness r;
  const auto& ready = field(o, "ready", what);
  if (!ready.is_bool()) throw std::invalid_argument("readiness: field 'ready' must be a boolean");
  r.ready = ready.get_bool();
  r.reason = string_field(o, "reason", what);
  r.database = string_field(o, "database", what);
  r.schema_version = i64_field(o, "schema_version", what);
  r.expected_schema_version = i64_field(o, "expected_schema_version", what);
  r.attempts = i64_field(o, "attempts", what);
  return r;
}

}  // namespace tender::protocol
