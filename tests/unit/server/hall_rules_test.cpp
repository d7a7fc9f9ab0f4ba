// The hall's role and phase pre-checks (core/hall_rules.hpp) as a table: what the hall decides
// before a transaction (the role) and before the hall's lock (the phase).
#include <tender/core/hall_rules.hpp>

#include <gtest/gtest.h>

#include <string>

namespace {

using tender::core::hall_phase_refusal;
using tender::core::hall_role_refusal;

std::string role_code(const char* action, const char* role) {
  const auto r = hall_role_refusal(action, role);
  return r ? r->code : "ok";
}
std::string phase_code(const char* action, const char* phase) {
  const auto r = hall_phase_refusal(action, phase);
  return r ? r->code : "ok";
}

TEST(hall_rules, roles_as_a_table) {
  struct row {
    const char* action;
    const char* role;
    const char* want;
  };
  const row rows[] = {
      {"challenge", "bidder", "ok"},
      {"challenge", "host", "ok"},
      {"challenge", "custodian", "ok"},
      {"challenge", "public", "hall.forbidden"},
      {"sign_in", "bidder", "ok"},
      {"sign_in", "host", "hall.forbidden"},
      {"decrypt", "bidder", "ok"},
      {"decrypt", "public", "hall.forbidden"},
      {"decrypt", "supervisor", "hall.forbidden"},
      {"open_window", "host", "ok"},
      {"open_window", "bidder", "hall.forbidden"},
      {"share", "custodian", "ok"},
      {"share", "bidder", "hall.forbidden"},
      {"suspend", "supervisor", "ok"},
      {"suspend", "host", "hall.forbidden"},
      {"pause", "host", "ok"},
      {"pause", "supervisor", "hall.forbidden"},
      {"object", "bidder", "ok"},
      {"answer", "host", "ok"},
      {"answer", "bidder", "hall.forbidden"},
      {"reveal_representative", "bidder", "ok"},
      {"confirm", "bidder", "ok"},
      {"finish", "host", "ok"},
      {"nonsense", "host", "hall.bad_message"},
  };
  for (const auto& r : rows)
    EXPECT_EQ(role_code(r.action, r.role), r.want) << r.action << " by " << r.role;
  EXPECT_EQ(hall_role_refusal("decrypt", "public")->message, "sign in to act in the hall");
}

TEST(hall_rules, phases_as_a_table) {
  struct row {
    const char* action;
    const char* phase;
    const char* want;
  };
  const row rows[] = {
      {"challenge", "recorded", "ok"},
      {"sign_in", "waiting", "ok"},
      {"sign_in", "listed", "ok"},
      {"sign_in", "decrypting", "hall.wrong_phase"},
      {"commit_host", "waiting", "ok"},
      {"commit_host", "sealed", "hall.wrong_phase"},
      {"decrypt", "decrypting", "ok"},
      {"decrypt", "listed", "hall.wrong_phase"},
      {"decrypt", "decrypted", "hall.wrong_phase"},
      {"share", "decrypted", "ok"},
      {"share", "drawing", "hall.wrong_phase"},
      {"announce", "decrypted", "ok"},
      {"announce", "drawn", "ok"},
      {"announce", "drawing", "hall.wrong_phase"},
      {"draw", "drawing", "ok"},
      {"draw", "waiting", "hall.wrong_phase"},
      {"pause", "waiting", "hall.wrong_phase"},
      {"pause", "decrypting", "ok"},
      {"suspend", "waiting", "ok"},
      {"suspend", "recorded", "hall.wrong_phase"},
      {"unsuspend", "failed", "hall.wrong_phase"},
      {"object", "listed", "ok"},
      {"object", "sealed", "hall.wrong_phase"},
      {"confirm", "announced", "ok"},
      {"finish", "recorded", "hall.wrong_phase"},
  };
  for (const auto& r : rows)
    EXPECT_EQ(phase_code(r.action, r.phase), r.want) << r.action << " while " << r.phase;
}

}  // namespace
