#pragma once

// The client-to-server messages of the opening hall's WebSocket (protocol/docs/hall-protocol.md
// §4), decoded from text without any state: what a message says, or why it is malformed. What the
// server then does with it (joined yet? rate? whose action?) is the hall's business.

#include <tender/protocol/errors.hpp>

#include <boost/json/object.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace tender::protocol {

struct hall_ping {};

// {"type":"hello","token"?,"after"?,"view"?}
struct hall_hello {
  std::optional<std::string> token;  // absent, null or "" join as the public
  std::optional<std::int64_t> after;
  bool summary = false;  // "view":"summary"
};

// {"type":"act","id","action",...parameters}
struct hall_act {
  std::string id;  // 1..64 of [A-Za-z0-9._:-]
  // The action as sent, when it is a string; its checking is the hall's (it comes after the id's).
  std::optional<std::string> action;
  boost::json::object params;  // every field but type, id and action
};

// A malformed message: the code (hall.bad_message) and a message for people, with the act's id
// when it was valid.
struct hall_message_error {
  std::optional<std::string> id;
  errc code = errc::hall_bad_message;
  std::string message;
};

using hall_message = std::variant<hall_ping, hall_hello, hall_act, hall_message_error>;

hall_message decode_hall_message(std::string_view text);

// 1..64 of [A-Za-z0-9._:-]
bool valid_hall_act_id(std::string_view id);

}  // namespace tender::protocol
