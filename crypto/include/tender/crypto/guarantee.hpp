#pragma once

// Electronic guarantees (电子保函) and the signed messages around them, as
// protocol/docs/guarantee-api.md describes: the guarantee document, the issuer's live status
// answer and its status events (callbacks). The one implementation of their format, shared by
// tenderd and the issuer simulator (tools/guarantee-sim).
//
// Every signed message is an envelope {"<field>": {...}, "signature": base64, "signer": key
// fingerprint}; the signature (Ed25519 or SM2 through tender::crypto keys) covers a domain line
// followed by the canonical JSON of the inner object (keys sorted by bytes at every level, no
// whitespace). Times are UTC, "YYYY-MM-DDTHH:MM:SSZ"; money is in fen.

#include <tender/crypto/canonical_json.hpp>
#include <tender/crypto/keys.hpp>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tender::crypto::guarantee {

// crypto::error codes (the same names as the public API codes).
namespace codes {
inline constexpr const char* malformed = "guarantee.malformed";
inline constexpr const char* bad_signature = "guarantee.bad_signature";
}  // namespace codes

inline constexpr std::string_view document_type = "tenderhall.guarantee";
inline constexpr std::string_view status_type = "tenderhall.guarantee_status";
inline constexpr std::string_view event_type = "tenderhall.guarantee_event";

// Signature domains (each followed by the canonical JSON of the inner object).
inline constexpr std::string_view document_domain = "tenderhall/guarantee/v1\n";
inline constexpr std::string_view status_domain = "tenderhall/guarantee-status/v1\n";
inline constexpr std::string_view event_domain = "tenderhall/guarantee-event/v1\n";

// The guarantee statuses an issuer reports. Only `valid` lets a bid count.
bool valid_status(std::string_view s);  // valid | revoked | claimed | released
bool valid_kind(std::string_view s);    // bank | insurance | guarantee_company
// "YYYY-MM-DDTHH:MM:SSZ" with a plausible date and time.
bool valid_time(std::string_view s);

struct document {
  std::string number;       // the issuer's guarantee number, 1..64 of [A-Za-z0-9._/-]
  std::string kind;         // bank | insurance | guarantee_company
  std::string issuer;       // organisation id of the issuer on the platform
  std::string applicant;    // the bidder's organisation id
  std::string beneficiary;  // the tenderer's organisation id
  std::string tender_code;  // the tender's project code
  int lot = 0;
  std::int64_t amount = 0;  // fen
  std::string currency = "CNY";
  std::string valid_from;
  std::string valid_until;
  std::string issued_at;
  std::optional<std::string> application_code;  // integrated flow only
};

struct status_answer {
  std::string issuer;
  std::string number;
  std::string status;  // valid | revoked | claimed | released
  std::string as_of;
  std::string nonce;  // echoed from the query
};

struct event {
  std::string event_id;  // unique per issuer, 1..64 of [A-Za-z0-9._-]
  std::string issuer;
  std::string number;
  std::string status;  // revoked | claimed | released (or valid again)
  std::string occurred_at;
};

boost::json::object to_json(const document& d);
boost::json::object to_json(const status_answer& s);
boost::json::object to_json(const event& e);

// Strict parses of the inner objects: exactly the known fields with their types and shapes;
// throws crypto::error(codes::malformed) naming the field otherwise.
document parse_document(const boost::json::value& v);
status_answer parse_status(const boost::json::value& v);
event parse_event(const boost::json::value& v);

// Keys sorted by bytes at every level, no whitespace (tender/crypto/canonical_json.hpp).
using crypto::canonical_json;

// An envelope as received, not verified yet.
struct envelope {
  boost::json::object inner;  // the object under `field`
  std::string signer;         // fingerprint the sender claims
  bytes signature;
};

// {"<field>": inner, "signature": base64(sign(domain + canonical(inner))), "signer": fingerprint}.
boost::json::object seal(std::string_view field, std::string_view domain,
                         const boost::json::object& inner, const private_key& key);
// Splits an envelope {"<field>","signature","signer"} (exactly those keys); codes::malformed.
envelope open(const boost::json::value& v, std::string_view field);
// Checks the signer fingerprint names `key` and the signature verifies; codes::bad_signature.
void verify(const envelope& e, std::string_view domain, const public_key& key);

// Shorthands for the three messages.
inline boost::json::object sign_document(const document& d, const private_key& k) {
  return seal("document", document_domain, to_json(d), k);
}
inline boost::json::object sign_status(const status_answer& s, const private_key& k) {
  return seal("status", status_domain, to_json(s), k);
}
inline boost::json::object sign_event(const event& e, const private_key& k) {
  return seal("event", event_domain, to_json(e), k);
}

}  // namespace tender::crypto::guarantee
