#include <tender/core/tender_rules.hpp>

#include "embedded_rule_packs.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>
#include <stdexcept>

namespace tender::core {
namespace json = boost::json;

namespace {

[[noreturn]] void bad_pack(const std::string& message) {
  throw std::invalid_argument("rule pack: " + message);
}

std::int64_t pack_int(const json::object& o, std::string_view key, std::int64_t min) {
  const auto* v = o.if_contains(key);
  if (v == nullptr || !v->is_int64() || v->get_int64() < min) {
    bad_pack("'" + std::string(key) + "' must be an integer >= " + std::to_string(min));
  }
  return v->get_int64();
}

std::vector<std::string> pack_strings(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  if (v == nullptr || !v->is_array() || v->get_array().empty()) {
    bad_pack("'" + std::string(key) + "' must be a non-empty array of strings");
  }
  std::vector<std::string> out;
  for (const auto& e : v->get_array()) {
    if (!e.is_string() || e.get_string().empty()) {
      bad_pack("'" + std::string(key) + "' must hold non-empty strings");
    }
    out.emplace_back(e.get_string());
  }
  return out;
}

std::string pack_string(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  if (v == nullptr || !v->is_string() || v->get_string().empty()) {
    bad_pack("'" + std::string(key) + "' must be a non-empty string");
  }
  return std::string(v->get_string());
}

const std::map<std::string, rule_pack, std::less<>>& packs() {
  static const auto all = [] {
    std::map<std::string, rule_pack, std::less<>> out;
    for (std::size_t i = 0; i < detail::embedded_rule_pack_count; ++i) {
      const auto& e = detail::embedded_rule_packs[i];
      rule_pack p;
      try {
        p = parse_rule_pack(e.json);
      } catch (const std::invalid_argument& err) {
        throw std::logic_error(std::string(e.name) + ".json: " + err.what());
      }
      if (p.name != e.name) {
        throw std::logic_error(std::string(e.name) + ".json: its name is '" + p.name + "'");
      }
      out.emplace(p.name, std::move(p));
    }
    return out;
  }();
  return all;
}

bool contains(const std::vector<std::string>& v, std::string_view s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

std::string joined(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v)
    out += (out.empty() ? "" : ", ") + s;
  return out;
}

std::string duration_text(std::int64_t s) {
  if (s % 86400 == 0) return std::to_string(s / 86400) + " days";
  return std::to_string(s) + " seconds";
}

std::string yuan(std::int64_t fen) {
  const bool neg = fen < 0;
  const std::uint64_t a = neg ? static_cast<std::uint64_t>(-(fen + 1)) + 1 : fen;
  std::string cents = std::to_string(a % 100);
  if (cents.size() < 2) cents = "0" + cents;
  return (neg ? "-" : "") + std::to_string(a / 100) + "." + cents + " yuan";
}

// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2 ? 1 : 0;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

bool leap(std::int64_t y) {
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

}  // namespace

rule_pack parse_rule_pack(std::string_view text) {
  boost::system::error_code ec;
  const auto v = json::parse(text, ec);
  if (ec || !v.is_object()) bad_pack("not a JSON object");
  const auto& o = v.get_object();
  static const std::set<std::string, std::less<>> known = {"name",
                                                           "title",
                                                           "min_seconds_to_deadline",
                                                           "amendment_min_seconds_before_deadline",
                                                           "max_bond_ratio",
                                                           "min_bids",
                                                           "default_decryption_window_s",
                                                           "default_confirmation_window_s",
                                                           "evaluation_methods",
                                                           "kinds",
                                                           "bid_validity_days",
                                                           "draw_reveal_s",
                                                           "bond_refund",
                                                           "custody",
                                                           "opening_at_deadline"};
  for (const auto& kv : o) {
    if (known.find(std::string_view(kv.key().data(), kv.key().size())) == known.end()) {
      bad_pack("unknown field '" + std::string(kv.key()) + "'");
    }
  }
  rule_pack p;
  p.name = pack_string(o, "name");
  p.title = pack_string(o, "title");
  p.min_seconds_to_deadline = pack_int(o, "min_seconds_to_deadline", 0);
  p.amendment_min_seconds_before_deadline = pack_int(o, "amendment_min_seconds_before_deadline", 0);
  const auto* ratio = o.if_contains("max_bond_ratio");
  if (ratio == nullptr || !(ratio->is_double() || ratio->is_int64())) {
    bad_pack("'max_bond_ratio' must be a number");
  }
  p.max_bond_ratio =
      ratio->is_double() ? ratio->get_double() : static_cast<double>(ratio->get_int64());
  if (!(p.max_bond_ratio >= 0 && p.max_bond_ratio <= 1)) bad_pack("'max_bond_ratio' must be 0..1");
  p.max_bond_ppm = std::llround(p.max_bond_ratio * 1e6);
  p.min_bids = static_cast<int>(pack_int(o, "min_bids", 1));
  p.default_decryption_window_s = pack_int(o, "default_decryption_window_s", 1);
  p.default_confirmation_window_s = pack_int(o, "default_confirmation_window_s", 1);
  p.evaluation_methods = pack_strings(o, "evaluation_methods");
  p.kinds = pack_strings(o, "kinds");
  for (const auto& k : p.kinds) {
    if (k != "works" && k != "goods" && k != "services") bad_pack("unknown kind '" + k + "'");
  }
  if (o.contains("draw_reveal_s")) p.draw_reveal_s = pack_int(o, "draw_reveal_s", 1);
  if (const auto* f = o.if_contains("opening_at_deadline")) {
    if (!f->is_bool()) bad_pack("'opening_at_deadline' must be true or false");
    p.opening_at_deadline = f->get_bool();
  }
  if (o.contains("bid_validity_days")) p.bid_validity_days = pack_int(o, "bid_validity_days", 1);
  if (const auto* r = o.if_contains("bond_refund")) {
    if (!r->is_object()) bad_pack("'bond_refund' must be an object");
    const auto& ro = r->get_object();
    for (const auto& kv : ro) {
      const std::string_view k(kv.key().data(), kv.key().size());
      if (k != "trigger" && k != "days" && k != "working_days") {
        bad_pack("unknown field 'bond_refund." + std::string(k) + "'");
      }
    }
    p.bond_refund.trigger = pack_string(ro, "trigger");
    if (p.bond_refund.trigger != "contract_signed" && p.bond_refund.trigger != "award_notice") {
      bad_pack("'bond_refund.trigger' must be contract_signed or award_notice");
    }
    p.bond_refund.days = pack_int(ro, "days", 0);
    const auto* w = ro.if_contains("working_days");
    if (w == nullptr || !w->is_bool()) bad_pack("'bond_refund.working_days' must be a boolean");
    p.bond_refund.working_days = w->get_bool();
  }
  if (const auto* cu = o.if_contains("custody")) {
    if (!cu->is_object()) bad_pack("'custody' must be an object");
    const auto& co = cu->get_object();
    for (const auto& kv : co) {
      const std::string_view k(kv.key().data(), kv.key().size());
      if (k != "min_custodians" && k != "min_threshold" && k != "org_kinds" &&
          k != "dealer_setup") {
        bad_pack("unknown field 'custody." + std::string(k) + "'");
      }
    }
    p.custody.min_custodians = static_cast<int>(pack_int(co, "min_custodians", 1));
    p.custody.min_threshold = static_cast<int>(pack_int(co, "min_threshold", 1));
    if (p.custody.min_threshold > p.custody.min_custodians) {
      bad_pack("'custody.min_threshold' must not exceed 'custody.min_custodians'");
    }
    p.custody.org_kinds = pack_strings(co, "org_kinds");
    for (const auto& k : p.custody.org_kinds) {
      if (k != "center" && k != "supervision" && k != "notary") {
        bad_pack("'custody.org_kinds' may hold center, supervision and notary, not '" + k + "'");
      }
    }
    if (const auto* d = co.if_contains("dealer_setup")) {
      if (!d->is_bool()) bad_pack("'custody.dealer_setup' must be a boolean");
      p.custody.dealer_setup = d->get_bool();
    }
  }
  return p;
}

std::int64_t bond_refund_deadline(const rule_pack& pack, std::int64_t trigger_at) {
  constexpr std::int64_t day = 86400;
  if (!pack.bond_refund.working_days) return trigger_at + pack.bond_refund.days * day;
  // Working days: Monday to Friday (no holiday calendar). 1970-01-01 was a Thursday.
  std::int64_t t = trigger_at;
  std::int64_t left = pack.bond_refund.days;
  while (left > 0) {
    t += day;
    const auto days_since_epoch = (t >= 0 ? t : t - day + 1) / day;
    const auto weekday = ((days_since_epoch % 7) + 7 + 3) % 7;  // 0 = Monday
    if (weekday < 5) --left;
  }
  return t;
}

const rule_pack* find_rule_pack(std::string_view name) {
  const auto& all = packs();
  const auto it = all.find(name);
  return it == all.end() ? nullptr : &it->second;
}

std::vector<std::string> rule_pack_names() {
  std::vector<std::string> out;
  for (const auto& [name, p] : packs())
    out.push_back(name);
  return out;
}

std::vector<std::string> publication_violations(const rule_pack& pack, const tender_spec& t,
                                                std::int64_t now, bool lead_time) {
  std::vector<std::string> v;
  if (t.rule_pack != pack.name) {
    v.push_back("rule_pack is '" + t.rule_pack + "' but the check ran with '" + pack.name + "'");
  }
  if (!contains(pack.kinds, t.kind)) {
    v.push_back("kind '" + t.kind + "' is not allowed by the " + pack.name +
                " rule pack (allowed: " + joined(pack.kinds) + ")");
  }
  if (t.evaluation_method && !contains(pack.evaluation_methods, *t.evaluation_method)) {
    v.push_back("evaluation_method '" + *t.evaluation_method + "' is not allowed by the " +
                pack.name + " rule pack (allowed: " + joined(pack.evaluation_methods) + ")");
  }
  if (!t.deadline_at) {
    v.push_back("deadline_at is required");
  } else if (lead_time && *t.deadline_at < now + pack.min_seconds_to_deadline) {
    v.push_back("deadline_at " + format_utc(*t.deadline_at) + " is too early: the " + pack.name +
                " rule pack needs at least " + duration_text(pack.min_seconds_to_deadline) +
                " from publication to the deadline (earliest " +
                format_utc(now + pack.min_seconds_to_deadline) + ")");
  }
  if (!t.opening_at) {
    v.push_back("opening_at is required");
  } else if (t.deadline_at && *t.opening_at < *t.deadline_at) {
    v.push_back("opening_at " + format_utc(*t.opening_at) + " is before deadline_at " +
                format_utc(*t.deadline_at) + "; the opening cannot precede the deadline");
  } else if (t.deadline_at && pack.opening_at_deadline && *t.opening_at != *t.deadline_at) {
    v.push_back("opening_at " + format_utc(*t.opening_at) + " is not deadline_at " +
                format_utc(*t.deadline_at) + ": the " + pack.name +
                " rule pack opens the bids at the deadline itself (招标投标法 art. 34)");
  }
  if (t.lots.empty()) v.push_back("a tender needs at least one lot");
  std::set<int> lot_numbers;
  for (std::size_t i = 0; i < t.lots.size(); ++i) {
    const auto& lot = t.lots[i];
    const std::string name =
        "lots[" + std::to_string(i) + "] (lot " + std::to_string(lot.lot_no) + ")";
    if (!lot_numbers.insert(lot.lot_no).second) {
      v.push_back(name + ": lot_no " + std::to_string(lot.lot_no) + " is used twice");
    }
    if (lot.estimated_price <= 0) v.push_back(name + ": estimated_price must be positive");
    // bond * 1e6 <= ppm * estimated, in 128 bits so no product can overflow.
    __extension__ using wide = __int128;
    const wide lhs = static_cast<wide>(lot.bond_amount) * 1000000;
    const wide rhs = static_cast<wide>(pack.max_bond_ppm) * lot.estimated_price;
    if (lhs > rhs) {
      const auto max_bond = static_cast<std::int64_t>(rhs / 1000000);
      v.push_back(name + ": bond_amount " + yuan(lot.bond_amount) + " exceeds " +
                  std::to_string(pack.max_bond_ratio * 100).substr(0, 4) +
                  "% of estimated_price (at most " + yuan(max_bond) + ")");
    }
    if (lot.ceiling_price && *lot.ceiling_price < lot.estimated_price) {
      v.push_back(name + ": ceiling_price " + yuan(*lot.ceiling_price) +
                  " is below estimated_price " + yuan(lot.estimated_price));
    }
    bool has_price = false;
    std::set<std::string> keys;
    for (const auto& f : lot.summary_fields) {
      if (f.key == "price") {
        has_price = true;
        if (f.type != "money") {
          v.push_back(name + ": summary field 'price' must have type money, not " + f.type);
        }
      }
      if (!keys.insert(f.key).second) {
        v.push_back(name + ": summary field key '" + f.key + "' is used twice");
      }
    }
    if (!has_price) {
      v.push_back(name + ": summary_fields must include the key 'price' (the bid price)");
    }
  }
  const bool uses_escrow = t.key_policy != "bidder_only";
  if (uses_escrow) {
    if (!t.escrow) {
      v.push_back("key_policy '" + t.key_policy +
                  "' needs an escrow (threshold and custodians); use bidder_only without one");
    } else {
      const auto n = static_cast<int>(t.escrow->custodians.size());
      if (n == 0) v.push_back("escrow.custodians must name at least one custodian");
      if (t.escrow->threshold < 1 || t.escrow->threshold > n) {
        v.push_back("escrow.threshold " + std::to_string(t.escrow->threshold) +
                    " must be between 1 and the number of custodians (" + std::to_string(n) + ")");
      }
      std::set<std::string> ids;
      for (const auto& c : t.escrow->custodians) {
        if (!ids.insert(c.id).second) {
          v.push_back("escrow custodian id '" + c.id + "' is used twice");
        }
      }
      for (auto& s : custody_violations(pack, *t.escrow, t.owner_org))
        v.push_back(std::move(s));
      if (!t.escrow->has_setup) {
        v.push_back("key_policy '" + t.key_policy +
                    "' needs escrow.setup, the public setup of the threshold escrow key that "
                    "bids are sealed to: run the custodians' key ceremony (`tender escrow "
                    "ceremony start`)");
      } else if (!t.escrow->setup_from_ceremony && !pack.custody.dealer_setup) {
        v.push_back("escrow.setup was made by a single dealer, who knew the whole key; the " +
                    pack.name +
                    " rule pack needs the key made by the custodians' own ceremony (`tender "
                    "escrow ceremony start`), which nobody knows whole");
      } else if (t.escrow->setup_threshold != t.escrow->threshold ||
                 t.escrow->setup_custodians != n) {
        v.push_back("escrow.setup is a " + std::to_string(t.escrow->setup_threshold) + "-of-" +
                    std::to_string(t.escrow->setup_custodians) +
                    " key but the escrow names threshold " + std::to_string(t.escrow->threshold) +
                    " and " + std::to_string(n) + " custodians");
      }
    }
  } else if (t.escrow) {
    v.push_back("key_policy is bidder_only but an escrow is given; remove it or change the policy");
  }
  return v;
}

std::vector<std::string> custody_violations(const rule_pack& pack, const escrow_spec& escrow,
                                            const std::string& owner_org) {
  std::vector<std::string> v;
  const auto& rule = pack.custody;
  const auto n = static_cast<int>(escrow.custodians.size());
  if (n < rule.min_custodians) {
    v.push_back("escrow.custodians names " + std::to_string(n) + " custodian" +
                (n == 1 ? "" : "s") + "; the " + pack.name + " rule pack needs at least " +
                std::to_string(rule.min_custodians) + ", each of its own organisation");
  }
  if (escrow.threshold < rule.min_threshold) {
    v.push_back("escrow.threshold " + std::to_string(escrow.threshold) + " is too low: the " +
                pack.name + " rule pack needs at least " + std::to_string(rule.min_threshold) +
                " custodians to act together");
  }
  std::set<std::string> orgs;
  for (const auto& c : escrow.custodians) {
    const std::string who = "escrow custodian '" + c.id + "'";
    if (c.org_id == owner_org) {
      v.push_back(who + " is of the tender's own organisation '" + c.org_id +
                  "'; custodians must be independent of the tenderer");
    } else if (c.org_kind.empty()) {
      v.push_back(who + " names organisation '" + c.org_id + "', which does not exist");
    } else if (!contains(rule.org_kinds, c.org_kind)) {
      v.push_back(who + " is of organisation '" + c.org_id + "' of kind " + c.org_kind + "; the " +
                  pack.name + " rule pack allows custodians of kind " + joined(rule.org_kinds));
    }
    if (!orgs.insert(c.org_id).second) {
      v.push_back(who + " is of organisation '" + c.org_id +
                  "', which already holds a share; each custodian must be of its own "
                  "organisation");
    }
  }
  return v;
}

deadline_move amendment_deadline(const rule_pack& pack, std::int64_t now, std::int64_t deadline_at,
                                 std::int64_t opening_at) {
  deadline_move out{deadline_at, opening_at, false};
  const std::int64_t earliest = now + pack.amendment_min_seconds_before_deadline;
  if (deadline_at < earliest) {
    const std::int64_t delta = earliest - deadline_at;
    out.deadline_at = earliest;
    out.opening_at = opening_at + delta;
    out.moved = true;
  }
  return out;
}

std::string_view action_name(tender_action a) {
  switch (a) {
    case tender_action::update:
      return "update";
    case tender_action::publish:
      return "publish";
    case tender_action::amend:
      return "amend";
    case tender_action::cancel:
      return "cancel";
    case tender_action::suspend:
      return "suspend";
    case tender_action::resume:
      return "resume";
    case tender_action::deadline:
      return "deadline";
    case tender_action::open:
      return "open";
    case tender_action::fail:
      return "fail";
    case tender_action::record:
      return "record";
  }
  return "?";
}

std::optional<std::string> next_state(std::string_view state, tender_action action,
                                      std::string_view suspended_from) {
  struct row {
    std::string_view from;
    tender_action action;
    std::string_view to;  // empty: the same state
  };
  static constexpr row table[] = {
      {"draft", tender_action::update, "draft"},
      {"draft", tender_action::publish, "published"},
      {"draft", tender_action::cancel, "cancelled"},
      {"published", tender_action::amend, "published"},
      {"published", tender_action::cancel, "cancelled"},
      {"published", tender_action::suspend, "suspended"},
      {"published", tender_action::deadline, "closed"},
      {"closed", tender_action::cancel, "cancelled"},
      {"closed", tender_action::suspend, "suspended"},
      {"closed", tender_action::open, "opening"},
      {"closed", tender_action::fail, "failed"},
      {"opening", tender_action::suspend, "suspended"},
      {"opening", tender_action::fail, "failed"},
      {"opening", tender_action::record, "opened"},
  };
  if (state == "suspended") {
    if (action == tender_action::resume && !suspended_from.empty()) {
      return std::string(suspended_from);
    }
    // Cancelling a suspended tender is allowed while it had not reached the opening.
    if (action == tender_action::cancel &&
        (suspended_from == "published" || suspended_from == "closed")) {
      return std::string("cancelled");
    }
    return std::nullopt;
  }
  for (const auto& r : table) {
    if (r.from == state && r.action == action) return std::string(r.to);
  }
  return std::nullopt;
}

std::optional<std::int64_t> parse_rfc3339(std::string_view s) {
  // YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)
  auto digits = [&](std::size_t pos, std::size_t n) -> std::optional<int> {
    if (pos + n > s.size()) return std::nullopt;
    int v = 0;
    for (std::size_t i = pos; i < pos + n; ++i) {
      if (s[i] < '0' || s[i] > '9') return std::nullopt;
      v = v * 10 + (s[i] - '0');
    }
    return v;
  };
  if (s.size() < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') ||
      s[13] != ':' || s[16] != ':') {
    return std::nullopt;
  }
  const auto y = digits(0, 4), mo = digits(5, 2), d = digits(8, 2), h = digits(11, 2),
             mi = digits(14, 2), se = digits(17, 2);
  if (!y || !mo || !d || !h || !mi || !se) return std::nullopt;
  static constexpr int month_days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (*y < 1 || *mo < 1 || *mo > 12 || *d < 1) return std::nullopt;
  const int dim = month_days[*mo - 1] + (*mo == 2 && leap(*y) ? 1 : 0);
  if (*d > dim || *h > 23 || *mi > 59 || *se > 59) return std::nullopt;
  std::size_t pos = 19;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    const std::size_t start = pos;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9')
      ++pos;
    if (pos == start || pos - start > 9) return std::nullopt;
  }
  if (pos >= s.size()) return std::nullopt;
  std::int64_t offset = 0;
  if (s[pos] == 'Z' || s[pos] == 'z') {
    ++pos;
  } else if (s[pos] == '+' || s[pos] == '-') {
    if (pos + 6 != s.size() || s[pos + 3] != ':') return std::nullopt;
    const auto oh = digits(pos + 1, 2), om = digits(pos + 4, 2);
    if (!oh || !om || *oh > 23 || *om > 59) return std::nullopt;
    offset = (*oh * 3600 + *om * 60) * (s[pos] == '+' ? 1 : -1);
    pos += 6;
  } else {
    return std::nullopt;
  }
  if (pos != s.size()) return std::nullopt;
  const std::int64_t days =
      days_from_civil(*y, static_cast<unsigned>(*mo), static_cast<unsigned>(*d));
  return days * 86400 + *h * 3600 + *mi * 60 + *se - offset;
}

std::string format_utc(std::int64_t t) {
  const std::chrono::sys_seconds tp{std::chrono::seconds{t}};
  const auto day = std::chrono::floor<std::chrono::days>(tp);
  const std::chrono::year_month_day ymd{day};
  const std::chrono::hh_mm_ss hms{tp - day};
  char buf[40];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02lld:%02lld:%02lldZ",
                static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                static_cast<unsigned>(ymd.day()), static_cast<long long>(hms.hours().count()),
                static_cast<long long>(hms.minutes().count()),
                static_cast<long long>(hms.seconds().count()));
  return buf;
}

bool valid_rate(std::string_view s) {
  const auto dot = s.find('.');
  if (dot == std::string_view::npos || dot == 0 || dot + 1 == s.size() || s.size() - dot - 1 > 6) {
    return false;
  }
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (i != dot && (s[i] < '0' || s[i] > '9')) return false;
  }
  if (s.substr(0, dot) != "0") return false;                           // below 1
  return s.find_first_not_of('0', dot + 1) != std::string_view::npos;  // above 0
}

}  // namespace tender::core
