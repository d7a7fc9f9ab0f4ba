#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace tender::protocol {

// Stable error codes returned to clients. The string form (error_code_name) is the contract:
// clients match on it, so a code is never renamed or reused once released. New codes are added at
// the end of their group.
enum class errc {
  // http.* — the request could not be understood as HTTP
  bad_request,        // http.bad_request
  header_too_large,   // http.header_too_large
  body_too_large,     // http.body_too_large
  unsupported_media,  // http.unsupported_media_type
  request_timeout,    // http.request_timeout
  // route.* — the request was understood but addresses nothing here
  not_found,           // route.not_found
  method_not_allowed,  // route.method_not_allowed
  // service.* — the server cannot serve the request now
  not_ready,      // service.not_ready
  shutting_down,  // service.shutting_down
  overloaded,     // service.overloaded
  internal,       // service.internal
  // websocket.*
  ws_bad_message,        // websocket.bad_message
  ws_message_too_large,  // websocket.message_too_large
  // log.* — the audit log endpoints (/api/v1/log/...)
  log_bad_parameter,  // log.bad_parameter: a query parameter is unknown, repeated or malformed
  log_bad_range,      // log.bad_range: well-formed numbers outside what the log holds
  log_not_found,      // log.not_found: no such event, or no checkpoint yet
  // auth.* — who the caller is and what they may do
  auth_required,           // auth.required: no Authorization: Bearer token
  auth_invalid_token,      // auth.invalid_token: unknown, expired or revoked token
  auth_bad_signature,      // auth.bad_signature: the login signature does not verify
  auth_challenge_expired,  // auth.challenge_expired: the challenge expired or was used
  auth_forbidden,          // auth.forbidden: authenticated, but the role does not allow this
  // request.* — the body of a request
  request_bad_json,    // request.bad_json: not JSON, or a field missing, mistyped or unknown
  request_bad_header,  // request.bad_header: a header is malformed (Idempotency-Key...)
  request_bad_query,   // request.bad_query: a query parameter is unknown or malformed
  request_idempotency_conflict,   // request.idempotency_conflict: key reused for another request
  request_precondition_required,  // request.precondition_required: an update without If-Match
  request_version_conflict,       // request.version_conflict: If-Match is not the current ETag
  // identity.* — organisations, users and keys
  identity_bad_input,        // identity.bad_input: an id, kind, role or name breaks the rules
  identity_bad_key,          // identity.bad_key: not an Ed25519/SM2 SubjectPublicKeyInfo PEM
  identity_exists,           // identity.exists: the id or key is already registered
  identity_not_found,        // identity.not_found: no such organisation or user
  identity_bad_certificate,  // identity.bad_certificate: chain does not verify to a CA root
  // tender.* — projects, lots and their lifecycle
  tender_not_found,       // tender.not_found: no such tender (or not visible to the caller)
  tender_exists,          // tender.exists: the project code is taken
  tender_bad_state,       // tender.bad_state: not allowed in the tender's current state
  tender_rule_violation,  // tender.rule_violation: the rule pack refuses (days, bond ratio...)
  tender_bad_input,       // tender.bad_input: a field breaks the tender rules (not JSON shape)
  // document.* — tender documents and downloads
  document_not_found,  // document.not_found: no such document or version
  document_bad_input,  // document.bad_input: name, media type or digest refused
  // question.* — clarification questions (答疑)
  question_not_found,  // question.not_found: no such question
  question_closed,     // question.closed: already answered, or asked too late
  // notification.* — pushes to downloaders and their read receipts
  notification_not_found,  // notification.not_found: no such notification for this user
  // feed.* — the public change feed
  feed_bad_cursor,  // feed.bad_cursor: the cursor is not a sequence number the feed can use
};

std::string_view error_code_name(errc code);
// The code whose name is `name`, nullopt for a name that is not a public code. Lets a lower layer
// raise a public code by name (db::error("tender.not_found", ...)) without depending on this enum.
// Keep the loop bound in errors.cpp at the last enumerator.
std::optional<errc> errc_from_name(std::string_view name);
// The HTTP status that goes with a code.
unsigned http_status(errc code);

// The JSON body of every error response:
//   {"error":{"code":"route.not_found","message":"no route for GET /nope"}}
std::string error_body(errc code, std::string_view message);
std::string error_body(std::string_view code, std::string_view message);

}  // namespace tender::protocol
