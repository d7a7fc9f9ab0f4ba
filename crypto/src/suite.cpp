#include <tender/crypto/digest.hpp>
#include <tender/crypto/error.hpp>
#include <tender/crypto/suite.hpp>

#include "ossl_util.hpp"

#include <openssl/core_names.h>
#include <openssl/params.h>
#include <sodium.h>

#include <algorithm>
#include <cstring>

namespace tender::crypto {

using detail::ossl_ptr;
using detail::throw_ossl;

std::string_view suite_name(suite_id id) {
  switch (id) {
    case suite_id::sodium:
      return "sodium";
    case suite_id::gm:
      return "gm";
  }
  return "unknown";
}

suite_id suite_from_name(std::string_view name) {
  if (name == "sodium") return suite_id::sodium;
  if (name == "gm") return suite_id::gm;
  throw error(suite_codes::unknown, "unknown cipher suite name");
}

suite_id suite_from_byte(std::uint8_t value) {
  if (value == static_cast<std::uint8_t>(suite_id::sodium)) return suite_id::sodium;
  if (value == static_cast<std::uint8_t>(suite_id::gm)) return suite_id::gm;
  throw error(suite_codes::unknown, "unknown cipher suite id");
}

// ---------------------------------------------------------------------------------------------
// Randomness

namespace {

class sodium_random final : public random_source {
public:
  void fill(std::span<std::uint8_t> out) override { randombytes_buf(out.data(), out.size()); }
};

}  // namespace

random_source& system_random() {
  static sodium_random source;
  return source;
}

deterministic_random::deterministic_random(byte_view seed)
    : key_(crypto_stream_chacha20_ietf_KEYBYTES) {
  const sha256_digest d = sha256(seed);
  std::memcpy(key_.data(), d.data(), d.size());
}

void deterministic_random::fill(std::span<std::uint8_t> out) {
  // One fresh nonce per call, so two calls never return overlapping keystream.
  unsigned char nonce[crypto_stream_chacha20_ietf_NONCEBYTES] = {};
  for (int i = 0; i < 8; ++i)
    nonce[4 + i] = static_cast<unsigned char>(counter_ >> (56 - 8 * i));
  ++counter_;
  crypto_stream_chacha20_ietf(out.data(), out.size(), nonce, key_.data());
}

// ---------------------------------------------------------------------------------------------
// Shared OpenSSL building blocks

bytes cipher_suite::hash(byte_view data) const {
  std::unique_ptr<hasher> h = make_hasher();
  h->update(data);
  return h->finish();
}

namespace {

class evp_hasher final : public hasher {
public:
  explicit evp_hasher(const EVP_MD* md) : ctx_(EVP_MD_CTX_new()) {
    if (!ctx_ || EVP_DigestInit_ex2(ctx_.get(), md, nullptr) <= 0) {
      throw_ossl(suite_codes::internal, "digest initialisation failed");
    }
  }
  void update(byte_view data) override {
    if (EVP_DigestUpdate(ctx_.get(), data.data(), data.size()) <= 0) {
      throw_ossl(suite_codes::internal, "digest update failed");
    }
  }
  bytes finish() override {
    bytes out(EVP_MAX_MD_SIZE);
    unsigned int len = 0;
    if (EVP_DigestFinal_ex(ctx_.get(), out.data(), &len) <= 0) {
      throw_ossl(suite_codes::internal, "digest finalisation failed");
    }
    out.resize(len);
    return out;
  }

private:
  ossl_ptr<EVP_MD_CTX> ctx_;
};

secure_bytes evp_hkdf(const char* digest, byte_view ikm, byte_view salt, byte_view info,
                      std::size_t size) {
  ossl_ptr<EVP_KDF_CTX> ctx(EVP_KDF_CTX_new(detail::kdf_hkdf()));
  // OSSL_PARAM wants non-const pointers even for inputs it only reads.
  auto* k = const_cast<std::uint8_t*>(ikm.data());
  auto* s = const_cast<std::uint8_t*>(salt.data());
  auto* i = const_cast<std::uint8_t*>(info.data());
  static const std::uint8_t empty_byte = 0;
  auto* nothing = const_cast<std::uint8_t*>(&empty_byte);
  const OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, const_cast<char*>(digest), 0),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, ikm.empty() ? nothing : k, ikm.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, salt.empty() ? nothing : s,
                                        salt.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info.empty() ? nothing : i,
                                        info.size()),
      OSSL_PARAM_construct_end()};
  secure_bytes out(size);
  if (!ctx || EVP_KDF_derive(ctx.get(), out.data(), out.size(), params) <= 0) {
    throw_ossl(suite_codes::internal, "HKDF failed");
  }
  return out;
}

bytes evp_hmac(const char* digest, byte_view key, byte_view data) {
  ossl_ptr<EVP_MAC_CTX> ctx(EVP_MAC_CTX_new(detail::mac_hmac()));
  const OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, const_cast<char*>(digest), 0),
      OSSL_PARAM_construct_end()};
  bytes out(EVP_MAX_MD_SIZE);
  std::size_t len = 0;
  if (!ctx || EVP_MAC_init(ctx.get(), key.data(), key.size(), params) <= 0 ||
      EVP_MAC_update(ctx.get(), data.data(), data.size()) <= 0 ||
      EVP_MAC_final(ctx.get(), out.data(), &len, out.size()) <= 0) {
    throw_ossl(suite_codes::internal, "HMAC failed");
  }
  out.resize(len);
  return out;
}

// ---------------------------------------------------------------------------------------------
// sodium suite

class chacha20poly1305_aead final : public aead {
public:
  explicit chacha20poly1305_aead(byte_view key) : key_(key) {
    if (key.size() != crypto_aead_chacha20poly1305_ietf_KEYBYTES) {
      throw error(suite_codes::bad_key, "ChaCha20-Poly1305 keys are 32 bytes");
    }
  }
  std::size_t tag_size() const override { return crypto_aead_chacha20poly1305_ietf_ABYTES; }

  void seal(const aead_nonce& nonce, byte_view plaintext, std::span<std::uint8_t> out) override {
    if (out.size() != plaintext.size() + tag_size()) {
      throw error(suite_codes::internal, "AEAD output buffer has the wrong size");
    }
    unsigned long long tag_len = 0;
    crypto_aead_chacha20poly1305_ietf_encrypt_detached(
        out.data(), out.data() + plaintext.size(), &tag_len, plaintext.data(), plaintext.size(),
        nullptr, 0, nullptr, nonce.data(), key_.data());
  }

  bool open(const aead_nonce& nonce, byte_view sealed, std::span<std::uint8_t> out) override {
    if (sealed.size() < tag_size() || out.size() != sealed.size() - tag_size()) {
      throw error(suite_codes::internal, "AEAD output buffer has the wrong size");
    }
    const std::size_t n = out.size();
    // libsodium checks the tag before it decrypts anything.
    if (crypto_aead_chacha20poly1305_ietf_decrypt_detached(out.data(), nullptr, sealed.data(), n,
                                                           sealed.data() + n, nullptr, 0,
                                                           nonce.data(), key_.data()) != 0) {
      if (n != 0) secure_wipe(out.data(), n);
      return false;
    }
    return true;
  }

private:
  secure_bytes key_;
};

class sodium_suite final : public cipher_suite {
public:
  suite_id id() const override { return suite_id::sodium; }
  std::string_view hash_name() const override { return "SHA-256"; }
  // OpenSSL's SHA-256 rather than libsodium's: the same function, but OpenSSL uses the SHA-NI
  // instructions and runs several times faster, which matters when every sealed byte is hashed.
  std::unique_ptr<hasher> make_hasher() const override {
    return std::make_unique<evp_hasher>(detail::md_sha256());
  }
  secure_bytes hkdf(byte_view ikm, byte_view salt, byte_view info,
                    std::size_t size) const override {
    return evp_hkdf("SHA256", ikm, salt, info, size);
  }
  bytes hmac(byte_view key, byte_view data) const override { return evp_hmac("SHA256", key, data); }
  std::size_t aead_key_size() const override { return 32; }
  std::size_t aead_tag_size() const override { return 16; }
  std::unique_ptr<aead> make_aead(byte_view key) const override {
    return std::make_unique<chacha20poly1305_aead>(key);
  }
  key_type encryption_key_type() const override { return key_type::x25519; }
  key_type signature_key_type() const override { return key_type::ed25519; }
  private_key derive_signing_key(byte_view seed) const override {
    if (seed.size() != 32) throw error(suite_codes::bad_key, "signing-key seeds are 32 bytes");
    return private_key::from_raw(key_type::ed25519, seed);
  }
};

// ---------------------------------------------------------------------------------------------
// gm suite

constexpr std::size_t sm4_key_size = 16;
constexpr std::size_t sm3_mac_key_size = 32;
constexpr std::size_t sm3_tag_size = 32;

// SM4-CTR + HMAC-SM3, encrypt-then-MAC. The CTR IV is nonce || 0x00000000: the last four bytes
// count 16-byte blocks inside one message, and a 64 KiB chunk uses 4096 of the 2^32 available.
// The tag is HMAC-SM3(mac_key, nonce || ciphertext), so it authenticates the chunk position and
// last-chunk flag carried in the nonce.
class sm4_ctr_hmac_sm3_aead final : public aead {
public:
  explicit sm4_ctr_hmac_sm3_aead(byte_view key)
      : cipher_(EVP_CIPHER_CTX_new()), mac_(EVP_MAC_CTX_new(detail::mac_hmac())) {
    if (key.size() != sm4_key_size + sm3_mac_key_size) {
      throw error(suite_codes::bad_key, "SM4-CTR+HMAC-SM3 keys are 48 bytes");
    }
    static const std::uint8_t zero_iv[16] = {};
    const OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, const_cast<char*>("SM3"), 0),
        OSSL_PARAM_construct_end()};
    if (!cipher_ || !mac_ ||
        EVP_EncryptInit_ex2(cipher_.get(), detail::cipher_sm4_ctr(), key.data(), zero_iv,
                            nullptr) <= 0 ||
        EVP_MAC_init(mac_.get(), key.data() + sm4_key_size, sm3_mac_key_size, params) <= 0) {
      throw_ossl(suite_codes::internal, "SM4-CTR/HMAC-SM3 initialisation failed");
    }
  }
  std::size_t tag_size() const override { return sm3_tag_size; }

  void seal(const aead_nonce& nonce, byte_view plaintext, std::span<std::uint8_t> out) override {
    if (out.size() != plaintext.size() + tag_size()) {
      throw error(suite_codes::internal, "AEAD output buffer has the wrong size");
    }
    check_length(plaintext.size());
    ctr(nonce, plaintext, out.first(plaintext.size()));
    tag(nonce, out.first(plaintext.size()), out.subspan(plaintext.size()));
  }

  bool open(const aead_nonce& nonce, byte_view sealed, std::span<std::uint8_t> out) override {
    if (sealed.size() < tag_size() || out.size() != sealed.size() - tag_size()) {
      throw error(suite_codes::internal, "AEAD output buffer has the wrong size");
    }
    const std::size_t n = out.size();
    check_length(n);
    std::uint8_t expected[sm3_tag_size];
    tag(nonce, sealed.first(n), expected);
    const bool ok = constant_time_equal(byte_view(expected, sm3_tag_size), sealed.subspan(n));
    secure_wipe(expected, sizeof expected);
    // Encrypt-then-MAC: nothing is decrypted unless the tag matched.
    if (!ok) {
      if (n != 0) secure_wipe(out.data(), n);
      return false;
    }
    ctr(nonce, sealed.first(n), out);
    return true;
  }

private:
  static void check_length(std::size_t n) {
    if (n > (std::size_t{1} << 36)) {
      throw error(suite_codes::internal, "SM4-CTR message longer than 2^32 blocks");
    }
  }

  void ctr(const aead_nonce& nonce, byte_view in, std::span<std::uint8_t> out) {
    std::uint8_t iv[16] = {};
    std::memcpy(iv, nonce.data(), nonce.size());
    int len = 0;
    if (EVP_EncryptInit_ex2(cipher_.get(), nullptr, nullptr, iv, nullptr) <= 0 ||
        (!in.empty() && EVP_EncryptUpdate(cipher_.get(), out.data(), &len, in.data(),
                                          static_cast<int>(in.size())) <= 0) ||
        static_cast<std::size_t>(len) != in.size()) {
      throw_ossl(suite_codes::internal, "SM4-CTR failed");
    }
  }

  void tag(const aead_nonce& nonce, byte_view ciphertext, std::span<std::uint8_t> out) {
    std::size_t len = 0;
    // init with a null key restarts HMAC with the key given in the constructor.
    if (EVP_MAC_init(mac_.get(), nullptr, 0, nullptr) <= 0 ||
        EVP_MAC_update(mac_.get(), nonce.data(), nonce.size()) <= 0 ||
        EVP_MAC_update(mac_.get(), ciphertext.data(), ciphertext.size()) <= 0 ||
        EVP_MAC_final(mac_.get(), out.data(), &len, out.size()) <= 0 || len != sm3_tag_size) {
      throw_ossl(suite_codes::internal, "HMAC-SM3 failed");
    }
  }

  ossl_ptr<EVP_CIPHER_CTX> cipher_;
  ossl_ptr<EVP_MAC_CTX> mac_;
};

class gm_suite final : public cipher_suite {
public:
  suite_id id() const override { return suite_id::gm; }
  std::string_view hash_name() const override { return "SM3"; }
  std::unique_ptr<hasher> make_hasher() const override {
    return std::make_unique<evp_hasher>(detail::md_sm3());
  }
  secure_bytes hkdf(byte_view ikm, byte_view salt, byte_view info,
                    std::size_t size) const override {
    return evp_hkdf("SM3", ikm, salt, info, size);
  }
  bytes hmac(byte_view key, byte_view data) const override { return evp_hmac("SM3", key, data); }
  std::size_t aead_key_size() const override { return sm4_key_size + sm3_mac_key_size; }
  std::size_t aead_tag_size() const override { return sm3_tag_size; }
  std::unique_ptr<aead> make_aead(byte_view key) const override {
    return std::make_unique<sm4_ctr_hmac_sm3_aead>(key);
  }
  key_type encryption_key_type() const override { return key_type::sm2; }
  key_type signature_key_type() const override { return key_type::sm2; }

  private_key derive_signing_key(byte_view seed) const override {
    if (seed.size() != 32) throw error(suite_codes::bad_key, "signing-key seeds are 32 bytes");
    // 40 bytes = 320 bits reduced modulo a 256-bit order: the bias is below 2^-64.
    const secure_bytes wide = hkdf(seed, {}, as_bytes("tenderhall/suite/v1/sm2-signing-key"), 40);
    ossl_ptr<BIGNUM> x(BN_bin2bn(wide.data(), static_cast<int>(wide.size()), nullptr));
    ossl_ptr<BIGNUM> m(BN_dup(EC_GROUP_get0_order(detail::sm2_group())));
    ossl_ptr<BIGNUM> d(BN_new());
    ossl_ptr<BN_CTX> ctx(BN_CTX_new());
    if (!x || !m || !d || !ctx || !BN_sub_word(m.get(), 2) ||
        !BN_nnmod(d.get(), x.get(), m.get(), ctx.get()) || !BN_add_word(d.get(), 1)) {
      throw_ossl(suite_codes::internal, "SM2 key derivation failed");
    }
    secure_bytes scalar(32);
    if (BN_bn2binpad(d.get(), scalar.data(), 32) != 32) {
      throw_ossl(suite_codes::internal, "SM2 key derivation failed");
    }
    return private_key::from_raw(key_type::sm2, scalar.view());
  }
};

}  // namespace

const cipher_suite& get_suite(suite_id id) {
  static const sodium_suite sodium;
  static const gm_suite gm;
  switch (id) {
    case suite_id::sodium:
      return sodium;
    case suite_id::gm:
      return gm;
  }
  throw error(suite_codes::unknown, "unknown cipher suite id");
}

// ---------------------------------------------------------------------------------------------
// Raw speed baseline

std::uint8_t raw_encrypt(suite_id id, std::uint64_t total_bytes, std::size_t chunk_size) {
  if (chunk_size == 0) throw error(suite_codes::internal, "chunk size must not be zero");
  bytes plain(chunk_size, 0);
  bytes out(chunk_size + 32);
  std::uint8_t nonce[16] = {};
  std::uint8_t last = 0;
  std::uint64_t counter = 0;
  if (id == suite_id::sodium) {
    std::uint8_t key[crypto_aead_chacha20poly1305_ietf_KEYBYTES];
    randombytes_buf(key, sizeof key);
    for (std::uint64_t done = 0; done < total_bytes; done += chunk_size, ++counter) {
      const std::size_t n =
          static_cast<std::size_t>(std::min<std::uint64_t>(chunk_size, total_bytes - done));
      std::memcpy(nonce + 4, &counter, sizeof counter);
      unsigned long long tag_len = 0;
      crypto_aead_chacha20poly1305_ietf_encrypt_detached(
          out.data(), out.data() + n, &tag_len, plain.data(), n, nullptr, 0, nullptr, nonce, key);
      last = out[n];
    }
    secure_wipe(key, sizeof key);
    return last;
  }
  if (id != suite_id::gm) throw error(suite_codes::unknown, "unknown cipher suite id");
  std::uint8_t key[48];
  randombytes_buf(key, sizeof key);
  ossl_ptr<EVP_CIPHER_CTX> cipher(EVP_CIPHER_CTX_new());
  ossl_ptr<EVP_MAC_CTX> mac(EVP_MAC_CTX_new(detail::mac_hmac()));
  const OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, const_cast<char*>("SM3"), 0),
      OSSL_PARAM_construct_end()};
  if (!cipher || !mac ||
      EVP_EncryptInit_ex2(cipher.get(), detail::cipher_sm4_ctr(), key, nonce, nullptr) <= 0 ||
      EVP_MAC_init(mac.get(), key + 16, 32, params) <= 0) {
    throw_ossl(suite_codes::internal, "SM4-CTR/HMAC-SM3 initialisation failed");
  }
  for (std::uint64_t done = 0; done < total_bytes; done += chunk_size, ++counter) {
    const std::size_t n =
        static_cast<std::size_t>(std::min<std::uint64_t>(chunk_size, total_bytes - done));
    std::memcpy(nonce + 4, &counter, sizeof counter);
    int len = 0;
    std::size_t tag_len = 0;
    if (EVP_EncryptInit_ex2(cipher.get(), nullptr, nullptr, nonce, nullptr) <= 0 ||
        EVP_EncryptUpdate(cipher.get(), out.data(), &len, plain.data(), static_cast<int>(n)) <= 0 ||
        EVP_MAC_init(mac.get(), nullptr, 0, nullptr) <= 0 ||
        EVP_MAC_update(mac.get(), nonce, 12) <= 0 ||
        EVP_MAC_update(mac.get(), out.data(), n) <= 0 ||
        EVP_MAC_final(mac.get(), out.data() + n, &tag_len, 32) <= 0) {
      throw_ossl(suite_codes::internal, "SM4-CTR/HMAC-SM3 failed");
    }
    last = out[n];
  }
  secure_wipe(key, sizeof key);
  return last;
}

}  // namespace tender::crypto
