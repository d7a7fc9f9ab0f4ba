#include <tender/protocol/hall_messages.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <algorithm>

namespace tender::protocol {
namespace json = boost::json;
namespace {

hall_message_error malformed(std::string message) {
  return {std::nullopt, errc::hall_bad_message, std::move(message)};
}

hall_message hello_of(const json::object& o) {
  hall_hello h;
  for (const auto& [k, v] : o) {
    if (k == "type") continue;
    if (k == "token") {
      if (v.is_string()) {
        h.token = std::string(v.get_string());
      } else if (!v.is_null()) {
        return malformed("'token' must be a string or null");
      }
    } else if (k == "after") {
      if (v.is_int64() && v.get_int64() >= 0) {
        h.after = v.get_int64();
      } else if (v.is_uint64() && v.get_uint64() <= static_cast<std::uint64_t>(INT64_MAX)) {
        h.after = static_cast<std::int64_t>(v.get_uint64());
      } else if (!v.is_null()) {
        return malformed("'after' must be a sequence number (a whole number >= 0) or null");
      }
    } else if (k == "view") {
      if (v.is_string() && (v.get_string() == "full" || v.get_string() == "summary")) {
        h.summary = v.get_string() == "summary";
      } else {
        return malformed("'view' must be \"full\" or \"summary\"");
      }
    } else {
      return malformed("unknown field '" + std::string(k.substr(0, 40)) +
                       "' in hello (takes token, after, view)");
    }
  }
  return h;
}

hall_message act_of(const json::object& o) {
  const auto* idv = o.if_contains("id");
  if (idv == nullptr || !idv->is_string() || !valid_hall_act_id(idv->get_string())) {
    return malformed("'id' must be a string of 1 to 64 characters [A-Za-z0-9._:-]");
  }
  hall_act a;
  a.id = std::string(idv->get_string());
  if (const auto* av = o.if_contains("action"); av != nullptr && av->is_string()) {
    a.action = std::string(av->get_string());
  }
  for (const auto& [k, v] : o) {
    if (k == "type" || k == "id" || k == "action") continue;
    a.params[k] = v;
  }
  return a;
}

}  // namespace

bool valid_hall_act_id(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  return std::all_of(id.begin(), id.end(), [](char ch) {
    return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
           ch == '.' || ch == '_' || ch == ':' || ch == '-';
  });
}

hall_message decode_hall_message(std::string_view text) {
  boost::system::error_code ec;
  json::parse_options po;
  po.max_depth = 16;
  const auto v = json::parse(text, ec, {}, po);
  if (ec || !v.is_object()) return malformed("a message is one JSON object");
  const auto& o = v.get_object();
  const auto* type = o.if_contains("type");
  if (type == nullptr || !type->is_string())
    return malformed("a message needs a string field 'type'");
  const auto t = type->get_string();
  if (t == "ping") return hall_ping{};
  if (t == "hello") return hello_of(o);
  if (t == "act") return act_of(o);
  return malformed("unknown message type '" + std::string(t).substr(0, 32) +
                   "' (hello, act, ping)");
}

}  // namespace tender::protocol
