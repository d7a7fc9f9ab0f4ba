#include "ossl_util.hpp"

#include <openssl/obj_mac.h>
#include <openssl/param_build.h>
#include <openssl/params.h>

namespace tender::crypto::detail {

void ossl_deleter::operator()(OSSL_PARAM_BLD* p) const {
  OSSL_PARAM_BLD_free(p);
}
void ossl_deleter::operator()(OSSL_PARAM* p) const {
  OSSL_PARAM_free(p);
}

void throw_ossl(const std::string& code, const std::string& message) {
  ERR_clear_error();
  throw error(code, message);
}

namespace {

template <typename T>
T* must(T* p, const char* what) {
  // The algorithms are checked by init(); a null here means a broken OpenSSL installation.
  if (p == nullptr) throw_ossl("suite.internal", std::string("OpenSSL lacks ") + what);
  return p;
}

}  // namespace

const EVP_MD* md_sha256() {
  static EVP_MD* const md = must(EVP_MD_fetch(nullptr, "SHA256", nullptr), "SHA-256");
  return md;
}

const EVP_MD* md_sm3() {
  static EVP_MD* const md = must(EVP_MD_fetch(nullptr, "SM3", nullptr), "SM3");
  return md;
}

const EVP_CIPHER* cipher_sm4_ctr() {
  static EVP_CIPHER* const c = must(EVP_CIPHER_fetch(nullptr, "SM4-CTR", nullptr), "SM4-CTR");
  return c;
}

EVP_MAC* mac_hmac() {
  static EVP_MAC* const m = must(EVP_MAC_fetch(nullptr, "HMAC", nullptr), "HMAC");
  return m;
}

EVP_KDF* kdf_hkdf() {
  static EVP_KDF* const k = must(EVP_KDF_fetch(nullptr, "HKDF", nullptr), "HKDF");
  return k;
}

const EC_GROUP* sm2_group() {
  static EC_GROUP* const g = must(EC_GROUP_new_by_curve_name(NID_sm2), "the SM2 curve");
  return g;
}

bytes bn_to_fixed(const BIGNUM* bn, std::size_t width) {
  bytes out(width);
  if (BN_bn2binpad(bn, out.data(), static_cast<int>(width)) != static_cast<int>(width)) {
    throw_ossl("suite.internal", "big number does not fit its fixed width");
  }
  return out;
}

}  // namespace tender::crypto::detail
