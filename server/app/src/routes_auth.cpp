// /api/v1/auth/*, /api/v1/me and the admin identity endpoints: login by signed challenge, bearer
// sessions, and the creation of organisations, users and keys (docs/design/server-core.md).

#include "auth.hpp"
#include "body.hpp"
#include "rate_limit.hpp"
#include "routes.hpp"

#include <tender/api/identity.hpp>
#include <tender/core/log.hpp>
#include <tender/crypto/bytes.hpp>
#include <tender/crypto/error.hpp>
#include <tender/db/database.hpp>
#include <tender/db/error.hpp>

#include <boost/json.hpp>

#include <algorithm>
#include <cctype>
#include <functional>
#include <memory>

namespace tender::app {
namespace json = boost::json;
using protocol::errc;

namespace {

// Identity bodies are small; anything larger is not a legitimate request.
constexpr std::size_t identity_body_limit = 16 * 1024;
// A certificate with its chain: a few PEM certificates.
constexpr std::size_t certificate_body_limit = 64 * 1024;

json::object user_json(const db::user& u) {
  json::array roles;
  for (const auto& r : u.roles)
    roles.emplace_back(r);
  return {{"id", u.id},
          {"org_id", u.org_id},
          {"name", u.name},
          {"roles", std::move(roles)},
          {"created_at", u.created_at}};
}

json::object org_json(const db::organisation& o) {
  return {{"id", o.id}, {"kind", o.kind}, {"name", o.name}, {"created_at", o.created_at}};
}

// The identity repository's own codes; everything else is handled by guarded().
std::optional<net::response> identity_error(const db::error& e) {
  static const std::pair<const char*, errc> mapped[] = {
      {db::identity_codes::bad_input, errc::identity_bad_input},
      {db::identity_codes::bad_key, errc::identity_bad_key},
      {db::identity_codes::bad_certificate, errc::identity_bad_certificate},
      {db::identity_codes::exists, errc::identity_exists},
      {db::identity_codes::not_found, errc::identity_not_found},
      {db::identity_codes::bad_signature, errc::auth_bad_signature},
      {db::identity_codes::challenge_expired, errc::auth_challenge_expired},
  };
  for (const auto& [code, c] : mapped) {
    if (e.code() == code) return net::response::error(c, e.what());
  }
  return std::nullopt;
}

net::handler with_role(db::database& database, std::shared_ptr<db::identity> ids, std::string role,
                       principal_body_fn body) {
  std::vector<std::string> roles;
  if (!role.empty()) roles.push_back(std::move(role));
  return authorized(database, std::move(ids), std::move(roles), identity_error, std::move(body),
                    "identity request");
}

}  // namespace

net::handler authorized(db::database& database, std::shared_ptr<db::identity> ids,
                        std::vector<std::string> roles, db_error_map map, principal_body_fn body,
                        std::string what) {
  return guarded(
      database, std::move(what), std::move(map),
      [ids = std::move(ids), roles = std::move(roles),
       body = std::move(body)](net::request& req) -> boost::asio::awaitable<net::response> {
        auto who = co_await authenticate(*ids, req);
        if (auto* res = std::get_if<net::response>(&who)) co_return std::move(*res);
        const auto& p = std::get<db::principal>(who);
        if (!roles.empty() && std::none_of(roles.begin(), roles.end(), [&](const std::string& r) {
              return p.who.has_role(r);
            })) {
          std::string list;
          for (const auto& r : roles)
            list += (list.empty() ? "'" : ", '") + r + "'";
          co_return net::response::error(errc::auth_forbidden,
                                         "this needs the " + list + " role" +
                                             (roles.size() > 1 ? "s (any of them)" : "") +
                                             ", which user '" + p.who.id + "' does not have");
        }
        co_return co_await body(req, p);
      });
}

std::string bearer_token(const net::request& req) {
  const auto h = req.header("Authorization");
  if (!h) return {};
  constexpr std::string_view scheme = "Bearer ";
  if (h->size() <= scheme.size()) return {};
  // The scheme is case-insensitive (RFC 9110 §11.1).
  for (std::size_t i = 0; i < scheme.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>((*h)[i])) !=
        std::tolower(static_cast<unsigned char>(scheme[i]))) {
      return {};
    }
  }
  return std::string(h->substr(scheme.size()));
}

boost::asio::awaitable<std::variant<db::principal, net::response>> authenticate(
    db::identity& ids, const net::request& req) {
  const std::string token = bearer_token(req);
  if (token.empty()) {
    co_return net::response::error(errc::auth_required,
                                   "this endpoint needs 'Authorization: Bearer <token>' "
                                   "(log in with POST /api/v1/auth/login)");
  }
  auto p = co_await ids.resolve(token);
  if (!p) {
    co_return net::response::error(errc::auth_invalid_token,
                                   "the bearer token is unknown, expired or revoked; log in again");
  }
  co_return std::move(*p);
}

void add_identity_routes(net::router& r, db::database& database,
                         std::shared_ptr<const crypto::x509::trust_store> ca_roots,
                         unsigned challenges_per_minute, db::revocation_source revocations) {
  db::identity::options io;
  io.revocations = std::move(revocations);
  auto ids = std::make_shared<db::identity>(database.connections(), std::move(io));
  // Anyone may ask for a challenge and each one is a row: one address may not ask without end.
  auto challenges = std::make_shared<rate_limiter>(challenges_per_minute);

  r.add("POST", "/api/v1/auth/challenge",
        guarded(database, "identity request", identity_error,
                [ids, challenges, challenges_per_minute](
                    net::request& req) -> boost::asio::awaitable<net::response> {
                  if (!challenges->take(req.remote_address)) {
                    auto res = net::response::error(
                        errc::rate_limited,
                        "more than " + std::to_string(challenges_per_minute) +
                            " login challenges a minute from this address; try again shortly");
                    res.headers.emplace_back("Retry-After", "5");
                    co_return res;
                  }
                  const auto user_id = api::challenge_request(req.body);
                  const auto ch = co_await ids->issue_challenge(user_id);
                  co_return net::response::json(
                      200, json::serialize(json::object{
                               {"challenge_id", ch.id},
                               {"challenge", crypto::base64_encode(crypto::as_bytes(ch.challenge))},
                               {"expires_at", ch.expires_at}}));
                }),
        identity_body_limit);

  r.add("POST", "/api/v1/auth/login",
        guarded(database, "identity request", identity_error,
                [ids](net::request& req) -> boost::asio::awaitable<net::response> {
                  auto [challenge_id, fingerprint, signature] = api::read_login_request(req.body);
                  const auto s = co_await ids->login(challenge_id, fingerprint, signature);
                  json::array roles;
                  for (const auto& role : s.who.roles)
                    roles.emplace_back(role);
                  co_return net::response::json(
                      200, json::serialize(json::object{{"token", s.token},
                                                        {"expires_at", s.expires_at},
                                                        {"user_id", s.who.id},
                                                        {"roles", std::move(roles)}}));
                }),
        identity_body_limit);

  r.add("POST", "/api/v1/auth/logout",
        guarded(database, "identity request", identity_error,
                [ids](net::request& req) -> boost::asio::awaitable<net::response> {
                  const std::string token = bearer_token(req);
                  if (token.empty()) {
                    co_return net::response::error(errc::auth_required,
                                                   "logout needs 'Authorization: Bearer <token>'");
                  }
                  if (!co_await ids->logout(token)) {
                    co_return net::response::error(
                        errc::auth_invalid_token,
                        "the bearer token is unknown, expired or revoked");
                  }
                  co_return net::response::json(200, R"({"logged_out":true})");
                }),
        identity_body_limit);

  r.add(
      "GET", "/api/v1/me",
      with_role(database, ids, "",
                [](net::request&, const db::principal& p) -> boost::asio::awaitable<net::response> {
                  json::object out = user_json(p.who);
                  out["org"] = org_json(p.org);
                  co_return net::response::json(200, json::serialize(out));
                }));

  r.add("POST", "/api/v1/orgs",
        with_role(database, ids, "admin",
                  [ids](net::request& req,
                        const db::principal& p) -> boost::asio::awaitable<net::response> {
                    auto o = api::read_organisation_request(req.body);
                    db::organisation org{std::move(o.id), std::move(o.kind), std::move(o.name), {}};
                    const db::identity_actor actor{p.who.id, "admin"};
                    const auto created = co_await ids->create_organisation(actor, org);
                    co_return net::response::json(201, json::serialize(org_json(created)));
                  }),
        identity_body_limit);

  r.add("POST", "/api/v1/orgs/{id}/users",
        with_role(
            database, ids, "admin",
            [ids](net::request& req,
                  const db::principal& p) -> boost::asio::awaitable<net::response> {
              auto b = api::read_user_request(req.body);
              db::user u{
                  std::move(b.id), req.params.at("id"), std::move(b.name), std::move(b.roles), {}};
              const db::identity_actor actor{p.who.id, "admin"};
              const auto created = co_await ids->create_user(actor, u);
              co_return net::response::json(201, json::serialize(user_json(created)));
            }),
        identity_body_limit);

  r.add("POST", "/api/v1/users/{id}/keys",
        with_role(database, ids, "admin",
                  [ids](net::request& req,
                        const db::principal& p) -> boost::asio::awaitable<net::response> {
                    const auto pem = api::key_request(req.body);
                    const db::identity_actor actor{p.who.id, "admin"};
                    const std::string user_id = req.params.at("id");
                    const auto k = co_await ids->add_key(actor, user_id, pem);
                    co_return net::response::json(
                        201, json::serialize(json::object{{"fingerprint", k.fingerprint},
                                                          {"user_id", k.user_id},
                                                          {"algorithm", k.algorithm},
                                                          {"created_at", k.created_at}}));
                  }),
        identity_body_limit);

  // Revocation: every live session of a user, or one of its keys (which also ends its sessions).
  r.add("POST", "/api/v1/users/{id}/sessions/revoke",
        with_role(database, ids, "admin",
                  [ids](net::request& req,
                        const db::principal& p) -> boost::asio::awaitable<net::response> {
                    api::no_identity_fields(req.body);
                    const db::identity_actor actor{p.who.id, "admin"};
                    const std::string user_id = req.params.at("id");
                    const auto n = co_await ids->revoke_sessions(actor, user_id);
                    co_return net::response::json(
                        200, json::serialize(json::object{{"user_id", user_id}, {"revoked", n}}));
                  }),
        identity_body_limit);

  r.add("POST", "/api/v1/users/{id}/keys/{fingerprint}/revoke",
        with_role(database, ids, "admin",
                  [ids](net::request& req,
                        const db::principal& p) -> boost::asio::awaitable<net::response> {
                    api::no_identity_fields(req.body);
                    const db::identity_actor actor{p.who.id, "admin"};
                    const std::string user_id = req.params.at("id");
                    const std::string fingerprint = req.params.at("fingerprint");
                    const auto k = co_await ids->revoke_key(actor, user_id, fingerprint);
                    co_return net::response::json(
                        200,
                        json::serialize(json::object{{"fingerprint", k.fingerprint},
                                                     {"user_id", k.user_id},
                                                     {"revoked_at", k.revoked_at},
                                                     {"sessions_revoked", k.sessions_revoked}}));
                  }),
        identity_body_limit);

  // Registers an X.509 certificate's key for the user, once the chain verifies against the
  // configured roots at the database clock time.
  r.add("POST", "/api/v1/users/{id}/certificates",
        with_role(database, ids, "admin",
                  [ids, ca_roots](net::request& req,
                                  const db::principal& p) -> boost::asio::awaitable<net::response> {
                    auto [pem, chain] = api::read_certificate_request(req.body);
                    const db::identity_actor actor{p.who.id, "admin"};
                    const std::string user_id = req.params.at("id");
                    const auto c = co_await ids->add_certificate(actor, user_id, std::move(pem),
                                                                 std::move(chain), ca_roots);
                    co_return net::response::json(
                        201, json::serialize(json::object{{"fingerprint", c.key.fingerprint},
                                                          {"user_id", c.key.user_id},
                                                          {"algorithm", c.key.algorithm},
                                                          {"created_at", c.key.created_at},
                                                          {"certificate",
                                                           {{"fingerprint", c.fingerprint},
                                                            {"subject", c.subject},
                                                            {"issuer", c.issuer},
                                                            {"serial", c.serial_hex},
                                                            {"not_before", c.not_before},
                                                            {"not_after", c.not_after}}}}));
                  }),
        certificate_body_limit);
}

}  // namespace tender::app
