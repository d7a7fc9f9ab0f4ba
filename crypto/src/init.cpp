#include <tender/crypto/init.hpp>

#include <openssl/evp.h>
#include <sodium.h>

#include <stdexcept>

namespace tender::crypto {

void init() {
  // sodium_init() is itself thread-safe and idempotent: 0 on first success, 1 afterwards.
  if (sodium_init() < 0) {
    throw std::runtime_error("libsodium could not be initialised");
  }
  static const bool openssl_ok = [] {
    EVP_MD* sm3 = EVP_MD_fetch(nullptr, "SM3", nullptr);
    EVP_CIPHER* sm4 = EVP_CIPHER_fetch(nullptr, "SM4-CTR", nullptr);
    const bool ok = sm3 != nullptr && sm4 != nullptr;
    EVP_MD_free(sm3);
    EVP_CIPHER_free(sm4);
    return ok;
  }();
  if (!openssl_ok) {
    throw std::runtime_error("OpenSSL lacks SM3 or SM4-CTR: the gm suite is unavailable");
  }
}

}  // namespace tender::crypto
