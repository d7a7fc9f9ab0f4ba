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
  not_ready,             // service.not_ready
  shutting_down,         // service.shutting_down
  overloaded,            // service.overloaded
  internal,              // service.internal
  too_many_connections,  // service.too_many_connections: this address holds its connection limit
  rate_limited,          // service.rate_limited: too many requests of this kind from this address
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
  // upload.* — resumable (tus 1.0) uploads of sealed bids
  upload_bad_request,  // upload.bad_request: a tus header is missing or malformed (Upload-Length,
                       // Upload-Offset, Tus-Resumable...)
  upload_unsupported_version,  // upload.unsupported_version: Tus-Resumable names a protocol version
                               // this server does not speak
  upload_not_found,            // upload.not_found: no such upload for this caller
  upload_offset_mismatch,      // upload.offset_mismatch: Upload-Offset is not the upload's current
                               // offset
  upload_too_large,       // upload.too_large: Upload-Length above the maximum, or more bytes than
                          // declared
  upload_quota_exceeded,  // upload.quota_exceeded: the bidder's open uploads would exceed its quota
  upload_gone,        // upload.gone: the upload was terminated, voided at the deadline, or rejected
  upload_incomplete,  // upload.incomplete: the upload has not received all its bytes yet
  upload_tender_quota_exceeded,  // upload.tender_quota_exceeded: the bidder's stored files for
                                 // one tender (every bid kept, open uploads) would exceed its quota
  // bid.* — submitted bids, receipts, rehearsal
  bid_deadline_passed,  // bid.deadline_passed: the submission deadline has passed (database clock)
  bid_not_accepting,    // bid.not_accepting: the tender does not take bids now (draft, suspended,
                        // cancelled...)
  bid_bad_file,  // bid.bad_file: not a well-formed sealed bid (truncated, malformed; the sealed.*
                 // cause is in the message)
  bid_bad_signature,   // bid.bad_signature: the bidder's signature over the sealed file does not
                       // verify
  bid_unknown_signer,  // bid.unknown_signer: the file is signed by a key that is not an active key
                       // of the bidder
  bid_wrong_tender,    // bid.wrong_tender: the file is sealed for another tender or lot
  bid_wrong_bidder,    // bid.wrong_bidder: the file names another bidder than the uploader's
                       // organisation
  bid_wrong_policy,    // bid.wrong_policy: suite or key policy is not the one the tender requires
  bid_wrong_escrow_key,  // bid.wrong_escrow_key: the escrow recipient is not the tender's escrow
                         // key
  bid_not_found,         // bid.not_found: no current bid of the caller's organisation
  bid_rehearsal_failed,  // bid.rehearsal_failed: the rehearsal signature does not verify with the
                         // bid's rehearsal key
  // guarantee.* — electronic guarantees (电子保函)
  guarantee_malformed,  // guarantee.malformed: not a guarantee document (shape, fields, encoding)
  guarantee_not_found,  // guarantee.not_found: no such guarantee or application
  guarantee_unknown_issuer,  // guarantee.unknown_issuer: the issuer is not a registered guarantee
                             // issuer
  guarantee_bad_signature,   // guarantee.bad_signature: the issuer's signature does not verify
  guarantee_wrong_beneficiary,  // guarantee.wrong_beneficiary: the beneficiary is not the tenderer
  guarantee_wrong_applicant,    // guarantee.wrong_applicant: the applicant is not the caller's
                                // organisation
  guarantee_wrong_tender,       // guarantee.wrong_tender: the tender code or lot is not this one
  guarantee_under_amount,  // guarantee.under_amount: the amount is below the lot's required bond
  guarantee_expired,  // guarantee.expired: the guarantee is no longer valid, or its validity does
                      // not cover the bid validity
  guarantee_issued_late,  // guarantee.issued_late: issued after the submission deadline
  guarantee_revoked,      // guarantee.revoked: the issuer reports the guarantee revoked, claimed or
                          // released
  guarantee_issuer_unreachable,  // guarantee.issuer_unreachable: the issuer's status service did
                                 // not answer
  // bond.* — cash bid bonds (投标保证金)
  bond_bad_input,  // bond.bad_input: a cash bond record breaks the rules (amount, account, bidder)
  bond_not_found,  // bond.not_found: no such bond record
  // hall.* — the opening hall (protocol/docs/hall-protocol.md)
  hall_hello_required,  // hall.hello_required: the first message on a hall connection must be hello
  hall_already_joined,  // hall.already_joined: hello was already sent on this connection
  hall_bad_message,     // hall.bad_message: a hall message is malformed (not JSON, unknown type or
                        // action, bad parameter)
  hall_bad_cursor,      // hall.bad_cursor: `after` is beyond the hall's last event
  hall_duplicate_id,    // hall.duplicate_id: an act id already used on this connection
  hall_wrong_phase,     // hall.wrong_phase: the hall's phase does not allow this action now
  hall_forbidden,       // hall.forbidden: the viewer's hall role does not allow this action
  hall_already_done,    // hall.already_done: a one-time action was already taken
  hall_challenge_used,  // hall.challenge_used: the challenge of a signed action was used, expired
                        // or is unknown
  hall_bad_signature,   // hall.bad_signature: the signature of a signed hall action does not verify
  hall_not_public_yet,  // hall.not_public_yet: the public sees the hall only after the bidder list
                        // is published
  hall_window_closed,   // hall.window_closed: the decryption window is closed (database clock)
  hall_paused,          // hall.paused: the host paused the opening
  hall_suspended,       // hall.suspended: a supervisor suspended the opening
  hall_not_listed,      // hall.not_listed: the caller has no listed bid in that lot
  hall_too_many_attempts,    // hall.too_many_attempts: the bid's decryption attempts are used up
  hall_commitment_mismatch,  // hall.commitment_mismatch: a revealed nonce does not match its
                             // commitment
  hall_backup_mismatch,  // hall.backup_mismatch: the backup file was not sealed together with the
                         // sealed bid
  hall_no_backup,        // hall.no_backup: no backup file was uploaded for that bid
  hall_no_escrow,        // hall.no_escrow: the tender's key policy has no escrow
  hall_bad_share,        // hall.bad_share: a custodian's decryption share does not verify
  hall_too_early,        // hall.too_early: the step's time has not come (opening time, reveal wait)
  hall_not_found,        // hall.not_found: no such objection, bid or help request in this hall
  hall_record_not_ready,      // hall.record_not_ready: the opening record is not published yet
  hall_too_many_connections,  // hall.too_many_connections: the user holds its hall connection limit
  hall_rate_limited,          // hall.rate_limited: acts come faster than the connection's rate
  hall_hello_timeout,         // hall.hello_timeout: no hello within the deadline after connecting
  hall_too_many_ids,          // hall.too_many_ids: the connection used up its act ids; reconnect
  hall_viewers_full,  // hall.viewers_full: no room for one more public viewer; participants still
                      // get in
  // certificate.* — a key backed by a registered X.509 certificate is used (login, bid
  // completion, signed hall actions) while that certificate is not in force
  certificate_expired,        // certificate.expired: past its not_after (database clock)
  certificate_not_yet_valid,  // certificate.not_yet_valid: before its not_before
  certificate_revoked,        // certificate.revoked: listed by its CA's revocation list
  // ceremony.* — the custodians' escrow key ceremony (threshold-escrow.md §6.1)
  ceremony_not_found,     // ceremony.not_found: the tender has no key ceremony (yet)
  ceremony_wrong_round,   // ceremony.wrong_round: the ceremony does not take that message now
  ceremony_already_sent,  // ceremony.already_sent: this custodian already sent that message
  ceremony_bad_message,   // ceremony.bad_message: a point, commitment or proof does not verify
  ceremony_complaint_rejected,  // ceremony.complaint_rejected: the revealed share passes the
                                // Feldman check; the complaint is false
  ceremony_stale,  // ceremony.stale: the tender's escrow changed since the ceremony started
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
