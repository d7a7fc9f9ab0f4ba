#include <tender/protocol/health.hpp>

#include <boost/json.hpp>

#include <stdexcept>

namespace tender::protocol {
namespace json = boost::json;

namespace {

const json::object& as_object(const json::value& v, std::string_view what) {
  if (!v.is_object()) throw std::invalid_argument(std::string(what) + ": expected a JSON object");
  return v.get_object();
}

const json::value& field(const json::object& o, std::string_view name, std::string_view what) {
  const auto* v = o.if_contains(name);
  if (v == nullptr) {
    throw std::invalid_argument(std::string(what) + ": missing field '" + std::string(name) + "'");
  }
  return *v;
}

std::string string_field(const json::object& o, std::string_view name, std::string_view what) {
  const auto& v = field(o, name, what);
  if (!v.is_string()) {
    throw std::invalid_argument(std::string(what) + ": field '" + std::string(name) +
                                "' must be a string");
  }
  return std::string(v.get_string());
}

std::int64_t int_field(const json::object& o, std::string_view name, std::string_view what) {
  const auto& v = field(o, name, what);
  if (!v.is_int64() && !v.is_uint64()) {
    throw std::invalid_argument(std::string(what) + ": field '" + std::string(name) +
                                "' must be an integer");
  }
  return v.to_number<std::int64_t>();
}

json::value parse(std::string_view text, std::string_view what) {
  boost::system::error_code ec;
  auto v = json::parse(text, ec);
  if (ec) throw std::invalid_argument(std::string(what) + ": not JSON (" + ec.message() + ")");
  return v;
}

}  // namespace

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
  r.schema_version = int_field(o, "schema_version", what);
  r.expected_schema_version = int_field(o, "expected_schema_version", what);
  r.attempts = int_field(o, "attempts", what);
  return r;
}

}  // namespace tender::protocol
