#pragma once

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
  request_bad_json,  // request.bad_json: not JSON, or a field missing, mistyped or unknown
  // identity.* — organisations, users and keys
  identity_bad_input,  // identity.bad_input: an id, kind, role or name breaks the rules
  identity_bad_key,    // identity.bad_key: not an Ed25519/SM2 SubjectPublicKeyInfo PEM
  identity_exists,     // identity.exists: the id or key is already registered
  identity_not_found,  // identity.not_found: no such organisation or user
};

std::string_view error_code_name(errc code);
// The HTTP status that goes with a code.
unsigned http_status(errc code);

// The JSON body of every error response:
//   {"error":{"code":"route.not_found","message":"no route for GET /nope"}}
std::string error_body(errc code, std::string_view message);
std::string error_body(std::string_view code, std::string_view message);

}  // namespace tender::protocol
