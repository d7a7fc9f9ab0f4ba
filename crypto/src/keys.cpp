#include <tender/crypto/digest.hpp>
#include <tender/crypto/keys.hpp>

#include "ossl_util.hpp"

#include <openssl/core_names.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <sodium.h>

#include <cstring>

namespace tender::crypto {

struct public_key::impl {
  detail::ossl_ptr<EVP_PKEY> pkey;
  key_type type;
};

struct private_key::impl {
  detail::ossl_ptr<EVP_PKEY> pkey;
  key_type type;
};

namespace detail {

struct key_access {
  static EVP_PKEY* get(const public_key& k) {
    if (k.impl_ == nullptr) throw error(key_codes::empty, "operation on an empty public key");
    return k.impl_->pkey.get();
  }
  static EVP_PKEY* get(const private_key& k) {
    if (k.impl_ == nullptr) throw error(key_codes::empty, "operation on an empty private key");
    return k.impl_->pkey.get();
  }
  static key_type type(const public_key& k) {
    get(k);
    return k.impl_->type;
  }
  static key_type type(const private_key& k) {
    get(k);
    return k.impl_->type;
  }
  static public_key make_public(ossl_ptr<EVP_PKEY> pkey, key_type type) {
    public_key k;
    k.impl_ = std::make_shared<const public_key::impl>(public_key::impl{std::move(pkey), type});
    return k;
  }
  static private_key make_private(ossl_ptr<EVP_PKEY> pkey, key_type type) {
    private_key k;
    k.impl_ = std::make_shared<const private_key::impl>(private_key::impl{std::move(pkey), type});
    return k;
  }
};

EVP_PKEY* pkey_of(const public_key& key) {
  return key_access::get(key);
}
EVP_PKEY* pkey_of(const private_key& key) {
  return key_access::get(key);
}

namespace {

key_type type_of(const EVP_PKEY* pkey) {
  if (EVP_PKEY_is_a(pkey, "X25519")) return key_type::x25519;
  if (EVP_PKEY_is_a(pkey, "ED25519")) return key_type::ed25519;
  // OpenSSL 3.0 turns any key on the SM2 curve into an SM2 key when it decodes it; a plain EC key
  // on another curve is not something either suite uses.
  if (EVP_PKEY_is_a(pkey, "SM2")) return key_type::sm2;
  throw_ossl(key_codes::wrong_type, "key is not X25519, Ed25519 or SM2");
}

}  // namespace

public_key make_public_key(ossl_ptr<EVP_PKEY> pkey) {
  const key_type t = type_of(pkey.get());
  return key_access::make_public(std::move(pkey), t);
}

private_key make_private_key(ossl_ptr<EVP_PKEY> pkey) {
  const key_type t = type_of(pkey.get());
  return key_access::make_private(std::move(pkey), t);
}

}  // namespace detail

using detail::ossl_ptr;
using detail::throw_ossl;

namespace {

constexpr std::size_t sm2_point_size = 65;
constexpr std::size_t sm2_scalar_size = 32;

const char* ossl_name(key_type t) {
  switch (t) {
    case key_type::x25519:
      return "X25519";
    case key_type::ed25519:
      return "ED25519";
    case key_type::sm2:
      return "SM2";
  }
  return "";
}

ossl_ptr<BIO> mem_bio(std::string_view text) {
  ossl_ptr<BIO> bio(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
  if (!bio) throw_ossl(key_codes::internal, "cannot allocate a memory BIO");
  return bio;
}

// Reads everything written to a memory BIO. Private keys go through BIO_s_secmem, which wipes its
// buffer when freed, and come out in secure_bytes.
secure_bytes drain(BIO* bio) {
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  if (n < 0) throw_ossl(key_codes::internal, "cannot read a memory BIO");
  return secure_bytes(
      byte_view(reinterpret_cast<const std::uint8_t*>(data), static_cast<std::size_t>(n)));
}

ossl_ptr<EVP_PKEY> sm2_from_params(const BIGNUM* priv, byte_view point) {
  ossl_ptr<OSSL_PARAM_BLD> bld(OSSL_PARAM_BLD_new());
  if (!bld || !OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, "SM2", 0) ||
      !OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                        point.size()) ||
      (priv != nullptr && !OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_PRIV_KEY, priv))) {
    throw_ossl(key_codes::internal, "cannot build SM2 key parameters");
  }
  ossl_ptr<OSSL_PARAM> params(OSSL_PARAM_BLD_to_param(bld.get()));
  ossl_ptr<EVP_PKEY_CTX> ctx(EVP_PKEY_CTX_new_from_name(nullptr, "SM2", nullptr));
  EVP_PKEY* raw = nullptr;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) <= 0 ||
      EVP_PKEY_fromdata(ctx.get(), &raw, priv != nullptr ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY,
                        params.get()) <= 0) {
    throw_ossl(key_codes::bad_raw, "not a valid SM2 key");
  }
  ossl_ptr<EVP_PKEY> pkey(raw);
  // fromdata does not check that the point is on the curve; a point off the curve is the classic
  // invalid-curve attack on ECDH-like uses such as SM2 encryption.
  ossl_ptr<EVP_PKEY_CTX> check(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey.get(), nullptr));
  if (!check || EVP_PKEY_public_check(check.get()) <= 0) {
    throw_ossl(key_codes::bad_raw, "SM2 public point is not on the curve");
  }
  return pkey;
}

void require_type(key_type actual, key_type wanted, const char* what) {
  if (actual != wanted) {
    throw error(key_codes::wrong_type, std::string(what) + " needs a " +
                                           std::string(key_type_name(wanted)) + " key, not " +
                                           std::string(key_type_name(actual)));
  }
}

// The SM2 sign/verify context with the distinguishing ID set before the first update, which is
// when OpenSSL computes Z. The EVP_PKEY_CTX is attached to (but not owned by) the digest context,
// so both are kept together; members are destroyed in reverse order, digest context first.
struct sm2_digest_ctx {
  ossl_ptr<EVP_PKEY_CTX> pctx;
  ossl_ptr<EVP_MD_CTX> mctx;
};

sm2_digest_ctx sm2_ctx(EVP_PKEY* pkey, std::string_view sm2_id) {
  sm2_digest_ctx c;
  c.pctx.reset(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey, nullptr));
  c.mctx.reset(EVP_MD_CTX_new());
  if (!c.pctx || !c.mctx ||
      EVP_PKEY_CTX_set1_id(c.pctx.get(), sm2_id.data(), static_cast<int>(sm2_id.size())) <= 0) {
    throw_ossl(key_codes::internal, "cannot set up an SM2 signature context");
  }
  EVP_MD_CTX_set_pkey_ctx(c.mctx.get(), c.pctx.get());
  return c;
}

}  // namespace

std::string_view key_type_name(key_type type) {
  switch (type) {
    case key_type::x25519:
      return "x25519";
    case key_type::ed25519:
      return "ed25519";
    case key_type::sm2:
      return "sm2";
  }
  return "unknown";
}

// ---------------------------------------------------------------------------------------------
// public_key

public_key public_key::from_pem(std::string_view pem) {
  ossl_ptr<BIO> bio = mem_bio(pem);
  ossl_ptr<EVP_PKEY> pkey(
      PEM_read_bio_PUBKEY_ex(bio.get(), nullptr, nullptr, nullptr, nullptr, nullptr));
  if (!pkey) throw_ossl(key_codes::bad_pem, "not a PEM SubjectPublicKeyInfo");
  return detail::make_public_key(std::move(pkey));
}

public_key public_key::from_der(byte_view der) {
  const unsigned char* p = der.data();
  ossl_ptr<EVP_PKEY> pkey(
      d2i_PUBKEY_ex(nullptr, &p, static_cast<long>(der.size()), nullptr, nullptr));
  if (!pkey || p != der.data() + der.size()) {
    throw_ossl(key_codes::bad_pem, "not a DER SubjectPublicKeyInfo");
  }
  return detail::make_public_key(std::move(pkey));
}

public_key public_key::from_raw(key_type type, byte_view raw) {
  if (type == key_type::sm2) {
    if (raw.size() != sm2_point_size || raw[0] != 0x04) {
      throw error(key_codes::bad_raw, "SM2 public key must be a 65-byte uncompressed point");
    }
    return detail::key_access::make_public(sm2_from_params(nullptr, raw), type);
  }
  if (raw.size() != 32) throw error(key_codes::bad_raw, "X25519/Ed25519 public keys are 32 bytes");
  ossl_ptr<EVP_PKEY> pkey(
      EVP_PKEY_new_raw_public_key_ex(nullptr, ossl_name(type), nullptr, raw.data(), raw.size()));
  if (!pkey) throw_ossl(key_codes::bad_raw, "cannot make a public key from raw bytes");
  return detail::key_access::make_public(std::move(pkey), type);
}

key_type public_key::type() const {
  return detail::key_access::type(*this);
}

bytes public_key::raw() const {
  EVP_PKEY* pkey = detail::pkey_of(*this);
  if (type() == key_type::sm2) {
    bytes out(sm2_point_size);
    std::size_t len = 0;
    if (!EVP_PKEY_get_octet_string_param(pkey, OSSL_PKEY_PARAM_PUB_KEY, out.data(), out.size(),
                                         &len) ||
        len != sm2_point_size) {
      throw_ossl(key_codes::internal, "cannot export an SM2 public point");
    }
    return out;
  }
  bytes out(32);
  std::size_t len = out.size();
  if (!EVP_PKEY_get_raw_public_key(pkey, out.data(), &len) || len != 32) {
    throw_ossl(key_codes::internal, "cannot export a raw public key");
  }
  return out;
}

bytes public_key::to_der() const {
  unsigned char* buf = nullptr;
  const int n = i2d_PUBKEY(detail::pkey_of(*this), &buf);
  if (n <= 0) throw_ossl(key_codes::internal, "cannot encode a public key");
  bytes out(buf, buf + n);
  OPENSSL_free(buf);
  return out;
}

std::string public_key::to_pem() const {
  ossl_ptr<BIO> bio(BIO_new(BIO_s_mem()));
  if (!bio || !PEM_write_bio_PUBKEY(bio.get(), detail::pkey_of(*this))) {
    throw_ossl(key_codes::internal, "cannot write a public key PEM");
  }
  const secure_bytes text = drain(bio.get());
  return std::string(reinterpret_cast<const char*>(text.data()), text.size());
}

std::string public_key::fingerprint() const {
  return to_hex(sha256(to_der()));
}

bool operator==(const public_key& a, const public_key& b) {
  if (a.empty() || b.empty()) return a.empty() && b.empty();
  return a.type() == b.type() && a.raw() == b.raw();
}

// ---------------------------------------------------------------------------------------------
// private_key

private_key private_key::generate(key_type type) {
  ossl_ptr<EVP_PKEY> pkey(EVP_PKEY_Q_keygen(nullptr, nullptr, ossl_name(type)));
  if (!pkey) throw_ossl(key_codes::internal, "key generation failed");
  return detail::key_access::make_private(std::move(pkey), type);
}

namespace {

struct passphrase_arg {
  std::optional<std::string_view> value;
};

// Never falls back to OpenSSL's default callback, which would prompt on the terminal.
int passphrase_cb(char* buf, int size, int /*rwflag*/, void* u) {
  const auto* arg = static_cast<const passphrase_arg*>(u);
  if (arg == nullptr || !arg->value || arg->value->size() > static_cast<std::size_t>(size)) {
    return -1;
  }
  std::memcpy(buf, arg->value->data(), arg->value->size());
  return static_cast<int>(arg->value->size());
}

}  // namespace

private_key private_key::from_pem(std::string_view pem,
                                  std::optional<std::string_view> passphrase) {
  ossl_ptr<BIO> bio = mem_bio(pem);
  passphrase_arg arg{passphrase};
  ossl_ptr<EVP_PKEY> pkey(
      PEM_read_bio_PrivateKey_ex(bio.get(), nullptr, passphrase_cb, &arg, nullptr, nullptr));
  if (!pkey) {
    if (pem.find("ENCRYPTED") != std::string_view::npos) {
      throw_ossl(key_codes::bad_passphrase, "encrypted private key: wrong or missing passphrase");
    }
    throw_ossl(key_codes::bad_pem, "not a PEM private key");
  }
  return detail::make_private_key(std::move(pkey));
}

private_key private_key::from_raw(key_type type, byte_view raw) {
  if (type == key_type::sm2) {
    if (raw.size() != sm2_scalar_size) throw error(key_codes::bad_raw, "SM2 scalars are 32 bytes");
    ossl_ptr<BIGNUM> d(BN_bin2bn(raw.data(), static_cast<int>(raw.size()), nullptr));
    ossl_ptr<BIGNUM> limit(BN_dup(EC_GROUP_get0_order(detail::sm2_group())));
    if (!d || !limit || !BN_sub_word(limit.get(), 2)) {
      throw_ossl(key_codes::internal, "big number failure");
    }
    // SM2 signing divides by (1 + d), so d = n - 1 is not a usable key (GM/T 0003.1 §6.1).
    if (BN_is_zero(d.get()) || BN_cmp(d.get(), limit.get()) > 0) {
      throw error(key_codes::bad_raw, "SM2 private scalar out of range [1, n-2]");
    }
    ossl_ptr<EC_POINT> q(EC_POINT_new(detail::sm2_group()));
    ossl_ptr<BN_CTX> bnctx(BN_CTX_new());
    bytes point(sm2_point_size);
    if (!q || !bnctx ||
        !EC_POINT_mul(detail::sm2_group(), q.get(), d.get(), nullptr, nullptr, bnctx.get()) ||
        EC_POINT_point2oct(detail::sm2_group(), q.get(), POINT_CONVERSION_UNCOMPRESSED,
                           point.data(), point.size(), bnctx.get()) != sm2_point_size) {
      throw_ossl(key_codes::internal, "cannot compute an SM2 public point");
    }
    return detail::key_access::make_private(sm2_from_params(d.get(), point), type);
  }
  if (raw.size() != 32) throw error(key_codes::bad_raw, "X25519/Ed25519 private keys are 32 bytes");
  ossl_ptr<EVP_PKEY> pkey(
      EVP_PKEY_new_raw_private_key_ex(nullptr, ossl_name(type), nullptr, raw.data(), raw.size()));
  if (!pkey) throw_ossl(key_codes::bad_raw, "cannot make a private key from raw bytes");
  return detail::key_access::make_private(std::move(pkey), type);
}

key_type private_key::type() const {
  return detail::key_access::type(*this);
}

public_key private_key::public_part() const {
  EVP_PKEY* pkey = detail::pkey_of(*this);
  if (type() == key_type::sm2) {
    bytes point(sm2_point_size);
    std::size_t len = 0;
    if (!EVP_PKEY_get_octet_string_param(pkey, OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size(),
                                         &len) ||
        len != sm2_point_size) {
      throw_ossl(key_codes::internal, "cannot export an SM2 public point");
    }
    return public_key::from_raw(key_type::sm2, point);
  }
  bytes pub(32);
  std::size_t len = pub.size();
  if (!EVP_PKEY_get_raw_public_key(pkey, pub.data(), &len) || len != 32) {
    throw_ossl(key_codes::internal, "cannot export a raw public key");
  }
  return public_key::from_raw(type(), pub);
}

secure_bytes private_key::to_pem() const {
  ossl_ptr<BIO> bio(BIO_new(BIO_s_secmem()));
  if (!bio || !PEM_write_bio_PKCS8PrivateKey(bio.get(), detail::pkey_of(*this), nullptr, nullptr, 0,
                                             nullptr, nullptr)) {
    throw_ossl(key_codes::internal, "cannot write a private key PEM");
  }
  return drain(bio.get());
}

secure_bytes private_key::to_pem(std::string_view passphrase) const {
  ossl_ptr<BIO> bio(BIO_new(BIO_s_secmem()));
  // PEM_write_bio_PKCS8PrivateKey with a cipher uses PBES2 with PBKDF2-HMAC-SHA256 in 3.0, which
  // every current `openssl pkey` reads.
  if (!bio || !PEM_write_bio_PKCS8PrivateKey(bio.get(), detail::pkey_of(*this), EVP_aes_256_cbc(),
                                             passphrase.data(), static_cast<int>(passphrase.size()),
                                             nullptr, nullptr)) {
    throw_ossl(key_codes::internal, "cannot write an encrypted private key PEM");
  }
  return drain(bio.get());
}

secure_bytes private_key::raw() const {
  EVP_PKEY* pkey = detail::pkey_of(*this);
  if (type() == key_type::sm2) {
    BIGNUM* d = nullptr;
    if (!EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_PRIV_KEY, &d)) {
      throw_ossl(key_codes::internal, "cannot export an SM2 private scalar");
    }
    ossl_ptr<BIGNUM> owned(d);
    secure_bytes out(sm2_scalar_size);
    if (BN_bn2binpad(d, out.data(), static_cast<int>(out.size())) != 32) {
      throw_ossl(key_codes::internal, "SM2 scalar too large");
    }
    return out;
  }
  secure_bytes out(32);
  std::size_t len = out.size();
  if (!EVP_PKEY_get_raw_private_key(pkey, out.data(), &len) || len != 32) {
    throw_ossl(key_codes::internal, "cannot export a raw private key");
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Signatures and encryption

bytes sign_message(const private_key& key, byte_view message, std::string_view sm2_id) {
  const key_type t = key.type();
  if (t == key_type::ed25519) {
    const secure_bytes seed = key.raw();
    secure_bytes sk(crypto_sign_SECRETKEYBYTES);
    unsigned char pk[crypto_sign_PUBLICKEYBYTES];
    crypto_sign_seed_keypair(pk, sk.data(), seed.data());
    bytes sig(crypto_sign_BYTES);
    crypto_sign_detached(sig.data(), nullptr, message.data(), message.size(), sk.data());
    return sig;
  }
  require_type(t, key_type::sm2, "signing");
  sm2_digest_ctx c = sm2_ctx(detail::pkey_of(key), sm2_id);
  std::size_t len = 0;
  if (EVP_DigestSignInit(c.mctx.get(), nullptr, detail::md_sm3(), nullptr, detail::pkey_of(key)) <=
          0 ||
      EVP_DigestSignUpdate(c.mctx.get(), message.data(), message.size()) <= 0 ||
      EVP_DigestSignFinal(c.mctx.get(), nullptr, &len) <= 0) {
    throw_ossl(key_codes::internal, "SM2 signing failed");
  }
  bytes sig(len);
  if (EVP_DigestSignFinal(c.mctx.get(), sig.data(), &len) <= 0) {
    throw_ossl(key_codes::internal, "SM2 signing failed");
  }
  sig.resize(len);
  return sig;
}

bool verify_message(const public_key& key, byte_view message, byte_view signature,
                    std::string_view sm2_id) {
  const key_type t = key.type();
  if (t == key_type::ed25519) {
    if (signature.size() != crypto_sign_BYTES) return false;
    const bytes pk = key.raw();
    return crypto_sign_verify_detached(signature.data(), message.data(), message.size(),
                                       pk.data()) == 0;
  }
  require_type(t, key_type::sm2, "signature verification");
  // A DER SM2 signature is at most 72 bytes; anything longer is not worth handing to the parser.
  if (signature.empty() || signature.size() > 80) return false;
  sm2_digest_ctx c = sm2_ctx(detail::pkey_of(key), sm2_id);
  const bool ok = EVP_DigestVerifyInit(c.mctx.get(), nullptr, detail::md_sm3(), nullptr,
                                       detail::pkey_of(key)) > 0 &&
                  EVP_DigestVerifyUpdate(c.mctx.get(), message.data(), message.size()) > 0 &&
                  EVP_DigestVerifyFinal(c.mctx.get(), signature.data(), signature.size()) == 1;
  ERR_clear_error();
  return ok;
}

bytes sm2_encrypt(const public_key& recipient, byte_view plaintext) {
  require_type(recipient.type(), key_type::sm2, "SM2 encryption");
  ossl_ptr<EVP_PKEY_CTX> ctx(
      EVP_PKEY_CTX_new_from_pkey(nullptr, detail::pkey_of(recipient), nullptr));
  std::size_t len = 0;
  if (!ctx || EVP_PKEY_encrypt_init(ctx.get()) <= 0 ||
      EVP_PKEY_encrypt(ctx.get(), nullptr, &len, plaintext.data(), plaintext.size()) <= 0) {
    throw_ossl(key_codes::internal, "SM2 encryption failed");
  }
  bytes out(len);
  if (EVP_PKEY_encrypt(ctx.get(), out.data(), &len, plaintext.data(), plaintext.size()) <= 0) {
    throw_ossl(key_codes::internal, "SM2 encryption failed");
  }
  out.resize(len);
  return out;
}

secure_bytes sm2_decrypt(const private_key& key, byte_view ciphertext) {
  require_type(key.type(), key_type::sm2, "SM2 decryption");
  ossl_ptr<EVP_PKEY_CTX> ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, detail::pkey_of(key), nullptr));
  std::size_t len = 0;
  if (!ctx || EVP_PKEY_decrypt_init(ctx.get()) <= 0 ||
      EVP_PKEY_decrypt(ctx.get(), nullptr, &len, ciphertext.data(), ciphertext.size()) <= 0) {
    throw_ossl(key_codes::decrypt_failed, "SM2 ciphertext rejected");
  }
  secure_bytes out(len);
  if (EVP_PKEY_decrypt(ctx.get(), out.data(), &len, ciphertext.data(), ciphertext.size()) <= 0) {
    throw_ossl(key_codes::decrypt_failed, "SM2 ciphertext rejected");
  }
  out.resize(len);
  return out;
}

secure_bytes x25519_shared_secret(const private_key& key, byte_view peer_public) {
  require_type(key.type(), key_type::x25519, "X25519");
  if (peer_public.size() != crypto_scalarmult_BYTES) {
    throw error(key_codes::bad_raw, "X25519 public keys are 32 bytes");
  }
  const secure_bytes scalar = key.raw();
  secure_bytes shared(crypto_scalarmult_BYTES);
  if (crypto_scalarmult(shared.data(), scalar.data(), peer_public.data()) != 0) {
    throw error(key_codes::bad_raw, "X25519 peer key is a low-order point");
  }
  return shared;
}

}  // namespace tender::crypto
