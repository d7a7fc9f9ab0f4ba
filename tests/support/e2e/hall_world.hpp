#pragma once

// Helpers for the opening hall's end-to-end tests (tests/e2e/hall_*_test.cpp):
// a sandbox tender with hall settings, bidders with real keys whose sealed bids
// are uploaded through the SDK, cash bonds, clock moves on the database, and
// SDK hall sessions of any actor.
//
//   tender::test::hall_world h(w, owner);
//   auto t = h.make_tender({.suffix = "01", .key_policy = "bidder_or_escrow",
//   ...}); auto& b = h.add_bidder(t, 7);          // user hb-7 of org hbo-7,
//   sealed and uploaded bid h.pass_deadline(t);                    // the
//   deadline job seals the bids

#include "../../unit/crypto/sealed_support.hpp"
#include "world.hpp"

#include <tender/client/bids.hpp>
#include <tender/client/hall.hpp>
#include <tender/crypto/bytes.hpp>
#include <tender/crypto/escrow.hpp>
#include <tender/crypto/keys.hpp>
#include <tender/crypto/sealed_bid.hpp>

#include <boost/json.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace tender::test {

struct hall_tender_options {
  std::string suffix;                      // the tender id is t-00000000000000<suffix>
  std::string key_policy = "bidder_only";  // bidder_only | bidder_or_escrow | bidder_and_escrow
  std::string escrow_json;                 // the tender's escrow column (empty: NULL)
  long long bond = 0;                      // lot 1's bond amount (0: no bond required)
  bool discount = false;                   // lot 1 declares discount candidates
  int window_s = 600;
  int confirm_s = 600;
};

struct hall_bidder {
  actor* who = nullptr;
  int index = 0;
  int lot = 1;
  crypto::private_key enc = crypto::private_key::generate(crypto::key_type::x25519);
  std::string sealed;                                   // the sealed bid's bytes
  std::string backup;                                   // its backup copy (empty unless asked)
  std::string header;                                   // the sealed header's bytes
  std::optional<client::hall::nonce_commitment> nonce;  // from sign-in
  client::hall::signer signer() const {
    client::hall::signer s;
    s.fingerprint = who->key.public_part().fingerprint();
    auto key = who->key;
    s.sign = [key](std::string_view m) {
      const auto sig = crypto::sign_message(key, crypto::as_bytes(m));
      return std::string(sig.begin(), sig.end());
    };
    return s;
  }
  std::string file_key() const {
    return client::hall::unwrap_key_from_header(header, enc_pem()).key;
  }
  std::string enc_pem() const {
    const auto pem = enc.to_pem();
    return {reinterpret_cast<const char*>(pem.data()), pem.size()};
  }
};

// A 2-of-3 escrow held by three custodian organisations (users <prefix>-cust-N of
// <prefix>-custorg-N): the dealt shares, the custodians, and the tender's escrow column as JSON.
struct hall_escrow {
  crypto::escrow::dealing dealt;
  std::vector<actor*> custodians;
  std::string setup_json;   // the public setup
  std::string escrow_json;  // {"threshold","custodians","setup"} for hall_tender_options
};

inline hall_escrow make_escrow(world& w, const std::string& prefix) {
  hall_escrow e{crypto::escrow::deal(crypto::escrow::group::ristretto255, 2, 3), {}, {}, {}};
  boost::json::array cust;
  for (int i = 1; i <= 3; ++i) {
    const auto n = std::to_string(i);
    e.custodians.push_back(
        &w.user(prefix + "-cust-" + n, prefix + "-custorg-" + n, "center", {"expert"}));
    cust.push_back(
        boost::json::object{{"id", "c" + n},
                            {"org_id", e.custodians.back()->org_id},
                            {"public_key", e.custodians.back()->key.public_part().to_pem()}});
  }
  e.setup_json = crypto::escrow::setup_to_json(e.dealt.pub);
  e.escrow_json = boost::json::serialize(boost::json::object{
      {"threshold", 2}, {"custodians", cust}, {"setup", boost::json::parse(e.setup_json)}});
  return e;
}

class hall_world {
public:
  hall_world(world& w, actor& owner) : w_(w), owner_(owner) {}

  world& w() { return w_; }

  std::string make_tender(const hall_tender_options& o) {
    const std::string id = "t-00000000000000" + o.suffix;
    w_.db().exec(
        "INSERT INTO tenders (id, project_code, title, kind, rule_pack, "
        "owner_org, created_by, "
        "state, published_at, deadline_at, opening_at, key_policy, escrow, "
        "decryption_window_s, "
        "confirmation_window_s) VALUES ('" +
        id + "', 'HL-" + o.suffix + "', '开标 " + o.suffix + "', 'works', 'sandbox', '" +
        owner_.org_id + "', '" + owner_.user_id +
        "', 'published', now(), clock_timestamp() + interval '1 hour', "
        "clock_timestamp() + "
        "interval '2 hours', '" +
        o.key_policy + "', " + (o.escrow_json.empty() ? "NULL" : "'" + o.escrow_json + "'::jsonb") +
        ", " + std::to_string(o.window_s) + ", " + std::to_string(o.confirm_s) + ")");
    w_.db().exec(
        "INSERT INTO lots (tender_id, lot_no, title, estimated_price, "
        "ceiling_price, bond_amount, "
        "summary_fields, discount_candidates) VALUES ('" +
        id + "', 1, 'Lot', 100000000, 120000000, " + std::to_string(o.bond) +
        ", "
        "'[{\"key\":\"price\",\"label\":\"投标报价\",\"type\":\"money\"}]', " +
        (o.discount ? "'[\"0.05\",\"0.08\",\"0.10\"]'" : "NULL") + ")");
    w_.db().exec(
        "INSERT INTO scheduled_jobs (kind, subject, due_at) SELECT "
        "'tender.deadline', id, "
        "deadline_at FROM tenders WHERE id = '" +
        id + "'");
    policies_[id] = o.key_policy;
    if (!o.escrow_json.empty()) {
      const auto e = boost::json::parse(o.escrow_json);
      escrow_key_[id] =
          crypto::escrow::setup_from_json(boost::json::serialize(e.at("setup"))).key();
    }
    return id;
  }

  // User hb-<index> of organisation hbo-<index> with a sealed bid (1 KiB body,
  // its price in the summary) uploaded through the SDK; with `backup` the
  // backup copy is made too.
  hall_bidder& add_bidder(const std::string& tender_id, int index, bool backup = false) {
    auto b = std::make_unique<hall_bidder>();
    b->index = index;
    b->who = &w_.user("hb-" + std::to_string(index), "hbo-" + std::to_string(index), "bidder",
                      {"bidder"});
    namespace ts = crypto::sealed;
    ts::seal_params p;
    p.suite = crypto::suite_id::sodium;
    const auto& policy = policies_[tender_id];
    p.policy = policy == "bidder_or_escrow"    ? ts::key_policy::bidder_or_escrow
               : policy == "bidder_and_escrow" ? ts::key_policy::bidder_and_escrow
                                               : ts::key_policy::bidder;
    p.tender_id = tender_id + "/1";
    p.bidder_id = b->who->org_id;
    p.bidder_keys = {b->enc.public_part()};
    if (auto it = escrow_key_.find(tender_id); it != escrow_key_.end()) p.escrow_key = it->second;
    p.signing_key = b->who->key;
    const std::string summary = R"({"price":")" + std::to_string(90000000 + index * 1000) + R"("})";
    const std::string body = sealed_test::make_body(1024, static_cast<std::uint8_t>(index + 1));
    if (backup) {
      auto q = p;
      std::istringstream in(body);
      std::ostringstream primary;
      std::ostringstream copy;
      ts::seal_with_backup(p, q, summary, in, primary, copy);
      b->sealed = primary.str();
      b->backup = copy.str();
    } else {
      std::istringstream in(body);
      std::ostringstream out;
      ts::seal(p, summary, in, out);
      b->sealed = out.str();
    }
    std::istringstream file(b->sealed);
    const auto layout = ts::inspect(file);
    b->header.assign(layout.hdr.encoded.begin(), layout.hdr.encoded.end());
    namespace bids = client::bids;
    const auto created = bids::create_upload(*b->who->api, tender_id, 1, b->sealed.size(),
                                             "bid.thsb", "hall-test/1");
    bids::patch(*b->who->api, created.upload_id, 0, b->sealed);
    bidders_.push_back(std::move(b));
    return *bidders_.back();
  }

  // A cash bond for the bidder's lot (what staff record), so its bid is valid
  // where a bond is due.
  void add_cash_bond(const std::string& tender_id, const hall_bidder& b, const actor& staff) {
    w_.db().exec(
        "INSERT INTO bonds (tender_id, lot_no, bidder_org, amount, "
        "payer_account, payer_name, "
        "paid_at, recorded_by) VALUES ('" +
        tender_id + "', 1, '" + b.who->org_id + "', 1000, 'acct-" + b.who->org_id + "', '" +
        b.who->org_id + "', now(), '" + staff.user_id + "')");
  }

  std::string phase(const std::string& tender_id) {
    return w_.db().query_value("SELECT coalesce((SELECT phase FROM halls WHERE tender_id = '" +
                               tender_id + "'), 'none')");
  }

  // The deadline passes on the database clock and its job is due now. The deadline becomes now,
  // not earlier: every sign-in made so far came before it, so each can be drawn as the
  // representative (hall-protocol.md §11).
  void pass_deadline(const std::string& tender_id) {
    w_.db().exec("UPDATE tenders SET deadline_at = clock_timestamp() WHERE id = '" + tender_id +
                 "'");
    w_.db().exec(
        "UPDATE scheduled_jobs SET due_at = clock_timestamp() WHERE "
        "kind = 'tender.deadline' AND "
        "subject = '" +
        tender_id + "'");
  }

  void opening_due(const std::string& tender_id) {
    w_.db().exec("UPDATE tenders SET opening_at = clock_timestamp() WHERE id = '" + tender_id +
                 "'");
  }

  // The decryption window's end comes now (the clock job then closes it).
  void close_window_now(const std::string& tender_id) {
    w_.db().exec(
        "UPDATE halls SET window_closes_at = clock_timestamp() WHERE "
        "tender_id = '" +
        tender_id + "'");
    w_.db().exec(
        "UPDATE scheduled_jobs SET due_at = clock_timestamp() WHERE "
        "kind = 'hall.window_close' "
        "AND subject = '" +
        tender_id + "' AND fired_at IS NULL");
  }

  void close_confirmations_now(const std::string& tender_id) {
    w_.db().exec(
        "UPDATE halls SET confirm_closes_at = clock_timestamp() WHERE "
        "tender_id = '" +
        tender_id + "'");
    w_.db().exec(
        "UPDATE scheduled_jobs SET due_at = clock_timestamp() WHERE "
        "kind = 'hall.confirm_close' "
        "AND subject = '" +
        tender_id + "' AND fired_at IS NULL");
  }

  client::hall::session_options options(const std::string& tender_id, const actor* a) {
    client::hall::session_options o;
    o.server.server = w_.url();
    o.tender_id = tender_id;
    if (a != nullptr) o.token = a->token;
    return o;
  }

  std::unique_ptr<client::hall::blocking_session> join(const std::string& tender_id,
                                                       const actor* a) {
    return std::make_unique<client::hall::blocking_session>(options(tender_id, a));
  }

  // From the deadline to an open window: the bids are sealed, the guarantees
  // checked, the list published and the window opened by the host (whose
  // session is `host`). Returns the answer of publish_list.
  boost::json::object open_window(const std::string& tender_id,
                                  client::hall::blocking_session& host) {
    pass_deadline(tender_id);
    host.wait_for_kind("bids_sealed", std::chrono::seconds(30));
    client::hall::expect_ok(host.act("check_guarantees"));
    auto list = boost::json::parse(client::hall::expect_ok(host.act("publish_list"))).as_object();
    if (list.at("failed").as_bool()) return list;
    opening_due(tender_id);
    client::hall::expect_ok(host.act("open_window"));
    return list;
  }

  // The decryption_status of each organisation after the window closed: org →
  // event data.
  std::map<std::string, boost::json::object> final_status(client::hall::blocking_session& s) {
    std::map<std::string, boost::json::object> out;
    for (const auto& e : s.events()) {
      if (e.kind != "decryption_status") continue;
      auto d = boost::json::parse(e.data_json).as_object();
      out[std::string(d.at("org_id").as_string())] = d;
    }
    return out;
  }

  std::vector<std::unique_ptr<hall_bidder>>& bidders() { return bidders_; }

private:
  world& w_;
  actor& owner_;
  std::map<std::string, std::string> policies_;
  std::map<std::string, crypto::escrow::public_key> escrow_key_;
  std::vector<std::unique_ptr<hall_bidder>> bidders_;
};

// Writes `bytes` to a fresh temporary file and returns its path (for uploads
// from a file).
inline std::filesystem::path temp_file_with(const std::string& name, const std::string& bytes) {
  const auto path = std::filesystem::temp_directory_path() / name;
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
  return path;
}

// The data object of an event.
inline boost::json::object data_of(const client::hall::event& e) {
  return boost::json::parse(e.data_json).as_object();
}

// Waits for every future, failing the test on the first that is not ok; returns
// the results.
inline std::vector<client::hall::act_result> all_ok(
    std::vector<std::future<client::hall::act_result>>& fs, const std::string& what,
    std::chrono::seconds timeout = std::chrono::seconds(60)) {
  std::vector<client::hall::act_result> out;
  for (auto& f : fs) {
    if (f.wait_for(timeout) != std::future_status::ready) {
      ADD_FAILURE() << what << ": no answer";
      out.emplace_back();
      continue;
    }
    out.push_back(f.get());
    EXPECT_TRUE(out.back().ok) << what << ": " << out.back().code << " " << out.back().message;
  }
  return out;
}

// act() as a future.
inline std::future<client::hall::act_result> act_f(client::hall::session& s,
                                                   const std::string& action,
                                                   const std::string& params = "{}") {
  auto p = std::make_shared<std::promise<client::hall::act_result>>();
  auto f = p->get_future();
  s.act(action, params, [p](client::hall::act_result r) { p->set_value(std::move(r)); });
  return f;
}

inline std::future<client::hall::act_result> signed_f(
    client::hall::session& s, const std::string& tender_id, const std::string& action,
    const std::string& params, const std::string& payload, const client::hall::signer& who) {
  auto p = std::make_shared<std::promise<client::hall::act_result>>();
  auto f = p->get_future();
  client::hall::signed_act(s, tender_id, action, params, payload, who,
                           [p](client::hall::act_result r) { p->set_value(std::move(r)); });
  return f;
}

}  // namespace tender::test
