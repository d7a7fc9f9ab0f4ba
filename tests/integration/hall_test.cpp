// The opening hall's state machine against a real PostgreSQL (db::hall driven directly): every
// phase with three bidders, signed actions and their single-use challenges, refusals that change
// nothing, the window closed by the database clock, failure causes, the draw, confirmations and
// the signed opening record checked with the offline verifier.
#include <io_support.hpp>
#include <test_support.hpp>

#include <tender/crypto/bytes.hpp>
#include <tender/crypto/canonical_json.hpp>
#include <tender/crypto/digest.hpp>
#include <tender/crypto/draw.hpp>
#include <tender/crypto/error.hpp>
#include <tender/crypto/escrow.hpp>
#include <tender/crypto/init.hpp>
#include <tender/crypto/keys.hpp>
#include <tender/crypto/opening_record.hpp>
#include <tender/crypto/signed_note.hpp>
#include <tender/db/bids.hpp>
#include <tender/db/hall.hpp>
#include <tender/db/scheduler.hpp>

#include "../../server/db/src/audit_tx.hpp"
#include "../../server/db/src/pool.hpp"

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include <pqxx/pqxx>

#include <algorithm>
#include <chrono>
#include <future>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <thread>

namespace crypto = tender::crypto;
namespace db = tender::db;
namespace json = boost::json;
using tender::test::fresh_database;
using tender::test::run_on_io;
const auto code_of = tender::test::db_error_code;

namespace {

struct member {
  std::string user_id;
  std::string org_id;
  std::string org_name;
  std::vector<std::string> roles;
  crypto::private_key key;
  std::string fingerprint;
  db::principal principal() const {
    db::principal p;
    p.who.id = user_id;
    p.who.org_id = org_id;
    p.who.name = user_id;
    p.who.roles = roles;
    p.org.id = org_id;
    p.org.name = org_name;
    p.org.kind = roles.front() == "bidder" ? "bidder" : "center";
    return p;
  }
};

std::string hex_of(std::string_view raw) {
  return crypto::hex_encode(crypto::as_bytes(raw));
}

std::string sha_hex(std::string_view raw) {
  return crypto::to_hex(crypto::sha256(raw));
}

struct hall_fixture : ::testing::Test {
  void SetUp() override {
    crypto::init();
    db.exec(
        "INSERT INTO organisations (id, kind, name) VALUES ('acme', 'tenderer', 'Acme'), "
        "('center', 'center', 'Center'), ('watch', 'supervision', 'Watch')");
    db.exec(
        "INSERT INTO users (id, org_id, name, roles) VALUES ('owner', 'acme', 'Owner', "
        "ARRAY['tenderer'])");
    host = add_member("host", "center", "Center", "center_staff");
    sup = add_member("sup", "watch", "Watch", "supervisor");
    for (int i = 1; i <= 3; ++i) {
      const auto n = std::to_string(i);
      db.exec("INSERT INTO organisations (id, kind, name) VALUES ('b" + n + "', 'bidder', '投标人" +
              n + "')");
      bidders.push_back(add_member("u" + n, "b" + n, "投标人" + n, "bidder"));
    }
    db.exec("INSERT INTO organisations (id, kind, name) VALUES ('other', 'bidder', 'Other')");
    outsider = add_member("ux", "other", "Other", "bidder");
  }

  member add_member(const std::string& user, const std::string& org, const std::string& org_name,
                    const std::string& role) {
    member m{user, org, org_name, {role}, crypto::private_key::generate(crypto::key_type::ed25519),
             ""};
    db.exec("INSERT INTO users (id, org_id, name, roles) VALUES ('" + user + "', '" + org + "', '" +
            user + "', ARRAY['" + role + "'])");
    const auto pub = m.key.public_part();
    m.fingerprint = pub.fingerprint();
    const auto der = pub.to_der();
    db.exec("INSERT INTO user_keys (fingerprint, user_id, algorithm, spki) VALUES ('" +
            m.fingerprint + "', '" + user + "', 'ed25519', decode('" + crypto::hex_encode(der) +
            "', 'hex'))");
    return m;
  }

  // A published sandbox tender with one lot (no bond) and a current bid of each bidder.
  std::string make_tender(const std::string& suffix, bool discount = true,
                          const std::string& policy = "bidder_only",
                          const std::string& escrow_json = {}) {
    const std::string id = "t-00000000000000" + suffix;
    db.exec(
        "INSERT INTO tenders (id, project_code, title, kind, rule_pack, owner_org, created_by, "
        "state, published_at, deadline_at, opening_at, key_policy, decryption_window_s, "
        "confirmation_window_s) VALUES ('" +
        id + "', 'H-" + suffix + "', 'Hall " + suffix +
        "', 'works', 'sandbox', 'acme', 'owner', 'published', now(), clock_timestamp() + "
        "interval '1 hour', clock_timestamp() + interval '2 hours', '" +
        policy + "', 600, 600)");
    if (!escrow_json.empty()) {
      db.exec("UPDATE tenders SET escrow = '" + escrow_json + "'::jsonb WHERE id = '" + id + "'");
    }
    db.exec(
        "INSERT INTO lots (tender_id, lot_no, title, estimated_price, ceiling_price, "
        "summary_fields, discount_candidates) VALUES ('" +
        id +
        "', 1, 'Lot', 100000000, 120000000, '[{\"key\":\"price\",\"label\":\"投标报价\","
        "\"type\":\"money\"}]', " +
        (discount ? "'[\"0.05\",\"0.08\",\"0.10\"]'" : "NULL") + ")");
    for (std::size_t i = 0; i < bidders.size(); ++i) {
      const auto& b = bidders[i];
      const std::string up = "u-" + suffix + "0000000000000" + std::to_string(i);
      const std::string digest = sha_hex(id + b.org_id);
      db.exec(
          "INSERT INTO uploads (id, tender_id, lot_no, bidder_org, user_id, length, state, "
          "source_ip) VALUES ('" +
          up + "', '" + id + "', 1, '" + b.org_id + "', '" + b.user_id +
          "', 100, 'complete', '127.0.0.1')");
      db.exec(
          "INSERT INTO bids (tender_id, lot_no, bidder_org, upload_id, blob_digest, "
          "ciphertext_digest, header_digest, size, suite, policy, signer_fingerprint, "
          "rehearsal_public_key, header, received_at, log_index, source_ip) VALUES ('" +
          id + "', 1, '" + b.org_id + "', '" + up + "', '" + digest + "', '" + digest + "', '" +
          digest + "', 100, 'sodium', 'bidder', '" + b.fingerprint +
          "', '\\x00', '\\x0102', now(), 1, '127.0.0.1')");
    }
    return id;
  }

  // An earlier bid of `b` for lot 1 of `t`, no longer current ('replaced' or 'withdrawn'), whose
  // file has the digest returned.
  std::string add_old_bid(const std::string& t, const member& b, const std::string& status) {
    const std::string up = "u-" + sha_hex(t + b.org_id + status).substr(0, 16);
    const std::string digest = sha_hex(t + b.org_id + status);
    db.exec(
        "INSERT INTO uploads (id, tender_id, lot_no, bidder_org, user_id, length, state, "
        "source_ip) VALUES ('" +
        up + "', '" + t + "', 1, '" + b.org_id + "', '" + b.user_id +
        "', 100, 'complete', '127.0.0.1')");
    db.exec(
        "INSERT INTO bids (tender_id, lot_no, bidder_org, upload_id, blob_digest, "
        "ciphertext_digest, header_digest, size, suite, policy, signer_fingerprint, "
        "rehearsal_public_key, header, received_at, log_index, source_ip, status) VALUES ('" +
        t + "', 1, '" + b.org_id + "', '" + up + "', '" + digest + "', '" + digest + "', '" +
        digest + "', 100, 'sodium', 'bidder', '" + b.fingerprint +
        "', '\\x00', '\\x0102', now(), 1, '127.0.0.1', '" + status + "')");
    return digest;
  }

  // Whether the storage collector would keep the file `digest` (bids::referenced_blobs).
  bool kept(const std::string& digest) {
    db::bids repo(pool, {});
    const auto keep = run_on_io(repo.referenced_blobs());
    return std::find(keep.begin(), keep.end(), digest) != keep.end();
  }

  db::hall_viewer viewer(const std::string& t, const member& m) {
    return run_on_io(hall.viewer(t, m.principal()));
  }

  db::hall_act_result act(const std::string& t, const db::hall_viewer& v, const std::string& action,
                          json::object params = {}) {
    return run_on_io(hall.act(t, v, action, std::move(params)));
  }
  std::string refused(const std::string& t, const db::hall_viewer& v, const std::string& action,
                      json::object params = {}) {
    return code_of([&] { act(t, v, action, std::move(params)); });
  }

  // challenge + signature over the §8 message.
  json::object signed_params(const std::string& t, const db::hall_viewer& v, const member& m,
                             const std::string& action, const std::string& payload) {
    const auto ch = act(t, v, "challenge").result;
    const std::string id(ch.at("challenge_id").as_string());
    const std::string challenge(ch.at("challenge").as_string());
    const auto msg = crypto::hall_signed_message(t, action, id, challenge, payload);
    const auto sig = crypto::sign_message(m.key, crypto::as_bytes(msg));
    return {
        {"challenge_id", id}, {"key", m.fingerprint}, {"signature", crypto::base64_encode(sig)}};
  }

  // Everything a refusal must leave as it was.
  std::string counts() const {
    return db.query_value(
        "SELECT (SELECT last_seq FROM halls ORDER BY tender_id LIMIT 1) || '/' || "
        "(SELECT count(*) FROM hall_events) || '/' || (SELECT count(*) FROM audit_events) || '/' "
        "|| (SELECT count(*) FROM hall_attendance) || '/' || (SELECT count(*) FROM hall_attempts) "
        "|| '/' || (SELECT string_agg(phase, ',' ORDER BY tender_id) FROM halls) || '/' || "
        "(SELECT count(*) FROM hall_challenges WHERE used_at IS NOT NULL) || '/' || "
        "(SELECT count(*) FROM hall_confirmations) || '/' || (SELECT count(*) FROM hall_shares)");
  }

  // The deadline job as tenderd runs it (seal_bids on), in one transaction. The deadline becomes
  // now, not earlier: the sign-ins made so far came before it (hall-protocol.md §11).
  void pass_deadline(const std::string& t) {
    db.exec("UPDATE tenders SET deadline_at = clock_timestamp() WHERE id = '" + t + "'");
    auto handler = db::tender_deadline_handler("test-scheduler", true, signer);
    pool.run_blocking([&](pqxx::connection_base& c) {
      pqxx::work tx(c);
      db::scheduled_job j;
      j.kind = "tender.deadline";
      j.subject = t;
      const auto out = handler(tx, j);
      ASSERT_FALSE(out.busy);
      // A signed checkpoint after the deadline, as the scheduler's round makes.
      db::audit_tx::checkpoint(tx, "test.origin", *signer);
      tx.commit();
    });
  }

  void run_job(const db::job_handler& h, const std::string& kind, const std::string& t) {
    pool.run_blocking([&](pqxx::connection_base& c) {
      pqxx::work tx(c);
      db::scheduled_job j;
      j.kind = kind;
      j.subject = t;
      const auto out = h(tx, j);
      ASSERT_FALSE(out.busy);
      ASSERT_FALSE(out.reschedule_to) << *out.reschedule_to;
      tx.commit();
    });
  }

  // Drives a fresh tender to decrypting; returns the viewers.
  void to_decrypting(const std::string& t) {
    auto hv = viewer(t, host);
    act(t, hv, "commit_host", {{"commitment", sha_hex(host_nonce)}});
    for (std::size_t i = 0; i < 2; ++i) {
      auto v = viewer(t, bidders[i]);
      auto p = signed_params(t, v, bidders[i], "sign_in", sha_hex(nonces[i]));
      p["commitment"] = sha_hex(nonces[i]);
      act(t, v, "sign_in", p);
    }
    pass_deadline(t);
    act(t, hv, "check_guarantees");
    act(t, hv, "publish_list");
    db.exec("UPDATE tenders SET opening_at = clock_timestamp() - interval '1 second' WHERE id = '" +
            t + "'");
    act(t, hv, "open_window");
  }

  json::object decrypt_params(const std::string& t, const db::hall_viewer& v, const member& m,
                              const std::string& key_material) {
    const std::string payload = "1\nprimary\n" + sha_hex(key_material);
    auto p = signed_params(t, v, m, "decrypt", payload);
    p["lot"] = 1;
    p["file"] = "primary";
    p["key_material"] = crypto::base64_encode(crypto::as_bytes(key_material));
    return p;
  }

  fresh_database db{"hall"};
  db::pool pool{db.conninfo(), 2};
  std::shared_ptr<const crypto::note::ed25519_signer> signer =
      std::make_shared<const crypto::note::ed25519_signer>(
          crypto::note::ed25519_signer::generate("test.origin"));
  db::hall hall{
      pool,
      {signer, "test.origin", std::chrono::milliseconds(5000), std::chrono::seconds(120), 10}};
  member host, sup, outsider;
  std::vector<member> bidders;
  std::string host_nonce = std::string(32, 'h');
  std::vector<std::string> nonces = {std::string(32, 'a'), std::string(32, 'b'),
                                     std::string(32, 'c')};
};

TEST_F(hall_fixture, full_opening_with_causes_draw_confirmations_and_record) {
  const auto t = make_tender("01");
  // b1 replaced one bid and withdrew another before its current one: their files are kept until
  // the signed record exists, then collected; the current bids' files are kept for good.
  const auto replaced = add_old_bid(t, bidders[0], "replaced");
  const auto withdrawn = add_old_bid(t, bidders[0], "withdrawn");
  const auto current = sha_hex(t + bidders[0].org_id);
  EXPECT_TRUE(kept(replaced));
  EXPECT_TRUE(kept(withdrawn));
  EXPECT_TRUE(kept(current));
  // The public may not look before the list is published; the first viewer creates the hall.
  EXPECT_EQ(code_of([&] { run_on_io(hall.viewer(t, std::nullopt)); }), "hall.not_public_yet");
  const auto hv = viewer(t, host);
  EXPECT_EQ(hv.role, "host");
  const auto sv = viewer(t, sup);
  EXPECT_EQ(sv.role, "supervisor");
  // A bidder without a bid is the public: not before the list either.
  EXPECT_EQ(code_of([&] { viewer(t, outsider); }), "hall.not_public_yet");
  std::vector<db::hall_viewer> bv;
  for (const auto& b : bidders)
    bv.push_back(viewer(t, b));
  EXPECT_EQ(bv[0].role, "bidder");
  EXPECT_EQ(run_on_io(hall.head(t)), 1);
  const auto first = run_on_io(hall.events(t, 0, 10));
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].kind, "opened");
  EXPECT_EQ(code_of([&] { run_on_io(hall.events(t, 2, 10)); }), "hall.bad_cursor");

  // commit_host: host only, once.
  EXPECT_EQ(refused(t, bv[0], "commit_host", {{"commitment", sha_hex(host_nonce)}}),
            "hall.forbidden");
  EXPECT_EQ(refused(t, hv, "commit_host", {{"commitment", "xyz"}}), "hall.bad_message");
  EXPECT_EQ(refused(t, hv, "commit_host", {{"commitment", sha_hex(host_nonce)}, {"extra", 1}}),
            "hall.bad_message");
  act(t, hv, "commit_host", {{"commitment", sha_hex(host_nonce)}});
  auto before = counts();
  EXPECT_EQ(refused(t, hv, "commit_host", {{"commitment", sha_hex(host_nonce)}}),
            "hall.already_done");
  EXPECT_EQ(counts(), before);

  // sign_in with a signed challenge; a replayed challenge and a second sign-in are refused.
  auto p0 = signed_params(t, bv[0], bidders[0], "sign_in", sha_hex(nonces[0]));
  p0["commitment"] = sha_hex(nonces[0]);
  auto bad = p0;
  bad["commitment"] = sha_hex("other");
  before = counts();
  EXPECT_EQ(refused(t, bv[0], "sign_in", bad), "hall.bad_signature");
  EXPECT_EQ(counts(), before);
  const auto signed_in = act(t, bv[0], "sign_in", p0);
  ASSERT_TRUE(signed_in.seq);
  before = counts();
  EXPECT_EQ(refused(t, bv[0], "sign_in", p0), "hall.already_done");
  EXPECT_EQ(counts(), before);
  // Another bidder replaying the first one's challenge: the challenge is bound to its user.
  auto p1 = p0;
  EXPECT_EQ(refused(t, bv[1], "sign_in", p1), "hall.challenge_used");
  p1 = signed_params(t, bv[1], bidders[1], "sign_in", sha_hex(nonces[1]));
  p1["commitment"] = sha_hex(nonces[1]);
  act(t, bv[1], "sign_in", p1);
  before = counts();
  EXPECT_EQ(refused(t, bv[2], "sign_in", p1), "hall.challenge_used");
  EXPECT_EQ(counts(), before);

  // Too early for the steps after the deadline.
  EXPECT_EQ(refused(t, hv, "publish_list"), "hall.wrong_phase");

  pass_deadline(t);
  EXPECT_EQ(db.query_value("SELECT phase FROM halls WHERE tender_id = '" + t + "'"), "sealed");
  EXPECT_EQ(db.query_value("SELECT count(*) FROM hall_bids WHERE tender_id = '" + t + "'"), "3");
  EXPECT_EQ(code_of([&] { run_on_io(hall.viewer(t, std::nullopt)); }), "hall.not_public_yet");

  // The host is told how many bids have each guarantee status, never whose (hall-protocol.md §2.1).
  const auto checked = act(t, hv, "check_guarantees");
  EXPECT_FALSE(checked.result.contains("results"));
  ASSERT_EQ(checked.result.at("counts").as_array().size(), 1u);
  EXPECT_EQ(checked.result.at("counts").as_array()[0].at("count").to_number<int>(), 3);
  for (const auto& b : bidders)
    EXPECT_EQ(json::serialize(checked.result).find(b.org_id), std::string::npos);
  const auto listed = act(t, hv, "publish_list");
  EXPECT_FALSE(listed.result.at("failed").as_bool());
  const auto pub = run_on_io(hall.viewer(t, std::nullopt));
  EXPECT_EQ(pub.role, "public");
  EXPECT_EQ(refused(t, pub, "object", {{"text", "x"}}), "hall.forbidden");

  // The window opens at or after the opening time, by the database clock.
  EXPECT_EQ(refused(t, hv, "open_window"), "hall.too_early");
  db.exec("UPDATE tenders SET opening_at = clock_timestamp() - interval '1 second' WHERE id = '" +
          t + "'");
  const auto opened = act(t, hv, "open_window");
  EXPECT_TRUE(opened.result.contains("window_closes_at"));

  // b1 opens its bid; b2's key is wrong; b3 never tries.
  const std::string k1(32, '1'), k2(32, '2');
  const auto d1 = act(t, bv[0], "decrypt", decrypt_params(t, bv[0], bidders[0], k1));
  ASSERT_TRUE(d1.work);
  EXPECT_EQ(d1.work->key_material, k1);
  EXPECT_EQ(d1.work->header, "\x01\x02");
  EXPECT_EQ(d1.work->policy, "bidder");
  // A running attempt is refused a second time; attempts left decrypting are pending work.
  EXPECT_EQ(refused(t, bv[0], "decrypt", decrypt_params(t, bv[0], bidders[0], k1)),
            "hall.already_done");
  auto pending = run_on_io(hall.pending_work());
  ASSERT_EQ(pending.size(), 1u);
  EXPECT_EQ(pending[0].attempt_id, d1.work->attempt_id);
  EXPECT_EQ(pending[0].key_material, k1);
  run_on_io(hall.finish_decryption(d1.work->attempt_id,
                                   {true, R"({"price":98000000,"duration_days":180})", "", ""}));
  // A second report changes nothing.
  before = counts();
  run_on_io(hall.finish_decryption(d1.work->attempt_id, {false, "", "wrong_key", "late"}));
  EXPECT_EQ(counts(), before);
  const auto d2 = act(t, bv[1], "decrypt", decrypt_params(t, bv[1], bidders[1], k2));
  ASSERT_TRUE(d2.work);
  run_on_io(hall.finish_decryption(d2.work->attempt_id, {false, "", "wrong_key", "no"}));
  EXPECT_TRUE(run_on_io(hall.pending_work()).empty());

  // Help is private to the asking organisation (and staff).
  act(t, bv[1], "help", {{"lot", 1}, {"text", "我的密钥打不开"}});
  const auto evs = run_on_io(hall.events(t, 0, 1000));
  const auto help_ev = std::find_if(evs.begin(), evs.end(),
                                    [](const auto& e) { return e.kind == "help_requested"; });
  ASSERT_NE(help_ev, evs.end());
  EXPECT_TRUE(help_ev->visible_to(bv[1]));
  EXPECT_TRUE(help_ev->visible_to(hv));
  EXPECT_FALSE(help_ev->visible_to(bv[0]));
  EXPECT_FALSE(help_ev->visible_to(pub));
  EXPECT_NE(db::hall_event_message(*help_ev, pub).find("redacted"), std::string::npos);
  // guarantees_checked names each bidder's guarantee before the list: supervisors read it, the
  // host only counts it (kind and time), everyone else gets it redacted.
  const auto gc = std::find_if(evs.begin(), evs.end(),
                               [](const auto& e) { return e.kind == "guarantees_checked"; });
  ASSERT_NE(gc, evs.end());
  EXPECT_FALSE(gc->visible_to(bv[0]));
  EXPECT_TRUE(gc->visible_to(sv));
  EXPECT_FALSE(gc->visible_to(hv));
  EXPECT_TRUE(gc->counted_by(hv));
  EXPECT_NE(gc->data_json.find(bidders[0].org_id), std::string::npos);
  const auto host_text = db::hall_event_message(*gc, hv);
  EXPECT_EQ(host_text.find(bidders[0].org_id), std::string::npos) << host_text;
  EXPECT_NE(host_text.find("guarantees_checked"), std::string::npos) << host_text;
  // Events have no gaps.
  for (std::size_t i = 0; i < evs.size(); ++i)
    EXPECT_EQ(evs[i].seq, static_cast<std::int64_t>(i + 1));

  // Snapshot filtering: summaries before the announcement only for supervisors and the owner.
  auto summary_of = [&](const db::hall_viewer& v, const std::string& org) -> json::value {
    const auto s = run_on_io(hall.snapshot(t, v));
    for (const auto& b : s.hall.at("bidders").as_array()) {
      if (b.at("org_id").as_string() == org) return b.at("summary");
    }
    return "absent";
  };
  EXPECT_TRUE(summary_of(sv, "b1").is_object());
  EXPECT_TRUE(summary_of(bv[0], "b1").is_object());
  EXPECT_TRUE(summary_of(bv[1], "b1").is_null());
  EXPECT_TRUE(summary_of(hv, "b1").is_null());
  EXPECT_TRUE(summary_of(pub, "b1").is_null());
  const auto snap_pub = run_on_io(hall.snapshot(t, pub));
  EXPECT_TRUE(snap_pub.hall.at("help").as_array().empty());
  EXPECT_EQ(run_on_io(hall.snapshot(t, bv[1])).hall.at("help").as_array().size(), 1u);
  EXPECT_EQ(snap_pub.seq, run_on_io(hall.head(t)));

  // The window closes by the database clock: a late decrypt is refused, the clock job assigns
  // the causes.
  db.exec(
      "UPDATE halls SET window_closes_at = clock_timestamp() - interval '1 millisecond' WHERE "
      "tender_id = '" +
      t + "'");
  before = counts();
  EXPECT_EQ(refused(t, bv[2], "decrypt", decrypt_params(t, bv[2], bidders[2], k1)),
            "hall.window_closed");
  EXPECT_EQ(counts(), before);
  run_job(db::hall_window_close_handler("test-scheduler"), "hall.window_close", t);
  EXPECT_EQ(
      db.query_value("SELECT string_agg(org_id || ':' || status || ':' || COALESCE(cause, '-') "
                     "|| ':' || COALESCE(side, '-') || ':' || COALESCE(treatment, '-'), ' ' "
                     "ORDER BY org_id) FROM hall_bids WHERE tender_id = '" +
                     t + "'"),
      "b1:done:-:-:- b2:failed:wrong_key:bidder:revoked b3:failed:no_attempt:bidder:revoked");

  // The draw: the host's reveal must match its commitment.
  EXPECT_EQ(refused(t, hv, "reveal_host", {{"nonce", hex_of(std::string(32, 'x'))}}),
            "hall.commitment_mismatch");
  EXPECT_EQ(refused(t, hv, "announce"), "hall.wrong_phase");  // the lot has discount candidates
  const auto rev = act(t, hv, "reveal_host", {{"nonce", hex_of(host_nonce)}});
  const std::string rep(rev.result.at("representative").as_string());
  ASSERT_TRUE(rep == "b1" || rep == "b2");
  const std::size_t ri = rep == "b1" ? 0 : 1;
  // The representative has draw_reveal_s to reveal (the host's reveal moved to the future here,
  // so the check does not depend on how fast the test runs).
  db.exec(
      "UPDATE halls SET host_revealed_at = clock_timestamp() + interval '1 hour' WHERE "
      "tender_id = '" +
      t + "'");
  EXPECT_EQ(refused(t, hv, "draw"), "hall.too_early");
  EXPECT_EQ(refused(t, bv[ri], "reveal_representative", {{"nonce", hex_of(nonces[1 - ri])}}),
            "hall.commitment_mismatch");
  act(t, bv[ri], "reveal_representative", {{"nonce", hex_of(nonces[ri])}});
  const auto drawn = act(t, hv, "draw");
  ASSERT_EQ(drawn.result.at("draws").as_array().size(), 1u);
  const auto& d = drawn.result.at("draws").as_array()[0].as_object();
  // The published draw recomputes.
  {
    crypto::draw_inputs in;
    for (const auto& m : d.at("draw").at("seed_materials").as_array()) {
      in.seed_materials.push_back(
          {std::string(m.at("label").as_string()), crypto::hex_decode(m.at("value").as_string())});
    }
    for (const auto& c : d.at("draw").at("candidates").as_array())
      in.candidates.emplace_back(c.as_string());
    in.count = 1;
    const std::vector<std::string> claimed{std::string(d.at("value").as_string())};
    EXPECT_TRUE(crypto::verify_draw(in, claimed));
  }

  // Announcement and confirmations.
  const auto ann = act(t, hv, "announce");
  const std::string digest(ann.result.at("record_digest").as_string());
  // After the announcement everyone sees the summaries.
  EXPECT_TRUE(summary_of(pub, "b1").is_object());
  auto cp = signed_params(t, bv[0], bidders[0], "confirm", digest);
  cp["digest"] = digest;
  act(t, bv[0], "confirm", cp);
  EXPECT_EQ(refused(t, bv[0], "confirm", cp), "hall.already_done");
  EXPECT_EQ(refused(t, hv, "finish"), "hall.too_early");
  db.exec(
      "UPDATE halls SET confirm_closes_at = clock_timestamp() - interval '1 millisecond' WHERE "
      "tender_id = '" +
      t + "'");
  auto cp2 = signed_params(t, bv[1], bidders[1], "confirm", digest);
  cp2["digest"] = digest;
  EXPECT_EQ(refused(t, bv[1], "confirm", cp2), "hall.window_closed");
  const auto fin = act(t, hv, "finish");
  EXPECT_EQ(db.query_value("SELECT state FROM tenders WHERE id = '" + t + "'"), "opened");
  EXPECT_EQ(db.query_value("SELECT phase FROM halls WHERE tender_id = '" + t + "'"), "recorded");
  EXPECT_FALSE(kept(replaced)) << "a replaced bid's file outlived the opening record";
  EXPECT_FALSE(kept(withdrawn)) << "a withdrawn bid's file outlived the opening record";
  EXPECT_TRUE(kept(current));

  // The record verifies offline with the log key, and the audit event carries its digest.
  const auto file = run_on_io(hall.record_json(t));
  const auto check = crypto::verify_record_file(file, signer->verifier());
  EXPECT_EQ(check.tender_id, t);
  EXPECT_EQ(check.record_digest, digest);
  EXPECT_EQ(check.confirmations, 1u);
  EXPECT_EQ(check.confirmations_verified, 1u);
  EXPECT_EQ(std::to_string(check.log_index), std::to_string(fin.result.at("log_index").as_int64()));
  EXPECT_EQ(db.query_value("SELECT payload_digest FROM audit_events WHERE action = 'hall.finish'"),
            check.digest);
  const auto html = run_on_io(hall.record_html(t));
  EXPECT_NE(html.find("开标记录"), std::string::npos);
  EXPECT_NE(html.find("投标人1"), std::string::npos);

  // A tampered record fails.
  auto tampered = json::parse(file).as_object();
  tampered["record"].as_object()["silent"].as_array().clear();
  EXPECT_THROW(crypto::verify_record_file(json::serialize(tampered), signer->verifier()),
               crypto::error);
  // The record is final: nothing more happens.
  EXPECT_EQ(refused(t, hv, "pause", {{"reason", "late"}}), "hall.wrong_phase");
}

// Section 5 of issue 15: draws nobody can steer. A bidder that signs in after the deadline
// attends but cannot be drawn as the representative, and the representative, when it must choose
// between revealing and withholding, cannot compute the outcome of either: the draw's last input
// is a checkpoint that does not exist yet. Whatever it computes from everything it can see is
// not the draw that follows.
TEST_F(hall_fixture, the_representative_cannot_steer_the_draw_by_withholding) {
  const auto t = make_tender("09");
  const auto hv = viewer(t, host);
  std::vector<db::hall_viewer> bv;
  for (const auto& b : bidders)
    bv.push_back(viewer(t, b));
  act(t, hv, "commit_host", {{"commitment", sha_hex(host_nonce)}});
  auto sign_in = [&](std::size_t i) {
    auto p = signed_params(t, bv[i], bidders[i], "sign_in", sha_hex(nonces[i]));
    p["commitment"] = sha_hex(nonces[i]);
    act(t, bv[i], "sign_in", p);
  };
  sign_in(0);
  sign_in(1);
  pass_deadline(t);
  sign_in(2);  // after the deadline: still open, b3 attends
  act(t, hv, "check_guarantees");
  EXPECT_FALSE(act(t, hv, "publish_list").result.at("failed").as_bool());
  db.exec("UPDATE tenders SET opening_at = clock_timestamp() - interval '1 second' WHERE id = '" +
          t + "'");
  act(t, hv, "open_window");
  db.exec(
      "UPDATE halls SET window_closes_at = clock_timestamp() - interval '1 millisecond' WHERE "
      "tender_id = '" +
      t + "'");
  run_job(db::hall_window_close_handler("test-scheduler"), "hall.window_close", t);
  EXPECT_EQ(db.query_value("SELECT count(*) FROM hall_attendance WHERE tender_id = '" + t + "'"),
            "3");

  const auto rev = act(t, hv, "reveal_host", {{"nonce", hex_of(host_nonce)}});
  const std::string rep(rev.result.at("representative").as_string());

  // What the representative sees when it must decide: the snapshot and the published log.
  const std::size_t ri = rep == "b1" ? 0 : rep == "b2" ? 1 : 2;
  const auto snap = run_on_io(hall.snapshot(t, bv[ri])).hall;
  const auto& rd = snap.at("draw").at("representative_draw").as_object();
  std::vector<std::string> rep_candidates;
  for (const auto& c : rd.at("candidates").as_array())
    rep_candidates.emplace_back(c.as_string());
  EXPECT_EQ(rep_candidates, (std::vector<std::string>{"b1", "b2"}))
      << "b3 signed in after the deadline and is not a candidate";
  ASSERT_NE(rep, "b3");
  const auto host_raw = crypto::hex_decode(snap.at("draw").at("host_nonce").as_string());
  std::string deadline_root;
  for (const auto& m : rd.at("seed_materials").as_array()) {
    if (m.at("label").as_string() == "checkpoint_root") {
      const auto v = crypto::hex_decode(m.at("value").as_string());
      deadline_root.assign(v.begin(), v.end());
    }
  }
  ASSERT_FALSE(deadline_root.empty());
  std::vector<std::string> rates;
  for (const auto& c :
       snap.at("tender").at("lots").as_array()[0].at("discount_candidates").as_array())
    rates.emplace_back(c.as_string());
  // Every root the log has published so far (anyone may read them).
  std::set<std::string> known_roots;
  {
    std::istringstream roots(db.query_value(
        "SELECT string_agg(encode(root, 'base64'), ' ' ORDER BY size) FROM audit_checkpoints"));
    for (std::string r; roots >> r;)
      known_roots.insert(r);
  }
  const auto known_size = std::stoll(db.query_value("SELECT max(size) FROM audit_checkpoints"));
  // Its best attempt: the seed of each choice (reveal, withhold), with the procedure's inputs as
  // far as they exist, and with any published root in the place of the one still to come.
  std::set<std::string> foreseen;
  const std::string rep_raw(nonces[ri]);
  for (const std::string& mine : {rep_raw, std::string()}) {
    std::vector<std::optional<std::string>> last = {std::nullopt};
    for (const auto& r : known_roots)
      last.emplace_back(r);
    for (const auto& extra : last) {
      crypto::draw_inputs in;
      auto add = [&](std::string label, std::string_view v) {
        const auto b = crypto::as_bytes(v);
        in.seed_materials.push_back({std::move(label), crypto::bytes(b.begin(), b.end())});
      };
      add("checkpoint_root", deadline_root);
      add("host_reveal", std::string(host_raw.begin(), host_raw.end()));
      add("representative:" + rep, mine);
      if (extra) add("draw_checkpoint", *extra);
      add("draw_id", t + "/lot/1/discount");
      in.candidates = rates;
      in.count = 1;
      foreseen.insert(crypto::to_hex(crypto::draw_seed(in)));
    }
  }

  // It withholds; once its time is over the host draws without it.
  db.exec(
      "UPDATE halls SET host_revealed_at = clock_timestamp() - interval '1 hour' WHERE "
      "tender_id = '" +
      t + "'");
  const auto drawn = act(t, hv, "draw");
  ASSERT_EQ(drawn.result.at("draws").as_array().size(), 1u);
  const auto& d = drawn.result.at("draws").as_array()[0].as_object();
  const auto& draw = d.at("draw").as_object();
  EXPECT_EQ(foreseen.count(std::string(draw.at("seed").as_string())), 0u)
      << "the representative could compute the draw when it chose to withhold";

  // The draw's last input is a checkpoint signed after the reveal was over, published with it.
  std::map<std::string, std::string> m;
  for (const auto& x : draw.at("seed_materials").as_array()) {
    const auto v = crypto::hex_decode(x.at("value").as_string());
    m[std::string(x.at("label").as_string())] = std::string(v.begin(), v.end());
  }
  ASSERT_TRUE(m.count("representative:" + rep));
  EXPECT_TRUE(m.at("representative:" + rep).empty()) << "a withheld reveal is hashed empty";
  ASSERT_TRUE(m.count("draw_checkpoint")) << json::serialize(draw);
  EXPECT_EQ(known_roots.count(m.at("draw_checkpoint")), 0u);
  ASSERT_TRUE(d.contains("checkpoint")) << json::serialize(d);
  const auto& cp = d.at("checkpoint").as_object();
  EXPECT_EQ(std::string(cp.at("root").as_string()), m.at("draw_checkpoint"));
  EXPECT_GT(cp.at("size").to_number<std::int64_t>(), known_size);
  // The note is the log's signed checkpoint of that size and root.
  const std::vector<crypto::note::verifier_key> keys{signer->verifier()};
  const auto opened = crypto::note::open_checkpoint(cp.at("note").as_string(), "test.origin", keys);
  EXPECT_EQ(opened.cp.size, cp.at("size").to_number<std::uint64_t>());
  EXPECT_EQ(crypto::base64_encode(opened.cp.root), m.at("draw_checkpoint"));
  EXPECT_EQ(db.query_value("SELECT encode(root, 'base64') FROM audit_checkpoints WHERE size = " +
                           std::to_string(cp.at("size").to_number<std::int64_t>())),
            m.at("draw_checkpoint"));
  // Its last event is the draw's own audit event, whose payload (with the salt) is published.
  const auto audit_seq = cp.at("audit_seq").to_number<std::int64_t>();
  EXPECT_EQ(audit_seq + 1, cp.at("size").to_number<std::int64_t>());
  EXPECT_EQ(db.query_value("SELECT action || ' ' || subject || ' ' || payload_digest FROM "
                           "audit_events WHERE seq = " +
                           std::to_string(audit_seq)),
            "hall.draw " + t + " " +
                sha_hex(crypto::canonical_json(json::object{{"representative", rep},
                                                            {"representative_nonce", nullptr},
                                                            {"salt", cp.at("salt")}})));
  // And the draw recomputes from what it publishes.
  {
    crypto::draw_inputs in;
    for (const auto& x : draw.at("seed_materials").as_array()) {
      in.seed_materials.push_back(
          {std::string(x.at("label").as_string()), crypto::hex_decode(x.at("value").as_string())});
    }
    in.candidates = rates;
    in.count = 1;
    const std::vector<std::string> claimed{std::string(d.at("value").as_string())};
    EXPECT_TRUE(crypto::verify_draw(in, claimed));
  }
  // Too late to reveal now.
  EXPECT_EQ(refused(t, bv[ri], "reveal_representative", {{"nonce", hex_of(nonces[ri])}}),
            "hall.wrong_phase");
}

TEST_F(hall_fixture, outage_during_the_window_is_the_platforms_fault) {
  const auto t = make_tender("02", false);
  to_decrypting(t);
  {
    const auto h = viewer(t, host);
    EXPECT_EQ(refused(t, h, "extend_window", {{"seconds", 0}, {"reason", "x"}}),
              "hall.bad_message");
    const auto before =
        db.query_value("SELECT window_closes_at FROM halls WHERE tender_id = '" + t + "'");
    act(t, h, "extend_window", {{"seconds", 60}, {"reason", "network trouble"}});
    EXPECT_EQ(db.query_value("SELECT window_closes_at - interval '60 seconds' = '" + before +
                             "'::timestamptz FROM halls WHERE tender_id = '" + t + "'"),
              "t");
    EXPECT_EQ(
        db.query_value(
            "SELECT due_at = (SELECT window_closes_at FROM halls WHERE tender_id = '" + t +
            "') FROM scheduled_jobs WHERE kind = 'hall.window_close' AND subject = '" + t + "'"),
        "t");
  }
  // No gap: nothing recorded.
  EXPECT_TRUE(run_on_io(hall.heartbeat("node-a")).empty());
  // The platform was down for a while: the next heartbeat records the gap.
  db.exec(
      "UPDATE halls SET last_heartbeat_at = clock_timestamp() - interval '30 seconds' WHERE "
      "tender_id = '" +
      t + "'");
  const auto hit = run_on_io(hall.heartbeat("node-a"));
  ASSERT_EQ(hit.size(), 1u);
  EXPECT_EQ(hit[0], t);
  EXPECT_EQ(db.query_value("SELECT count(*) FROM hall_outages"), "1");
  db.exec(
      "UPDATE halls SET window_closes_at = clock_timestamp() - interval '1 millisecond' WHERE "
      "tender_id = '" +
      t + "'");
  run_job(db::hall_window_close_handler("test-scheduler"), "hall.window_close", t);
  EXPECT_EQ(
      db.query_value("SELECT string_agg(DISTINCT cause || ':' || side || ':' || treatment, ' ') "
                     "FROM hall_bids WHERE tender_id = '" +
                     t + "'"),
      "platform_outage:platform:withdrawn");
  // Without discount candidates the host announces straight after the window.
  const auto hv = viewer(t, host);
  EXPECT_EQ(refused(t, hv, "draw"), "hall.wrong_phase");
  act(t, hv, "announce");
  EXPECT_EQ(db.query_value("SELECT phase FROM halls WHERE tender_id = '" + t + "'"), "announced");
  // The confirmation window closes by the clock and the record is made.
  db.exec(
      "UPDATE halls SET confirm_closes_at = clock_timestamp() - interval '1 millisecond' WHERE "
      "tender_id = '" +
      t + "'");
  db::hall::options opts;
  opts.signer = signer;
  run_job(db::hall_confirm_close_handler("test-scheduler", opts), "hall.confirm_close", t);
  EXPECT_EQ(db.query_value("SELECT phase FROM halls WHERE tender_id = '" + t + "'"), "recorded");
  const auto check = crypto::verify_record_file(run_on_io(hall.record_json(t)), signer->verifier());
  EXPECT_EQ(check.confirmations, 0u);
}

TEST_F(hall_fixture, platform_down_across_the_close_is_an_outage_too) {
  const auto t = make_tender("04", false);
  to_decrypting(t);
  // No heartbeat since long before the close, and the clock job runs first after the restart.
  db.exec(
      "UPDATE halls SET last_heartbeat_at = clock_timestamp() - interval '60 seconds', "
      "window_closes_at = clock_timestamp() - interval '1 millisecond' WHERE tender_id = '" +
      t + "'");
  run_job(db::hall_window_close_handler("test-scheduler"), "hall.window_close", t);
  EXPECT_EQ(db.query_value("SELECT count(*) FROM hall_outages WHERE tender_id = '" + t + "'"), "1");
  EXPECT_EQ(db.query_value("SELECT string_agg(DISTINCT cause, ' ') FROM hall_bids WHERE "
                           "tender_id = '" +
                           t + "'"),
            "platform_outage");
}

TEST_F(hall_fixture, escrow_shares_are_verified_and_combined_as_a_remedy) {
  namespace escrow = crypto::escrow;
  auto dealt = escrow::deal(escrow::group::ristretto255, 2, 3);
  json::array custodians;
  std::vector<member> keepers;
  for (int i = 1; i <= 3; ++i) {
    const auto n = std::to_string(i);
    db.exec("INSERT INTO organisations (id, kind, name) VALUES ('k" + n + "', 'center', 'Keeper " +
            n + "')");
    keepers.push_back(add_member("kk" + n, "k" + n, "Keeper " + n, "expert"));
    custodians.push_back(json::object{{"id", "c" + n}, {"org_id", "k" + n}});
  }
  const json::object escrow_json{{"threshold", 2},
                                 {"custodians", custodians},
                                 {"setup", json::parse(escrow::setup_to_json(dealt.pub))}};
  const auto t = make_tender("05", false, "bidder_or_escrow", json::serialize(escrow_json));
  to_decrypting(t);
  // b3's sealed file carries an escrow stanza R; S is what the combined shares must give.
  const auto enc = escrow::encapsulate(dealt.pub.key());
  db.exec("UPDATE hall_bids SET escrow_r = '" + crypto::base64_encode(enc.ephemeral) +
          "' WHERE tender_id = '" + t + "' AND org_id = 'b3'");
  const std::string context = t + "/lot/1/b3";
  auto share_of = [&](std::uint32_t index, const std::string& ctx) {
    const auto ds = escrow::make_decryption_share(dealt.pub, dealt.shares[index - 1], enc.ephemeral,
                                                  crypto::as_bytes(ctx));
    return json::parse(escrow::decryption_share_to_json(ds));
  };
  std::vector<db::hall_viewer> kv;
  for (const auto& k : keepers)
    kv.push_back(viewer(t, k));
  EXPECT_EQ(kv[0].role, "custodian");
  const auto b1 = viewer(t, bidders[0]);
  const json::object good1{{"lot", 1}, {"org_id", "b3"}, {"share", share_of(1, context)}};
  EXPECT_EQ(refused(t, b1, "share", good1), "hall.forbidden");
  auto before = counts();
  // A share made for another bid's context, or another custodian's index, is refused.
  EXPECT_EQ(refused(t, kv[0], "share",
                    {{"lot", 1}, {"org_id", "b3"}, {"share", share_of(1, t + "/lot/1/b2")}}),
            "hall.bad_share");
  EXPECT_EQ(refused(t, kv[1], "share", good1), "hall.bad_share");
  EXPECT_EQ(counts(), before);
  const auto first = act(t, kv[0], "share", good1);
  EXPECT_EQ(first.result.at("shares").as_int64(), 1);
  EXPECT_FALSE(first.work);
  EXPECT_EQ(refused(t, kv[0], "share", good1), "hall.already_done");
  const auto second =
      act(t, kv[1], "share", {{"lot", 1}, {"org_id", "b3"}, {"share", share_of(2, context)}});
  ASSERT_TRUE(second.work);
  EXPECT_EQ(second.work->source, "escrow");
  EXPECT_EQ(second.work->policy, "bidder-or-escrow");
  ASSERT_TRUE(second.work->escrow_secret);
  EXPECT_EQ(*second.work->escrow_secret,
            std::string(reinterpret_cast<const char*>(enc.shared.data()), enc.shared.size()));
  run_on_io(hall.finish_decryption(second.work->attempt_id, {true, R"({"price":1})", "", ""}));
  EXPECT_EQ(db.query_value("SELECT status || ':' || via FROM hall_bids WHERE tender_id = '" + t +
                           "' AND org_id = 'b3'"),
            "done:escrow");
}

TEST_F(hall_fixture, pause_and_suspend_hold_actions_and_too_few_valid_bids_fail) {
  const auto t = make_tender("03", false);
  // A bond is required and nobody has one: the list fails the tender (流标).
  db.exec("UPDATE lots SET bond_amount = 1000 WHERE tender_id = '" + t + "'");
  const auto hv = viewer(t, host);
  const auto sv = viewer(t, sup);
  pass_deadline(t);
  act(t, hv, "pause", {{"reason", "network check"}});
  auto before = counts();
  EXPECT_EQ(refused(t, hv, "publish_list"), "hall.paused");
  EXPECT_EQ(refused(t, hv, "pause", {{"reason", "again"}}), "hall.already_done");
  EXPECT_EQ(refused(t, sv, "pause", {{"reason", "x"}}), "hall.forbidden");
  EXPECT_EQ(counts(), before);
  act(t, sv, "suspend", {{"reason", "complaint"}});
  act(t, hv, "resume", {{"reason", "checked"}});
  EXPECT_EQ(refused(t, hv, "publish_list"), "hall.suspended");
  act(t, sv, "unsuspend", {{"reason", "resolved"}});
  const auto r = act(t, hv, "publish_list");
  EXPECT_TRUE(r.result.at("failed").as_bool());
  EXPECT_EQ(db.query_value("SELECT state FROM tenders WHERE id = '" + t + "'"), "failed");
  EXPECT_EQ(db.query_value("SELECT phase FROM halls WHERE tender_id = '" + t + "'"), "failed");
  EXPECT_EQ(refused(t, hv, "open_window"), "hall.wrong_phase");
  // Each change wrote one audit event hall.<action>.
  EXPECT_EQ(db.query_value("SELECT string_agg(action, ',' ORDER BY seq) FROM audit_events WHERE "
                           "action LIKE 'hall.%' AND subject = '" +
                           t + "'"),
            "hall.opened,hall.bids_sealed,hall.pause,hall.suspend,hall.resume,hall.unsuspend,hall."
            "publish_list");
}

}  // namespace

// The decryption workers' outcomes are written in batches (hall_service): one call may carry
// outcomes of several halls, a second report of an attempt and an attempt that does not exist.
TEST_F(hall_fixture, outcomes_of_several_halls_are_written_in_one_call) {
  const auto a = make_tender("06", false);
  const auto b = make_tender("07", false);
  to_decrypting(a);
  to_decrypting(b);
  const std::string key(32, 'k');
  const auto da0 = act(a, viewer(a, bidders[0]), "decrypt",
                       decrypt_params(a, viewer(a, bidders[0]), bidders[0], key));
  const auto da1 = act(a, viewer(a, bidders[1]), "decrypt",
                       decrypt_params(a, viewer(a, bidders[1]), bidders[1], key));
  const auto db0 = act(b, viewer(b, bidders[0]), "decrypt",
                       decrypt_params(b, viewer(b, bidders[0]), bidders[0], key));
  ASSERT_TRUE(da0.work && da1.work && db0.work);
  auto events = [&](const std::string& t) {
    return db.query_value("SELECT count(*) FROM hall_events WHERE tender_id = '" + t +
                          "' AND kind = 'decryption_status'");
  };
  EXPECT_EQ(events(a), "2");
  EXPECT_EQ(events(b), "1");

  std::vector<std::pair<std::int64_t, db::hall_work_outcome>> batch;
  batch.emplace_back(da0.work->attempt_id, db::hall_work_outcome{true, R"({"price":1})", "", "ok"});
  batch.emplace_back(db0.work->attempt_id, db::hall_work_outcome{false, "", "wrong_key", "no"});
  batch.emplace_back(987654321, db::hall_work_outcome{true, "{}", "", "unknown attempt"});
  batch.emplace_back(da0.work->attempt_id, db::hall_work_outcome{false, "", "bad_file", "again"});
  batch.emplace_back(da1.work->attempt_id, db::hall_work_outcome{true, R"({"price":2})", "", "ok"});
  run_on_io(hall.finish_decryptions(batch));

  auto bid = [&](const std::string& t, const member& m) {
    return db.query_value(
        "SELECT status || ':' || COALESCE(cause, '-') || ':' || COALESCE(summary::text, '-') "
        "FROM hall_bids WHERE tender_id = '" +
        t + "' AND org_id = '" + m.org_id + "'");
  };
  EXPECT_EQ(bid(a, bidders[0]), R"(done:-:{"price": 1})");
  EXPECT_EQ(bid(a, bidders[1]), R"(done:-:{"price": 2})");
  EXPECT_EQ(bid(b, bidders[0]), "failed:wrong_key:-");
  // One status event per attempt written, none for the second report or the unknown attempt.
  EXPECT_EQ(events(a), "4");
  EXPECT_EQ(events(b), "2");
  EXPECT_EQ(db.query_value("SELECT count(*) FROM audit_events WHERE action = "
                           "'hall.decryption_finished'"),
            "3");
  EXPECT_TRUE(run_on_io(hall.pending_work()).empty());
  // The events' seqs stay contiguous in each hall.
  for (const auto& t : {a, b}) {
    EXPECT_EQ(
        db.query_value("SELECT max(seq) = count(*) FROM hall_events WHERE tender_id = '" + t + "'"),
        "t");
  }
}

// A hall that an action holds at the heartbeat is not passed over (a hall under a steady stream
// of actions would go without heartbeats and a later one would record an outage that never
// happened): the heartbeat waits for its row in a transaction of its own.
TEST_F(hall_fixture, a_busy_hall_still_gets_its_heartbeat) {
  const auto t = make_tender("08", false);
  to_decrypting(t);
  const auto beat_at = [&] {
    return db.query_value("SELECT last_heartbeat_at FROM halls WHERE tender_id = '" + t + "'");
  };
  EXPECT_TRUE(run_on_io(hall.heartbeat("node-a")).empty());
  const auto before = beat_at();
  // An action's transaction holds the hall row while the heartbeat runs.
  pqxx::connection holder(db.conninfo());
  pqxx::work held(holder);
  held.exec_params("SELECT 1 FROM halls WHERE tender_id = $1 FOR UPDATE", t);
  auto beat = std::async(std::launch::async, [&] { return run_on_io(hall.heartbeat("node-b")); });
  // The heartbeat cannot finish while the row is held; it waits rather than skipping the hall.
  EXPECT_EQ(beat.wait_for(std::chrono::milliseconds(300)), std::future_status::timeout);
  held.commit();
  ASSERT_EQ(beat.wait_for(std::chrono::seconds(30)), std::future_status::ready);
  EXPECT_TRUE(beat.get().empty());  // a short wait is no outage
  EXPECT_EQ(db.query_value("SELECT last_heartbeat_at > '" + before +
                           "'::timestamptz AND last_heartbeat_node = 'node-b' FROM halls "
                           "WHERE tender_id = '" +
                           t + "'"),
            "t");
  EXPECT_EQ(db.query_value("SELECT count(*) FROM hall_outages"), "0");
}
