#pragma once

// The audit log as it crosses the wire: one event's fields, their canonical leaf encoding (the
// bytes an auditor hashes into the Merkle tree), and the JSON bodies of the /api/v1/log/*
// endpoints. Shared by tenderd and the client SDK so that both sides encode a leaf the same way.
// protocol/docs/audit-log.md is the reference for everything here.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tender::protocol::audit {

// Limits on the text fields, in bytes. They keep a leaf small and a page of events bounded.
inline constexpr std::size_t max_actor_bytes = 256;
inline constexpr std::size_t max_role_bytes = 64;
inline constexpr std::size_t max_action_bytes = 128;
inline constexpr std::size_t max_subject_bytes = 256;

// The version tag that starts every leaf. A new encoding gets a new tag, never a reuse, so a
// verifier reads the version from the leaf itself.
inline constexpr std::string_view leaf_tag_v1 = "tenderhall/audit-event/v1";
// v2 adds the event's salt as a ninth field. Every event appended since the salt exists is v2;
// v1 leaves written before stay as they are and still verify.
inline constexpr std::string_view leaf_tag_v2 = "tenderhall/audit-event/v2";

// The salt: 32 random bytes drawn by the server at append time, written as 64 lower-case hex
// digits. The checkpoint and the inclusion proofs are public and carry leaf hashes; most event
// fields are guessable (who might have downloaded which document of which tender, when), so
// without a secret in the leaf anyone could hash a guess and confirm it against a proof. The
// salt is served only to those allowed to read the events, and to a bidder in its own receipt.
inline constexpr std::size_t salt_bytes = 32;

// One event, as recorded. `time` comes from the database clock and is always written
// "YYYY-MM-DDTHH:MM:SS.ffffffZ" (UTC, exactly six fraction digits) so that its text is canonical.
struct event {
  std::uint64_t seq = 0;
  std::string time;
  std::string actor;                   // who: "tenderd:<node id>", later a user id
  std::string role;                    // in which role: "system", later "bidder", "host", ...
  std::string action;                  // what: "system.node_started", later "tender.published", ...
  std::optional<std::string> subject;  // the tender (or other object) concerned
  std::optional<std::string> payload_digest;  // SHA-256 of the request payload, 64 hex digits
  // 64 lower-case hex digits (salt_bytes): the leaf is v2. Absent: a v1 event, logged before
  // salts existed.
  std::optional<std::string> salt;
  friend bool operator==(const event&, const event&) = default;
};

// Empty when the fields obey the rules below, otherwise what is wrong (for an error message):
//   actor, role, action: non-empty, within their byte limits, no control characters;
//   subject: absent, or non-empty within its limit with no control characters;
//   payload_digest: absent, or exactly 64 lower-case hex digits;
//   salt: absent, or exactly 64 lower-case hex digits;
//   time: the canonical form above.
// Because subject and payload_digest are never empty when present, the leaf can write an absent
// one as an empty field without ambiguity.
std::string check_event(const event& e);

// The canonical leaf data, each field a 4-byte big-endian length followed by its bytes:
//   v1 (no salt):  leaf_tag_v1, decimal seq, time, actor, role, action, subject or "",
//                  payload_digest or ""
//   v2 (salt):     leaf_tag_v2, the same seven fields, salt
// The Merkle leaf hash is SHA-256(0x00 || leaf_data) (RFC 6962).
std::string leaf_data(const event& e);

// The event a leaf encodes, or nullopt when `data` is not the canonical v1 or v2 encoding of
// fields that pass check_event (so leaf_data(*result) == data). `why` says what is wrong.
std::optional<event> parse_leaf_data(std::string_view data, std::string* why = nullptr);

// ---- JSON bodies --------------------------------------------------------------------------------

// An event with its leaf, as GET /api/v1/log/events and /events/{seq} return it.
struct event_record {
  event fields;
  std::string leaf_data_base64;  // the stored leaf bytes, standard padded base64
  std::string leaf_hash_hex;     // the stored leaf hash, 64 lower-case hex digits
  // Withheld from this reader (audit-log.md §4): only seq, time and leaf_hash are real; the
  // other fields and leaf_data are empty. The leaf hash still lets the reader check the tree.
  bool withheld = false;
};

// GET /api/v1/log/events?from=F&limit=L
struct event_page {
  std::uint64_t log_size = 0;  // the log's size when the page was read
  std::uint64_t from = 0;
  std::vector<event_record> events;
  std::optional<std::uint64_t> next;  // where the next page starts; absent at the end
};

// GET /api/v1/log/proof/inclusion?index=I&size=S
struct inclusion_proof {
  std::uint64_t index = 0;
  std::uint64_t size = 0;
  std::string leaf_hash_hex;
  std::vector<std::string> proof_hex;  // RFC 6962 audit path, deepest sibling first
};

// GET /api/v1/log/proof/consistency?old=A&new=B
struct consistency_proof {
  std::uint64_t old_size = 0;
  std::uint64_t new_size = 0;
  std::vector<std::string> proof_hex;
};

std::string to_json(const event_record& r);
std::string to_json(const event_page& p);
std::string to_json(const inclusion_proof& p);
std::string to_json(const consistency_proof& p);

// Throw std::invalid_argument with a precise message when the body does not have the right shape.
// They check shapes only (types, hex and base64 alphabets are not decoded here); the verifier
// decides what the values mean.
event_record parse_event_record(std::string_view json);
event_page parse_event_page(std::string_view json);
inclusion_proof parse_inclusion_proof(std::string_view json);
consistency_proof parse_consistency_proof(std::string_view json);

}  // namespace tender::protocol::audit
