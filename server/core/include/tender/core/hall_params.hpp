#pragma once

// The parameters of each hall action (protocol/docs/hall-protocol.md §5) as one table, and their
// checking as a pure function: the hall checks an act's parameters before it opens a transaction,
// so a malformed act costs no connection and no lock, and the actions then read the checked values
// by name. Limits come from the table only, never from the code that reads a value.

#include <tender/core/hall_rules.hpp>

#include <boost/json/object.hpp>

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>

namespace tender::core {

enum class param_kind {
  text,     // a JSON string of min..max characters (UTF-8 code points)
  hex,      // a JSON string of exactly `max` lower-case hex digits (min == max)
  base64,   // a JSON string of standard padded base64 decoding to min..max bytes
  integer,  // a JSON integer in min..max
  object,   // a JSON object, or its serialised text (1..max bytes)
};

struct hall_param {
  std::string_view key;
  param_kind kind;
  bool required;
  std::int64_t min;
  std::int64_t max;
};

// The parameters `action` takes, in the order of the protocol's table; nullopt for an action the
// protocol does not have.
std::optional<std::span<const hall_param>> hall_action_params(std::string_view action);

// The checked parameters of one act. Built only by check_hall_params; reading a key the action's
// row does not declare is a programming error (std::logic_error), not a refusal.
class hall_params {
public:
  const std::string& action() const { return action_; }
  std::string text(std::string_view key) const;  // text, hex and base64 (the base64 text as sent)
  std::optional<std::string> optional_text(std::string_view key) const;
  std::int64_t integer(std::string_view key) const;
  std::optional<std::int64_t> optional_integer(std::string_view key) const;
  // An object parameter as JSON text (serialised when it came as an object).
  std::string object_text(std::string_view key) const;

private:
  friend std::variant<hall_params, hall_refusal> check_hall_params(std::string_view,
                                                                   const boost::json::object&);
  const hall_param& declared(std::string_view key, bool text_like) const;
  const boost::json::value* present(std::string_view key) const;
  [[noreturn]] void absent(std::string_view key) const;

  std::string action_;
  std::span<const hall_param> row_;
  boost::json::object values_;
};

// The act's parameters checked against its row: every declared one of the right kind and within
// its limits, the required ones present (null counts as absent), no other key. A refusal is
// hall.bad_message naming the parameter.
std::variant<hall_params, hall_refusal> check_hall_params(std::string_view action,
                                                          const boost::json::object& params);

// Standard padded base64 (RFC 4648 §4): the number of bytes `text` decodes to, or nullopt when it
// is not of that shape. Only the shape: the bytes themselves are decoded by whoever uses them.
std::optional<std::size_t> base64_decoded_size(std::string_view text);

}  // namespace tender::core
