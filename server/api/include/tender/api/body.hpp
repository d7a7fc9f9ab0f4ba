#pragma once

// Strict reading of request bodies and the headers of creates and updates, shared by every
// endpoint family. Every refusal throws a rejected_request (answered 400 with a message that
// names the field, nothing changed): malformed JSON, a field missing, of the wrong type, too long,
// out of range, not one of the allowed values, or not known to the endpoint.

#include <tender/api/rejected.hpp>
#include <tender/net/http.hpp>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tender::api {

// Limits every body is parsed under, whatever the route's byte limit.
struct body_limits {
  unsigned max_depth = 8;
  std::size_t max_string = 4096;  // default max length of a text field, in bytes
};

class body_reader {
public:
  // Parses `body` as a JSON object whose keys are all in `allowed`.
  body_reader(std::string_view body, std::initializer_list<std::string_view> allowed,
              body_limits limits = {});
  // For nested objects (an element of an array field): `path` prefixes field names in messages,
  // e.g. "lots[0]".
  body_reader(const boost::json::value& v, std::string path,
              std::initializer_list<std::string_view> allowed, body_limits limits = {});

  bool has(std::string_view name) const;
  // Text of 1..max_len bytes (UTF-8 as parsed). Missing → "field 'x' is required".
  std::string text(std::string_view name, std::size_t max_len = 0) const;
  std::optional<std::string> optional_text(std::string_view name, std::size_t max_len = 0) const;
  // An integer (JSON number without fraction) in [min, max].
  std::int64_t integer(std::string_view name, std::int64_t min, std::int64_t max) const;
  std::optional<std::int64_t> optional_integer(std::string_view name, std::int64_t min,
                                               std::int64_t max) const;
  bool boolean(std::string_view name) const;
  std::optional<bool> optional_boolean(std::string_view name) const;
  // A string that must be one of `values` ("field 'kind' must be one of works, goods, services").
  std::string one_of(std::string_view name, std::initializer_list<std::string_view> values) const;
  std::optional<std::string> optional_one_of(std::string_view name,
                                             std::initializer_list<std::string_view> values) const;
  // An array of at most max_items elements (of any JSON type; read them with element readers).
  const boost::json::array& array(std::string_view name, std::size_t max_items) const;
  const boost::json::array* optional_array(std::string_view name, std::size_t max_items) const;
  // A nested object read with the same rules.
  body_reader object(std::string_view name, std::initializer_list<std::string_view> allowed) const;
  // An RFC 3339 timestamp with an explicit offset or Z ("2026-12-01T09:30:00+08:00"); returned as
  // given (PostgreSQL parses it). Only the shape is checked here.
  std::string timestamp(std::string_view name) const;
  std::optional<std::string> optional_timestamp(std::string_view name) const;

  const boost::json::object& fields() const { return object_; }
  // "lots[0].title" for a nested reader, "title" at the top.
  std::string field_name(std::string_view name) const;

private:
  const boost::json::value* find(std::string_view name) const;
  const boost::json::value& require(std::string_view name) const;

  boost::json::value owned_;
  boost::json::object object_;
  std::string path_;
  body_limits limits_;
};

// A body of one text field, {"<field>": 1..max_len bytes}: questions and answers.
std::string single_text(std::string_view body, std::string_view field, std::size_t max_len);

// "a string", "a number"... for messages.
std::string json_type_name(const boost::json::value& v);

// The Idempotency-Key header of a create: nullopt when absent; 400 request.bad_header unless it is
// 1..200 visible ASCII characters.
std::optional<std::string> idempotency_key(const net::request& req);

// The version an update is conditioned on: If-Match must be present (428
// request.precondition_required) and be one quoted ETag of the form "\"<decimal version>\"" (400
// request.bad_header otherwise). ETags are strong and are the row's version number.
std::int64_t required_if_match(const net::request& req);
// The ETag header value of a version: "\"7\"".
std::string etag(std::int64_t version);

// Hex SHA-256 of method, path and body: the digest an idempotency key is bound to.
std::string request_digest(const net::request& req);

}  // namespace tender::api
