#pragma once

// Private to the client SDK: reading the fields of a JSON answer, each mismatch reported as
// client.bad_response naming the call. Shared by the per-area call files (documents, bids, ...).

#include <tender/client/client.hpp>

#include <boost/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tender::client::detail {

[[noreturn]] inline void bad_shape(std::string_view what) {
  throw error("client.bad_response", "unexpected answer from " + std::string(what));
}

inline boost::json::object object_of(std::string_view body, std::string_view what) {
  boost::system::error_code ec;
  auto v = boost::json::parse(body, ec);
  if (ec || !v.is_object()) bad_shape(what);
  return std::move(v.get_object());
}

inline const boost::json::value& field(const boost::json::object& o, std::string_view key,
                                       std::string_view what) {
  const auto* v = o.if_contains(key);
  if (v == nullptr) bad_shape(what);
  return *v;
}

inline std::string str(const boost::json::object& o, std::string_view key, std::string_view what) {
  const auto& v = field(o, key, what);
  if (!v.is_string()) bad_shape(what);
  return std::string(v.get_string());
}

inline std::optional<std::string> opt_str(const boost::json::object& o, std::string_view key,
                                          std::string_view what) {
  const auto* v = o.if_contains(key);
  if (v == nullptr || v->is_null()) return std::nullopt;
  if (!v->is_string()) bad_shape(what);
  return std::string(v->get_string());
}

inline std::int64_t num(const boost::json::object& o, std::string_view key, std::string_view what) {
  const auto& v = field(o, key, what);
  if (v.is_int64()) return v.get_int64();
  if (v.is_uint64() && v.get_uint64() <= static_cast<std::uint64_t>(INT64_MAX)) {
    return static_cast<std::int64_t>(v.get_uint64());
  }
  bad_shape(what);
}

}  // namespace tender::client::detail
