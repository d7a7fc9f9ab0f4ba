#pragma once

// The tender rules as pure functions: rule packs (server/rules/*.json, compiled in), the
// publication check, the deadline move of a late amendment and the table of allowed state
// transitions. No database and no clock here: callers pass "now" as seconds since the epoch
// (taken from PostgreSQL's clock), so the same code serves tests, the server and tools.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tender::core {

// One rule pack. Every duration is in seconds, so the sandbox pack (seconds instead of days) runs
// through the same code path as the real ones.
struct rule_pack {
  std::string name;                          // engineering | gov_procurement | sandbox
  std::string title;                         // for people
  std::int64_t min_seconds_to_deadline = 0;  // publication → deadline
  std::int64_t amendment_min_seconds_before_deadline = 0;  // else the deadline moves
  std::int64_t max_bond_ppm = 0;  // bond ≤ max_bond_ppm / 1e6 × estimated price (0.02 → 20000)
  double max_bond_ratio = 0;      // as written in the pack
  int min_bids = 3;               // fewer at the deadline: the tender fails
  // The bids are opened at the deadline itself (招标投标法 art. 34; 政府采购货物和服务招标投标
  // 管理办法 art. 39): opening_at must equal deadline_at. The bid seal, public at the deadline,
  // then tells how many bid no earlier than the opening (art. 22). Pack field
  // "opening_at_deadline"; false when absent (the sandbox pack allows a gap for drills).
  bool opening_at_deadline = false;
  std::int64_t default_decryption_window_s = 0;
  std::int64_t default_confirmation_window_s = 0;
  // How long the opening hall waits for the representative's reveal before the host may draw
  // without it (hall-protocol.md §11).
  std::int64_t draw_reveal_s = 120;
  std::vector<std::string> evaluation_methods;  // the first is the default
  std::vector<std::string> kinds;               // works | goods | services
  // How long a bid stays valid after the deadline (投标有效期), in days: a guarantee must be
  // valid at least until deadline + bid_validity_days. Default 90.
  std::int64_t bid_validity_days = 90;
  // When cash bonds are refunded: `days` (working days, Monday to Friday, when working_days)
  // after the triggering date — contract_signed (engineering: 5 days after the contract is
  // signed) or award_notice (government procurement: 5 working days after the award notice).
  struct refund_rule {
    std::string trigger = "contract_signed";  // contract_signed | award_notice
    std::int64_t days = 5;
    bool working_days = false;
  } bond_refund;
  // Who may hold a tender's threshold escrow key (SPEC §5): at least `min_custodians` custodians,
  // each of its own organisation of one of `org_kinds`, none of them the tender's owner or a
  // bidder, and a threshold of at least `min_threshold`, so that no single organisation, and no
  // party to the tender, can open a bid through the escrow. Pack field "custody"; these defaults
  // when it is absent.
  struct custody_rule {
    int min_custodians = 3;
    int min_threshold = 2;
    std::vector<std::string> org_kinds = {"center", "supervision", "notary"};
    // Whether a setup dealt by one dealer (`tender escrow setup`, who knows the whole key) may be
    // published. Only the sandbox allows it; the other packs need the setup of the custodians'
    // ceremony (threshold-escrow.md §6.1), which nobody knows whole.
    bool dealer_setup = false;
  } custody;
};

// The refund deadline of a cash bond when the pack's triggering date is `trigger_at` (seconds
// since the epoch): `days` calendar days later, or `days` working days later (weekends skipped;
// holidays are not known to the platform).
std::int64_t bond_refund_deadline(const rule_pack& pack, std::int64_t trigger_at);

// The pack of that name, nullptr when there is none. Packs are parsed once, on first use; a
// malformed embedded pack is a build mistake and throws std::logic_error.
const rule_pack* find_rule_pack(std::string_view name);
// Every pack name, sorted.
std::vector<std::string> rule_pack_names();
// Parses one pack document (exposed for tests). Throws std::invalid_argument naming the field.
rule_pack parse_rule_pack(std::string_view json);

struct summary_field {
  std::string key;
  std::string label;
  std::string type;  // money | integer | text | days
};

struct lot_spec {
  int lot_no = 0;
  std::string title;
  std::int64_t estimated_price = 0;  // fen
  std::optional<std::int64_t> ceiling_price;
  std::int64_t bond_amount = 0;
  std::vector<summary_field> summary_fields;
  std::vector<std::string> discount_candidates;  // decimal strings, "0.05"
};

struct custodian {
  std::string id;
  std::string org_id;
  std::string public_key;  // PEM
  // The kind of organisation org_id (identity's organisations.kind), empty when there is no such
  // organisation. Filled by the caller from the database.
  std::string org_kind;
};

struct escrow_spec {
  int threshold = 0;
  std::vector<custodian> custodians;
  // The threshold escrow key's public setup (protocol/docs/threshold-escrow.md), needed to
  // publish a tender whose key policy uses escrow: bidders seal to its public key. Its k and n
  // must equal threshold and the number of custodians.
  bool has_setup = false;
  int setup_threshold = 0;
  int setup_custodians = 0;
  // True when the setup is the result of the custodians' ceremony run through the server (the
  // repository wrote it, with the ceremony's number), false for one given in the tender body.
  bool setup_from_ceremony = false;
};

// What the rules look at in a tender. Times are seconds since the epoch.
struct tender_spec {
  std::string kind;
  std::string rule_pack;
  std::string owner_org;  // the organisation that publishes it (tenderer or agency)
  std::optional<std::int64_t> deadline_at;
  std::optional<std::int64_t> opening_at;
  std::string key_policy;  // bidder_only | bidder_or_escrow | bidder_and_escrow
  std::optional<escrow_spec> escrow;
  std::optional<std::string> evaluation_method;
  std::vector<lot_spec> lots;
};

// Every rule the tender breaks, each a complete sentence naming the field; empty when it may be
// published at `now`. With `lead_time` false the minimum time to the deadline is not checked
// (an amendment moves the deadline instead of being refused).
std::vector<std::string> publication_violations(const rule_pack& pack, const tender_spec& t,
                                                std::int64_t now, bool lead_time = true);

// Every custody rule of the pack (rule_pack::custody) the escrow breaks, each a complete sentence
// naming the field: too few custodians or too low a threshold, a custodian organisation that is
// unknown, of a kind the pack does not allow, named twice, or the tender's owner. Part of
// publication_violations for a tender whose key policy uses escrow. No custodian can be a bidder:
// bids come only from organisations of kind bidder, which no pack allows as custodians.
std::vector<std::string> custody_violations(const rule_pack& pack, const escrow_spec& escrow,
                                            const std::string& owner_org);

// The deadline after an amendment issued at `now`: when it is closer than the pack's amendment
// window to `deadline`, the deadline moves to now + window and the opening by the same delta.
struct deadline_move {
  std::int64_t deadline_at = 0;
  std::int64_t opening_at = 0;
  bool moved = false;
};
deadline_move amendment_deadline(const rule_pack& pack, std::int64_t now, std::int64_t deadline_at,
                                 std::int64_t opening_at);

// The lifecycle. States are the strings stored in tenders.state.
enum class tender_action {
  update,    // PATCH: draft only
  publish,   // draft → published
  amend,     // published, before the deadline
  cancel,    // any state before the opening → cancelled
  suspend,   // published/closed/opening → suspended (supervisor)
  resume,    // suspended → the state it was suspended from
  deadline,  // published → closed (the scheduler)
  open,      // closed → opening (the scheduler)
  fail,      // closed/opening → failed (fewer valid bids than the pack's minimum)
  record,    // opening → opened (the opening hall published its record)
};
std::string_view action_name(tender_action a);

// The state `action` leads to from `state`, nullopt when the action is not allowed there.
// `suspended_from` is the state a suspended tender resumes to (only read for resume/cancel).
std::optional<std::string> next_state(std::string_view state, tender_action action,
                                      std::string_view suspended_from = {});

// RFC 3339 with an explicit zone ("2026-12-20T09:30:00+08:00", "...Z", fractions allowed and
// dropped) → seconds since the epoch; nullopt when malformed or not a real date and time.
std::optional<std::int64_t> parse_rfc3339(std::string_view text);
// "2026-12-20T01:30:00Z".
std::string format_utc(std::int64_t epoch_seconds);

// A decimal rate as used by discount candidates: "0.05" — digits, one dot, strictly between 0 and
// 1, at most 6 decimals.
bool valid_rate(std::string_view text);

}  // namespace tender::core
