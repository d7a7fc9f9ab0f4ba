#pragma once

// Keys backed by a registered X.509 certificate (identity::add_certificate) are usable only while
// that certificate is in force: its validity is checked on the database clock, and its CA's
// revocation list is consulted, at every use of the key (login, bid completion, signed hall
// actions), not only at registration. Keys registered without a certificate are not affected.

#include <tender/crypto/x509.hpp>

#include <functional>
#include <memory>
#include <vector>

namespace tender::db {

// Codes of db::error raised when a certificate-backed key is used while its certificate is not
// in force (protocol/src/errors.cpp).
namespace certificate_codes {
inline constexpr const char* expired = "certificate.expired";
inline constexpr const char* not_yet_valid = "certificate.not_yet_valid";
inline constexpr const char* revoked = "certificate.revoked";
}  // namespace certificate_codes

// The revocation lists in force, each already verified against a configured CA root.
using revocation_lists = std::vector<crypto::x509::revocation_list>;
// Asked at every check, so the provider may reload its files when they change (tenderd: the
// directory identity.crl_dir). An empty function or a null answer: no lists.
using revocation_source = std::function<std::shared_ptr<const revocation_lists>()>;

}  // namespace tender::db
