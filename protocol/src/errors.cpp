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
    case errc::request_bad_header:
      return "request.bad_header";
    case errc::request_bad_query:
      return "request.bad_query";
    case errc::request_idempotency_conflict:
      return "request.idempotency_conflict";
    case errc::request_precondition_required:
      return "request.precondition_required";
    case errc::request_version_conflict:
      return "request.version_conflict";
    case errc::identity_bad_certificate:
      return "identity.bad_certificate";
    case errc::tender_not_found:
      return "tender.not_found";
    case errc::tender_exists:
      return "tender.exists";
    case errc::tender_bad_state:
      return "tender.bad_state";
    case errc::tender_rule_violation:
      return "tender.rule_violation";
    case errc::tender_bad_input:
      return "tender.bad_input";
    case errc::document_not_found:
      return "document.not_found";
    case errc::document_bad_input:
      return "document.bad_input";
    case errc::question_not_found:
      return "question.not_found";
    case errc::question_closed:
      return "question.closed";
    case errc::notification_not_found:
      return "notification.not_found";
    case errc::feed_bad_cursor:
      return "feed.bad_cursor";
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
    case errc::request_bad_header:
      return 400;
    case errc::request_bad_query:
      return 400;
    case errc::request_idempotency_conflict:
      return 409;
    case errc::request_precondition_required:
      return 428;
    case errc::request_version_conflict:
      return 412;
    case errc::identity_bad_certificate:
      return 400;
    case errc::tender_not_found:
      return 404;
    case errc::tender_exists:
      return 409;
    case errc::tender_bad_state:
      return 409;
    case errc::tender_rule_violation:
      return 422;
    case errc::tender_bad_input:
      return 400;
    case errc::document_not_found:
      return 404;
    case errc::document_bad_input:
      return 400;
    case errc::question_not_found:
      return 404;
    case errc::question_closed:
      return 409;
    case errc::notification_not_found:
      return 404;
    case errc::feed_bad_cursor:
      return 400;
  }
  return 500;
}

std::optional<errc> errc_from_name(std::string_view name) {
  for (int i = 0; i <= static_cast<int>(errc::feed_bad_cursor); ++i) {
    const auto c = static_cast<errc>(i);
    if (error_code_name(c) == name) return c;
  }
  return std::nullopt;
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
