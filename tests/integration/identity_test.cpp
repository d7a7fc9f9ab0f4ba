// The identity repository against a real PostgreSQL: creates with their audit events, the admin
// bootstrap, login by signed challenge with real Ed25519 and SM2 keys, and every refusal leaving
// the tables as they were.
#include <io_support.hpp>
#include <test_support.hpp>

#include <tender/crypto/init.hpp>
#include <tender/crypto/keys.hpp>
#include <tender/db/error.hpp>
#include <tender/db/identity.hpp>

#include "../../server/db/src/pool.hpp"

#include <gtest/gtest.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

namespace asio = boost::asio;
namespace crypto = tender::crypto;
using tender::db::identity;
using tender::test::fresh_database;

namespace {

using tender::test::run_on_io;
const auto code_of = tender::test::db_error_code;

std::string sign(const crypto::private_key& key, const tender::db::login_challenge& ch) {
  const auto msg = tender::db::login_message(ch.id, ch.challenge);
  const auto sig = crypto::sign_message(key, crypto::as_bytes(msg));
  return std::string(sig.begin(), sig.end());
}

struct identity_fixture : ::testing::Test {
  void SetUp() override { crypto::init(); }

  std::string counts() const {
    return db.query_value(
        "SELECT (SELECT count(*) FROM organisations) || '/' || (SELECT count(*) FROM users) || "
        "'/' || (SELECT count(*) FROM user_keys) || '/' || (SELECT count(*) FROM sessions) || '/' "
        "|| (SELECT count(*) FROM login_challenges WHERE used_at IS NOT NULL) || '/' || "
        "(SELECT count(*) FROM audit_events)");
  }

  fresh_database db{"identity"};
  tender::db::pool pool{db.conninfo(), 2};
  identity ids{pool, {}};
  crypto::private_key admin_key = crypto::private_key::generate(crypto::key_type::ed25519);
};

TEST_F(identity_fixture, create_admin_then_login_resolve_logout) {
  const auto created = ids.create_admin_blocking("Tenderhall Platform", "root", "Root Admin",
                                                 admin_key.public_part().to_pem());
  EXPECT_TRUE(created.org_created);
  EXPECT_EQ(created.org.kind, "platform");
  EXPECT_EQ(created.admin.roles, std::vector<std::string>{"admin"});
  EXPECT_EQ(created.key.fingerprint, admin_key.public_part().fingerprint());
  EXPECT_EQ(db.query_value("SELECT string_agg(action, ',' ORDER BY seq) FROM audit_events"),
            "identity.org_created,identity.user_created,identity.key_added");
  EXPECT_EQ(db.query_value("SELECT DISTINCT actor FROM audit_events"), "tenderd-admin");

  const auto ch = run_on_io(ids.issue_challenge("root"));
  EXPECT_EQ(ch.challenge.size(), 32u);
  const auto s = run_on_io(ids.login(ch.id, created.key.fingerprint, sign(admin_key, ch)));
  EXPECT_EQ(s.who.id, "root");
  EXPECT_EQ(s.token.size(), 43u);  // base64url of 32 bytes, unpadded
  // Only the hash is stored.
  EXPECT_EQ(db.query_value("SELECT count(*) FROM sessions WHERE token_hash = sha256('" + s.token +
                           "'::bytea)"),
            "1");

  const auto p = run_on_io(ids.resolve(s.token));
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->who.id, "root");
  EXPECT_EQ(p->org.kind, "platform");
  EXPECT_TRUE(p->who.has_role("admin"));

  EXPECT_TRUE(run_on_io(ids.logout(s.token)));
  EXPECT_FALSE(run_on_io(ids.resolve(s.token)).has_value());
  EXPECT_FALSE(run_on_io(ids.logout(s.token)));
  EXPECT_EQ(db.query_value("SELECT action FROM audit_events ORDER BY seq DESC LIMIT 1"),
            "identity.logout");
}

TEST_F(identity_fixture, second_create_admin_reuses_the_platform_org_and_refuses_a_taken_id) {
  ids.create_admin_blocking("P", "root", "Root", admin_key.public_part().to_pem());
  const auto other = crypto::private_key::generate(crypto::key_type::sm2);
  const auto second =
      ids.create_admin_blocking("P", "root2", "Second", other.public_part().to_pem());
  EXPECT_FALSE(second.org_created);
  EXPECT_EQ(second.key.algorithm, "sm2");
  const auto before = counts();
  EXPECT_EQ(code_of([&] {
              ids.create_admin_blocking("P", "root", "Again", other.public_part().to_pem());
            }),
            "identity.exists");
  EXPECT_EQ(code_of([&] {
              ids.create_admin_blocking("P", "root3", "X", "-----BEGIN PUBLIC KEY-----\nAA\n");
            }),
            "identity.bad_key");
  const auto x25519 = crypto::private_key::generate(crypto::key_type::x25519);
  EXPECT_EQ(
      code_of([&] { ids.create_admin_blocking("P", "root3", "X", x25519.public_part().to_pem()); }),
      "identity.bad_key");
  EXPECT_EQ(counts(), before);
}

TEST_F(identity_fixture, orgs_users_and_keys_with_checks) {
  const tender::db::identity_actor actor{"root", "admin"};
  const auto org = run_on_io(ids.create_organisation(actor, {"acme", "bidder", "ACME Ltd", {}}));
  EXPECT_FALSE(org.created_at.empty());
  const auto u =
      run_on_io(ids.create_user(actor, {"alice", "acme", "Alice", {"bidder", "expert"}, {}}));
  EXPECT_EQ(u.roles, (std::vector<std::string>{"bidder", "expert"}));
  const auto key = crypto::private_key::generate(crypto::key_type::sm2);
  const auto k = run_on_io(ids.add_key(actor, "alice", key.public_part().to_pem()));
  EXPECT_EQ(k.algorithm, "sm2");
  EXPECT_EQ(db.query_value("SELECT count(*) FROM audit_events WHERE actor = 'root'"), "3");

  const auto before = counts();
  EXPECT_EQ(code_of([&] {
              run_on_io(ids.create_organisation(actor, {"acme", "bidder", "X", {}}));
            }),
            "identity.exists");
  EXPECT_EQ(code_of([&] {
              run_on_io(ids.create_organisation(actor, {"b", "pirate", "X", {}}));
            }),
            "identity.bad_input");
  EXPECT_EQ(code_of([&] {
              run_on_io(ids.create_organisation(actor, {"Bad Id", "bidder", "X", {}}));
            }),
            "identity.bad_input");
  EXPECT_EQ(code_of([&] {
              run_on_io(ids.create_user(actor, {"bob", "nope", "Bob", {"bidder"}, {}}));
            }),
            "identity.not_found");
  EXPECT_EQ(code_of([&] {
              run_on_io(ids.create_user(actor, {"bob", "acme", "Bob", {"king"}, {}}));
            }),
            "identity.bad_input");
  EXPECT_EQ(code_of([&] { run_on_io(ids.add_key(actor, "alice", key.public_part().to_pem())); }),
            "identity.exists");
  EXPECT_EQ(
      code_of([&] { run_on_io(ids.add_key(actor, "nobody", admin_key.public_part().to_pem())); }),
      "identity.not_found");
  EXPECT_EQ(counts(), before);

  // SM2 login works the same way.
  const auto ch = run_on_io(ids.issue_challenge("alice"));
  const auto s = run_on_io(ids.login(ch.id, k.fingerprint, sign(key, ch)));
  EXPECT_EQ(s.who.roles, (std::vector<std::string>{"bidder", "expert"}));
}

TEST_F(identity_fixture, refused_logins_change_nothing) {
  const auto created =
      ids.create_admin_blocking("P", "root", "Root", admin_key.public_part().to_pem());
  const auto fp = created.key.fingerprint;
  const auto before = counts();

  // A signature by another key, under the registered fingerprint.
  const auto forger = crypto::private_key::generate(crypto::key_type::ed25519);
  const auto ch = run_on_io(ids.issue_challenge("root"));
  EXPECT_EQ(code_of([&] { run_on_io(ids.login(ch.id, fp, sign(forger, ch))); }),
            "auth.bad_signature");
  // The right key over another challenge's bytes.
  const auto ch2 = run_on_io(ids.issue_challenge("root"));
  EXPECT_EQ(code_of([&] { run_on_io(ids.login(ch.id, fp, sign(admin_key, ch2))); }),
            "auth.bad_signature");
  // Garbage, unknown fingerprint, unknown challenge.
  EXPECT_EQ(code_of([&] { run_on_io(ids.login(ch.id, fp, "junk")); }), "auth.bad_signature");
  EXPECT_EQ(code_of([&] {
              run_on_io(ids.login(ch.id, forger.public_part().fingerprint(), sign(forger, ch)));
            }),
            "auth.bad_signature");
  EXPECT_EQ(code_of([&] { run_on_io(ids.login("nope", fp, sign(admin_key, ch))); }),
            "auth.bad_signature");
  // An unknown user gets a challenge of the same shape that can never be redeemed.
  const auto ghost = run_on_io(ids.issue_challenge("ghost"));
  EXPECT_EQ(ghost.challenge.size(), 32u);
  EXPECT_EQ(code_of([&] { run_on_io(ids.login(ghost.id, fp, sign(admin_key, ghost))); }),
            "auth.bad_signature");
  // Expired.
  db.exec("UPDATE login_challenges SET expires_at = now() - interval '1 second' WHERE id = '" +
          ch2.id + "'");
  EXPECT_EQ(code_of([&] { run_on_io(ids.login(ch2.id, fp, sign(admin_key, ch2))); }),
            "auth.challenge_expired");
  EXPECT_EQ(counts(), before);

  // The first challenge still works once, then never again.
  run_on_io(ids.login(ch.id, fp, sign(admin_key, ch)));
  const auto after = counts();
  EXPECT_EQ(code_of([&] { run_on_io(ids.login(ch.id, fp, sign(admin_key, ch))); }),
            "auth.challenge_expired");
  EXPECT_EQ(counts(), after);

  // A revoked key cannot log in.
  db.exec("UPDATE user_keys SET revoked_at = now()");
  const auto ch3 = run_on_io(ids.issue_challenge("root"));
  EXPECT_EQ(code_of([&] { run_on_io(ids.login(ch3.id, fp, sign(admin_key, ch3))); }),
            "auth.bad_signature");
}

TEST_F(identity_fixture, expired_session_is_not_resolved) {
  ids.create_admin_blocking("P", "root", "Root", admin_key.public_part().to_pem());
  const auto ch = run_on_io(ids.issue_challenge("root"));
  const auto s =
      run_on_io(ids.login(ch.id, admin_key.public_part().fingerprint(), sign(admin_key, ch)));
  ASSERT_TRUE(run_on_io(ids.resolve(s.token)).has_value());
  db.exec("UPDATE sessions SET expires_at = now() - interval '1 second'");
  EXPECT_FALSE(run_on_io(ids.resolve(s.token)).has_value());
  EXPECT_FALSE(run_on_io(ids.resolve("not-a-token")).has_value());
}

}  // namespace
