// The tender rules without a database: the compiled-in packs, the publication check (every
// violation, with a message naming the field), the deadline move of a late amendment in days and
// in sandbox seconds, and the table of state transitions.
#include <tender/core/tender_rules.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <stdexcept>

namespace core = tender::core;

namespace {

constexpr std::int64_t day = 86400;
// 2026-12-01T00:00:00Z
constexpr std::int64_t now = 1796083200;

core::tender_spec good_tender(const std::string& pack, std::int64_t lead) {
  core::tender_spec t;
  t.kind = "works";
  t.rule_pack = pack;
  t.deadline_at = now + lead;
  t.opening_at = now + lead;
  t.key_policy = "bidder_only";
  t.evaluation_method = "comprehensive";
  core::lot_spec lot;
  lot.lot_no = 1;
  lot.title = "Main building";
  lot.estimated_price = 100'000'000;  // 1,000,000.00 yuan
  lot.ceiling_price = 110'000'000;
  lot.bond_amount = 2'000'000;  // exactly 2 %
  lot.summary_fields = {{"price", "投标报价", "money"}, {"duration", "工期", "days"}};
  t.lots.push_back(lot);
  return t;
}

bool mentions(const std::vector<std::string>& v, const std::string& text) {
  return std::any_of(v.begin(), v.end(),
                     [&](const std::string& s) { return s.find(text) != std::string::npos; });
}

std::string all(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v)
    out += s + "\n";
  return out;
}

}  // namespace

TEST(rule_pack, embedded_packs_load_with_durations_in_seconds) {
  EXPECT_EQ(core::rule_pack_names(),
            (std::vector<std::string>{"engineering", "gov_procurement", "sandbox"}));
  const auto* eng = core::find_rule_pack("engineering");
  ASSERT_NE(eng, nullptr);
  EXPECT_EQ(eng->min_seconds_to_deadline, 20 * day);
  EXPECT_EQ(eng->amendment_min_seconds_before_deadline, 15 * day);
  EXPECT_EQ(eng->max_bond_ppm, 20000);
  EXPECT_EQ(eng->min_bids, 3);
  EXPECT_EQ(eng->draw_reveal_s, 120);
  EXPECT_EQ(core::find_rule_pack("gov_procurement")->draw_reveal_s, 120);
  EXPECT_EQ(core::find_rule_pack("sandbox")->draw_reveal_s, 5);
  const auto* gov = core::find_rule_pack("gov_procurement");
  ASSERT_NE(gov, nullptr);
  EXPECT_EQ(gov->min_seconds_to_deadline, 20 * day);
  EXPECT_EQ(gov->amendment_min_seconds_before_deadline, 15 * day);
  const auto* sandbox = core::find_rule_pack("sandbox");
  ASSERT_NE(sandbox, nullptr);
  EXPECT_EQ(sandbox->min_seconds_to_deadline, 60);
  EXPECT_EQ(sandbox->amendment_min_seconds_before_deadline, 30);
  EXPECT_EQ(core::find_rule_pack("nope"), nullptr);
}

TEST(rule_pack, a_malformed_pack_names_the_field) {
  try {
    core::parse_rule_pack(R"({"name":"x","title":"t","min_seconds_to_deadline":-1})");
    FAIL() << "accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("min_seconds_to_deadline"), std::string::npos);
  }
  EXPECT_THROW(core::parse_rule_pack("[]"), std::invalid_argument);
  EXPECT_THROW(core::parse_rule_pack(R"({"name":"x","surprise":1})"), std::invalid_argument);
}

TEST(rule_pack, a_good_tender_passes_every_pack_at_its_own_lead_time) {
  EXPECT_TRUE(core::publication_violations(*core::find_rule_pack("engineering"),
                                           good_tender("engineering", 20 * day), now)
                  .empty());
  auto gov = good_tender("gov_procurement", 20 * day);
  gov.kind = "goods";
  EXPECT_TRUE(
      core::publication_violations(*core::find_rule_pack("gov_procurement"), gov, now).empty())
      << all(core::publication_violations(*core::find_rule_pack("gov_procurement"), gov, now));
  EXPECT_TRUE(core::publication_violations(*core::find_rule_pack("sandbox"),
                                           good_tender("sandbox", 60), now)
                  .empty());
}

TEST(rule_pack, lead_time_is_checked_per_pack) {
  const auto& eng = *core::find_rule_pack("engineering");
  auto v = core::publication_violations(eng, good_tender("engineering", 20 * day - 1), now);
  ASSERT_EQ(v.size(), 1u) << all(v);
  EXPECT_NE(v[0].find("deadline_at"), std::string::npos);
  EXPECT_NE(v[0].find("20 days"), std::string::npos) << v[0];

  const auto& sandbox = *core::find_rule_pack("sandbox");
  v = core::publication_violations(sandbox, good_tender("sandbox", 59), now);
  ASSERT_EQ(v.size(), 1u) << all(v);
  EXPECT_NE(v[0].find("60 seconds"), std::string::npos) << v[0];
  // Without the lead-time check (an amendment) the same tender is fine.
  EXPECT_TRUE(
      core::publication_violations(sandbox, good_tender("sandbox", 59), now, false).empty());
}

TEST(rule_pack, every_violation_is_listed_at_once) {
  const auto& eng = *core::find_rule_pack("engineering");
  auto t = good_tender("engineering", 5 * day);
  t.opening_at = *t.deadline_at - 1;
  t.evaluation_method = "lowest_price";  // government procurement only
  t.lots[0].bond_amount = 2'000'001;     // above 2 %
  t.lots[0].ceiling_price = 99'999'999;  // below the estimate
  t.lots[0].summary_fields = {{"duration", "工期", "days"}};
  t.key_policy = "bidder_or_escrow";  // but no escrow
  auto second = t.lots[0];
  second.lot_no = 1;  // duplicate
  second.summary_fields = {{"price", "报价", "money"}, {"price", "again", "money"}};
  second.ceiling_price.reset();
  second.bond_amount = 0;
  t.lots.push_back(second);
  const auto v = core::publication_violations(eng, t, now);
  EXPECT_TRUE(mentions(v, "deadline_at")) << all(v);
  EXPECT_TRUE(mentions(v, "opening_at")) << all(v);
  EXPECT_TRUE(mentions(v, "evaluation_method 'lowest_price'")) << all(v);
  EXPECT_TRUE(mentions(v, "lots[0] (lot 1): bond_amount 20000.01 yuan exceeds 2.00%")) << all(v);
  EXPECT_TRUE(mentions(v, "at most 20000.00 yuan")) << all(v);
  EXPECT_TRUE(mentions(v, "ceiling_price 999999.99 yuan is below")) << all(v);
  EXPECT_TRUE(mentions(v, "lots[0] (lot 1): summary_fields must include the key 'price'"))
      << all(v);
  EXPECT_TRUE(mentions(v, "lot_no 1 is used twice")) << all(v);
  EXPECT_TRUE(mentions(v, "summary field key 'price' is used twice")) << all(v);
  EXPECT_TRUE(mentions(v, "needs an escrow")) << all(v);
  EXPECT_EQ(v.size(), 9u) << all(v);
}

TEST(rule_pack, lots_kinds_and_escrow_thresholds) {
  const auto& gov = *core::find_rule_pack("gov_procurement");
  auto t = good_tender("gov_procurement", 30 * day);
  t.lots.clear();
  auto v = core::publication_violations(gov, t, now);
  ASSERT_EQ(v.size(), 1u) << all(v);
  EXPECT_NE(v[0].find("at least one lot"), std::string::npos);

  const auto& eng = *core::find_rule_pack("engineering");
  t = good_tender("engineering", 30 * day);
  t.key_policy = "bidder_and_escrow";
  t.escrow = core::escrow_spec{4,
                               {{"c1", "center", "PEM", "center"},
                                {"c2", "supervision", "PEM", "supervision"},
                                {"c3", "notary", "PEM", "notary"}}};
  v = core::publication_violations(eng, t, now);
  EXPECT_TRUE(mentions(v, "needs escrow.setup")) << all(v);
  t.escrow->has_setup = true;
  t.escrow->setup_from_ceremony = true;
  t.escrow->setup_threshold = 4;
  t.escrow->setup_custodians = 3;
  v = core::publication_violations(eng, t, now);
  ASSERT_EQ(v.size(), 1u) << all(v);
  EXPECT_NE(v[0].find("escrow.threshold 4 must be between 1 and the number of custodians (3)"),
            std::string::npos)
      << v[0];
  t.escrow->threshold = 2;
  EXPECT_TRUE(mentions(core::publication_violations(eng, t, now), "escrow.setup is a 4-of-3 key"));
  t.escrow->setup_threshold = 2;
  EXPECT_TRUE(core::publication_violations(eng, t, now).empty())
      << all(core::publication_violations(eng, t, now));
  t.escrow->custodians[1].id = "c1";
  EXPECT_TRUE(mentions(core::publication_violations(eng, t, now), "'c1' is used twice"));
  t.escrow->threshold = 0;
  EXPECT_TRUE(mentions(core::publication_violations(eng, t, now), "escrow.threshold 0"));

  t = good_tender("engineering", 30 * day);
  t.escrow = core::escrow_spec{1, {{"c1", "center", "PEM", "center"}}};
  EXPECT_TRUE(mentions(core::publication_violations(eng, t, now), "bidder_only but an escrow"));
  t = good_tender("engineering", 30 * day);
  t.lots[0].summary_fields[0].type = "text";
  EXPECT_TRUE(mentions(core::publication_violations(eng, t, now), "'price' must have type money"));
}

// Issue 15 §1: the law's packs open the bids at the deadline (招标投标法 art. 34), so the bid
// count that the seal publishes at the deadline is public no earlier than the opening
// (art. 22). The sandbox pack allows a gap for drills.
TEST(rule_pack, the_laws_packs_open_the_bids_at_the_deadline) {
  for (const char* name : {"engineering", "gov_procurement"}) {
    const auto& pack = *core::find_rule_pack(name);
    EXPECT_TRUE(pack.opening_at_deadline) << name;
    auto t = good_tender(name, 30 * day);
    t.rule_pack = name;
    EXPECT_FALSE(mentions(core::publication_violations(pack, t, now), "opening_at")) << name;
    t.opening_at = *t.deadline_at + 60;
    const auto v = core::publication_violations(pack, t, now);
    EXPECT_TRUE(mentions(v, "opens the bids at the deadline itself")) << name << ": " << all(v);
  }
  const auto& sandbox = *core::find_rule_pack("sandbox");
  EXPECT_FALSE(sandbox.opening_at_deadline);
  auto t = good_tender("sandbox", 3600);
  t.opening_at = *t.deadline_at + 60;
  EXPECT_TRUE(core::publication_violations(sandbox, t, now).empty());
}

TEST(rule_pack, a_late_amendment_moves_deadline_and_opening_by_the_same_delta) {
  const auto& eng = *core::find_rule_pack("engineering");
  // Deadline in 10 days, opening an hour later: an amendment now moves both by 5 days.
  auto m = core::amendment_deadline(eng, now, now + 10 * day, now + 10 * day + 3600);
  EXPECT_TRUE(m.moved);
  EXPECT_EQ(m.deadline_at, now + 15 * day);
  EXPECT_EQ(m.opening_at, now + 15 * day + 3600);
  // Exactly 15 days ahead: no move.
  m = core::amendment_deadline(eng, now, now + 15 * day, now + 15 * day);
  EXPECT_FALSE(m.moved);
  EXPECT_EQ(m.deadline_at, now + 15 * day);

  const auto& sandbox = *core::find_rule_pack("sandbox");
  m = core::amendment_deadline(sandbox, now, now + 10, now + 20);
  EXPECT_TRUE(m.moved);
  EXPECT_EQ(m.deadline_at, now + 30);
  EXPECT_EQ(m.opening_at, now + 40);
  m = core::amendment_deadline(sandbox, now, now + 31, now + 31);
  EXPECT_FALSE(m.moved);
  EXPECT_EQ(m.opening_at, now + 31);
}

TEST(rule_pack, state_transitions) {
  using a = core::tender_action;
  EXPECT_EQ(core::next_state("draft", a::publish), "published");
  EXPECT_EQ(core::next_state("draft", a::update), "draft");
  EXPECT_EQ(core::next_state("draft", a::cancel), "cancelled");
  EXPECT_EQ(core::next_state("draft", a::amend), std::nullopt);
  EXPECT_EQ(core::next_state("draft", a::suspend), std::nullopt);
  EXPECT_EQ(core::next_state("published", a::update), std::nullopt);
  EXPECT_EQ(core::next_state("published", a::publish), std::nullopt);
  EXPECT_EQ(core::next_state("published", a::amend), "published");
  EXPECT_EQ(core::next_state("published", a::deadline), "closed");
  EXPECT_EQ(core::next_state("published", a::suspend), "suspended");
  EXPECT_EQ(core::next_state("closed", a::open), "opening");
  EXPECT_EQ(core::next_state("closed", a::fail), "failed");
  EXPECT_EQ(core::next_state("closed", a::amend), std::nullopt);
  EXPECT_EQ(core::next_state("opening", a::cancel), std::nullopt);
  EXPECT_EQ(core::next_state("opening", a::suspend), "suspended");
  EXPECT_EQ(core::next_state("opening", a::fail), "failed");
  EXPECT_EQ(core::next_state("opening", a::record), "opened");
  EXPECT_EQ(core::next_state("closed", a::record), std::nullopt);
  EXPECT_EQ(core::next_state("opened", a::record), std::nullopt);
  EXPECT_EQ(core::next_state("opened", a::cancel), std::nullopt);
  EXPECT_EQ(core::next_state("opened", a::fail), std::nullopt);
  EXPECT_EQ(core::next_state("suspended", a::resume, "published"), "published");
  EXPECT_EQ(core::next_state("suspended", a::resume, "opening"), "opening");
  EXPECT_EQ(core::next_state("suspended", a::cancel, "published"), "cancelled");
  EXPECT_EQ(core::next_state("suspended", a::cancel, "opening"), std::nullopt);
  EXPECT_EQ(core::next_state("suspended", a::suspend, "published"), std::nullopt);
  EXPECT_EQ(core::next_state("cancelled", a::resume), std::nullopt);
  EXPECT_EQ(core::next_state("failed", a::cancel), std::nullopt);
}

TEST(rule_pack, rfc3339_times) {
  EXPECT_EQ(core::parse_rfc3339("2026-12-01T00:00:00Z"), now);
  EXPECT_EQ(core::parse_rfc3339("2026-12-01T08:00:00+08:00"), now);
  EXPECT_EQ(core::parse_rfc3339("2026-11-30T19:00:00.123-05:00"), now);
  EXPECT_EQ(core::parse_rfc3339("2024-02-29T00:00:00Z"), 1709164800);
  EXPECT_EQ(core::parse_rfc3339("2026-02-29T00:00:00Z"), std::nullopt);
  EXPECT_EQ(core::parse_rfc3339("2026-13-01T00:00:00Z"), std::nullopt);
  EXPECT_EQ(core::parse_rfc3339("2026-12-01T24:00:00Z"), std::nullopt);
  EXPECT_EQ(core::parse_rfc3339("2026-12-01T00:00:00"), std::nullopt);
  EXPECT_EQ(core::parse_rfc3339("2026-12-01 00:00:00Z"), std::nullopt);
  EXPECT_EQ(core::format_utc(now), "2026-12-01T00:00:00Z");
  EXPECT_EQ(core::format_utc(now + 3661), "2026-12-01T01:01:01Z");
}

TEST(rule_pack, discount_rates) {
  EXPECT_TRUE(core::valid_rate("0.05"));
  EXPECT_TRUE(core::valid_rate("0.123456"));
  EXPECT_FALSE(core::valid_rate("0.1234567"));
  EXPECT_FALSE(core::valid_rate("0.0"));
  EXPECT_FALSE(core::valid_rate("1.0"));
  EXPECT_FALSE(core::valid_rate(".5"));
  EXPECT_FALSE(core::valid_rate("0.5x"));
  EXPECT_FALSE(core::valid_rate("5"));
}

TEST(rule_pack, bid_validity_and_bond_refund_rules) {
  using tender::core::bond_refund_deadline;
  using tender::core::find_rule_pack;
  using tender::core::parse_rfc3339;
  const auto* eng = find_rule_pack("engineering");
  const auto* gov = find_rule_pack("gov_procurement");
  const auto* sandbox = find_rule_pack("sandbox");
  ASSERT_TRUE(eng != nullptr && gov != nullptr && sandbox != nullptr);
  EXPECT_EQ(eng->bid_validity_days, 90);
  EXPECT_EQ(sandbox->bid_validity_days, 1);
  EXPECT_EQ(eng->bond_refund.trigger, "contract_signed");
  EXPECT_EQ(gov->bond_refund.trigger, "award_notice");
  EXPECT_TRUE(gov->bond_refund.working_days);
  // Engineering: 5 calendar days after the contract is signed.
  const auto signed_at = *parse_rfc3339("2026-11-20T10:00:00Z");  // a Friday
  EXPECT_EQ(bond_refund_deadline(*eng, signed_at), *parse_rfc3339("2026-11-25T10:00:00Z"));
  // Government procurement: 5 working days after the award notice, weekends skipped.
  EXPECT_EQ(bond_refund_deadline(*gov, signed_at), *parse_rfc3339("2026-11-27T10:00:00Z"));
  const auto saturday = *parse_rfc3339("2026-11-21T10:00:00Z");
  EXPECT_EQ(bond_refund_deadline(*gov, saturday), *parse_rfc3339("2026-11-27T10:00:00Z"));
  // A pack without the fields gets the defaults; a wrong trigger is refused.
  const std::string minimal =
      R"({"name":"x","title":"x","min_seconds_to_deadline":1,
          "amendment_min_seconds_before_deadline":1,"max_bond_ratio":0.02,"min_bids":1,
          "default_decryption_window_s":1,"default_confirmation_window_s":1,
          "evaluation_methods":["lowest_price"],"kinds":["works"]})";
  EXPECT_EQ(tender::core::parse_rule_pack(minimal).bid_validity_days, 90);
  auto bad = minimal;
  bad.insert(bad.size() - 1, R"(,"bond_refund":{"trigger":"never","days":5,"working_days":false})");
  EXPECT_THROW(tender::core::parse_rule_pack(bad), std::invalid_argument);
}

// Issue 15 §4: the escrow key is held by independent organisations of the kinds the pack allows,
// enough of them, none the tenderer; the same rule in every pack, the sandbox included.
TEST(rule_pack, custody_needs_independent_custodians_of_allowed_kinds) {
  const core::escrow_spec good{2,
                               {{"c1", "center-1", "PEM", "center"},
                                {"c2", "sup-1", "PEM", "supervision"},
                                {"c3", "notary-1", "PEM", "notary"}},
                               true,
                               2,
                               3};
  struct row {
    const char* what;
    void (*change)(core::escrow_spec&);
    const char* owner;
    const char* message;  // nullptr: no violation
  };
  const row table[] = {
      {"good", [](core::escrow_spec&) {}, "acme", nullptr},
      {"the tenderer holds a share", [](core::escrow_spec&) {}, "center-1",
       "escrow custodian 'c1' is of the tender's own organisation 'center-1'"},
      {"one organisation twice", [](core::escrow_spec& e) { e.custodians[2].org_id = "center-1"; },
       "acme", "escrow custodian 'c3' is of organisation 'center-1', which already holds a share"},
      {"a bidder organisation", [](core::escrow_spec& e) { e.custodians[1].org_kind = "bidder"; },
       "acme",
       "escrow custodian 'c2' is of organisation 'sup-1' of kind bidder; the engineering rule "
       "pack allows custodians of kind center, supervision, notary"},
      {"a tenderer organisation",
       [](core::escrow_spec& e) { e.custodians[0].org_kind = "tenderer"; }, "acme",
       "of kind tenderer"},
      {"an unknown organisation", [](core::escrow_spec& e) { e.custodians[0].org_kind = ""; },
       "acme", "escrow custodian 'c1' names organisation 'center-1', which does not exist"},
      {"two custodians", [](core::escrow_spec& e) { e.custodians.pop_back(); }, "acme",
       "escrow.custodians names 2 custodians; the engineering rule pack needs at least 3"},
      {"the tenderer alone, threshold 1",
       [](core::escrow_spec& e) {
         e.custodians = {{"c1", "acme", "PEM", "tenderer"}};
         e.threshold = 1;
       },
       "acme", "escrow.threshold 1 is too low: the engineering rule pack needs at least 2"},
  };
  for (const char* pack_name : {"engineering", "gov_procurement", "sandbox"}) {
    const auto& pack = *core::find_rule_pack(pack_name);
    EXPECT_EQ(pack.custody.min_custodians, 3) << pack_name;
    EXPECT_EQ(pack.custody.min_threshold, 2) << pack_name;
    for (const auto& r : table) {
      SCOPED_TRACE(std::string(pack_name) + ": " + r.what);
      auto e = good;
      r.change(e);
      const auto v = core::custody_violations(pack, e, r.owner);
      if (r.message == nullptr) {
        EXPECT_TRUE(v.empty()) << all(v);
        continue;
      }
      std::string expected = r.message;
      const auto at = expected.find("engineering");
      if (at != std::string::npos) expected.replace(at, 11, pack_name);
      EXPECT_TRUE(mentions(v, expected)) << all(v);
    }
  }

  // Through publication: the owner and kinds come with the tender.
  const auto& eng = *core::find_rule_pack("engineering");
  auto t = good_tender("engineering", 30 * day);
  t.owner_org = "center-1";
  t.key_policy = "bidder_or_escrow";
  t.escrow = good;
  EXPECT_TRUE(mentions(core::publication_violations(eng, t, now), "tender's own organisation"));
  t.owner_org = "acme";
  t.escrow->setup_from_ceremony = true;
  EXPECT_TRUE(core::publication_violations(eng, t, now).empty());
}

// Issue 15 §4: a setup dealt by one dealer (who knew the whole key) is published only in the
// sandbox; the other packs need the setup the custodians' ceremony wrote.
TEST(rule_pack, only_the_sandbox_publishes_a_key_that_one_dealer_made) {
  for (const char* pack_name : {"engineering", "gov_procurement", "sandbox"}) {
    SCOPED_TRACE(pack_name);
    const auto& pack = *core::find_rule_pack(pack_name);
    auto t = good_tender(pack_name, 30 * day);
    t.owner_org = "acme";
    t.key_policy = "bidder_or_escrow";
    t.escrow = core::escrow_spec{2,
                                 {{"c1", "center-1", "PEM", "center"},
                                  {"c2", "sup-1", "PEM", "supervision"},
                                  {"c3", "notary-1", "PEM", "notary"}},
                                 true,
                                 2,
                                 3};
    const bool sandbox = std::string(pack_name) == "sandbox";
    EXPECT_EQ(pack.custody.dealer_setup, sandbox);
    const auto dealt = core::publication_violations(pack, t, now);
    EXPECT_EQ(mentions(dealt, "made by a single dealer"), !sandbox) << all(dealt);
    t.escrow->setup_from_ceremony = true;
    EXPECT_TRUE(core::publication_violations(pack, t, now).empty());
    t.escrow->has_setup = false;  // the ceremony has not ended: the message says what to run
    EXPECT_TRUE(mentions(core::publication_violations(pack, t, now), "tender escrow ceremony"));
  }
  const std::string base =
      R"({"name":"x","title":"X","min_seconds_to_deadline":0,)"
      R"("amendment_min_seconds_before_deadline":0,"max_bond_ratio":0.02,"min_bids":3,)"
      R"("default_decryption_window_s":60,"default_confirmation_window_s":60,)"
      R"("evaluation_methods":["comprehensive"],"kinds":["works"])";
  EXPECT_FALSE(core::parse_rule_pack(base + "}").custody.dealer_setup);
  EXPECT_THROW(core::parse_rule_pack(base + R"(,"custody":{"dealer_setup":"yes"}})"),
               std::invalid_argument);
}

TEST(rule_pack, custody_settings_are_read_from_the_pack) {
  const std::string base =
      R"({"name":"x","title":"X","min_seconds_to_deadline":0,)"
      R"("amendment_min_seconds_before_deadline":0,"max_bond_ratio":0.02,"min_bids":3,)"
      R"("default_decryption_window_s":60,"default_confirmation_window_s":60,)"
      R"("evaluation_methods":["comprehensive"],"kinds":["works"])";
  auto p = core::parse_rule_pack(base + "}");
  EXPECT_EQ(p.custody.min_custodians, 3);
  EXPECT_EQ(p.custody.org_kinds, (std::vector<std::string>{"center", "supervision", "notary"}));
  p = core::parse_rule_pack(
      base + R"(,"custody":{"min_custodians":5,"min_threshold":3,"org_kinds":["center"]}})");
  EXPECT_EQ(p.custody.min_custodians, 5);
  EXPECT_EQ(p.custody.min_threshold, 3);
  EXPECT_EQ(p.custody.org_kinds, std::vector<std::string>{"center"});
  const auto refused = [&](const std::string& custody, const std::string& why) {
    try {
      core::parse_rule_pack(base + R"(,"custody":)" + custody + "}");
      ADD_FAILURE() << custody << " accepted";
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find(why), std::string::npos) << e.what();
    }
  };
  refused(R"({"min_custodians":3,"min_threshold":2,"org_kinds":["bidder"]})", "not 'bidder'");
  refused(R"({"min_custodians":2,"min_threshold":3,"org_kinds":["center"]})", "must not exceed");
  refused(R"({"min_custodians":3,"min_threshold":2,"org_kinds":["center"],"x":1})", "custody.x");
  refused(R"({"min_custodians":0,"min_threshold":0,"org_kinds":["center"]})", "min_custodians");
}
