#pragma once

// Private to tender::protocol: strict readers for JSON documents. Every failure throws
// std::invalid_argument whose message names the document (`what`) and the field, so a client
// or a test sees exactly what was wrong.

#include <boost/json.hpp>

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace tender::protocol::json_read {
namespace json = boost::json;

inline json::value parse(std::string_view text, std::string_view what) {
  boost::system::error_code ec;
  auto v = json::parse(text, ec);
  if (ec) throw std::invalid_argument(std::string(what) + ": not JSON (" + ec.message() + ")");
  return v;
}

inline const json::object& as_object(const json::value& v, std::string_view what) {
  if (!v.is_object()) throw std::invalid_argument(std::string(what) + ": expected a JSON object");
  return v.get_object();
}

inline const json::value& field(const json::object& o, std::string_view name,
                                std::string_view what) {
  const auto* v = o.if_contains(name);
  if (v == nullptr) {
    throw std::invalid_argument(std::string(what) + ": missing field '" + std::string(name) + "'");
  }
  return *v;
}

[[noreturn]] inline void wrong_type(std::string_view what, std::string_view name,
                                    std::string_view type) {
  throw std::invalid_argument(std::string(what) + ": field '" + std::string(name) + "' must be " +
                              std::string(type));
}

inline std::string string_field(const json::object& o, std::string_view name,
                                std::string_view what) {
  const auto& v = field(o, name, what);
  if (!v.is_string()) wrong_type(what, name, "a string");
  return std::string(v.get_string());
}

inline std::optional<std::string> nullable_string_field(const json::object& o,
                                                        std::string_view name,
                                                        std::string_view what) {
  const auto& v = field(o, name, what);
  if (v.is_null()) return std::nullopt;
  if (!v.is_string()) wrong_type(what, name, "a string or null");
  return std::string(v.get_string());
}

inline std::uint64_t u64_field(const json::object& o, std::string_view name,
                               std::string_view what) {
  const auto& v = field(o, name, what);
  if (v.is_uint64()) return v.get_uint64();
  if (v.is_int64() && v.get_int64() >= 0) return static_cast<std::uint64_t>(v.get_int64());
  wrong_type(what, name, "a non-negative integer");
}

inline std::vector<std::string> string_list_field(const json::object& o, std::string_view name,
                                                  std::string_view what) {
  const auto& v = field(o, name, what);
  if (!v.is_array()) wrong_type(what, name, "a list of strings");
  std::vector<std::string> out;
  for (const auto& item : v.get_array()) {
    if (!item.is_string()) wrong_type(what, name, "a list of strings");
    out.emplace_back(item.get_string());
  }
  return out;
}

inline std::int64_t i64_field(const json::object& o, std::string_view name, std::string_view what) {
  const auto& v = field(o, name, what);
  if (v.is_int64()) return v.get_int64();
  if (v.is_uint64() && v.get_uint64() <= static_cast<std::uint64_t>(INT64_MAX)) {
    return static_cast<std::int64_t>(v.get_uint64());
  }
  wrong_type(what, name, "an integer");
}

}  // namespace tender::protocol::json_read
