#pragma once

#include <tender/protocol/errors.hpp>

#include <string>
#include <utility>

namespace tender::api {

// Thrown by a reader (or a handler) for input it refuses: answered with `code` and `message`;
// nothing changed.
struct rejected_request {
  protocol::errc code;
  std::string message;
};

// A request body that is not what the endpoint takes; answered 400 request.bad_json with the
// message, which names the field.
struct bad_json : rejected_request {
  explicit bad_json(std::string m)
      : rejected_request{protocol::errc::request_bad_json, std::move(m)} {}
};

[[noreturn]] inline void refuse(protocol::errc code, std::string message) {
  throw rejected_request{code, std::move(message)};
}

}  // namespace tender::api
