// Identities end to end: `tenderd admin create-admin`, then the real `tender` CLI and the client
// SDK against the real tenderd — login by signed challenge, whoami, admin creates, 403 for a
// bidder, logout — and every refusal a clear error that changes no row.
#include <test_support.hpp>

#include <tender/client/client.hpp>
#include <tender/crypto/init.hpp>
#include <tender/crypto/keys.hpp>

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include <filesystem>
#include <fstream>

namespace crypto = tender::crypto;
using tender::test::fresh_database;
using tender::test::run_command;
using tender::test::tenderd_process;

namespace {

void write_text(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
}

std::string body_code(const tender::client::http_response& r) {
  boost::system::error_code ec;
  const auto v = boost::json::parse(r.body, ec);
  if (ec || !v.is_object()) return "";
  const auto* e = v.get_object().if_contains("error");
  if (e == nullptr || !e->is_object()) return "";
  const auto* code = e->get_object().if_contains("code");
  return code != nullptr && code->is_string() ? std::string(code->get_string()) : "";
}

struct identity_e2e : ::testing::Test {
  void SetUp() override {
    crypto::init();
    dir = tender::test::make_temp_dir("identity");
    admin_key = crypto::private_key::generate(crypto::key_type::ed25519);
    const auto admin_pem = admin_key.to_pem();
    write_text(dir + "/admin.pem", std::string(admin_pem.view().begin(), admin_pem.view().end()));
    write_text(dir + "/admin.pub.pem", admin_key.public_part().to_pem());
    bidder_key = crypto::private_key::generate(crypto::key_type::sm2);
    const auto pem = bidder_key.to_pem();
    write_text(dir + "/bidder.pem", std::string(pem.view().begin(), pem.view().end()));
    write_text(dir + "/bidder.pub.pem", bidder_key.public_part().to_pem());
  }

  tender::test::run_result tenderd_admin(std::vector<std::string> args) {
    args.insert(args.begin(), {TENDER_TENDERD_PATH, "admin"});
    return run_command(args, {{"TENDERD_DATABASE_CONNINFO", db.conninfo()}});
  }

  tender::test::run_result cli(const tenderd_process& d, std::vector<std::string> args) {
    args.insert(args.begin(), {TENDER_CLI_PATH, "--server", d.url()});
    return run_command(args, {{"HOME", dir}});
  }

  std::string counts() const {
    return db.query_value(
        "SELECT (SELECT count(*) FROM organisations) || '/' || (SELECT count(*) FROM users) || "
        "'/' || (SELECT count(*) FROM user_keys) || '/' || (SELECT count(*) FROM sessions "
        "WHERE revoked_at IS NULL) || '/' || (SELECT count(*) FROM login_challenges WHERE "
        "used_at IS NOT NULL) || '/' || (SELECT count(*) FROM audit_events WHERE action LIKE "
        "'identity.%')");
  }

  fresh_database db{"identity_e2e"};
  std::string dir;
  crypto::private_key admin_key;
  crypto::private_key bidder_key;
};

TEST_F(identity_e2e, create_admin_login_admin_creates_bidder_forbidden_logout) {
  const auto created =
      tenderd_admin({"create-admin", "--org-name", "Tenderhall", "--user-id", "root", "--name",
                     "Root Admin", "--public-key", dir + "/admin.pub.pem"});
  ASSERT_EQ(created.exit_code, 0) << created.output;
  EXPECT_NE(created.output.find(admin_key.public_part().fingerprint()), std::string::npos);
  // The same user id twice is refused and changes nothing.
  const auto before_dup = counts();
  const auto dup = tenderd_admin({"create-admin", "--org-name", "Tenderhall", "--user-id", "root",
                                  "--name", "Again", "--public-key", dir + "/bidder.pub.pem"});
  EXPECT_EQ(dup.exit_code, 1) << dup.output;
  EXPECT_NE(dup.output.find("identity.exists"), std::string::npos) << dup.output;
  EXPECT_EQ(counts(), before_dup);

  tenderd_process d(db.conninfo());
  const std::string admin_token = dir + "/admin.token";
  auto r =
      cli(d, {"login", "--user", "root", "--key", dir + "/admin.pem", "--token-file", admin_token});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(std::filesystem::status(admin_token).permissions() &
                (std::filesystem::perms::group_all | std::filesystem::perms::others_all),
            std::filesystem::perms::none);
  r = cli(d, {"whoami", "--token-file", admin_token, "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find(R"("user_id":"root")"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find(R"("kind":"platform")"), std::string::npos) << r.output;

  r = cli(d, {"admin", "org", "create", "--id", "acme", "--kind", "bidder", "--name", "ACME Ltd",
              "--token-file", admin_token});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = cli(d, {"admin", "user", "create", "--org", "acme", "--id", "alice", "--name", "Alice",
              "--role", "bidder", "--token-file", admin_token});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = cli(d, {"admin", "key", "add", "--user", "alice", "--public-key", dir + "/bidder.pub.pem",
              "--token-file", admin_token});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("sm2"), std::string::npos) << r.output;
  EXPECT_EQ(db.query_value("SELECT count(*) FROM audit_events WHERE actor = 'root' AND action IN "
                           "('identity.org_created','identity.user_created','identity.key_added')"),
            "3");

  // The bidder logs in with the default token file under HOME.
  r = cli(d, {"login", "--user", "alice", "--key", dir + "/bidder.pem"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(std::filesystem::exists(dir + "/.config/tenderhall/token"));
  r = cli(d, {"whoami"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("alice"), std::string::npos);

  // A bidder gets 403 on every admin endpoint, and nothing changes.
  const auto before = counts();
  r = cli(d, {"admin", "org", "create", "--id", "evil", "--kind", "bidder", "--name", "Evil"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("auth.forbidden"), std::string::npos) << r.output;
  r = cli(d, {"admin", "user", "create", "--org", "acme", "--id", "mallory", "--name", "M",
              "--role", "admin"});
  EXPECT_NE(r.output.find("auth.forbidden"), std::string::npos) << r.output;
  r = cli(d, {"admin", "key", "add", "--user", "root", "--public-key", dir + "/bidder.pub.pem"});
  EXPECT_NE(r.output.find("auth.forbidden"), std::string::npos) << r.output;
  EXPECT_EQ(counts(), before);

  // Logout, after which the token is refused.
  const std::string bidder_token =
      std::string(tender::test::read_file(dir + "/.config/tenderhall/token"));
  r = cli(d, {"logout"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_FALSE(std::filesystem::exists(dir + "/.config/tenderhall/token"));
  write_text(dir + "/old.token", bidder_token);
  r = cli(d, {"whoami", "--token-file", dir + "/old.token"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("auth.invalid_token"), std::string::npos) << r.output;
  // The admin's session is untouched.
  r = cli(d, {"whoami", "--token-file", admin_token});
  EXPECT_EQ(r.exit_code, 0) << r.output;
}

TEST_F(identity_e2e, refusals_are_clear_and_change_nothing) {
  ASSERT_EQ(tenderd_admin({"create-admin", "--org-name", "P", "--user-id", "root", "--name", "Root",
                           "--public-key", dir + "/admin.pub.pem"})
                .exit_code,
            0);
  tenderd_process d(db.conninfo());
  tender::client::options o;
  o.server = d.url();
  tender::client::client c(o);
  const std::string fp = admin_key.public_part().fingerprint();
  auto sign_with = [](const crypto::private_key& k) {
    return [&k](std::string_view m) {
      const auto s = crypto::sign_message(k, crypto::as_bytes(m));
      return std::string(s.begin(), s.end());
    };
  };
  auto code_of = [](const std::function<void()>& f) -> std::string {
    try {
      f();
    } catch (const tender::client::error& e) {
      return e.code() + "/" + std::to_string(e.http_status());
    }
    return "";
  };
  const auto before = counts();

  // No token, a made-up token.
  EXPECT_EQ(code_of([&] { c.whoami(); }), "auth.required/401");
  EXPECT_EQ(code_of([&] { c.create_org("x", "bidder", "X"); }), "auth.required/401");
  c.set_token("made-up");
  EXPECT_EQ(code_of([&] { c.whoami(); }), "auth.invalid_token/401");
  EXPECT_EQ(code_of([&] { c.logout(); }), "auth.invalid_token/401");
  c.set_token("");

  // A forged signature: another key signs under the admin's fingerprint.
  const auto forger = crypto::private_key::generate(crypto::key_type::ed25519);
  EXPECT_EQ(code_of([&] { c.login("root", fp, sign_with(forger)); }), "auth.bad_signature/401");
  // An unknown user id gets a challenge of the same shape; logging in with it fails the same way.
  const auto ghost = c.auth_challenge("ghost");
  EXPECT_EQ(ghost.challenge.size(), 32u);
  EXPECT_EQ(code_of([&] { c.login("ghost", fp, sign_with(admin_key)); }), "auth.bad_signature/401");

  // Expired and reused challenges.
  const auto ch = c.auth_challenge("root");
  db.exec("UPDATE login_challenges SET expires_at = now() - interval '1 second' WHERE id = '" +
          ch.challenge_id + "'");
  const auto sig = sign_with(admin_key)(tender::client::login_message(ch));
  const auto login_body = [&](const tender::client::login_challenge& x, const std::string& s) {
    std::string b64;
    {
      const auto enc = crypto::base64_encode(crypto::as_bytes(s));
      b64 = enc;
    }
    return boost::json::serialize(boost::json::object{
        {"challenge_id", x.challenge_id}, {"fingerprint", fp}, {"signature", b64}});
  };
  auto res = c.request("POST", "/api/v1/auth/login", login_body(ch, sig));
  EXPECT_EQ(res.status, 401u);
  EXPECT_EQ(body_code(res), "auth.challenge_expired");
  EXPECT_EQ(counts(), before);

  const auto ch2 = c.auth_challenge("root");
  const auto sig2 = sign_with(admin_key)(tender::client::login_message(ch2));
  res = c.request("POST", "/api/v1/auth/login", login_body(ch2, sig2));
  ASSERT_EQ(res.status, 200u) << res.body;
  const auto after_login = counts();
  res = c.request("POST", "/api/v1/auth/login", login_body(ch2, sig2));
  EXPECT_EQ(res.status, 401u);
  EXPECT_EQ(body_code(res), "auth.challenge_expired");
  EXPECT_EQ(counts(), after_login);

  // Malformed JSON bodies: each a precise 400, no change.
  const std::pair<std::string, std::string> bad[] = {
      {"{", "not valid JSON"},
      {"[]", "must be a JSON object"},
      {R"({"user":"root"})", "unknown field 'user'"},
      {"{}", "field 'user_id' is required"},
      {R"({"user_id":7})", "field 'user_id' must be a string, got a number"},
  };
  for (const auto& [body, message] : bad) {
    res = c.request("POST", "/api/v1/auth/challenge", body);
    EXPECT_EQ(res.status, 400u) << body;
    EXPECT_EQ(body_code(res), "request.bad_json") << body;
    EXPECT_NE(res.body.find(message), std::string::npos) << res.body;
  }
  res = c.request("POST", "/api/v1/auth/login",
                  R"({"challenge_id":"x","fingerprint":"y","signature":"%%%"})");
  EXPECT_EQ(res.status, 400u);
  EXPECT_NE(res.body.find("field 'signature'"), std::string::npos) << res.body;

  // An admin with bad bodies: 400 with the field named, and no change.
  c.login("root", fp, sign_with(admin_key));
  const auto before_admin = counts();
  res = c.request("POST", "/api/v1/orgs", R"({"id":"a","kind":"pirate","name":"A"})");
  EXPECT_EQ(res.status, 400u);
  EXPECT_EQ(body_code(res), "identity.bad_input");
  res = c.request("POST", "/api/v1/orgs/nope/users", R"({"id":"u","name":"U","roles":"bidder"})");
  EXPECT_EQ(body_code(res), "request.bad_json");
  EXPECT_NE(res.body.find("field 'roles' must be an array of strings"), std::string::npos);
  res = c.request("POST", "/api/v1/orgs/nope/users", R"({"id":"u","name":"U","roles":["bidder"]})");
  EXPECT_EQ(res.status, 404u);
  EXPECT_EQ(body_code(res), "identity.not_found");
  res = c.request("POST", "/api/v1/users/root/keys", R"({"public_key_pem":"nope"})");
  EXPECT_EQ(res.status, 400u);
  EXPECT_EQ(body_code(res), "identity.bad_key");
  EXPECT_EQ(counts(), before_admin);

  // A revoked session token is refused.
  db.exec("UPDATE sessions SET revoked_at = now()");
  EXPECT_EQ(code_of([&] { c.whoami(); }), "auth.invalid_token/401");
}

}  // namespace
