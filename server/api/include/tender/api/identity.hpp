#pragma once

// The bodies of /api/v1/auth/* and the admin identity endpoints (docs/design/server-core.md).
// Every refusal throws bad_json naming the field.

#include <string>
#include <string_view>
#include <vector>

namespace tender::api {

// POST /api/v1/auth/challenge {"user_id"}: the user id.
std::string challenge_request(std::string_view body);

// POST /api/v1/auth/login {"challenge_id","fingerprint","signature"(base64)}
struct login_request {
  std::string challenge_id;
  std::string fingerprint;
  std::string signature;  // raw bytes
};
login_request read_login_request(std::string_view body);

// POST /api/v1/orgs {"id","kind","name"}
struct organisation_request {
  std::string id;
  std::string kind;
  std::string name;
};
organisation_request read_organisation_request(std::string_view body);

// POST /api/v1/orgs/{id}/users {"id","name","roles":[...]}
struct user_request {
  std::string id;
  std::string name;
  std::vector<std::string> roles;
};
user_request read_user_request(std::string_view body);

// POST /api/v1/users/{id}/keys {"public_key_pem"}: the PEM text.
std::string key_request(std::string_view body);

// POST /api/v1/users/{id}/certificates {"certificate","chain"?:[PEM...]}
struct certificate_request {
  std::string certificate;  // PEM
  std::vector<std::string> chain;
};
inline constexpr std::size_t max_pem_bytes = 16 * 1024;
inline constexpr std::size_t max_chain_certificates = 8;
certificate_request read_certificate_request(std::string_view body);

// The revocations: an empty body or {}.
void no_identity_fields(std::string_view body);

}  // namespace tender::api
