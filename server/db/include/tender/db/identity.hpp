#pragma once

// Identities in PostgreSQL: organisations, users with roles, users' public keys, and login by a
// signed challenge that yields an opaque bearer token (tables in migrations/0003_identity.sql).
//
// Every change runs in one transaction together with its audit event (audit_tx::append), so the
// log and the state never disagree. Nothing secret is stored: a session keeps only the SHA-256 of
// its token. The awaitable methods run on the pool's threads and never block an I/O thread.

#include <tender/crypto/x509.hpp>
#include <tender/db/certificates.hpp>

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace tender::db {

class pool;

// Codes of db::error raised here, besides the db.* ones of error.hpp. The auth.* codes are the
// ones the HTTP API answers with.
namespace identity_codes {
inline constexpr const char* bad_input = "identity.bad_input";  // a field breaks the rules
inline constexpr const char* exists = "identity.exists";        // the id or key is taken
inline constexpr const char* not_found = "identity.not_found";  // no such organisation/user
inline constexpr const char* bad_key = "identity.bad_key";      // not an Ed25519/SM2 SPKI PEM
inline constexpr const char* bad_certificate = "identity.bad_certificate";  // refused certificate
// Login: unknown challenge, unknown/revoked/foreign key or a signature that does not verify all
// answer the same, so a caller learns nothing about which part was wrong.
inline constexpr const char* bad_signature = "auth.bad_signature";
inline constexpr const char* challenge_expired = "auth.challenge_expired";  // or already used
}  // namespace identity_codes

// The domain separation of a login signature: the signed bytes are
// "tenderhall-login-v1\n" + challenge_id + "\n" + challenge (the 32 raw bytes).
inline constexpr const char* login_context = "tenderhall-login-v1\n";
std::string login_message(const std::string& challenge_id, const std::string& challenge);

// Who makes a change, as the audit log records it.
struct identity_actor {
  std::string id;    // a user id, or "tenderd-admin" for the command-line bootstrap
  std::string role;  // "admin", "user", ...
};

struct organisation {
  std::string id;
  std::string kind;  // bidder|tenderer|agency|center|supervision|issuer|platform|notary
  std::string name;
  std::string created_at;  // filled by the database
};

struct user {
  std::string id;
  std::string org_id;
  std::string name;
  std::vector<std::string> roles;  // bidder|tenderer|center_staff|supervisor|expert|issuer|admin
  std::string created_at;
  bool has_role(const std::string& role) const;
};

struct user_key {
  std::string fingerprint;  // lower-case hex SHA-256 of the DER SubjectPublicKeyInfo
  std::string user_id;
  std::string algorithm;  // ed25519|sm2
  std::string created_at;
};

// A certificate registered for a user, with the key it certifies (which is in user_keys).
struct user_certificate {
  user_key key;
  std::string fingerprint;  // lower-case hex SHA-256 of the DER certificate
  std::string subject;      // RFC 2253
  std::string issuer;
  std::string serial_hex;
  std::string not_before;  // "YYYY-MM-DDTHH:MM:SSZ"
  std::string not_after;
};

struct login_challenge {
  std::string id;
  std::string challenge;  // 32 random bytes
  std::string expires_at;
};

struct login_session {
  std::string token;  // base64url of 32 random bytes; only its SHA-256 is stored
  std::string expires_at;
  user who;
};

// The authenticated caller of a request.
struct principal {
  user who;
  organisation org;
};

bool valid_identity_id(const std::string& id);
bool valid_org_kind(const std::string& kind);
bool valid_user_role(const std::string& role);

class identity {
public:
  struct options {
    std::chrono::seconds challenge_ttl{120};
    std::chrono::seconds session_ttl{8 * 3600};
    // The CA revocation lists (certificates.hpp), consulted at registration and at every login
    // with a certificate-backed key.
    revocation_source revocations;
  };

  identity(pool& connections, options opts);

  // Throw db::error: identity.bad_input, identity.exists, identity.not_found, db.*.
  boost::asio::awaitable<organisation> create_organisation(identity_actor actor, organisation org);
  boost::asio::awaitable<user> create_user(identity_actor actor, user u);
  // `public_key_pem` is an Ed25519 or SM2 SubjectPublicKeyInfo PEM (identity.bad_key otherwise).
  boost::asio::awaitable<user_key> add_key(identity_actor actor, std::string user_id,
                                           std::string public_key_pem);

  // Verifies the PEM certificate `certificate_pem` (with the PEM intermediates `chain_pems`)
  // against `roots` at the database clock time, then registers its subject key (Ed25519 or SM2)
  // for the user with the certificate, in one transaction with one audit event. Throws
  // identity.bad_certificate with the reason (unparsable, unknown issuer, expired, not yet valid,
  // bad signature, wrong key type, no roots configured, revoked by its CA's revocation list),
  // identity.not_found, identity.exists.
  boost::asio::awaitable<user_certificate> add_certificate(
      identity_actor actor, std::string user_id, std::string certificate_pem,
      std::vector<std::string> chain_pems, std::shared_ptr<const crypto::x509::trust_store> roots);

  // The bootstrap: the platform organisation (created unless one of kind platform exists with that
  // name), an admin user and its key, in one transaction. Blocking: for `tenderd admin` only.
  struct admin_created {
    organisation org;
    user admin;
    user_key key;
    bool org_created = false;
  };
  admin_created create_admin_blocking(const std::string& org_name, const std::string& user_id,
                                      const std::string& name, const std::string& public_key_pem);

  // Revocation by an administrator (a lost USB key, a person who left): every live session of the
  // user ends now. Returns how many were live. identity.not_found for an unknown user.
  boost::asio::awaitable<std::int64_t> revoke_sessions(identity_actor actor, std::string user_id);
  // Marks one of the user's keys revoked (it can no longer log in) and ends the user's live
  // sessions. identity.not_found when the user has no such live key.
  struct key_revoked {
    std::string fingerprint;
    std::string user_id;
    std::string revoked_at;
    std::int64_t sessions_revoked = 0;
  };
  boost::asio::awaitable<key_revoked> revoke_key(identity_actor actor, std::string user_id,
                                                 std::string fingerprint);

  // A fresh single-use challenge. Unknown user ids get one too (it can never be redeemed), so the
  // answer does not tell whether a user exists.
  boost::asio::awaitable<login_challenge> issue_challenge(std::string user_id);
  // Consumes the challenge and opens a session. Throws auth.challenge_expired (expired or used)
  // or auth.bad_signature; once the signature verifies, certificate.expired,
  // certificate.not_yet_valid or certificate.revoked when the key is backed by a certificate that
  // is not in force now (certificates.hpp). On any of them nothing changes.
  boost::asio::awaitable<login_session> login(std::string challenge_id, std::string fingerprint,
                                              std::string signature);
  // The principal of a live (unexpired, unrevoked) session token, nullopt otherwise.
  boost::asio::awaitable<std::optional<principal>> resolve(std::string token);
  // Which of `tokens` are still live sessions, in one query (the hall's periodic re-check of the
  // sessions its WebSocket connections were opened with).
  boost::asio::awaitable<std::set<std::string>> live_tokens(std::vector<std::string> tokens);
  // Revokes the session; false when the token was not live.
  boost::asio::awaitable<bool> logout(std::string token);

private:
  pool& pool_;
  options opts_;
};

// `tenderd admin create-admin`: identity::create_admin_blocking on a connection of its own to a
// migrated database. Blocking; for command-line tools only.
identity::admin_created bootstrap_admin(const std::string& conninfo, const std::string& org_name,
                                        const std::string& user_id, const std::string& name,
                                        const std::string& public_key_pem);

}  // namespace tender::db
