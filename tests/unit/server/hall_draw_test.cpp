// The hall's draw procedure without a database (core/hall_draw.hpp): who can be drawn as the
// representative, when the host may draw, and the seed materials of each draw in their order.
#include <tender/core/hall_draw.hpp>

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace core = tender::core;

namespace {

// 2026-12-01T00:00:00Z
constexpr double deadline = 1796083200.0;

std::vector<std::string> labels(const std::vector<core::seed_material>& m) {
  std::vector<std::string> out;
  for (const auto& x : m)
    out.push_back(x.first);
  return out;
}

core::discount_draw_inputs inputs() {
  core::discount_draw_inputs in;
  in.tender_id = "t-0000000000000001";
  in.lot = 2;
  in.checkpoint_root_b64 = "cm9vdA==";
  in.host_nonce = std::string(32, 'h');
  in.representative = "o-rep";
  in.representative_nonce = std::string(32, 'r');
  in.draw_checkpoint_b64 = "ZHJhdw==";
  return in;
}

}  // namespace

TEST(hall_draw, only_sign_ins_strictly_before_the_deadline_can_be_drawn) {
  struct row {
    double signed_in_at;
    bool eligible;
  };
  const row table[] = {
      {deadline - 3600, true},      // an hour early
      {deadline - 0.000001, true},  // the last microsecond before
      {deadline, false},            // at the deadline: the checkpoint root may already exist
      {deadline + 0.000001, false},
      {deadline + 600, false},  // signed in while the list was being published
  };
  for (const auto& r : table) {
    EXPECT_EQ(core::representative_eligible(r.signed_in_at, deadline), r.eligible)
        << std::fixed << r.signed_in_at;
  }
}

TEST(hall_draw, the_host_waits_for_the_representative_only_while_the_reveal_is_open) {
  struct row {
    double now;
    bool has_rep;
    bool revealed;
    bool may;
  };
  const double revealed_at = deadline + 7200;
  const row table[] = {
      {revealed_at, false, false, true},        // nobody could be drawn: no one to wait for
      {revealed_at + 1, true, true, true},      // the representative revealed
      {revealed_at + 119, true, false, false},  // still its time
      {revealed_at + 120, true, false, true},   // its time is over: drawn with an empty reveal
  };
  for (const auto& r : table) {
    EXPECT_EQ(core::may_draw_parameters(r.now, revealed_at, 120, r.has_rep, r.revealed), r.may)
        << r.now - revealed_at;
  }
}

TEST(hall_draw, representative_materials_are_the_deadline_root_and_the_host_nonce) {
  const auto m = core::representative_seed_materials("t-1", "cm9vdA==", "nonce");
  EXPECT_EQ(labels(m), (std::vector<std::string>{"checkpoint_root", "host_reveal", "draw_id"}));
  EXPECT_EQ(m[0].second, "cm9vdA==");
  EXPECT_EQ(m[1].second, "nonce");
  EXPECT_EQ(m[2].second, "t-1/representative");
}

TEST(hall_draw, discount_materials_end_with_the_draw_checkpoint_before_the_draw_id) {
  const auto m = core::discount_seed_materials(inputs());
  EXPECT_EQ(labels(m),
            (std::vector<std::string>{"checkpoint_root", "host_reveal", "representative:o-rep",
                                      "draw_checkpoint", "draw_id"}));
  EXPECT_EQ(m[2].second, std::string(32, 'r'));
  EXPECT_EQ(m[3].second, "ZHJhdw==");
  EXPECT_EQ(m[4].second, "t-0000000000000001/lot/2/discount");
}

TEST(hall_draw, a_withheld_reveal_stays_in_the_list_as_an_empty_value) {
  auto in = inputs();
  in.representative_nonce.clear();
  const auto m = core::discount_seed_materials(in);
  ASSERT_EQ(m.size(), 5u);
  EXPECT_EQ(m[2].first, "representative:o-rep");
  EXPECT_TRUE(m[2].second.empty());
  // Withholding changes one input, but the draw checkpoint is in both lists: neither outcome can
  // be computed without it.
  EXPECT_EQ(m[3], (core::seed_material{"draw_checkpoint", "ZHJhdw=="}));
}

TEST(hall_draw, without_a_representative_the_materials_have_no_representative_entry) {
  auto in = inputs();
  in.representative.reset();
  EXPECT_EQ(
      labels(core::discount_seed_materials(in)),
      (std::vector<std::string>{"checkpoint_root", "host_reveal", "draw_checkpoint", "draw_id"}));
}

TEST(hall_draw, the_procedure_is_named_v2) {
  EXPECT_EQ(core::hall_draw_procedure, "tenderhall/hall-draw/v2");
}
