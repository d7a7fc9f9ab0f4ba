// The identity calls of the client: challenge, login, logout, whoami and the admin creates.

#include <tender/client/client.hpp>

#include <tender/crypto/bytes.hpp>
#include <tender/crypto/error.hpp>

#include <boost/json.hpp>

namespace tender::client {
namespace json = boost::json;

namespace {

[[noreturn]] void bad_shape(std::string_view what) {
  throw error("client.bad_response", "unexpected answer from " + std::string(what));
}

json::object object_of(const http_response& r, std::string_view what) {
  boost::system::error_code ec;
  auto v = json::parse(r.body, ec);
  if (ec || !v.is_object()) bad_shape(what);
  return std::move(v.get_object());
}

std::string str(const json::object& o, std::string_view key, std::string_view what) {
  const auto* v = o.if_contains(key);
  if (v == nullptr || !v->is_string()) bad_shape(what);
  return std::string(v->get_string());
}

std::vector<std::string> strings(const json::object& o, std::string_view key,
                                 std::string_view what) {
  const auto* v = o.if_contains(key);
  if (v == nullptr || !v->is_array()) bad_shape(what);
  std::vector<std::string> out;
  for (const auto& e : v->get_array()) {
    if (!e.is_string()) bad_shape(what);
    out.emplace_back(e.get_string());
  }
  return out;
}

user_info user_of(const json::object& o, std::string_view what) {
  return {str(o, "id", what), str(o, "org_id", what), str(o, "name", what),
          strings(o, "roles", what), str(o, "created_at", what)};
}

org_info org_of(const json::object& o, std::string_view what) {
  return {str(o, "id", what), str(o, "kind", what), str(o, "name", what),
          str(o, "created_at", what)};
}

}  // namespace

std::string login_message(const login_challenge& ch) {
  return "tenderhall-login-v1\n" + ch.challenge_id + "\n" + ch.challenge;
}

login_challenge client::auth_challenge(const std::string& user_id) {
  constexpr std::string_view what = "POST /api/v1/auth/challenge";
  const auto r = request("POST", "/api/v1/auth/challenge",
                         json::serialize(json::object{{"user_id", user_id}}));
  expect_status(r, 200);
  const auto o = object_of(r, what);
  login_challenge ch;
  ch.challenge_id = str(o, "challenge_id", what);
  ch.expires_at = str(o, "expires_at", what);
  try {
    const auto raw = crypto::base64_decode(str(o, "challenge", what));
    ch.challenge.assign(raw.begin(), raw.end());
  } catch (const crypto::error&) {
    bad_shape(what);
  }
  return ch;
}

session_info client::login(const std::string& user_id, const std::string& fingerprint,
                           const login_signer& sign) {
  constexpr std::string_view what = "POST /api/v1/auth/login";
  const auto ch = auth_challenge(user_id);
  const std::string signature = sign(login_message(ch));
  const auto r = request("POST", "/api/v1/auth/login",
                         json::serialize(json::object{
                             {"challenge_id", ch.challenge_id},
                             {"fingerprint", fingerprint},
                             {"signature", crypto::base64_encode(crypto::as_bytes(signature))}}));
  expect_status(r, 200);
  const auto o = object_of(r, what);
  session_info s{str(o, "token", what), str(o, "expires_at", what), str(o, "user_id", what),
                 strings(o, "roles", what)};
  set_token(s.token);
  return s;
}

void client::logout() {
  const auto r = request("POST", "/api/v1/auth/logout");
  expect_status(r, 200);
}

whoami_info client::whoami() {
  constexpr std::string_view what = "GET /api/v1/me";
  const auto r = request("GET", "/api/v1/me");
  expect_status(r, 200);
  const auto o = object_of(r, what);
  const auto* org = o.if_contains("org");
  if (org == nullptr || !org->is_object()) bad_shape(what);
  return {user_of(o, what), org_of(org->get_object(), what)};
}

org_info client::create_org(const std::string& id, const std::string& kind,
                            const std::string& name) {
  constexpr std::string_view what = "POST /api/v1/orgs";
  const auto r = request("POST", "/api/v1/orgs",
                         json::serialize(json::object{{"id", id}, {"kind", kind}, {"name", name}}));
  expect_status(r, 201);
  return org_of(object_of(r, what), what);
}

user_info client::create_user(const std::string& org_id, const std::string& id,
                              const std::string& name, const std::vector<std::string>& roles) {
  constexpr std::string_view what = "POST /api/v1/orgs/{id}/users";
  json::array list;
  for (const auto& role : roles)
    list.emplace_back(role);
  // Ids are restricted to [a-z0-9._-] by the server, so the path needs no encoding; anything
  // else is refused there with a clear message.
  const auto r = request(
      "POST", "/api/v1/orgs/" + org_id + "/users",
      json::serialize(json::object{{"id", id}, {"name", name}, {"roles", std::move(list)}}));
  expect_status(r, 201);
  return user_of(object_of(r, what), what);
}

key_info client::add_key(const std::string& user_id, const std::string& public_key_pem) {
  constexpr std::string_view what = "POST /api/v1/users/{id}/keys";
  const auto r = request("POST", "/api/v1/users/" + user_id + "/keys",
                         json::serialize(json::object{{"public_key_pem", public_key_pem}}));
  expect_status(r, 201);
  const auto o = object_of(r, what);
  return {str(o, "fingerprint", what), str(o, "user_id", what), str(o, "algorithm", what),
          str(o, "created_at", what)};
}

std::int64_t client::revoke_sessions(const std::string& user_id) {
  constexpr std::string_view what = "POST /api/v1/users/{id}/sessions/revoke";
  const auto r = request("POST", "/api/v1/users/" + user_id + "/sessions/revoke", "{}");
  expect_status(r, 200);
  const auto o = object_of(r, what);
  const auto* n = o.if_contains("revoked");
  if (n == nullptr || !n->is_int64()) bad_shape(what);
  return n->get_int64();
}

std::int64_t client::revoke_key(const std::string& user_id, const std::string& fingerprint) {
  constexpr std::string_view what = "POST /api/v1/users/{id}/keys/{fingerprint}/revoke";
  const auto r =
      request("POST", "/api/v1/users/" + user_id + "/keys/" + fingerprint + "/revoke", "{}");
  expect_status(r, 200);
  const auto o = object_of(r, what);
  const auto* n = o.if_contains("sessions_revoked");
  if (n == nullptr || !n->is_int64()) bad_shape(what);
  return n->get_int64();
}

certificate_info client::add_certificate(const std::string& user_id,
                                         const std::string& certificate_pem,
                                         const std::vector<std::string>& chain_pems) {
  constexpr std::string_view what = "POST /api/v1/users/{id}/certificates";
  json::object body{{"certificate", certificate_pem}};
  if (!chain_pems.empty()) {
    json::array chain;
    for (const auto& pem : chain_pems)
      chain.emplace_back(pem);
    body["chain"] = std::move(chain);
  }
  const auto r =
      request("POST", "/api/v1/users/" + user_id + "/certificates", json::serialize(body));
  expect_status(r, 201);
  const auto o = object_of(r, what);
  certificate_info out;
  out.key = {str(o, "fingerprint", what), str(o, "user_id", what), str(o, "algorithm", what),
             str(o, "created_at", what)};
  const auto* c = o.if_contains("certificate");
  if (c == nullptr || !c->is_object()) {
    throw error("client.bad_response", std::string(what) + ": field 'certificate' is missing");
  }
  const auto& co = c->get_object();
  out.fingerprint = str(co, "fingerprint", what);
  out.subject = str(co, "subject", what);
  out.issuer = str(co, "issuer", what);
  out.serial = str(co, "serial", what);
  out.not_before = str(co, "not_before", what);
  out.not_after = str(co, "not_after", what);
  return out;
}

}  // namespace tender::client
