#pragma once

// C2SP signed notes (c2sp.org/signed-note) with Ed25519 signatures, and transparency-log
// checkpoints in that form (c2sp.org/tlog-checkpoint). Compatible with Go's
// golang.org/x/mod/sumdb/note: its verifier keys, signer keys and notes are accepted and produced
// byte for byte.
//
//   <text, one or more lines, each ending in "\n">
//   <empty line>
//   — <key name> <base64(4-byte big-endian key id || signature)>     (one line per signature)
//
// key id (Ed25519) = SHA-256(key name || 0x0A || 0x01 || 32-byte public key)[:4]
// verifier key     = <name>+<8 hex digits key id>+<base64(0x01 || public key)>
// signer key       = PRIVATE+KEY+<name>+<8 hex digits key id>+<base64(0x01 || 32-byte seed)>
//
// Only Ed25519 (type 0x01) is implemented. SM2 (for gm deployments) is not: it would use type
// byte 0xff followed by a long identifier, as the spec reserves for unassigned types.

#include <tender/crypto/bytes.hpp>
#include <tender/crypto/merkle.hpp>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace tender::crypto::note {

// Error codes (crypto::error::code()).
inline constexpr const char* err_malformed = "note.malformed";  // layout is not a signed note
inline constexpr const char* err_too_large = "note.too_large";  // over note_limits::max_size
inline constexpr const char* err_too_many_lines = "note.too_many_lines";
inline constexpr const char* err_too_many_signatures = "note.too_many_signatures";
inline constexpr const char* err_bad_text = "note.bad_text";  // invalid UTF-8 or a control char
inline constexpr const char* err_bad_key_name = "note.bad_key_name";  // empty, spaces or '+'
inline constexpr const char* err_bad_key = "note.bad_key";            // unparsable vkey/skey
inline constexpr const char* err_key_id_mismatch =
    "note.key_id_mismatch";  // vkey id != computed id
inline constexpr const char* err_unsupported_key_type = "note.unsupported_key_type";
inline constexpr const char* err_ambiguous_key =
    "note.ambiguous_key";  // two known keys, same name+id
inline constexpr const char* err_duplicate_signature = "note.duplicate_signature";
inline constexpr const char* err_bad_signature =
    "note.bad_signature";  // a known key's signature fails
inline constexpr const char* err_no_known_signature = "note.no_known_signature";
inline constexpr const char* err_already_signed = "note.already_signed";  // cosign by a key present
inline constexpr const char* err_bad_checkpoint = "checkpoint.malformed";
inline constexpr const char* err_wrong_origin = "checkpoint.wrong_origin";

inline constexpr std::uint8_t sig_type_ed25519 = 0x01;

// Parsing limits. The spec requires accepting at least 16 signatures.
struct note_limits {
  std::size_t max_size = std::size_t{1} << 20;  // whole note, bytes
  std::size_t max_lines = 4096;                 // text lines
  std::size_t max_signatures = 64;
};

std::uint32_t key_id(std::string_view name, std::uint8_t type, byte_view public_key);
// Throws err_bad_key_name unless the name is non-empty valid UTF-8 without spaces, '+' or
// control characters.
void check_key_name(std::string_view name);

struct verifier_key {
  std::string name;
  std::uint32_t id = 0;
  std::uint8_t type = sig_type_ed25519;
  bytes public_key;  // 32 bytes for Ed25519
};

// Parses "<name>+<hex id>+<base64(type || key)>"; checks that the id matches the key.
verifier_key parse_verifier_key(std::string_view vkey);
std::string format_verifier_key(const verifier_key& key);

// An Ed25519 note signer. The seed lives in secure_bytes and is wiped with the signer.
class ed25519_signer {
public:
  static ed25519_signer generate(std::string name);
  static ed25519_signer from_seed(std::string name, byte_view seed);  // 32-byte seed
  // Parses a Go-style "PRIVATE+KEY+<name>+<hex id>+<base64(0x01 || seed)>" signer key.
  static ed25519_signer parse(std::string_view signer_key);

  // The signer key text; it is a secret, hence secure_bytes rather than a string.
  secure_bytes format_signer_key() const;
  const std::string& name() const { return name_; }
  std::uint32_t id() const { return id_; }
  verifier_key verifier() const;
  // The raw 64-byte Ed25519 signature of `message`.
  bytes sign(byte_view message) const;

private:
  ed25519_signer(std::string name, byte_view seed);
  std::string name_;
  std::uint32_t id_ = 0;
  bytes public_key_;
  secure_bytes secret_key_;  // libsodium's 64-byte form: seed || public key
};

struct signature {
  std::string name;
  std::uint32_t id = 0;
  bytes value;  // the signature without the 4-byte key id
  friend bool operator==(const signature&, const signature&) = default;
};

struct parsed_note {
  std::string text;  // including its final newline, excluding the blank separator line
  std::vector<signature> signatures;
};

// Splits a note into text and signature lines and checks every syntactic rule and limit. Verifies
// nothing: never act on the text of a parsed_note, only on that of an opened_note.
parsed_note parse(std::string_view note, const note_limits& limits = {});

struct opened_note {
  std::string text;
  std::vector<signature> verified;    // by known keys, in note order
  std::vector<signature> unverified;  // by keys not in the known list, ignored
};

// Parses and verifies: every signature by a known key (same name and id) must verify, at least
// one must be present, and signatures by unknown keys are ignored. Throws on any failure.
opened_note open(std::string_view note, std::span<const verifier_key> known,
                 const note_limits& limits = {});

// Signs `text` (which must end in a newline and obey the note rules) with each signer.
std::string sign(std::string_view text, std::span<const ed25519_signer* const> signers,
                 const note_limits& limits = {});
// Appends signatures to an existing note (a witness cosigning a checkpoint). The existing
// signatures are kept as they are, not verified; a signer whose key already signed is refused.
std::string add_signatures(std::string_view note, std::span<const ed25519_signer* const> signers,
                           const note_limits& limits = {});

// ---- Checkpoints (c2sp.org/tlog-checkpoint) ----------------------------------------------------

struct checkpoint {
  std::string origin;
  std::uint64_t size = 0;
  merkle::hash root{};
  std::vector<std::string> extensions;  // opaque, non-empty lines; discouraged by the spec
  friend bool operator==(const checkpoint&, const checkpoint&) = default;
};

// "<origin>\n<size>\n<base64 root>\n[<extension>\n...]"
std::string format_checkpoint(const checkpoint& cp);
// Strict: decimal size without leading zeros, a 32-byte root in padded base64, no empty lines.
checkpoint parse_checkpoint(std::string_view text);

std::string sign_checkpoint(const checkpoint& cp, std::span<const ed25519_signer* const> signers);

struct opened_checkpoint {
  checkpoint cp;
  opened_note note;
};
// Opens the note with `known` keys, parses its text as a checkpoint and checks its origin.
opened_checkpoint open_checkpoint(std::string_view note, std::string_view expected_origin,
                                  std::span<const verifier_key> known,
                                  const note_limits& limits = {});

}  // namespace tender::crypto::note
