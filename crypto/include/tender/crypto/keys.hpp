#pragma once

// Asymmetric keys for the two cipher suites: X25519 and Ed25519 (`sodium`), SM2 (`gm`).
//
// Keys are stored and exchanged in the standard encodings that `openssl pkey` reads:
// PKCS#8 PEM for private keys (optionally passphrase-encrypted, PBES2/PBKDF2/AES-256-CBC) and
// SubjectPublicKeyInfo PEM/DER for public keys. Raw encodings are used inside sealed files:
// 32 bytes for X25519 and Ed25519, 65 bytes (SEC1 uncompressed, 0x04 || x || y) for SM2.
//
// SM2 signatures always hash with SM3 over Z || M, where Z depends on a distinguishing ID. GM/T
// 0009 fixes the default ID "1234567812345678" and Chinese CAs use it, while OpenSSL 3.0 silently
// uses an empty ID unless told otherwise — so every SM2 operation here sets the ID explicitly.

#include <tender/crypto/bytes.hpp>

#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace tender::crypto {

namespace detail {
struct key_access;
}

// Stable error codes (tender::crypto::error::code()).
namespace key_codes {
inline constexpr const char* bad_pem = "key.bad_pem";  // not a PEM/DER key we can read
inline constexpr const char* bad_passphrase = "key.bad_passphrase";  // encrypted key, wrong or
                                                                     // missing passphrase
inline constexpr const char* bad_raw = "key.bad_raw";        // wrong length or not a valid point
inline constexpr const char* wrong_type = "key.wrong_type";  // e.g. an X25519 key used to sign
inline constexpr const char* empty = "key.empty";            // a default-constructed key used
inline constexpr const char* decrypt_failed = "key.decrypt_failed";  // SM2 ciphertext rejected
inline constexpr const char* internal = "key.internal";              // library failure
}  // namespace key_codes

enum class key_type { x25519, ed25519, sm2 };

// "x25519", "ed25519", "sm2".
std::string_view key_type_name(key_type type);

// GM/T 0009-2012 default user ID for SM2 signatures.
inline constexpr std::string_view default_sm2_id = "1234567812345678";

class public_key {
public:
  public_key() = default;  // empty; every operation on it throws key_codes::empty

  static public_key from_pem(std::string_view pem);  // "-----BEGIN PUBLIC KEY-----"
  static public_key from_der(byte_view der);         // SubjectPublicKeyInfo
  // 32-byte X25519/Ed25519 key or 65-byte uncompressed SM2 point (checked to be on the curve).
  static public_key from_raw(key_type type, byte_view raw);

  bool empty() const { return impl_ == nullptr; }
  key_type type() const;
  bytes raw() const;
  bytes to_der() const;
  std::string to_pem() const;
  // Lower-case hex SHA-256 of the DER SubjectPublicKeyInfo: the same value as
  // `openssl pkey -pubin -outform DER | sha256sum`.
  std::string fingerprint() const;

  friend bool operator==(const public_key& a, const public_key& b);

private:
  struct impl;
  std::shared_ptr<const impl> impl_;
  friend struct detail::key_access;
};

class private_key {
public:
  private_key() = default;  // empty

  static private_key generate(key_type type);
  // PKCS#8 PEM ("PRIVATE KEY", or "ENCRYPTED PRIVATE KEY" with the passphrase). Without a
  // passphrase an encrypted key fails with bad_passphrase; nothing ever prompts on a terminal.
  static private_key from_pem(std::string_view pem,
                              std::optional<std::string_view> passphrase = std::nullopt);
  // 32-byte X25519 scalar or Ed25519 seed; SM2: 32-byte big-endian scalar in [1, n-2].
  static private_key from_raw(key_type type, byte_view raw);

  bool empty() const { return impl_ == nullptr; }
  key_type type() const;
  public_key public_part() const;
  // Unencrypted PKCS#8 PEM. Returned in wiping storage because it is the secret.
  secure_bytes to_pem() const;
  // PKCS#8 encrypted with PBES2 (PBKDF2-HMAC-SHA256, AES-256-CBC).
  secure_bytes to_pem(std::string_view passphrase) const;
  secure_bytes raw() const;

private:
  struct impl;
  std::shared_ptr<const impl> impl_;
  friend struct detail::key_access;
};

// Ed25519 (libsodium, pure EdDSA over the message) or SM2 (SM3 over Z(sm2_id) || message, DER
// signature). Throws key_codes::wrong_type for X25519 keys.
bytes sign_message(const private_key& key, byte_view message,
                   std::string_view sm2_id = default_sm2_id);
// False for any bad signature (including a malformed one); throws only for a wrong key type.
bool verify_message(const public_key& key, byte_view message, byte_view signature,
                    std::string_view sm2_id = default_sm2_id);

// SM2 public-key encryption (GM/T 0003.4) as OpenSSL implements it: the output is the GM/T 0009
// DER SM2Cipher { x, y, C3 = SM3(x2 || M || y2), C2 }.
bytes sm2_encrypt(const public_key& recipient, byte_view plaintext);
// Throws key_codes::decrypt_failed when the ciphertext is malformed or its C3 check fails.
secure_bytes sm2_decrypt(const private_key& key, byte_view ciphertext);

// X25519 with libsodium. Throws key_codes::bad_raw when the result is all zero (a low-order peer
// point), as RFC 7748 §6.1 allows and age requires.
secure_bytes x25519_shared_secret(const private_key& key, byte_view peer_public);

}  // namespace tender::crypto
