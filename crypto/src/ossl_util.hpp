#pragma once

// Private helpers shared by the suite, key, X.509 and sealed-bid sources: RAII owners for OpenSSL
// objects and a way to turn OpenSSL failures into tender::crypto::error without leaking the
// OpenSSL error queue into the next, unrelated call.

#include <tender/crypto/bytes.hpp>
#include <tender/crypto/error.hpp>
#include <tender/crypto/keys.hpp>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/param_build.h>
#include <openssl/x509.h>

#include <memory>
#include <string>

namespace tender::crypto::detail {

struct ossl_deleter {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
  void operator()(EVP_PKEY_CTX* p) const { EVP_PKEY_CTX_free(p); }
  void operator()(EVP_MD_CTX* p) const { EVP_MD_CTX_free(p); }
  void operator()(EVP_MD* p) const { EVP_MD_free(p); }
  void operator()(EVP_CIPHER* p) const { EVP_CIPHER_free(p); }
  void operator()(EVP_CIPHER_CTX* p) const { EVP_CIPHER_CTX_free(p); }
  void operator()(EVP_MAC* p) const { EVP_MAC_free(p); }
  void operator()(EVP_MAC_CTX* p) const { EVP_MAC_CTX_free(p); }
  void operator()(EVP_KDF* p) const { EVP_KDF_free(p); }
  void operator()(EVP_KDF_CTX* p) const { EVP_KDF_CTX_free(p); }
  void operator()(BIGNUM* p) const { BN_clear_free(p); }
  void operator()(BN_CTX* p) const { BN_CTX_free(p); }
  void operator()(EC_GROUP* p) const { EC_GROUP_free(p); }
  void operator()(EC_POINT* p) const { EC_POINT_free(p); }
  void operator()(X509* p) const { X509_free(p); }
  void operator()(BIO* p) const { BIO_free(p); }
  void operator()(OSSL_PARAM_BLD* p) const;
  void operator()(OSSL_PARAM* p) const;
};

template <typename T>
using ossl_ptr = std::unique_ptr<T, ossl_deleter>;

// Clears the thread's OpenSSL error queue and throws `code`. The queue is cleared so that a stale
// entry never shows up as the cause of a later failure; its text is not put in the message because
// it can name internal state we do not control.
[[noreturn]] void throw_ossl(const std::string& code, const std::string& message);

// Process-wide algorithm handles, fetched once (fetching is slow and the handles are immutable and
// safe to share between threads).
const EVP_MD* md_sha256();
const EVP_MD* md_sm3();
const EVP_CIPHER* cipher_sm4_ctr();
EVP_MAC* mac_hmac();
EVP_KDF* kdf_hkdf();

// The EVP_PKEY behind a key object (owned by the key; never null).
EVP_PKEY* pkey_of(const public_key& key);
EVP_PKEY* pkey_of(const private_key& key);
// Wraps an EVP_PKEY (ownership taken) into a key object; the type must be X25519, ED25519 or SM2.
public_key make_public_key(ossl_ptr<EVP_PKEY> pkey);
private_key make_private_key(ossl_ptr<EVP_PKEY> pkey);

// The SM2 curve group (shared, immutable).
const EC_GROUP* sm2_group();

// Fixed-width big-endian encoding of a non-negative BIGNUM.
bytes bn_to_fixed(const BIGNUM* bn, std::size_t width);

}  // namespace tender::crypto::detail
