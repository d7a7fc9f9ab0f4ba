#pragma once

// The sealed bid file (format "THSB" v1), modelled on age v1 and extended for tendering.
//
//   file    = header || summary section || body || trailer
//   header  = fixed fields, recipient stanzas, HMAC keyed from the file key (key commitment)
//   summary = the opening summary (开标一览表) JSON plus a 32-byte commitment salt, sealed apart
//   from
//             the body so the hall can announce a bid without touching the (large) body
//   body    = 64 KiB chunks, each AEAD-sealed with nonce = 88-bit big-endian index || last flag
//             (STREAM), so truncation, extension, reordering and flipped bits are all detected
//   trailer = sizes, header digest, ciphertext digest, salted commitment to the plaintext, and the
//             bidder's signature over all of it (verifiable by the server without any secret)
//
// Every byte, label and check is specified in protocol/docs/sealed-bid-format.md.
//
// Key policies: `bidder` (file key wrapped to the bidder's encryption key(s) only),
// `bidder-or-escrow` (the same file key also wrapped to the tender's threshold escrow key), and
// `bidder-and-escrow` (file key = HKDF(part_b || part_e): part_b wrapped to the bidder, part_e to
// the escrow key, so both the bidder and k custodians are needed).
//
// Call tender::crypto::init() first. Streams must be opened in binary mode. Memory use is bounded
// by a few chunks whatever the size; sealing and opening hash on helper threads for bodies of more
// than one chunk (seal_params/open_options::parallel_hashing). Every failure throws
// tender::crypto::error with one of the codes below.

#include <tender/crypto/bytes.hpp>
#include <tender/crypto/escrow.hpp>
#include <tender/crypto/keys.hpp>
#include <tender/crypto/suite.hpp>

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tender::crypto::sealed {

// Stable error codes.
namespace codes {
inline constexpr const char* bad_magic = "sealed.bad_magic";  // not a sealed bid file
inline constexpr const char* unsupported_version = "sealed.unsupported_version";
inline constexpr const char* malformed_header = "sealed.malformed_header";  // bad field, limit,
                                                                            // non-canonical form
inline constexpr const char* header_mac =
    "sealed.header_mac";                                      // header altered (MAC fails with the
                                                              // right key), or a stanza carries a
                                                              // key that does not fit the header
inline constexpr const char* wrong_key = "sealed.wrong_key";  // key/secret does not open this file
inline constexpr const char* bad_stanza = "sealed.bad_stanza";  // stanza for this key is corrupt
inline constexpr const char* truncated = "sealed.truncated";    // file ends too early
inline constexpr const char* malformed_summary = "sealed.malformed_summary";
inline constexpr const char* summary_auth_failed = "sealed.summary_auth_failed";
inline constexpr const char* malformed_body = "sealed.malformed_body";  // chunk framing broken
inline constexpr const char* chunk_auth_failed = "sealed.chunk_auth_failed";
inline constexpr const char* trailing_data = "sealed.trailing_data";  // bytes after the final
                                                                      // chunk or the trailer
inline constexpr const char* malformed_trailer = "sealed.malformed_trailer";
inline constexpr const char* header_mismatch = "sealed.header_mismatch";  // trailer names another
                                                                          // header
inline constexpr const char* ciphertext_mismatch = "sealed.ciphertext_mismatch";
inline constexpr const char* commitment_mismatch = "sealed.commitment_mismatch";
inline constexpr const char* bad_signer = "sealed.bad_signer";  // signer key/certificate unusable
inline constexpr const char* bad_signature = "sealed.bad_signature";
inline constexpr const char* backup_mismatch = "sealed.backup_mismatch";
inline constexpr const char* bad_params = "sealed.bad_params";    // seal() called wrongly
inline constexpr const char* bad_summary = "sealed.bad_summary";  // summary JSON given to seal()
inline constexpr const char* bad_challenge = "sealed.bad_challenge";
inline constexpr const char* io_error = "sealed.io_error";  // stream read/write failure
}  // namespace codes

// Format constants and limits (see the format document for why each has its value).
inline constexpr std::uint8_t format_version = 1;
inline constexpr std::size_t chunk_size = 65536;
inline constexpr std::size_t file_key_size = 32;
inline constexpr std::size_t payload_nonce_size = 16;
inline constexpr std::size_t key_check_size = 16;
inline constexpr std::size_t digest_size = 32;
inline constexpr std::size_t salt_size = 32;
inline constexpr std::size_t max_header_size = 16384;
inline constexpr std::size_t max_stanzas = 8;
inline constexpr std::size_t max_id_size = 128;  // tender id, bidder id
inline constexpr std::size_t max_tool_version_size = 64;
inline constexpr std::size_t max_summary_json_size = 16384;
inline constexpr std::size_t max_signer_size = 8192;  // DER certificate
inline constexpr std::size_t max_challenge_size = 1024;

enum class key_policy : std::uint8_t { bidder = 1, bidder_or_escrow = 2, bidder_and_escrow = 3 };
// "bidder", "bidder-or-escrow", "bidder-and-escrow".
std::string_view policy_name(key_policy p);
key_policy policy_from_name(std::string_view name);  // throws bad_params

enum class stanza_type : std::uint8_t {
  x25519 = 1,               // sodium bidder recipient
  sm2 = 2,                  // gm bidder recipient
  escrow_ristretto255 = 3,  // sodium escrow
  escrow_sm2 = 4,           // gm escrow
};

struct stanza {
  stanza_type type = stanza_type::x25519;
  bytes recipient;  // raw public key / escrow point Y
  bytes ephemeral;  // X25519 ephemeral share or escrow R; empty for sm2
  bytes body;       // the wrapped 32-byte key (file key or part)
  bool is_escrow() const {
    return type == stanza_type::escrow_ristretto255 || type == stanza_type::escrow_sm2;
  }
};

struct header {
  std::uint8_t version = format_version;
  suite_id suite = suite_id::sodium;
  key_policy policy = key_policy::bidder;
  std::int64_t created_at = 0;  // Unix seconds, from the sealing machine's clock
  bytes payload_nonce;
  bytes key_check;
  std::string tender_id;
  std::string bidder_id;
  std::string tool_version;
  bytes rehearsal_public_key;  // raw Ed25519 (32) or SM2 (65)
  std::vector<stanza> stanzas;
  bytes mac;
  bytes encoded;  // the exact header bytes, MAC included

  const stanza* escrow_stanza() const;
};

// Strict, canonical parse of exactly one header (no bytes may follow). Checks every limit and
// layout rule but not the MAC (that needs the file key).
header parse_header(byte_view encoded);
// H(header bytes) with the suite hash: what the trailer and rehearsal bind to.
bytes header_digest(const header& h);

enum class signer_kind : std::uint8_t { raw_key = 1, certificate = 2 };

struct trailer {
  std::uint64_t body_size = 0;    // plaintext bytes in the body
  std::uint64_t chunk_count = 0;  // including the one empty chunk of an empty body
  bytes header_digest;
  bytes ciphertext_digest;  // H(summary section || body), the sealed bytes between header and
                            // trailer
  bytes commitment;         // H(label || salt || len || summary JSON || H(body plaintext))
  signer_kind kind = signer_kind::raw_key;
  bytes signer;     // raw public key or DER certificate
  bytes signature;  // over label || trailer bytes up to the signature
  bytes encoded;
};

struct file_layout {
  header hdr;
  trailer tr;
  std::uint64_t header_size = 0;
  std::uint64_t summary_section_size = 0;  // length prefix included
  std::uint64_t body_section_size = 0;     // frames and tags included
  std::uint64_t trailer_size = 0;
  std::uint64_t total_size = 0;
};

// -------------------------------------------------------------------------------------------
// Sealing

struct seal_params {
  suite_id suite = suite_id::sodium;
  key_policy policy = key_policy::bidder;
  std::string tender_id;
  std::string bidder_id;
  // The bidder's encryption public keys (X25519 for sodium, SM2 for gm), 1..7, distinct. Several
  // keys let a company seal to each of its CA locks.
  std::vector<public_key> bidder_keys;
  // The tender's escrow key; required by the two escrow policies, forbidden otherwise.
  std::optional<escrow::public_key> escrow_key;
  // The bidder's signing key (Ed25519 for sodium, SM2 for gm; for gm it may be the same SM2 key as
  // the encryption key, though CA practice is a separate signing certificate).
  private_key signing_key;
  // DER X.509 certificate of signing_key, embedded instead of the raw public key when given.
  std::optional<bytes> signing_certificate;
  std::string tool_version = "tenderhall-sealer/1";
  std::optional<std::int64_t> created_at;          // default: now
  std::optional<std::string> machine_fingerprint;  // default: machine_fingerprint()
  random_source* rng = nullptr;                    // default: system_random()
  // Hash the plaintext and the ciphertext on helper threads while the cipher runs (for bodies of
  // more than one chunk). The output is the same either way.
  bool parallel_hashing = true;
};

struct seal_result {
  header hdr;
  trailer tr;
  std::uint64_t file_size = 0;
};

// Seals `body` (read to its end) with the opening summary `summary_json` (a JSON object: price,
// duration, quality, project manager, ...; the sealer adds "machine_fingerprint" and
// "tool_version"). Writes the sealed file to `out`.
seal_result seal(const seal_params& params, std::string_view summary_json, std::istream& body,
                 std::ostream& out);

struct sealed_pair {
  seal_result primary;
  seal_result backup;
};

// Seals one plaintext twice in one pass: the primary file and a backup file (备用文件) with its own
// file key and recipients but the same summary, commitment salt and therefore the same commitment,
// so backup_check() can later prove they were made together. Both must have the same suite, tender
// id, bidder id and signing key.
sealed_pair seal_with_backup(const seal_params& primary, const seal_params& backup,
                             std::string_view summary_json, std::istream& body, std::ostream& out,
                             std::ostream& backup_out);

// SHA-256("tenderhall/machine/v1" || 0x00 || /etc/machine-id), hex. Hashed with a label so the
// raw machine id (which systemd asks applications not to disclose) never leaves the machine.
std::string machine_fingerprint();

// -------------------------------------------------------------------------------------------
// Looking at a file without keys

// Parses header and trailer and walks the chunk framing; no digest or signature is checked.
file_layout inspect(std::istream& file);

struct verify_result {
  file_layout layout;
  public_key signer_key;             // the key that made the signature
  std::optional<bytes> certificate;  // DER, when the file embeds one (verify its chain separately)
  bytes header_digest;
  bytes ciphertext_digest;
  bytes commitment;
};

// What the server runs at upload: full structure, header digest, ciphertext digest and the
// bidder's signature. When `expected_signer` is given the file must be signed by that key.
verify_result verify(std::istream& file, const public_key* expected_signer = nullptr);

// -------------------------------------------------------------------------------------------
// Keys

enum class key_kind { file_key, bidder_part };

struct unwrapped_key {
  key_kind kind = key_kind::file_key;  // bidder_part under bidder-and-escrow
  secure_bytes key;
};

// Finds the stanza addressed to `bidder_key`'s public key and unwraps it. Under the bidder and
// bidder-or-escrow policies the result is the file key, checked against the header (key check and
// MAC); under bidder-and-escrow it is the bidder's part, checked by re-deriving the header's
// rehearsal key. Throws wrong_key when no stanza is addressed to this key, bad_stanza when it does
// not decrypt, header_mac when it yields a key the header does not accept.
unwrapped_key unwrap_bidder(const header& h, const private_key& bidder_key);

// The escrow stanza's R (what custodians make decryption shares for). Throws bad_params if the
// policy has no escrow.
bytes escrow_ephemeral(const header& h);
escrow::public_key escrow_recipient(const header& h);

// The file key from the escrow secret S (escrow::combine()). Under bidder-and-escrow the bidder's
// part is needed too. Throws wrong_key when S does not open the escrow stanza.
secure_bytes file_key_from_escrow(const header& h, byte_view shared_secret,
                                  std::optional<byte_view> bidder_part = std::nullopt);

// The file key from both parts (bidder-and-escrow), checked against the header.
secure_bytes file_key_from_parts(const header& h, byte_view bidder_part, byte_view escrow_part);

// Checks a file key obtained elsewhere (e.g. submitted by the bidder's client) against the
// header: wrong_key if it is not this file's key, header_mac if the header was altered.
void check_file_key(const header& h, byte_view file_key);

// -------------------------------------------------------------------------------------------
// Opening with a file key

struct opened_summary {
  std::string json;  // as sealed: the caller's object plus machine_fingerprint and tool_version
  bytes salt;        // the commitment salt
};

// Decrypts only the header and the summary section; the body is not read.
opened_summary open_summary(std::istream& file, byte_view file_key);

struct open_result {
  // Structure, header digest, sizes and the signature, as verify() checks them. The ciphertext
  // digest is the trailer's (signed) value, not recomputed: every chunk authenticated under the
  // file key and the plaintext matched the signed commitment, which binds the opening to what the
  // bidder signed; verify() is the check of the exact sealed bytes.
  verify_result verified;
  opened_summary summary;
  std::uint64_t body_size = 0;
};

struct open_options {
  // Hash the plaintext (for the commitment check) on a helper thread while decrypting.
  bool parallel_hashing = true;
  // Recompute the commitment from the opened plaintext (one hash pass). Skipping it is sound only
  // for a file that passed verify() when it was stored and stayed immutable since: the signed
  // ciphertext digest and the key-committing header MAC then already fix the plaintext. The check
  // is what ties a backup file to the primary and what exposes a sealer that signed a commitment
  // to something else, so keep it on when either matters.
  bool check_commitment = true;
};

// Authenticates every chunk, checks the trailer (sizes, header digest, commitment, signature) and
// discards the plaintext.
open_result verify_body(std::istream& file, byte_view file_key, const open_options& options = {});

// As verify_body, writing the plaintext to `out` chunk by chunk. A chunk's plaintext is written
// only after it authenticated; if an exception is thrown, what was written so far must be
// discarded (the file was truncated or altered after that point).
open_result open_body(std::istream& file, byte_view file_key, std::ostream& out,
                      const open_options& options = {});

// Building block for open_summary, exposed for fuzzing: salt (32) || JSON object.
opened_summary parse_summary_plaintext(byte_view plaintext);

// -------------------------------------------------------------------------------------------
// Decryption rehearsal (解密演练)

// The signing key derived from the file key (bidder, bidder-or-escrow) or from the bidder's part
// (bidder-and-escrow); its public key is in the header.
class rehearsal_key {
public:
  suite_id suite() const { return suite_; }
  public_key public_part() const { return key_.public_part(); }
  // Signature over "tenderhall/sealed/v1/rehearsal" || 0x00 || challenge (1..1024 bytes).
  bytes sign(byte_view challenge) const;

private:
  friend rehearsal_key derive_rehearsal_key(const header& h, byte_view key_material);
  suite_id suite_ = suite_id::sodium;
  private_key key_;
};

// Throws wrong_key if the derived public key is not the header's.
rehearsal_key derive_rehearsal_key(const header& h, byte_view key_material);
bytes sign_rehearsal(const rehearsal_key& key, byte_view challenge);
bool verify_rehearsal(const header& h, byte_view challenge, byte_view signature);

// -------------------------------------------------------------------------------------------
// Backup files

struct backup_check_result {
  verify_result sealed;
  verify_result backup;
  bytes commitment;
};

// Verifies both files (structure and signatures) and checks that they were made by one sealing:
// same suite, tender, bidder, signer and commitment. No key is needed. Throws backup_mismatch.
backup_check_result backup_check(std::istream& sealed_file, std::istream& backup_file);
void backup_check(const verify_result& sealed_file, const verify_result& backup_file);

}  // namespace tender::crypto::sealed
