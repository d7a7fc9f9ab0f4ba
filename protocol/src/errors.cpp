#include <tender/protocol/errors.hpp>

#include <boost/json.hpp>

namespace tender::protocol {

std::string_view error_code_name(errc code) {
  switch (code) {
    case errc::bad_request:
      return "http.bad_request";
    case errc::header_too_large:
      return "http.header_too_large";
    case errc::body_too_large:
      return "http.body_too_large";
    case errc::unsupported_media:
      return "http.unsupported_media_type";
    case errc::request_timeout:
      return "http.request_timeout";
    case errc::not_found:
      return "route.not_found";
    case errc::method_not_allowed:
      return "route.method_not_allowed";
    case errc::not_ready:
      return "service.not_ready";
    case errc::shutting_down:
      return "service.shutting_down";
    case errc::overloaded:
      return "service.overloaded";
    case errc::internal:
      return "service.internal";
    case errc::ws_bad_message:
      return "websocket.bad_message";
    case errc::ws_message_too_large:
      return "websocket.message_too_large";
    case errc::log_bad_parameter:
      return "log.bad_parameter";
    case errc::log_bad_range:
      return "log.bad_range";
    case errc::log_not_found:
      return "log.not_found";
    case errc::auth_required:
      return "auth.required";
    case errc::auth_invalid_token:
      return "auth.invalid_token";
    case errc::auth_bad_signature:
      return "auth.bad_signature";
    case errc::auth_challenge_expired:
      return "auth.challenge_expired";
    case errc::auth_forbidden:
      return "auth.forbidden";
    case errc::request_bad_json:
      return "request.bad_json";
    case errc::identity_bad_input:
      return "identity.bad_input";
    case errc::identity_bad_key:
      return "identity.bad_key";
    case errc::identity_exists:
      return "identity.exists";
    case errc::identity_not_found:
      return "identity.not_found";
  }
  return "service.internal";
}

unsigned http_status(errc code) {
  switch (code) {
    case errc::bad_request:
      return 400;
    case errc::header_too_large:
      return 431;
    case errc::body_too_large:
      return 413;
    case errc::unsupported_media:
      return 415;
    case errc::request_timeout:
      return 408;
    case errc::not_found:
      return 404;
    case errc::method_not_allowed:
      return 405;
    case errc::not_ready:
      return 503;
    case errc::shutting_down:
      return 503;
    case errc::overloaded:
      return 503;
    case errc::internal:
      return 500;
    case errc::ws_bad_message:
      return 400;
    case errc::ws_message_too_large:
      return 413;
    case errc::log_bad_parameter:
      return 400;
    case errc::log_bad_range:
      return 400;
    case errc::log_not_found:
      return 404;
    case errc::auth_required:
      return 401;
    case errc::auth_invalid_token:
      return 401;
    case errc::auth_bad_signature:
      return 401;
    case errc::auth_challenge_expired:
      return 401;
    case errc::auth_forbidden:
      return 403;
    case errc::request_bad_json:
      return 400;
    case errc::identity_bad_input:
      return 400;
    case errc::identity_bad_key:
      return 400;
    case errc::identity_exists:
      return 409;
    case errc::identity_not_found:
      return 404;
  }
  return 500;
}

std::string error_body(std::string_view code, std::string_view message) {
  boost::json::object err;
  err["code"] = code;
  err["message"] = message;
  boost::json::object body;
  body["error"] = std::move(err);
  return boost::json::serialize(body);
}

std::string error_body(errc code, std::string_view message) {
  return error_body(error_code_name(code), message);
}

}  // namespace tender::protocol
