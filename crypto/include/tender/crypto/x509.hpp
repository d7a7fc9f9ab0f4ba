#pragma once

// X.509 certificates and chain verification against configured CA roots, SM2 certificates
// included.
//
// Bidders hold CA-issued certificates on USB keys; the platform checks the chain leaf →
// intermediates → a configured root, then uses the leaf's public key to verify the bidder's
// signatures. For SM2-signed certificates OpenSSL 3.0 verifies with an empty distinguishing ID
// unless each certificate carries one (X509_set0_distinguishing_id); Chinese CAs sign with the
// GM/T 0009 default ID, so verify_chain() sets the configured ID on every SM2-signed certificate
// of the chain (on private copies: certificate objects stay immutable and shareable).

#include <tender/crypto/bytes.hpp>
#include <tender/crypto/keys.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tender::crypto::x509 {

namespace detail {
struct cert_access;
}

namespace codes {
inline constexpr const char* bad_certificate = "x509.bad_certificate";  // cannot parse
inline constexpr const char* untrusted = "x509.untrusted";  // no path to a configured root
inline constexpr const char* expired = "x509.expired";      // some certificate expired
inline constexpr const char* not_yet_valid = "x509.not_yet_valid";
inline constexpr const char* bad_signature = "x509.bad_signature";  // a signature in the chain
                                                                    // does not verify
inline constexpr const char* invalid_ca = "x509.invalid_ca";        // issuer not a CA, path length,
                                                                    // key usage, purpose
inline constexpr const char* no_roots = "x509.no_roots";            // empty trust store
inline constexpr const char* invalid = "x509.invalid";  // any other verification failure
}  // namespace codes

class certificate {
public:
  certificate() = default;  // empty

  // The first certificate of a PEM text.
  static certificate from_pem(std::string_view pem);
  static certificate from_der(byte_view der);
  // Every certificate of a PEM bundle, in order (at least one).
  static std::vector<certificate> bundle_from_pem(std::string_view pem);

  bool empty() const { return impl_ == nullptr; }
  bytes to_der() const;
  std::string to_pem() const;
  std::string subject() const;  // RFC 2253 form, e.g. "CN=Bidder Co Ltd,O=..."
  std::string issuer() const;
  std::string serial_hex() const;
  std::int64_t not_before() const;  // Unix seconds
  std::int64_t not_after() const;
  public_key subject_key() const;
  std::string fingerprint() const;  // lower-case hex SHA-256 of the DER certificate

private:
  struct impl;
  std::shared_ptr<const impl> impl_;
  friend struct detail::cert_access;
};

class trust_store {
public:
  void add(certificate root) { roots_.push_back(std::move(root)); }
  void add_pem_bundle(std::string_view pem);
  const std::vector<certificate>& roots() const { return roots_; }

private:
  std::vector<certificate> roots_;
};

struct verify_options {
  std::optional<std::int64_t> at_time;  // check validity at this Unix time; default: now
  std::string sm2_id = std::string(default_sm2_id);
};

struct verified_chain {
  public_key leaf_key;
  std::vector<certificate> path;  // leaf first, the trusted root last
};

// Builds and verifies a path from `leaf` through any of `intermediates` to one of `roots`.
// Throws one of the codes above.
verified_chain verify_chain(const certificate& leaf, const std::vector<certificate>& intermediates,
                            const trust_store& roots, const verify_options& options = {});

// A certificate revocation list (RFC 5280 §5) of one CA. Certificates are checked against the CRL
// of their issuer at every use of their key, so a CA's revocation reaches the platform as soon as
// the operator installs the new list (identity.crl_dir).
class revocation_list {
public:
  revocation_list() = default;  // empty

  // One CRL, PEM ("-----BEGIN X509 CRL-----") or DER. Throws codes::bad_certificate.
  static revocation_list parse(byte_view pem_or_der);

  bool empty() const { return impl_ == nullptr; }
  std::string issuer() const;  // RFC 2253
  std::int64_t this_update() const;
  std::optional<std::int64_t> next_update() const;

  // Checks the list's signature with the key of the root of `roots` whose subject is the list's
  // issuer (and which may sign CRLs, when it has a key usage). Throws codes::untrusted when no
  // configured root issued it, codes::bad_signature when the signature does not verify.
  void verify(const trust_store& roots) const;

  struct entry {
    std::string serial_hex;
    std::int64_t revoked_at = 0;  // Unix seconds
    std::string reason;           // RFC 5280 reason name ("keyCompromise"...), "unspecified"
  };
  // The entry revoking `cert` (same issuer name and serial number), nullopt when it is not
  // listed.
  std::optional<entry> find(const certificate& cert) const;

private:
  struct impl;
  std::shared_ptr<const impl> impl_;
};

}  // namespace tender::crypto::x509
