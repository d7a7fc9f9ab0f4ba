// Secrecy by the clock (SPEC §13, hall-protocol.md §2.1, 招标投标法 art. 22): until the bidder
// list is published nobody may learn who (or how many) signed in or obtained the documents,
// except supervisors, and each bidder for itself; the host may count the sign-ins. For every role
// (bidders A, B and C, the host, the tenderer, a custodian, a supervisor, the public) and every
// surface (the hall snapshot and events over HTTP, the live WebSocket stream in the full and the
// summary view with its progress counts, the download list, the bid list, the audit log's events)
// this checks what each sees before the deadline, between the deadline and the list, and after.
#include <hall_world.hpp>

#include <tender/client/bids.hpp>
#include <tender/client/documents.hpp>

#include <boost/json.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <initializer_list>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

using namespace std::chrono_literals;

namespace {

namespace hall = tender::client::hall;
namespace bids = tender::client::bids;
namespace docs = tender::client::documents;
namespace json = boost::json;
using tender::test::actor;
using tender::test::error_code_of;
using tender::test::hall_bidder;
using tender::test::hall_world;
using tender::test::wait_until;
using tender::test::world;
using actors = std::initializer_list<const actor*>;

// What one viewer is shown of the sign-ins over HTTP (GET …/hall and …/hall/events).
struct view {
  unsigned status = 0;
  std::string code;                        // the refusal's code (status 403)
  std::vector<std::string> attendance;     // org ids of the snapshot's attendance
  std::optional<std::int64_t> total;       // the snapshot's attendance_total
  std::set<std::string> bidders;           // org ids of the snapshot's bids
  std::map<std::int64_t, std::string> ev;  // sign-in seq → org id, "counted" or "redacted"
};

// One event as this viewer got it: the organisation it names, "counted" (kind and time only, the
// host's view before the list) or "redacted".
std::string shown(const json::object& e) {
  const auto kind = std::string(e.at("kind").as_string());
  if (kind == "redacted") return "redacted";
  const auto& d = e.at("data").as_object();
  if (kind != "signed_in") return "(" + kind + ")";
  if (d.empty() && e.at("actor").is_null()) return "counted";
  return std::string(d.at("org_id").as_string());
}

view look(tender::client::client& c, const std::string& t,
          const std::vector<std::int64_t>& sign_ins) {
  view v;
  const auto snap = c.request("GET", "/api/v1/tenders/" + t + "/hall");
  v.status = snap.status;
  if (snap.status != 200) {
    v.code = error_code_of(snap);
    return v;
  }
  const auto h = json::parse(snap.body).at("hall").as_object();
  for (const auto& a : h.at("attendance").as_array())
    v.attendance.emplace_back(a.at("org_id").as_string());
  if (const auto* n = h.if_contains("attendance_total")) v.total = n->to_number<std::int64_t>();
  for (const auto& b : h.at("bidders").as_array())
    v.bidders.emplace(b.at("org_id").as_string());
  const auto page = c.request("GET", "/api/v1/tenders/" + t + "/hall/events?after=0&limit=1000");
  EXPECT_EQ(page.status, 200u) << page.body;
  const auto events = json::parse(page.body);
  for (const auto& e : events.at("events").as_array()) {
    const auto seq = e.at("seq").as_int64();
    if (std::find(sign_ins.begin(), sign_ins.end(), seq) != sign_ins.end())
      v.ev[seq] = shown(e.as_object());
  }
  return v;
}

std::vector<std::string> orgs(std::initializer_list<const actor*> who) {
  std::vector<std::string> out;
  for (const auto* a : who)
    out.push_back(a->org_id);
  return out;
}

// A session's events by seq, as this viewer got them.
std::map<std::int64_t, std::string> stream(const hall::blocking_session& s,
                                           const std::vector<std::int64_t>& sign_ins) {
  std::map<std::int64_t, std::string> out;
  for (const auto& e : s.events()) {
    if (std::find(sign_ins.begin(), sign_ins.end(), e.seq) != sign_ins.end())
      out[e.seq] = shown(json::parse(e.json).as_object());
  }
  return out;
}

// What a reader of the audit log's events (GET /api/v1/log/events) learns about tender `t`:
// "<action> by <actor>" for each event it is shown, and how many events were withheld from it.
struct audit_view {
  std::vector<std::string> shown;
  std::size_t withheld = 0;
  bool has(const std::string& entry) const {
    return std::find(shown.begin(), shown.end(), entry) != shown.end();
  }
};

audit_view audit_of(tender::client::client& c, const std::string& t) {
  audit_view v;
  for (std::uint64_t from = 0;;) {
    const auto page = c.log_events(from, 1000);
    for (const auto& r : page.events) {
      if (r.withheld) {
        ++v.withheld;
      } else if (r.fields.subject && r.fields.subject->rfind(t, 0) == 0) {
        v.shown.push_back(r.fields.action + " by " + r.fields.actor);
      }
    }
    if (!page.next) break;
    from = *page.next;
  }
  return v;
}

// A summary-view session (hall-protocol.md §4.1) that keeps its progress messages.
struct summary_session {
  std::mutex m;
  std::vector<json::object> progress;
  std::unique_ptr<hall::blocking_session> s;
  std::optional<json::object> last() {
    std::lock_guard l(m);
    return progress.empty() ? std::nullopt : std::optional(progress.back());
  }
};

TEST(hall_secrecy, every_role_on_every_surface_before_between_and_after_the_list) {
  world w("hall_secrecy", {{"TENDERD_SCHEDULER_POLL_INTERVAL_MS", "100"}});
  auto& host = w.user("hs-host", "hs-center", "center", {"center_staff"});
  auto& super = w.user("hs-super", "hs-supco", "supervision", {"supervisor"});
  auto& owner = w.user("hs-owner", "hs-ownco", "tenderer", {"tenderer"});
  hall_world h(w, owner);
  const auto esc = tender::test::make_escrow(w, "hs");
  auto& custodian = *esc.custodians[0];
  const auto t = h.make_tender(
      {.suffix = "51", .key_policy = "bidder_or_escrow", .escrow_json = esc.escrow_json});
  hall_bidder& ba = h.add_bidder(t, 1);
  hall_bidder& bb = h.add_bidder(t, 2);
  hall_bidder& bc = h.add_bidder(t, 3);
  const actor& a = *ba.who;
  const actor& b = *bb.who;
  const actor& c = *bc.who;
  auto pub = w.anonymous();

  // A and B obtain the documents.
  const auto doc = docs::upload(*owner.api, t, "spec.pdf", "the tender documents");
  docs::download(*a.api, t, doc.document_id);
  docs::download(*b.api, t, doc.document_id);

  auto host_s = h.join(t, &host);
  auto b_s = h.join(t, &b);
  ASSERT_EQ(host_s->last_welcome().viewer.role, "host");
  ASSERT_EQ(h.join(t, &custodian)->last_welcome().viewer.role, "custodian");

  auto sign_in = [&](hall_bidder& who) {
    auto s = h.join(t, who.who);
    who.nonce = hall::make_nonce();
    const auto r = s->signed_act("sign_in", hall::sign_in_params(who.nonce->commitment),
                                 who.nonce->commitment, who.signer());
    EXPECT_TRUE(r.ok) << r.code << " " << r.message;
    return r.seq.value_or(0);
  };
  const std::string not_public = "hall.not_public_yet";
  auto expect_downloads = [&](bool list_for_owner) {
    const auto o = docs::downloads(*owner.api, t);
    EXPECT_EQ(o.organisations, 2);
    EXPECT_EQ(o.listed, list_for_owner);
    EXPECT_EQ(o.list.size(), list_for_owner ? 2u : 0u);
    const auto s = docs::downloads(*super.api, t);
    EXPECT_TRUE(s.listed);
    EXPECT_EQ(s.list.size(), 2u);
    EXPECT_EQ(a.api->request("GET", "/api/v1/tenders/" + t + "/downloads").status, 403u);
    EXPECT_EQ(host.api->request("GET", "/api/v1/tenders/" + t + "/downloads").status, 403u);
  };
  // The bid list: everyone allowed counts; who bid only for supervisors until the list (and not
  // before the deadline for anyone).
  auto expect_bids = [&](bool deadline_passed, bool list_public) {
    for (const actor* who : actors{&owner, &host, &super}) {
      const auto l = bids::list(*who->api, t, 1);
      EXPECT_EQ(l.count, 3) << who->user_id;
      const bool shown = deadline_passed && (who == &super || list_public);
      EXPECT_EQ(l.bids.size(), shown ? 3u : 0u) << who->user_id;
    }
  };
  // The audit log: supervisors read who downloaded and signed in; the host (center_staff, as the
  // admin) gets the tender's events withheld until the list; the others may not read events.
  auto expect_audit = [&](bool open_to_host, const std::vector<const actor*>& signed_in) {
    const auto sv = audit_of(*super.api, t);
    EXPECT_EQ(sv.withheld, 0u);
    EXPECT_TRUE(sv.has("document.downloaded by " + a.user_id));
    const auto hv = audit_of(*host.api, t);
    EXPECT_EQ(hv.has("document.downloaded by " + a.user_id), open_to_host);
    if (!open_to_host) {
      EXPECT_TRUE(hv.shown.empty());
      EXPECT_GT(hv.withheld, 0u);
    }
    for (const actor* who : signed_in) {
      EXPECT_TRUE(sv.has("hall.sign_in by " + who->user_id)) << who->user_id;
      EXPECT_EQ(hv.has("hall.sign_in by " + who->user_id), open_to_host) << who->user_id;
    }
    for (const actor* other : actors{&a, &owner, &custodian})
      EXPECT_EQ(other->api->request("GET", "/api/v1/log/events?limit=5").status, 403u);
  };

  // ---- 1. Before the deadline: A signs in. --------------------------------------------------
  const auto seq_a = sign_in(ba);
  std::vector<std::int64_t> seqs{seq_a};
  {
    const auto va = look(*a.api, t, seqs);
    EXPECT_EQ(va.attendance, orgs({&a}));
    EXPECT_FALSE(va.total);
    EXPECT_EQ(va.ev.at(seq_a), a.org_id);
    for (const actor* other : actors{&b, &c, &custodian}) {
      const auto v = look(*other->api, t, seqs);
      EXPECT_EQ(v.status, 200u) << other->user_id;
      EXPECT_TRUE(v.attendance.empty()) << other->user_id;
      EXPECT_FALSE(v.total) << other->user_id;
      EXPECT_EQ(v.ev.at(seq_a), "redacted") << other->user_id;
    }
    const auto vh = look(*host.api, t, seqs);
    EXPECT_TRUE(vh.attendance.empty());
    EXPECT_EQ(vh.total, 1);
    EXPECT_EQ(vh.ev.at(seq_a), "counted");
    const auto vs = look(*super.api, t, seqs);
    EXPECT_EQ(vs.attendance, orgs({&a}));
    EXPECT_EQ(vs.ev.at(seq_a), a.org_id);
    EXPECT_EQ(look(*owner.api, t, seqs).code, not_public);
    EXPECT_EQ(look(*pub, t, seqs).code, not_public);
    expect_downloads(false);
    expect_audit(false, {&a});
    expect_bids(false, false);
  }

  // ---- 2. Between the deadline and the list: B signs in. ------------------------------------
  h.pass_deadline(t);
  host_s->wait_for_kind("bids_sealed", 30s);
  const auto seq_b = sign_in(bb);
  seqs.push_back(seq_b);
  {
    const auto va = look(*a.api, t, seqs);
    EXPECT_EQ(va.attendance, orgs({&a}));
    EXPECT_EQ(va.ev, (std::map<std::int64_t, std::string>{{seq_a, a.org_id}, {seq_b, "redacted"}}));
    const auto vb = look(*b.api, t, seqs);
    EXPECT_EQ(vb.attendance, orgs({&b}));
    EXPECT_EQ(vb.ev, (std::map<std::int64_t, std::string>{{seq_a, "redacted"}, {seq_b, b.org_id}}));
    for (const actor* other : actors{&c, &custodian}) {
      const auto v = look(*other->api, t, seqs);
      EXPECT_TRUE(v.attendance.empty()) << other->user_id;
      EXPECT_FALSE(v.total) << other->user_id;
      EXPECT_EQ(v.ev,
                (std::map<std::int64_t, std::string>{{seq_a, "redacted"}, {seq_b, "redacted"}}))
          << other->user_id;
    }
    const auto vh = look(*host.api, t, seqs);
    EXPECT_TRUE(vh.attendance.empty());
    EXPECT_EQ(vh.total, 2);
    // Who bid: the host sees no bid of anyone before the list, a bidder its own, supervisors all.
    EXPECT_TRUE(vh.bidders.empty());
    EXPECT_EQ(va.bidders, (std::set<std::string>{a.org_id}));
    EXPECT_EQ(look(*super.api, t, seqs).bidders,
              (std::set<std::string>{a.org_id, b.org_id, c.org_id}));
    EXPECT_EQ(vh.ev, (std::map<std::int64_t, std::string>{{seq_a, "counted"}, {seq_b, "counted"}}));
    const auto vs = look(*super.api, t, seqs);
    EXPECT_EQ(vs.attendance, orgs({&a, &b}));
    EXPECT_EQ(vs.ev, (std::map<std::int64_t, std::string>{{seq_a, a.org_id}, {seq_b, b.org_id}}));
    EXPECT_EQ(look(*owner.api, t, seqs).code, not_public);
    EXPECT_EQ(look(*pub, t, seqs).code, not_public);
    // The deadline alone does not lift the secret of who obtained the documents.
    expect_downloads(false);
    expect_audit(false, {&a, &b});
    expect_bids(true, false);

    // The live stream: the host counts, B sees only its own sign-in, seqs stay contiguous.
    host_s->wait_for([&](const hall::event& e) { return e.seq >= seq_b; }, 30s);
    b_s->wait_for([&](const hall::event& e) { return e.seq >= seq_b; }, 30s);
    EXPECT_EQ(stream(*host_s, seqs), vh.ev);
    EXPECT_EQ(stream(*b_s, seqs), vb.ev);
  }

  // The summary view: A's snapshot counts only what A may see; progress counts no sign-ins.
  summary_session sa;
  {
    auto o = h.options(t, &a);
    o.view = "summary";
    o.on_progress = [&sa](const std::string& p) {
      std::lock_guard l(sa.m);
      sa.progress.push_back(json::parse(p).as_object());
    };
    sa.s = std::make_unique<hall::blocking_session>(o);
    const auto snap = json::parse(sa.s->first_snapshot().value().hall_json).as_object();
    EXPECT_EQ(snap.at("attendance").as_array().size(), 1u);
    EXPECT_EQ(snap.at("attendance_total").to_number<std::int64_t>(), 1);
    ASSERT_TRUE(wait_until([&] { return sa.last().has_value(); }, 30s));
    const auto p = *sa.last();
    EXPECT_EQ(p.at("phase").as_string(), "sealed");
    EXPECT_TRUE(p.at("signed_in").is_null()) << json::serialize(p);
    EXPECT_TRUE(p.at("lots").as_array().empty()) << json::serialize(p);
  }

  // ---- 3. After the list: C signs in; who signed in is public. ------------------------------
  {
    // The guarantee check names no bidder to the host: counts in its answer, the event without
    // actor or data in its stream (supervisors read the event whole).
    const auto answer = hall::expect_ok(host_s->act("check_guarantees"));
    for (const actor* x : actors{&a, &b, &c})
      EXPECT_EQ(answer.find(x->org_id), std::string::npos) << answer;
    const auto ev = host_s->wait_for_kind("guarantees_checked", 30s);
    for (const actor* x : actors{&a, &b, &c})
      EXPECT_EQ(ev.json.find(x->org_id), std::string::npos) << ev.json;
    const auto hv = look(*host.api, t, seqs);
    EXPECT_TRUE(hv.bidders.empty());
  }
  hall::expect_ok(host_s->act("publish_list"));
  const auto seq_c = sign_in(bc);
  seqs.push_back(seq_c);
  {
    for (auto* cl : {a.api.get(), b.api.get(), c.api.get(), host.api.get(), custodian.api.get(),
                     super.api.get(), owner.api.get(), pub.get()}) {
      const auto v = look(*cl, t, seqs);
      EXPECT_EQ(v.status, 200u);
      EXPECT_EQ(v.attendance, orgs({&a, &b, &c}));
      EXPECT_FALSE(v.total);
      EXPECT_EQ(v.ev.at(seq_c), c.org_id);
    }
    // Events are never rewritten: the sign-ins before the list keep their audience.
    EXPECT_EQ(look(*host.api, t, seqs).ev.at(seq_a), "counted");
    EXPECT_EQ(look(*pub, t, seqs).ev.at(seq_b), "redacted");
    EXPECT_EQ(look(*super.api, t, seqs).ev.at(seq_b), b.org_id);
    expect_downloads(true);
    expect_audit(true, {&a, &b, &c});
    expect_bids(true, true);
    ASSERT_TRUE(wait_until(
        [&] {
          const auto p = sa.last();
          return p && p->at("signed_in").is_int64() && p->at("signed_in").as_int64() == 3;
        },
        30s));
    EXPECT_EQ(sa.last()->at("lots").as_array().size(), 1u);
  }
}

}  // namespace
