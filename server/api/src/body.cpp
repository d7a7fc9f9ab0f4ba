#include <tender/api/body.hpp>

#include <tender/crypto/bytes.hpp>
#include <tender/crypto/digest.hpp>

#include <boost/json.hpp>

#include <algorithm>
#include <cmath>
#include <regex>

namespace tender::api {
namespace json = boost::json;

namespace {

[[noreturn]] void refuse(std::string message) {
  throw rejected_request{protocol::errc::request_bad_json, std::move(message)};
}

[[noreturn]] void bad_header(std::string message) {
  throw rejected_request{protocol::errc::request_bad_header, std::move(message)};
}

std::string allowed_list(std::initializer_list<std::string_view> allowed) {
  std::string list;
  for (const auto a : allowed)
    list += (list.empty() ? "" : ", ") + std::string(a);
  return list;
}

}  // namespace

std::string json_type_name(const json::value& v) {
  switch (v.kind()) {
    case json::kind::null:
      return "null";
    case json::kind::bool_:
      return "a boolean";
    case json::kind::int64:
    case json::kind::uint64:
    case json::kind::double_:
      return "a number";
    case json::kind::string:
      return "a string";
    case json::kind::array:
      return "an array";
    case json::kind::object:
      return "an object";
  }
  return "a value";
}

body_reader::body_reader(std::string_view body, std::initializer_list<std::string_view> allowed,
                         body_limits limits)
    : limits_(limits) {
  boost::system::error_code ec;
  json::parse_options po;
  po.max_depth = limits.max_depth;
  owned_ = json::parse(body, ec, {}, po);
  if (ec) refuse("the body is not valid JSON: " + ec.message());
  if (!owned_.is_object()) refuse("the body must be a JSON object, got " + json_type_name(owned_));
  object_ = owned_.get_object();
  for (const auto& kv : object_) {
    const std::string_view key(kv.key().data(), kv.key().size());
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      refuse("unknown field '" + std::string(key) + "' (this endpoint takes " +
             allowed_list(allowed) + ")");
    }
  }
}

body_reader::body_reader(const json::value& v, std::string path,
                         std::initializer_list<std::string_view> allowed, body_limits limits)
    : path_(std::move(path)), limits_(limits) {
  if (!v.is_object()) refuse("field '" + path_ + "' must be an object, got " + json_type_name(v));
  object_ = v.get_object();
  for (const auto& kv : object_) {
    const std::string_view key(kv.key().data(), kv.key().size());
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      refuse("unknown field '" + path_ + "." + std::string(key) + "' (it takes " +
             allowed_list(allowed) + ")");
    }
  }
}

std::string body_reader::field_name(std::string_view name) const {
  return path_.empty() ? std::string(name) : path_ + "." + std::string(name);
}

bool body_reader::has(std::string_view name) const {
  return find(name) != nullptr;
}

const json::value* body_reader::find(std::string_view name) const {
  const auto* v = object_.if_contains(name);
  // An explicit null reads as absent, so optional fields can be cleared or omitted alike.
  if (v != nullptr && v->is_null()) return nullptr;
  return v;
}

const json::value& body_reader::require(std::string_view name) const {
  const auto* v = find(name);
  if (v == nullptr) refuse("field '" + field_name(name) + "' is required");
  return *v;
}

std::string body_reader::text(std::string_view name, std::size_t max_len) const {
  const auto& v = require(name);
  if (!v.is_string()) {
    refuse("field '" + field_name(name) + "' must be a string, got " + json_type_name(v));
  }
  const auto& s = v.get_string();
  const std::size_t limit = max_len != 0 ? max_len : limits_.max_string;
  if (s.empty()) refuse("field '" + field_name(name) + "' must not be empty");
  if (s.size() > limit) {
    refuse("field '" + field_name(name) + "' is " + std::to_string(s.size()) +
           " bytes long; the limit is " + std::to_string(limit));
  }
  return std::string(s);
}

std::optional<std::string> body_reader::optional_text(std::string_view name,
                                                      std::size_t max_len) const {
  if (!has(name)) return std::nullopt;
  return text(name, max_len);
}

std::int64_t body_reader::integer(std::string_view name, std::int64_t min, std::int64_t max) const {
  const auto& v = require(name);
  std::int64_t n = 0;
  if (v.is_int64()) {
    n = v.get_int64();
  } else if (v.is_uint64()) {
    refuse("field '" + field_name(name) + "' is too large; the limit is " + std::to_string(max));
  } else if (v.is_double() && std::floor(v.get_double()) == v.get_double() &&
             std::abs(v.get_double()) < 9.0e15) {
    n = static_cast<std::int64_t>(v.get_double());
  } else {
    refuse("field '" + field_name(name) + "' must be an integer, got " +
           (v.is_double() ? std::string("a fraction") : json_type_name(v)));
  }
  if (n < min || n > max) {
    refuse("field '" + field_name(name) + "' is " + std::to_string(n) + "; it must be between " +
           std::to_string(min) + " and " + std::to_string(max));
  }
  return n;
}

std::optional<std::int64_t> body_reader::optional_integer(std::string_view name, std::int64_t min,
                                                          std::int64_t max) const {
  if (!has(name)) return std::nullopt;
  return integer(name, min, max);
}

bool body_reader::boolean(std::string_view name) const {
  const auto& v = require(name);
  if (!v.is_bool()) {
    refuse("field '" + field_name(name) + "' must be true or false, got " + json_type_name(v));
  }
  return v.get_bool();
}

std::optional<bool> body_reader::optional_boolean(std::string_view name) const {
  if (!has(name)) return std::nullopt;
  return boolean(name);
}

std::string body_reader::one_of(std::string_view name,
                                std::initializer_list<std::string_view> values) const {
  const auto& v = require(name);
  if (!v.is_string()) {
    refuse("field '" + field_name(name) + "' must be a string, one of " + allowed_list(values) +
           "; got " + json_type_name(v));
  }
  const std::string_view s(v.get_string().data(), v.get_string().size());
  if (std::find(values.begin(), values.end(), s) == values.end()) {
    std::string shown(s.substr(0, 64));
    refuse("field '" + field_name(name) + "' is '" + shown + "'; it must be one of " +
           allowed_list(values));
  }
  return std::string(s);
}

std::optional<std::string> body_reader::optional_one_of(
    std::string_view name, std::initializer_list<std::string_view> values) const {
  if (!has(name)) return std::nullopt;
  return one_of(name, values);
}

const json::array& body_reader::array(std::string_view name, std::size_t max_items) const {
  const auto& v = require(name);
  if (!v.is_array()) {
    refuse("field '" + field_name(name) + "' must be an array, got " + json_type_name(v));
  }
  if (v.get_array().size() > max_items) {
    refuse("field '" + field_name(name) + "' has " + std::to_string(v.get_array().size()) +
           " items; the limit is " + std::to_string(max_items));
  }
  return v.get_array();
}

const json::array* body_reader::optional_array(std::string_view name, std::size_t max_items) const {
  if (!has(name)) return nullptr;
  return &array(name, max_items);
}

body_reader body_reader::object(std::string_view name,
                                std::initializer_list<std::string_view> allowed) const {
  return body_reader(require(name), field_name(name), allowed, limits_);
}

std::string body_reader::timestamp(std::string_view name) const {
  const std::string s = text(name, 64);
  static const std::regex shape(
      R"(^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})$)");
  if (!std::regex_match(s, shape)) {
    refuse("field '" + field_name(name) + "' is '" + s.substr(0, 64) +
           "'; it must be an RFC 3339 time with a zone, like 2026-12-01T09:30:00+08:00");
  }
  return s;
}

std::optional<std::string> body_reader::optional_timestamp(std::string_view name) const {
  if (!has(name)) return std::nullopt;
  return timestamp(name);
}

std::string single_text(std::string_view body, std::string_view field, std::size_t max_len) {
  // The field name is one of the endpoint's own; the reader wants a list of allowed names.
  const body_reader r(body, {field});
  return r.text(field, max_len);
}

std::optional<std::string> idempotency_key(const net::request& req) {
  const auto h = req.header("Idempotency-Key");
  if (!h) return std::nullopt;
  if (h->empty() || h->size() > 200) bad_header("Idempotency-Key must be 1 to 200 characters");
  for (const char c : *h) {
    if (c < 0x21 || c > 0x7e) {
      bad_header("Idempotency-Key must be visible ASCII characters (no spaces)");
    }
  }
  return std::string(*h);
}

std::int64_t required_if_match(const net::request& req) {
  const auto h = req.header("If-Match");
  if (!h) {
    throw rejected_request{protocol::errc::request_precondition_required,
                           "this update needs 'If-Match: <ETag>' with the ETag of the version "
                           "you read (GET the resource first)"};
  }
  const std::string_view v = *h;
  if (v.size() < 3 || v.size() > 21 || v.front() != '"' || v.back() != '"' ||
      !std::all_of(v.begin() + 1, v.end() - 1, [](char c) { return c >= '0' && c <= '9'; })) {
    bad_header("If-Match must be one ETag as sent by the server, like \"3\"; got '" +
               std::string(v.substr(0, 40)) + "'");
  }
  return std::stoll(std::string(v.substr(1, v.size() - 2)));
}

std::string etag(std::int64_t version) {
  return "\"" + std::to_string(version) + "\"";
}

std::string request_digest(const net::request& req) {
  std::string material = req.method + "\n" + req.path + "\n" + req.body;
  return crypto::to_hex(crypto::sha256(material));
}

}  // namespace tender::api
