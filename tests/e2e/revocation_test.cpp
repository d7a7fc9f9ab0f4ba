// Admin revocation end to end: ending a user's sessions stops its bearer tokens at once; revoking
// a key stops it logging in (and ends its sessions); each is one audit event; refusals (not an
// admin, unknown user or key, malformed fingerprint) change nothing.
#include <world.hpp>

#include <gtest/gtest.h>

namespace {

std::string code_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const tender::client::error& e) {
    return e.code();
  }
  return "";
}

}  // namespace

TEST(revocation_e2e, sessions_and_keys_are_revoked_by_an_admin_only) {
  tender::test::world w("revoke");
  auto& bob = w.user("bob", "acme", "bidder", {"bidder"});
  auto second = w.session_of(bob);
  auto& admin = *w.admin().api;
  const auto audits = [&] { return w.rows("audit_events"); };
  const auto live_sessions = [&] {
    return w.db().query_value(
        "SELECT count(*) FROM sessions WHERE user_id = 'bob' AND revoked_at IS NULL");
  };

  // Refusals first: nothing changes.
  auto before = audits();
  EXPECT_EQ(code_of([&] { bob.api->revoke_sessions("bob"); }), "auth.forbidden");
  EXPECT_EQ(code_of([&] { admin.revoke_sessions("nobody"); }), "identity.not_found");
  EXPECT_EQ(code_of([&] { admin.revoke_key("bob", "XYZ"); }), "identity.bad_input");
  EXPECT_EQ(code_of([&] { admin.revoke_key("bob", std::string(64, 'a')); }), "identity.not_found");
  EXPECT_EQ(audits(), before);
  EXPECT_EQ(live_sessions(), "2");
  EXPECT_EQ(bob.api->whoami().user.id, "bob");

  // Ending the sessions: both tokens stop working, one audit event.
  EXPECT_EQ(admin.revoke_sessions("bob"), 2);
  EXPECT_EQ(audits(), before + 1);
  EXPECT_EQ(code_of([&] { bob.api->whoami(); }), "auth.invalid_token");
  EXPECT_EQ(code_of([&] { second->whoami(); }), "auth.invalid_token");
  EXPECT_EQ(live_sessions(), "0");

  // The key still logs in; revoking it ends the new session and stops further logins.
  auto again = w.session_of(bob);
  EXPECT_EQ(again->whoami().user.id, "bob");
  const auto fingerprint = bob.key.public_part().fingerprint();
  before = audits();  // the login is an audit event of its own
  EXPECT_EQ(admin.revoke_key("bob", fingerprint), 1);
  EXPECT_EQ(audits(), before + 1);
  EXPECT_EQ(code_of([&] { again->whoami(); }), "auth.invalid_token");
  EXPECT_EQ(code_of([&] { w.session_of(bob); }), "auth.bad_signature");
  // Revoking it twice is refused: it is no longer live.
  EXPECT_EQ(code_of([&] { admin.revoke_key("bob", fingerprint); }), "identity.not_found");
  EXPECT_EQ(audits(), before + 1);
  EXPECT_EQ(w.db().query_value("SELECT count(*) FROM audit_events WHERE action IN "
                               "('identity.sessions_revoked', 'identity.key_revoked')"),
            "2");
}
