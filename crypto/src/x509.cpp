#include <tender/crypto/digest.hpp>
#include <tender/crypto/x509.hpp>

#include "ossl_util.hpp"

#include <openssl/asn1.h>
#include <openssl/obj_mac.h>
#include <openssl/pem.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <chrono>
#include <ctime>
#include <iterator>

namespace tender::crypto::x509 {

using crypto::detail::ossl_ptr;
using crypto::detail::throw_ossl;

struct certificate::impl {
  ossl_ptr<X509> cert;
};

namespace detail {
struct cert_access {
  static X509* get(const certificate& c) {
    if (c.impl_ == nullptr)
      throw error(codes::bad_certificate, "operation on an empty certificate");
    return c.impl_->cert.get();
  }
  static certificate make(ossl_ptr<X509> x) {
    certificate c;
    c.impl_ = std::make_shared<const certificate::impl>(certificate::impl{std::move(x)});
    return c;
  }
};
}  // namespace detail

namespace {

struct store_deleter {
  void operator()(X509_STORE* p) const { X509_STORE_free(p); }
  void operator()(X509_STORE_CTX* p) const { X509_STORE_CTX_free(p); }
  void operator()(STACK_OF(X509) * p) const { sk_X509_pop_free(p, X509_free); }
  void operator()(X509_CRL* p) const { X509_CRL_free(p); }
  void operator()(ASN1_ENUMERATED* p) const { ASN1_ENUMERATED_free(p); }
};

std::string name_text(const X509_NAME* name) {
  ossl_ptr<BIO> bio(BIO_new(BIO_s_mem()));
  if (!bio || X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253) < 0) {
    throw_ossl(codes::bad_certificate, "cannot print a certificate name");
  }
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(n > 0 ? n : 0));
}

std::int64_t asn1_time_to_unix(const ASN1_TIME* t) {
  struct tm tm {};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) {
    throw_ossl(codes::bad_certificate, "certificate has an unreadable validity time");
  }
  return static_cast<std::int64_t>(timegm(&tm));
}

const char* code_for(int err) {
  switch (err) {
    case X509_V_ERR_CERT_HAS_EXPIRED:
      return codes::expired;
    case X509_V_ERR_CERT_NOT_YET_VALID:
      return codes::not_yet_valid;
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_CERT_UNTRUSTED:
    case X509_V_ERR_CERT_REJECTED:
      return codes::untrusted;
    case X509_V_ERR_CERT_SIGNATURE_FAILURE:
    case X509_V_ERR_UNABLE_TO_DECRYPT_CERT_SIGNATURE:
      return codes::bad_signature;
    case X509_V_ERR_INVALID_CA:
    case X509_V_ERR_PATH_LENGTH_EXCEEDED:
    case X509_V_ERR_KEYUSAGE_NO_CERTSIGN:
    case X509_V_ERR_INVALID_PURPOSE:
      return codes::invalid_ca;
    default:
      return codes::invalid;
  }
}

// A private copy of `c` carrying the SM2 distinguishing ID when its signature is SM2-with-SM3. The
// ID is only set there: for an RSA or ECDSA signature OpenSSL would try to pass it to a key type
// that has no such parameter and fail the verification.
ossl_ptr<X509> prepared_copy(const certificate& c, std::string_view sm2_id) {
  ossl_ptr<X509> copy(X509_dup(detail::cert_access::get(c)));
  if (!copy) throw_ossl(codes::invalid, "cannot copy a certificate");
  if (X509_get_signature_nid(copy.get()) == NID_SM2_with_SM3) {
    ASN1_OCTET_STRING* id = ASN1_OCTET_STRING_new();
    if (id == nullptr ||
        !ASN1_OCTET_STRING_set(id, reinterpret_cast<const unsigned char*>(sm2_id.data()),
                               static_cast<int>(sm2_id.size()))) {
      ASN1_OCTET_STRING_free(id);
      throw_ossl(codes::invalid, "cannot set the SM2 distinguishing ID");
    }
    X509_set0_distinguishing_id(copy.get(), id);  // takes ownership
  }
  return copy;
}

}  // namespace

certificate certificate::from_pem(std::string_view pem) {
  ossl_ptr<BIO> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  ossl_ptr<X509> x(bio ? PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr) : nullptr);
  if (!x) throw_ossl(codes::bad_certificate, "not a PEM certificate");
  return detail::cert_access::make(std::move(x));
}

certificate certificate::from_der(byte_view der) {
  const unsigned char* p = der.data();
  ossl_ptr<X509> x(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
  if (!x || p != der.data() + der.size()) {
    throw_ossl(codes::bad_certificate, "not a DER certificate");
  }
  return detail::cert_access::make(std::move(x));
}

std::vector<certificate> certificate::bundle_from_pem(std::string_view pem) {
  ossl_ptr<BIO> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) throw_ossl(codes::bad_certificate, "cannot allocate a memory BIO");
  std::vector<certificate> out;
  while (X509* x = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
    out.push_back(detail::cert_access::make(ossl_ptr<X509>(x)));
  }
  // The loop ends with a "no start line" error at the end of the text; that is not a failure.
  ERR_clear_error();
  if (out.empty()) throw error(codes::bad_certificate, "no certificate in the PEM text");
  return out;
}

bytes certificate::to_der() const {
  unsigned char* buf = nullptr;
  const int n = i2d_X509(detail::cert_access::get(*this), &buf);
  if (n <= 0) throw_ossl(codes::bad_certificate, "cannot encode a certificate");
  bytes out(buf, buf + n);
  OPENSSL_free(buf);
  return out;
}

std::string certificate::to_pem() const {
  ossl_ptr<BIO> bio(BIO_new(BIO_s_mem()));
  if (!bio || !PEM_write_bio_X509(bio.get(), detail::cert_access::get(*this))) {
    throw_ossl(codes::bad_certificate, "cannot write a certificate PEM");
  }
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(n > 0 ? n : 0));
}

std::string certificate::subject() const {
  return name_text(X509_get_subject_name(detail::cert_access::get(*this)));
}

std::string certificate::issuer() const {
  return name_text(X509_get_issuer_name(detail::cert_access::get(*this)));
}

std::string certificate::serial_hex() const {
  const ASN1_INTEGER* serial = X509_get0_serialNumber(detail::cert_access::get(*this));
  ossl_ptr<BIGNUM> bn(ASN1_INTEGER_to_BN(serial, nullptr));
  if (!bn) throw_ossl(codes::bad_certificate, "unreadable serial number");
  char* hex = BN_bn2hex(bn.get());
  std::string out(hex != nullptr ? hex : "");
  OPENSSL_free(hex);
  return out;
}

std::int64_t certificate::not_before() const {
  return asn1_time_to_unix(X509_get0_notBefore(detail::cert_access::get(*this)));
}

std::int64_t certificate::not_after() const {
  return asn1_time_to_unix(X509_get0_notAfter(detail::cert_access::get(*this)));
}

public_key certificate::subject_key() const {
  EVP_PKEY* pkey = X509_get0_pubkey(detail::cert_access::get(*this));
  if (pkey == nullptr) throw_ossl(codes::bad_certificate, "certificate has no usable public key");
  if (!EVP_PKEY_up_ref(pkey)) throw_ossl(codes::bad_certificate, "cannot reference a key");
  return crypto::detail::make_public_key(ossl_ptr<EVP_PKEY>(pkey));
}

std::string certificate::fingerprint() const {
  return to_hex(sha256(to_der()));
}

void trust_store::add_pem_bundle(std::string_view pem) {
  for (certificate& c : certificate::bundle_from_pem(pem))
    roots_.push_back(std::move(c));
}

verified_chain verify_chain(const certificate& leaf, const std::vector<certificate>& intermediates,
                            const trust_store& roots, const verify_options& options) {
  if (roots.roots().empty()) throw error(codes::no_roots, "no CA root is configured");
  std::unique_ptr<X509_STORE, store_deleter> store(X509_STORE_new());
  std::unique_ptr<STACK_OF(X509), store_deleter> untrusted(sk_X509_new_null());
  std::unique_ptr<X509_STORE_CTX, store_deleter> ctx(X509_STORE_CTX_new());
  if (!store || !untrusted || !ctx) throw_ossl(codes::invalid, "cannot allocate a trust store");
  for (const certificate& root : roots.roots()) {
    ossl_ptr<X509> copy = prepared_copy(root, options.sm2_id);
    if (!X509_STORE_add_cert(store.get(), copy.get())) {  // the store takes its own reference
      throw_ossl(codes::invalid, "cannot add a root certificate");
    }
  }
  for (const certificate& c : intermediates) {
    ossl_ptr<X509> copy = prepared_copy(c, options.sm2_id);
    if (!sk_X509_push(untrusted.get(), copy.get())) {
      throw_ossl(codes::invalid, "cannot add an intermediate certificate");
    }
    copy.release();  // now owned by the stack
  }
  ossl_ptr<X509> leaf_copy = prepared_copy(leaf, options.sm2_id);
  if (!X509_STORE_CTX_init(ctx.get(), store.get(), leaf_copy.get(), untrusted.get())) {
    throw_ossl(codes::invalid, "cannot initialise chain verification");
  }
  const std::int64_t at =
      options.at_time.value_or(std::chrono::duration_cast<std::chrono::seconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
  X509_STORE_CTX_set_time(ctx.get(), 0, static_cast<time_t>(at));

  if (X509_verify_cert(ctx.get()) != 1) {
    const int err = X509_STORE_CTX_get_error(ctx.get());
    const int depth = X509_STORE_CTX_get_error_depth(ctx.get());
    throw_ossl(code_for(err), std::string("certificate chain rejected at depth ") +
                                  std::to_string(depth) + ": " +
                                  X509_verify_cert_error_string(err));
  }
  verified_chain result;
  STACK_OF(X509)* chain = X509_STORE_CTX_get0_chain(ctx.get());
  for (int i = 0; i < sk_X509_num(chain); ++i) {
    X509* x = sk_X509_value(chain, i);
    if (!X509_up_ref(x)) throw_ossl(codes::invalid, "cannot reference a certificate");
    result.path.push_back(detail::cert_access::make(ossl_ptr<X509>(x)));
  }
  result.leaf_key = leaf.subject_key();
  return result;
}

struct revocation_list::impl {
  std::unique_ptr<X509_CRL, store_deleter> crl;
};

namespace {

// RFC 5280 §5.3.1 CRLReason names, by their value (7 is not used).
std::string reason_name(long code) {
  static constexpr const char* names[] = {
      "unspecified",   "keyCompromise",        "cACompromise",    "affiliationChanged",
      "superseded",    "cessationOfOperation", "certificateHold", "unspecified",
      "removeFromCRL", "privilegeWithdrawn",   "aACompromise"};
  if (code < 0 || code >= static_cast<long>(std::size(names))) return "unspecified";
  return names[code];
}

// A template so that it need not name revocation_list::impl, which is private.
template <typename Impl>
X509_CRL* crl_of(const std::shared_ptr<Impl>& impl) {
  if (impl == nullptr) throw error(codes::bad_certificate, "operation on an empty CRL");
  return impl->crl.get();
}

}  // namespace

revocation_list revocation_list::parse(byte_view data) {
  std::unique_ptr<X509_CRL, store_deleter> crl;
  const std::string_view text(reinterpret_cast<const char*>(data.data()), data.size());
  if (text.find("-----BEGIN X509 CRL-----") != std::string_view::npos) {
    ossl_ptr<BIO> bio(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
    if (bio) crl.reset(PEM_read_bio_X509_CRL(bio.get(), nullptr, nullptr, nullptr));
  } else {
    const unsigned char* p = data.data();
    crl.reset(d2i_X509_CRL(nullptr, &p, static_cast<long>(data.size())));
    if (crl && p != data.data() + data.size()) crl.reset();
  }
  if (!crl) throw_ossl(codes::bad_certificate, "not a PEM or DER X.509 CRL");
  revocation_list out;
  out.impl_ = std::make_shared<const impl>(impl{std::move(crl)});
  return out;
}

std::string revocation_list::issuer() const {
  return name_text(X509_CRL_get_issuer(crl_of(impl_)));
}

std::int64_t revocation_list::this_update() const {
  return asn1_time_to_unix(X509_CRL_get0_lastUpdate(crl_of(impl_)));
}

std::optional<std::int64_t> revocation_list::next_update() const {
  const ASN1_TIME* t = X509_CRL_get0_nextUpdate(crl_of(impl_));
  if (t == nullptr) return std::nullopt;
  return asn1_time_to_unix(t);
}

void revocation_list::verify(const trust_store& roots) const {
  X509_CRL* crl = crl_of(impl_);
  const X509_NAME* issuer_name = X509_CRL_get_issuer(crl);
  for (const certificate& root : roots.roots()) {
    X509* ca = detail::cert_access::get(root);
    if (X509_NAME_cmp(X509_get_subject_name(ca), issuer_name) != 0) continue;
    // X509_get_key_usage answers all bits when the certificate has no key usage extension.
    if ((X509_get_key_usage(ca) & KU_CRL_SIGN) == 0) continue;
    EVP_PKEY* key = X509_get0_pubkey(ca);
    if (key != nullptr && X509_CRL_verify(crl, key) == 1) return;
    throw_ossl(codes::bad_signature,
               "the CRL of " + issuer() + " does not verify with its CA's key");
  }
  throw error(codes::untrusted,
              "the CRL's issuer " + issuer() + " is not a configured CA root that may sign CRLs");
}

std::optional<revocation_list::entry> revocation_list::find(const certificate& cert) const {
  X509_REVOKED* rev = nullptr;
  // 1: listed; 2: listed as removeFromCRL (a delta-CRL un-revocation), which is no revocation.
  if (X509_CRL_get0_by_cert(crl_of(impl_), &rev, detail::cert_access::get(cert)) != 1 ||
      rev == nullptr) {
    return std::nullopt;
  }
  entry e;
  e.serial_hex = cert.serial_hex();
  e.revoked_at = asn1_time_to_unix(X509_REVOKED_get0_revocationDate(rev));
  int crit = 0;
  std::unique_ptr<ASN1_ENUMERATED, store_deleter> reason(
      static_cast<ASN1_ENUMERATED*>(X509_REVOKED_get_ext_d2i(rev, NID_crl_reason, &crit, nullptr)));
  e.reason = reason ? reason_name(ASN1_ENUMERATED_get(reason.get())) : "unspecified";
  ERR_clear_error();
  return e;
}

}  // namespace tender::crypto::x509
