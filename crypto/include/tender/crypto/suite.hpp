#pragma once

// Cipher suites: one abstraction, two implementations.
//
//   sodium  X25519 key wrapping, ChaCha20-Poly1305 (IETF, libsodium), Ed25519 signatures
//   (libsodium),
//           SHA-256, HKDF-SHA-256 / HMAC-SHA-256 (OpenSSL EVP_KDF/EVP_MAC: libsodium 1.0.18 has no
//           HKDF).
//   gm      SM2 public-key encryption for key wrapping, SM2 signatures with the distinguishing ID
//   set,
//           SM3, HKDF-SM3 / HMAC-SM3, and — because OpenSSL 3.0 has no SM4-GCM — SM4-CTR followed
//           by HMAC-SM3 over nonce || ciphertext (encrypt-then-MAC) as the AEAD.
//
// The exact constructions are specified in protocol/docs/sealed-bid-format.md; the sealed-bid code
// reaches every primitive through cipher_suite so that the format is written once.

#include <tender/crypto/bytes.hpp>
#include <tender/crypto/keys.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>

namespace tender::crypto {

namespace suite_codes {
inline constexpr const char* unknown = "suite.unknown";    // name or id of no suite
inline constexpr const char* bad_key = "suite.bad_key";    // AEAD/HMAC key of the wrong size
inline constexpr const char* internal = "suite.internal";  // library failure
}  // namespace suite_codes

enum class suite_id : std::uint8_t { sodium = 1, gm = 2 };

// "sodium" / "gm".
std::string_view suite_name(suite_id id);
// Throws suite_codes::unknown.
suite_id suite_from_name(std::string_view name);
suite_id suite_from_byte(std::uint8_t value);

// Where the sealer gets its randomness. Tests and the vector generator inject a deterministic
// source so that files can be reproduced byte for byte; production uses system_random().
class random_source {
public:
  virtual ~random_source() = default;
  virtual void fill(std::span<std::uint8_t> out) = 0;
};

// libsodium's randombytes_buf (getrandom(2)).
random_source& system_random();

// A reproducible stream: ChaCha20 keyed by SHA-256(seed), nonce = a block counter. For tests and
// vectors only — never for real bids.
class deterministic_random final : public random_source {
public:
  explicit deterministic_random(byte_view seed);
  void fill(std::span<std::uint8_t> out) override;

private:
  secure_bytes key_;
  std::uint64_t counter_ = 0;
};

using aead_nonce = std::array<std::uint8_t, 12>;

// Incremental hash with the suite's hash function (SHA-256 or SM3, both 32 bytes).
class hasher {
public:
  virtual ~hasher() = default;
  virtual void update(byte_view data) = 0;
  virtual bytes finish() = 0;  // the hasher is spent afterwards
};

// An AEAD bound to one key, reused for every chunk of a stream. No associated data: every use in
// the format has its own derived key, and the nonce carries the chunk position.
class aead {
public:
  virtual ~aead() = default;
  virtual std::size_t tag_size() const = 0;
  // out.size() must be plaintext.size() + tag_size(); writes ciphertext || tag.
  virtual void seal(const aead_nonce& nonce, byte_view plaintext, std::span<std::uint8_t> out) = 0;
  // sealed = ciphertext || tag; out.size() must be sealed.size() - tag_size(). Returns false when
  // authentication fails, and then `out` holds only zeroes: unauthenticated plaintext is never
  // released.
  [[nodiscard]] virtual bool open(const aead_nonce& nonce, byte_view sealed,
                                  std::span<std::uint8_t> out) = 0;
};

class cipher_suite {
public:
  static constexpr std::size_t hash_size = 32;

  virtual ~cipher_suite() = default;
  virtual suite_id id() const = 0;
  std::string_view name() const { return suite_name(id()); }
  virtual std::string_view hash_name() const = 0;  // "SHA-256" / "SM3"

  virtual std::unique_ptr<hasher> make_hasher() const = 0;
  bytes hash(byte_view data) const;
  // RFC 5869 HKDF (extract then expand) with the suite hash.
  virtual secure_bytes hkdf(byte_view ikm, byte_view salt, byte_view info,
                            std::size_t size) const = 0;
  virtual bytes hmac(byte_view key, byte_view data) const = 0;

  // sodium: 32-byte ChaCha20-Poly1305 key, 16-byte tag.
  // gm: 48 bytes = SM4 key (16) || HMAC-SM3 key (32), 32-byte tag.
  virtual std::size_t aead_key_size() const = 0;
  virtual std::size_t aead_tag_size() const = 0;
  virtual std::unique_ptr<aead> make_aead(byte_view key) const = 0;

  virtual key_type encryption_key_type() const = 0;  // x25519 / sm2
  virtual key_type signature_key_type() const = 0;   // ed25519 / sm2
  // A signing key derived deterministically from `seed` (32 uniformly random bytes): the Ed25519
  // seed itself, or for SM2 d = (OS2IP(HKDF-SM3(seed, "", info, 40)) mod (n-2)) + 1.
  virtual private_key derive_signing_key(byte_view seed) const = 0;
};

// The two suites are stateless singletons, safe to use from many threads.
const cipher_suite& get_suite(suite_id id);

// Raw cipher speed, for the benchmark's baseline: encrypts `total_bytes` of zeroes in `chunk_size`
// pieces straight through the library (libsodium crypto_aead_chacha20poly1305_ietf_encrypt, or
// OpenSSL SM4-CTR then HMAC-SM3), with nothing of the sealed format around it. Returns a byte of
// the last tag so the work cannot be optimised away.
std::uint8_t raw_encrypt(suite_id id, std::uint64_t total_bytes, std::size_t chunk_size = 65536);

}  // namespace tender::crypto
