#include <tender/db/identity.hpp>

#include <tender/db/error.hpp>

#include "audit_tx.hpp"
#include "canonical_json.hpp"
#include "certificate_tx.hpp"
#include "pool.hpp"

#include <tender/crypto/bytes.hpp>
#include <tender/crypto/digest.hpp>
#include <tender/crypto/error.hpp>
#include <tender/crypto/keys.hpp>
#include <tender/crypto/suite.hpp>
#include <tender/crypto/x509.hpp>

#include <boost/json.hpp>

#include <pqxx/pqxx>

#include <algorithm>
#include <array>
#include <map>
#include <regex>
#include <span>
#include <utility>

namespace net = boost::asio;

namespace tender::db {
namespace json = boost::json;

namespace {

#define TENDER_ID_TIME(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

constexpr const char* insert_org_sql =
    "INSERT INTO organisations (id, kind, name) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING "
    "RETURNING " TENDER_ID_TIME("created_at");

constexpr const char* select_org_sql =
    "SELECT kind, name, " TENDER_ID_TIME("created_at") " FROM organisations WHERE id = $1";

constexpr const char* select_platform_org_sql =
    "SELECT id, " TENDER_ID_TIME("created_at")
    " FROM organisations WHERE kind = 'platform' AND name = $1 ORDER BY created_at LIMIT 1";

constexpr const char* insert_user_sql =
    "INSERT INTO users (id, org_id, name, roles) VALUES ($1, $2, $3, $4::text[]) "
    "ON CONFLICT (id) DO NOTHING RETURNING " TENDER_ID_TIME("created_at");

constexpr const char* user_exists_sql = "SELECT 1 FROM users WHERE id = $1";

constexpr const char* insert_key_sql =
    "INSERT INTO user_keys (fingerprint, user_id, algorithm, spki) "
    "VALUES ($1, $2, $3, decode($4, 'hex')) ON CONFLICT (fingerprint) DO NOTHING "
    "RETURNING " TENDER_ID_TIME("created_at");

// An unknown user id yields a NULL user_id: the row exists (same answer) but can never log in.
constexpr const char* insert_challenge_sql =
    "INSERT INTO login_challenges (id, user_id, challenge, expires_at) "
    "VALUES ($1, (SELECT id FROM users WHERE id = $2), decode($3, 'hex'), "
    "clock_timestamp() + make_interval(secs => $4)) RETURNING " TENDER_ID_TIME("expires_at");

// A few challenges that can no longer be used (expired a while ago: a login racing the expiry
// still finds its row and hears auth.challenge_expired), at most 100 per issue: every issue adds
// one row and takes up to a hundred, so the table stays at about the live challenges.
constexpr const char* purge_challenges_sql =
    "DELETE FROM login_challenges WHERE id IN (SELECT id FROM login_challenges "
    "WHERE expires_at < clock_timestamp() - interval '5 minutes' "
    "ORDER BY expires_at LIMIT 100 FOR UPDATE SKIP LOCKED)";

// Locked, so two logins racing on one challenge cannot both consume it.
constexpr const char* lock_challenge_sql =
    "SELECT user_id, encode(challenge, 'hex'), used_at IS NOT NULL, "
    "expires_at <= clock_timestamp() FROM login_challenges WHERE id = $1 FOR UPDATE";

constexpr const char* select_live_key_sql =
    "SELECT encode(spki, 'hex') FROM user_keys "
    "WHERE fingerprint = $1 AND user_id = $2 AND revoked_at IS NULL";

constexpr const char* use_challenge_sql =
    "UPDATE login_challenges SET used_at = clock_timestamp() WHERE id = $1";

constexpr const char* insert_session_sql =
    "INSERT INTO sessions (token_hash, user_id, expires_at) "
    "VALUES (decode($1, 'hex'), $2, clock_timestamp() + make_interval(secs => $3)) "
    "RETURNING " TENDER_ID_TIME("expires_at");

#define TENDER_USER_COLUMNS \
  "u.id, u.org_id, u.name, array_to_string(u.roles, ','), " TENDER_ID_TIME("u.created_at")

constexpr const char* select_user_sql =
    "SELECT " TENDER_USER_COLUMNS " FROM users u WHERE u.id = $1";

constexpr const char* resolve_session_sql =
    "SELECT " TENDER_USER_COLUMNS ", o.kind, o.name, " TENDER_ID_TIME("o.created_at")
    " FROM sessions s JOIN users u ON u.id = s.user_id JOIN organisations o ON o.id = u.org_id "
    "WHERE s.token_hash = decode($1, 'hex') AND s.revoked_at IS NULL "
    "AND s.expires_at > clock_timestamp()";

constexpr const char* live_sessions_sql =
    "SELECT encode(s.token_hash, 'hex') FROM sessions s "
    "WHERE s.token_hash = ANY (SELECT decode(h, 'hex') FROM unnest($1::text[]) AS h) "
    "AND s.revoked_at IS NULL AND s.expires_at > clock_timestamp()";

constexpr const char* revoke_session_sql =
    "UPDATE sessions SET revoked_at = clock_timestamp() WHERE token_hash = decode($1, 'hex') "
    "AND revoked_at IS NULL AND expires_at > clock_timestamp() RETURNING user_id";

constexpr const char* db_clock_sql = "SELECT floor(extract(epoch FROM clock_timestamp()))::bigint";

constexpr const char* insert_certificate_sql =
    "INSERT INTO user_certificates (fingerprint, key_fingerprint, user_id, subject, issuer, "
    "serial_hex, not_before, not_after, der, chain_der) "
    "VALUES ($1, $2, $3, $4, $5, $6, to_timestamp($7), to_timestamp($8), decode($9, 'hex'), "
    "(SELECT coalesce(array_agg(decode(h, 'hex')), '{}') FROM unnest($10::text[]) AS h)) "
    "ON CONFLICT (fingerprint) DO NOTHING "
    "RETURNING " TENDER_ID_TIME("not_before") ", " TENDER_ID_TIME("not_after");

#undef TENDER_USER_COLUMNS
#undef TENDER_ID_TIME

constexpr std::array org_kinds = {"bidder",      "tenderer", "agency",   "center",
                                  "supervision", "issuer",   "platform", "notary"};
constexpr std::array user_roles = {"bidder", "tenderer", "center_staff", "supervisor",
                                   "expert", "issuer",   "admin"};

[[noreturn]] void bad_input(const std::string& message) {
  throw error(identity_codes::bad_input, message);
}

void check_name(const std::string& name, const char* what) {
  if (name.empty() || name.size() > 200) {
    bad_input(std::string(what) + " must be 1 to 200 characters long");
  }
}

void check_id(const std::string& id, const char* what) {
  if (!valid_identity_id(id)) {
    bad_input(std::string(what) + " '" + id +
              "' must be 1 to 64 characters of a-z, 0-9, '.', '_' or '-', starting with a letter "
              "or digit");
  }
}

void audit(pqxx::transaction_base& tx, const identity_actor& actor, const char* action,
           const json::object& change) {
  audit_tx::append_change(tx, actor.id, actor.role, action, std::nullopt, change);
}

json::array roles_json(const std::vector<std::string>& roles) {
  json::array a;
  for (const auto& r : roles)
    a.emplace_back(r);
  return a;
}

// PostgreSQL array literal; the roles were checked to be plain words, so no quoting is needed.
std::string roles_literal(const std::vector<std::string>& roles) {
  std::string out = "{";
  for (std::size_t i = 0; i < roles.size(); ++i)
    out += (i != 0 ? "," : "") + roles[i];
  return out + "}";
}

std::vector<std::string> split_roles(const std::string& text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= text.size() && !text.empty()) {
    const auto comma = text.find(',', start);
    out.push_back(text.substr(start, comma - start));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

user user_from(const pqxx::row& row) {
  user u;
  u.id = row[0].as<std::string>();
  u.org_id = row[1].as<std::string>();
  u.name = row[2].as<std::string>();
  u.roles = split_roles(row[3].as<std::string>());
  u.created_at = row[4].as<std::string>();
  return u;
}

std::string sha256_hex(std::string_view data) {
  return crypto::to_hex(crypto::sha256(data));
}

std::string random_bytes(std::size_t n) {
  std::string out(n, '\0');
  crypto::system_random().fill(
      std::span<std::uint8_t>(reinterpret_cast<std::uint8_t*>(out.data()), out.size()));
  return out;
}

std::string base64url(std::string_view raw) {
  std::string s = crypto::base64_encode(crypto::as_bytes(raw));
  for (auto& c : s) {
    if (c == '+') c = '-';
    if (c == '/') c = '_';
  }
  while (!s.empty() && s.back() == '=')
    s.pop_back();
  return s;
}

std::string hex_of(std::string_view raw) {
  return crypto::hex_encode(crypto::as_bytes(raw));
}

void check_org(const organisation& org) {
  check_id(org.id, "organisation id");
  if (!valid_org_kind(org.kind)) {
    bad_input("organisation kind '" + org.kind +
              "' must be one of bidder, tenderer, agency, center, supervision, issuer, platform, "
              "notary");
  }
  check_name(org.name, "organisation name");
}

void check_user(const user& u) {
  check_id(u.id, "user id");
  check_id(u.org_id, "organisation id");
  check_name(u.name, "user name");
  if (u.roles.empty()) bad_input("a user needs at least one role");
  for (const auto& r : u.roles) {
    if (!valid_user_role(r)) {
      bad_input("role '" + r +
                "' must be one of bidder, tenderer, center_staff, supervisor, expert, issuer, "
                "admin");
    }
  }
}

organisation insert_org(pqxx::transaction_base& tx, const identity_actor& actor, organisation org) {
  const auto rows = tx.exec_params(insert_org_sql, org.id, org.kind, org.name);
  if (rows.empty()) throw error(identity_codes::exists, "organisation '" + org.id + "' exists");
  org.created_at = rows[0][0].as<std::string>();
  audit(tx, actor, "identity.org_created",
        {{"id", org.id}, {"kind", org.kind}, {"name", org.name}});
  return org;
}

user insert_user(pqxx::transaction_base& tx, const identity_actor& actor, user u) {
  if (tx.exec_params(select_org_sql, u.org_id).empty()) {
    throw error(identity_codes::not_found, "no organisation '" + u.org_id + "'");
  }
  const auto rows = tx.exec_params(insert_user_sql, u.id, u.org_id, u.name, roles_literal(u.roles));
  if (rows.empty()) throw error(identity_codes::exists, "user '" + u.id + "' exists");
  u.created_at = rows[0][0].as<std::string>();
  audit(tx, actor, "identity.user_created",
        {{"id", u.id}, {"org_id", u.org_id}, {"name", u.name}, {"roles", roles_json(u.roles)}});
  return u;
}

struct parsed_key {
  std::string fingerprint;
  std::string algorithm;
  std::string der_hex;
};

parsed_key parse_key(const std::string& pem) {
  crypto::public_key key;
  try {
    key = crypto::public_key::from_pem(pem);
  } catch (const crypto::error& e) {
    throw error(identity_codes::bad_key,
                std::string("not a SubjectPublicKeyInfo PEM public key: ") + e.what());
  }
  if (key.type() != crypto::key_type::ed25519 && key.type() != crypto::key_type::sm2) {
    throw error(identity_codes::bad_key, "a login key must be Ed25519 or SM2, not " +
                                             std::string(crypto::key_type_name(key.type())));
  }
  return {key.fingerprint(), std::string(crypto::key_type_name(key.type())),
          crypto::hex_encode(key.to_der())};
}

user_key insert_key(pqxx::transaction_base& tx, const identity_actor& actor,
                    const std::string& user_id, const parsed_key& k) {
  if (tx.exec_params(user_exists_sql, user_id).empty()) {
    throw error(identity_codes::not_found, "no user '" + user_id + "'");
  }
  const auto rows = tx.exec_params(insert_key_sql, k.fingerprint, user_id, k.algorithm, k.der_hex);
  if (rows.empty()) {
    throw error(identity_codes::exists, "key " + k.fingerprint + " is already registered");
  }
  audit(tx, actor, "identity.key_added",
        {{"user_id", user_id}, {"fingerprint", k.fingerprint}, {"algorithm", k.algorithm}});
  return {k.fingerprint, user_id, k.algorithm, rows[0][0].as<std::string>()};
}

[[noreturn]] void bad_certificate(const std::string& message) {
  throw error(identity_codes::bad_certificate, message);
}

// The reason of a refused chain, for the client.
std::string chain_refusal(const crypto::error& e) {
  namespace codes = crypto::x509::codes;
  const std::string code = e.code();
  std::string why;
  if (code == codes::untrusted) {
    why = "unknown issuer: the certificate does not chain to a configured CA root";
  } else if (code == codes::expired) {
    why = "expired: a certificate of the chain is past its validity";
  } else if (code == codes::not_yet_valid) {
    why = "not yet valid: a certificate of the chain is not valid yet";
  } else if (code == codes::bad_signature) {
    why = "bad signature: a signature in the chain does not verify";
  } else if (code == codes::invalid_ca) {
    why = "invalid CA: an issuer of the chain may not issue certificates";
  } else if (code == codes::no_roots) {
    why = "no CA roots are configured (identity.ca_roots_file)";
  } else {
    why = "the chain does not verify";
  }
  return why + " [" + code + "]: " + e.what();
}

std::string pg_text_array(const std::vector<std::string>& items) {
  std::string out = "{";
  for (std::size_t i = 0; i < items.size(); ++i)
    out += (i == 0 ? "\"" : ",\"") + items[i] + "\"";  // hex only: nothing to escape
  return out + "}";
}

[[noreturn]] void bad_signature() {
  throw error(identity_codes::bad_signature,
              "the signature does not verify for this challenge and key");
}

}  // namespace

std::string login_message(const std::string& challenge_id, const std::string& challenge) {
  return std::string(login_context) + challenge_id + "\n" + challenge;
}

bool user::has_role(const std::string& role) const {
  return std::find(roles.begin(), roles.end(), role) != roles.end();
}

bool valid_identity_id(const std::string& id) {
  static const std::regex pattern("^[a-z0-9][a-z0-9._-]{0,63}$");
  return std::regex_match(id, pattern);
}

bool valid_org_kind(const std::string& kind) {
  return std::find(org_kinds.begin(), org_kinds.end(), kind) != org_kinds.end();
}

bool valid_user_role(const std::string& role) {
  return std::find(user_roles.begin(), user_roles.end(), role) != user_roles.end();
}

identity::identity(pool& connections, options opts) : pool_(connections), opts_(std::move(opts)) {}

net::awaitable<organisation> identity::create_organisation(identity_actor actor, organisation org) {
  check_org(org);
  organisation out;
  pool::job job = [&](pqxx::connection_base& c) {
    pqxx::work tx(c);
    out = insert_org(tx, actor, org);
    tx.commit();
  };
  co_await pool_.run(std::move(job));
  co_return out;
}

net::awaitable<user> identity::create_user(identity_actor actor, user u) {
  check_user(u);
  user out;
  pool::job job = [&](pqxx::connection_base& c) {
    pqxx::work tx(c);
    out = insert_user(tx, actor, u);
    tx.commit();
  };
  co_await pool_.run(std::move(job));
  co_return out;
}

net::awaitable<user_key> identity::add_key(identity_actor actor, std::string user_id,
                                           std::string public_key_pem) {
  check_id(user_id, "user id");
  const parsed_key k = parse_key(public_key_pem);
  user_key out;
  pool::job job = [&](pqxx::connection_base& c) {
    pqxx::work tx(c);
    out = insert_key(tx, actor, user_id, k);
    tx.commit();
  };
  co_await pool_.run(std::move(job));
  co_return out;
}

namespace {

constexpr const char* revoke_user_sessions_sql =
    "UPDATE sessions SET revoked_at = clock_timestamp() WHERE user_id = $1 "
    "AND revoked_at IS NULL AND expires_at > clock_timestamp()";

constexpr const char* revoke_key_sql =
    "UPDATE user_keys SET revoked_at = clock_timestamp() WHERE user_id = $1 AND fingerprint = $2 "
    "AND revoked_at IS NULL RETURNING to_char(revoked_at AT TIME ZONE 'UTC', "
    "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')";

}  // namespace

net::awaitable<std::int64_t> identity::revoke_sessions(identity_actor actor, std::string user_id) {
  check_id(user_id, "user id");
  std::int64_t revoked = 0;
  pool::job job = [&](pqxx::connection_base& c) {
    pqxx::work tx(c);
    if (tx.exec_params(user_exists_sql, user_id).empty()) {
      throw error(identity_codes::not_found, "no user '" + user_id + "'");
    }
    revoked = static_cast<std::int64_t>(
        tx.exec_params(revoke_user_sessions_sql, user_id).affected_rows());
    audit(tx, actor, "identity.sessions_revoked",
          json::object{{"user_id", user_id}, {"revoked", revoked}});
    tx.commit();
  };
  co_await pool_.run(std::move(job));
  co_return revoked;
}

net::awaitable<identity::key_revoked> identity::revoke_key(identity_actor actor,
                                                           std::string user_id,
                                                           std::string fingerprint) {
  check_id(user_id, "user id");
  static const std::regex hex64("^[0-9a-f]{64}$");
  if (!std::regex_match(fingerprint, hex64)) {
    bad_input("key fingerprint '" + fingerprint.substr(0, 80) +
              "' must be 64 lower-case hex digits (SHA-256 of the DER public key)");
  }
  key_revoked out;
  pool::job job = [&](pqxx::connection_base& c) {
    pqxx::work tx(c);
    const auto row = tx.exec_params(revoke_key_sql, user_id, fingerprint);
    if (row.empty()) {
      throw error(identity_codes::not_found,
                  "user '" + user_id + "' has no live key " + fingerprint);
    }
    out.fingerprint = fingerprint;
    out.user_id = user_id;
    out.revoked_at = row[0][0].as<std::string>();
    out.sessions_revoked = static_cast<std::int64_t>(
        tx.exec_params(revoke_user_sessions_sql, user_id).affected_rows());
    audit(tx, actor, "identity.key_revoked",
          json::object{{"user_id", user_id},
                       {"fingerprint", fingerprint},
                       {"sessions_revoked", out.sessions_revoked}});
    tx.commit();
  };
  co_await pool_.run(std::move(job));
  co_return out;
}

net::awaitable<user_certificate> identity::add_certificate(
    identity_actor actor, std::string user_id, std::string certificate_pem,
    std::vector<std::string> chain_pems, std::shared_ptr<const crypto::x509::trust_store> roots) {
  check_id(user_id, "user id");
  crypto::x509::certificate leaf;
  std::vector<crypto::x509::certificate> intermediates;
  try {
    leaf = crypto::x509::certificate::from_pem(certificate_pem);
  } catch (const crypto::error& e) {
    bad_certificate(std::string("field 'certificate' is not a PEM X.509 certificate: ") + e.what());
  }
  for (std::size_t i = 0; i < chain_pems.size(); ++i) {
    try {
      for (auto& c : crypto::x509::certificate::bundle_from_pem(chain_pems[i]))
        intermediates.push_back(std::move(c));
    } catch (const crypto::error& e) {
      bad_certificate("chain[" + std::to_string(i) +
                      "] is not a PEM X.509 certificate: " + e.what());
    }
  }
  if (!roots || roots->roots().empty()) {
    bad_certificate(
        "no CA roots are configured (identity.ca_roots_file): no certificate can be "
        "accepted");
  }
  crypto::public_key key;
  try {
    key = leaf.subject_key();
  } catch (const crypto::error& e) {
    bad_certificate(std::string("wrong key type: the certificate's key is not usable (") +
                    e.what() + "); a login key must be Ed25519 or SM2");
  }
  if (key.type() != crypto::key_type::ed25519 && key.type() != crypto::key_type::sm2) {
    bad_certificate("wrong key type: the certificate's key is " +
                    std::string(crypto::key_type_name(key.type())) +
                    ", a login key must be Ed25519 or SM2");
  }
  const parsed_key k{key.fingerprint(), std::string(crypto::key_type_name(key.type())),
                     crypto::hex_encode(key.to_der())};
  std::vector<std::string> chain_hex;
  for (const auto& c : intermediates)
    chain_hex.push_back(crypto::hex_encode(c.to_der()));
  user_certificate out;
  pool::job job = [&](pqxx::connection_base& c) {
    pqxx::work tx(c);
    // Verified at the database clock, the one every other time of record comes from.
    crypto::x509::verify_options vo;
    vo.at_time = tx.exec1(db_clock_sql)[0].as<std::int64_t>();
    try {
      crypto::x509::verify_chain(leaf, intermediates, *roots, vo);
    } catch (const crypto::error& e) {
      bad_certificate(chain_refusal(e));
    }
    if (const auto lists = opts_.revocations ? opts_.revocations() : nullptr) {
      for (const auto& list : *lists) {
        if (const auto entry = list.find(leaf)) {
          bad_certificate("revoked: the certificate is listed by the revocation list of " +
                          list.issuer() + " (" + entry->reason + ")");
        }
      }
    }
    if (tx.exec_params(user_exists_sql, user_id).empty()) {
      throw error(identity_codes::not_found, "no user '" + user_id + "'");
    }
    const auto key_rows =
        tx.exec_params(insert_key_sql, k.fingerprint, user_id, k.algorithm, k.der_hex);
    if (key_rows.empty()) {
      throw error(identity_codes::exists, "key " + k.fingerprint + " is already registered");
    }
    const auto cert_fp = leaf.fingerprint();
    const auto cert_rows =
        tx.exec_params(insert_certificate_sql, cert_fp, k.fingerprint, user_id, leaf.subject(),
                       leaf.issuer(), leaf.serial_hex(), leaf.not_before(), leaf.not_after(),
                       crypto::hex_encode(leaf.to_der()), pg_text_array(chain_hex));
    if (cert_rows.empty()) {
      throw error(identity_codes::exists, "certificate " + cert_fp + " is already registered");
    }
    audit(tx, actor, "identity.certificate_added",
          {{"user_id", user_id},
           {"fingerprint", k.fingerprint},
           {"algorithm", k.algorithm},
           {"certificate_fingerprint", cert_fp},
           {"subject", leaf.subject()},
           {"issuer", leaf.issuer()}});
    out.key = {k.fingerprint, user_id, k.algorithm, key_rows[0][0].as<std::string>()};
    out.fingerprint = cert_fp;
    out.subject = leaf.subject();
    out.issuer = leaf.issuer();
    out.serial_hex = leaf.serial_hex();
    out.not_before = cert_rows[0][0].as<std::string>();
    out.not_after = cert_rows[0][1].as<std::string>();
    tx.commit();
  };
  co_await pool_.run(std::move(job));
  co_return out;
}

identity::admin_created identity::create_admin_blocking(const std::string& org_name,
                                                        const std::string& user_id,
                                                        const std::string& name,
                                                        const std::string& public_key_pem) {
  check_name(org_name, "organisation name");
  user u{user_id, "platform", name, {"admin"}, {}};
  check_user(u);
  const parsed_key k = parse_key(public_key_pem);
  const identity_actor actor{"tenderd-admin", "admin"};
  admin_created out;
  pool_.run_blocking([&](pqxx::connection_base& c) {
    pqxx::work tx(c);
    const auto existing = tx.exec_params(select_platform_org_sql, org_name);
    if (!existing.empty()) {
      out.org = {existing[0][0].as<std::string>(), "platform", org_name,
                 existing[0][1].as<std::string>()};
    } else {
      // The platform organisation's id is fixed: there is one platform per deployment.
      out.org = insert_org(tx, actor, {"platform", "platform", org_name, {}});
      out.org_created = true;
    }
    u.org_id = out.org.id;
    out.admin = insert_user(tx, actor, u);
    out.key = insert_key(tx, actor, u.id, k);
    tx.commit();
  });
  return out;
}

net::awaitable<login_challenge> identity::issue_challenge(std::string user_id) {
  // Not audited: anyone may ask, and a challenge changes no state of record until it is redeemed
  // by a login, which is audited.
  login_challenge out;
  out.id = base64url(random_bytes(16));
  out.challenge = random_bytes(32);
  const auto ttl = static_cast<double>(opts_.challenge_ttl.count());
  pool::job job = [&](pqxx::connection_base& c) {
    pqxx::work tx(c);
    out.expires_at =
        tx.exec_params1(insert_challenge_sql, out.id, user_id, hex_of(out.challenge), ttl)[0]
            .as<std::string>();
    tx.exec0(purge_challenges_sql);
    tx.commit();
  };
  co_await pool_.run(std::move(job));
  co_return out;
}

net::awaitable<login_session> identity::login(std::string challenge_id, std::string fingerprint,
                                              std::string signature) {
  login_session out;
  // The stored hash is of the token text exactly as clients send it back, so resolve() needs no
  // decoding step that could accept two spellings of one token.
  out.token = base64url(random_bytes(32));
  const auto ttl = static_cast<double>(opts_.session_ttl.count());
  pool::job job = [&](pqxx::connection_base& c) {
    pqxx::work tx(c);
    const auto ch = tx.exec_params(lock_challenge_sql, challenge_id);
    if (ch.empty()) bad_signature();
    if (ch[0][2].as<bool>() || ch[0][3].as<bool>()) {
      throw error(identity_codes::challenge_expired,
                  "the challenge has expired or was already used; ask for a new one");
    }
    if (ch[0][0].is_null()) bad_signature();
    const std::string user_id = ch[0][0].as<std::string>();
    const auto key_rows = tx.exec_params(select_live_key_sql, fingerprint, user_id);
    if (key_rows.empty()) bad_signature();
    const auto challenge = crypto::hex_decode(ch[0][1].as<std::string>());
    const auto key =
        crypto::public_key::from_der(crypto::hex_decode(key_rows[0][0].as<std::string>()));
    const std::string message =
        login_message(challenge_id, std::string(challenge.begin(), challenge.end()));
    if (!crypto::verify_message(key, crypto::as_bytes(message), crypto::as_bytes(signature))) {
      bad_signature();
    }
    // After the signature: only the key's holder learns why its certificate is refused.
    certificate_tx::require_key_in_force(tx, fingerprint, opts_.revocations);
    tx.exec_params0(use_challenge_sql, challenge_id);
    out.expires_at = tx.exec_params1(insert_session_sql, sha256_hex(out.token), user_id, ttl)[0]
                         .as<std::string>();
    out.who = user_from(tx.exec_params1(select_user_sql, user_id));
    audit(tx, {user_id, "user"}, "identity.login",
          {{"user_id", user_id}, {"fingerprint", fingerprint}, {"challenge_id", challenge_id}});
    tx.commit();
  };
  co_await pool_.run(std::move(job));
  co_return out;
}

net::awaitable<std::optional<principal>> identity::resolve(std::string token) {
  std::optional<principal> out;
  const std::string hash = sha256_hex(token);
  pool::job job = [&](pqxx::connection_base& c) {
    pqxx::read_transaction tx(c);
    const auto rows = tx.exec_params(resolve_session_sql, hash);
    if (rows.empty()) return;
    principal p;
    p.who = user_from(rows[0]);
    p.org = {p.who.org_id, rows[0][5].as<std::string>(), rows[0][6].as<std::string>(),
             rows[0][7].as<std::string>()};
    out = std::move(p);
  };
  co_await pool_.run(std::move(job));
  co_return out;
}

net::awaitable<std::set<std::string>> identity::live_tokens(std::vector<std::string> tokens) {
  std::set<std::string> out;
  if (tokens.empty()) co_return out;
  std::map<std::string, std::string> by_hash;
  std::string hashes = "{";
  for (auto& t : tokens) {
    auto h = sha256_hex(t);
    if (hashes.size() > 1) hashes += ',';
    hashes += h;  // hex: no quoting needed in an array literal
    by_hash.emplace(std::move(h), std::move(t));
  }
  hashes += '}';
  pool::job job = [&](pqxx::connection_base& c) {
    pqxx::read_transaction tx(c);
    for (const auto& r : tx.exec_params(live_sessions_sql, hashes)) {
      if (auto it = by_hash.find(r[0].as<std::string>()); it != by_hash.end())
        out.insert(it->second);
    }
  };
  co_await pool_.run(std::move(job));
  co_return out;
}

net::awaitable<bool> identity::logout(std::string token) {
  bool out = false;
  const std::string hash = sha256_hex(token);
  pool::job job = [&](pqxx::connection_base& c) {
    pqxx::work tx(c);
    const auto rows = tx.exec_params(revoke_session_sql, hash);
    if (rows.empty()) return;
    const auto user_id = rows[0][0].as<std::string>();
    // The digest names the session by its token hash, never by the token.
    audit(tx, {user_id, "user"}, "identity.logout", {{"user_id", user_id}, {"session", hash}});
    tx.commit();
    out = true;
  };
  co_await pool_.run(std::move(job));
  co_return out;
}

identity::admin_created bootstrap_admin(const std::string& conninfo, const std::string& org_name,
                                        const std::string& user_id, const std::string& name,
                                        const std::string& public_key_pem) {
  pool connections(conninfo, 1);
  identity ids(connections, {});
  auto out = ids.create_admin_blocking(org_name, user_id, name, public_key_pem);
  connections.stop();
  return out;
}

}  // namespace tender::db
