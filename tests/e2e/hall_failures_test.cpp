// Every way a bid can fail to open in the hall (docs/HALL.md "Failure causes
// and their treatment"), each with its cause, side and treatment, on the real
// tenderd and PostgreSQL with SDK sessions: no attempt, a wrong key then a
// retry, a wrong key to the end, a backup file of another bid refused,
// bidder-and-escrow needing both the bidder's part and k shares, and fewer than
// min_bids valid bids failing the tender (流标), and the host's live guarantee
// check with the issuer. The platform outage is in
// hall_faults_test.cpp (it needs tenderd killed).
#include <hall_world.hpp>

#include <boost/json.hpp>

#include <gtest/gtest.h>

#include <fstream>
#include <map>

using namespace std::chrono_literals;

namespace {

namespace hall = tender::client::hall;
namespace tc = tender::crypto;
namespace json = boost::json;
using tender::test::actor;
using tender::test::data_of;
using tender::test::hall_bidder;
using tender::test::hall_world;
using tender::test::world;

class hall_failures : public ::testing::Test {
protected:
  hall_failures()
      : w("hall_fail", {{"TENDERD_SCHEDULER_POLL_INTERVAL_MS", "100"}}),
        host(w.user("hf-host", "hf-center", "center", {"center_staff"})),
        owner(w.user("hf-owner", "hf-ownco", "tenderer", {"tenderer"})),
        h(w, owner) {}

  hall::act_result decrypt(hall::blocking_session& s, const hall_bidder& b, const std::string& key,
                           const std::string& file = "primary") {
    return s.signed_act("decrypt", hall::decrypt_params(1, file, key),
                        hall::decrypt_payload(1, file, key), b.signer());
  }

  // Waits for the bid's decryption_status with `status` (done or failed).
  json::object status_of(hall::blocking_session& s, const hall_bidder& b,
                         const std::string& status) {
    return data_of(s.wait_for(
        [&](const hall::event& e) {
          if (e.kind != "decryption_status") return false;
          const auto d = data_of(e);
          return d.at("org_id").as_string() == b.who->org_id &&
                 d.at("status").as_string() == status;
        },
        30s));
  }

  world w;
  actor& host;
  actor& owner;
  hall_world h;
};

std::string field(const json::object& o, const char* key) {
  const auto& v = o.at(key);
  return v.is_string() ? std::string(v.as_string()) : json::serialize(v);
}

TEST_F(hall_failures, bidder_side_causes_with_retry_and_a_refused_backup) {
  const auto t = h.make_tender({.suffix = "f1"});
  std::vector<hall_bidder*> b;
  for (int i = 0; i < 4; ++i)
    b.push_back(&h.add_bidder(t, 100 + i, /*backup=*/i == 3));
  auto& other = h.add_bidder(t, 110, /*backup=*/true);  // its backup is another bid's
  auto host_s = h.join(t, &host);
  h.open_window(t, *host_s);
  std::vector<std::unique_ptr<hall::blocking_session>> s;
  for (auto* x : b)
    s.push_back(h.join(t, x->who));

  // b0: no attempt at all. b1: a wrong key, then the right one. b2: a wrong key
  // to the end.
  const std::string wrong(32, '\x5a');
  ASSERT_TRUE(decrypt(*s[1], *b[1], wrong).ok);
  auto first = status_of(*host_s, *b[1], "failed");
  EXPECT_EQ(field(first, "cause"), "wrong_key");
  ASSERT_TRUE(decrypt(*s[1], *b[1], b[1]->file_key()).ok);
  const auto retried = status_of(*host_s, *b[1], "done");
  EXPECT_EQ(retried.at("attempts").to_number<std::int64_t>(), 2);
  ASSERT_TRUE(decrypt(*s[2], *b[2], wrong).ok);
  status_of(*host_s, *b[2], "failed");

  // b3 tries the backup of another bid: refused, nothing stored; then its own
  // primary opens.
  {
    const auto before = h.w().rows("hall_backups");
    const auto path = tender::test::temp_file_with("hf-other-backup.thsb", other.backup);
    try {
      hall::upload_backup(*b[3]->who->api, t, 1, path);
      ADD_FAILURE() << "another bid's backup was accepted";
    } catch (const tender::client::error& e) {
      EXPECT_EQ(e.code(), "hall.backup_mismatch");
    }
    std::filesystem::remove(path);
    EXPECT_EQ(h.w().rows("hall_backups"), before);
    // Without an uploaded backup, decrypting "backup" is refused.
    EXPECT_EQ(decrypt(*s[3], *b[3], b[3]->file_key(), "backup").code, "hall.no_backup");
    ASSERT_TRUE(decrypt(*s[3], *b[3], b[3]->file_key()).ok);
    status_of(*host_s, *b[3], "done");
  }

  h.close_window_now(t);
  host_s->wait_for_kind("window_closed", 30s);
  const auto final = h.final_status(*host_s);
  const auto& f0 = final.at(b[0]->who->org_id);
  EXPECT_EQ(field(f0, "cause"), "no_attempt");
  EXPECT_EQ(field(f0, "side"), "bidder");
  EXPECT_EQ(field(f0, "treatment"), "revoked");
  EXPECT_EQ(field(final.at(b[1]->who->org_id), "status"), "done");
  const auto& f2 = final.at(b[2]->who->org_id);
  EXPECT_EQ(field(f2, "cause"), "wrong_key");
  EXPECT_EQ(field(f2, "side"), "bidder");
  EXPECT_EQ(field(f2, "treatment"), "revoked");
  EXPECT_EQ(field(final.at(b[3]->who->org_id), "status"), "done");
  // After the window a decrypt is refused.
  EXPECT_EQ(decrypt(*s[0], *b[0], b[0]->file_key()).code, "hall.wrong_phase");
}

TEST_F(hall_failures, bidder_and_escrow_needs_both_parts) {
  const auto esc = tender::test::make_escrow(w, "hf");
  const auto& dealt = esc.dealt;
  const auto& custodians = esc.custodians;
  const auto& setup_json = esc.setup_json;
  const auto t = h.make_tender(
      {.suffix = "f2", .key_policy = "bidder_and_escrow", .escrow_json = esc.escrow_json});
  std::vector<hall_bidder*> b;
  for (int i = 0; i < 3; ++i)
    b.push_back(&h.add_bidder(t, 200 + i));
  auto host_s = h.join(t, &host);
  h.open_window(t, *host_s);
  auto hall_now = json::parse(hall::state(*host.api, t)).at("hall").as_object();
  std::map<std::string, std::string> escrow_r;
  for (const auto& row : hall_now.at("bidders").as_array()) {
    escrow_r[std::string(row.at("org_id").as_string())] =
        std::string(row.at("escrow_r").as_string());
  }
  auto share = [&](int custodian, const hall_bidder& x) {
    auto cs = h.join(t, custodians[custodian]);
    const auto secret = tc::escrow::share_to_json(dealt.shares[custodian]);
    const auto d = hall::make_share(
        setup_json, std::string_view(reinterpret_cast<const char*>(secret.data()), secret.size()),
        escrow_r.at(x.who->org_id), t, 1, x.who->org_id);
    return cs->act("share", hall::share_params(1, x.who->org_id, d));
  };

  // b0: its part and two shares → done. b1: its part only → escrow_incomplete
  // (platform side). b2: two shares only → no_attempt (the bidder's part is
  // missing).
  for (int i = 0; i < 2; ++i) {
    auto s = h.join(t, b[i]->who);
    const auto part = b[i]->file_key();  // the bidder's part under this policy
    ASSERT_TRUE(s->signed_act("decrypt", hall::decrypt_params(1, "primary", part),
                              hall::decrypt_payload(1, "primary", part), b[i]->signer())
                    .ok);
  }
  EXPECT_TRUE(share(0, *b[0]).ok);
  EXPECT_TRUE(share(1, *b[0]).ok);
  EXPECT_TRUE(share(0, *b[2]).ok);
  EXPECT_TRUE(share(2, *b[2]).ok);
  host_s->wait_for(
      [&](const hall::event& e) {
        if (e.kind != "decryption_status") return false;
        const auto d = data_of(e);
        return d.at("org_id").as_string() == b[0]->who->org_id &&
               d.at("status").as_string() == "done";
      },
      30s);
  h.close_window_now(t);
  host_s->wait_for_kind("window_closed", 30s);
  const auto final = h.final_status(*host_s);
  EXPECT_EQ(field(final.at(b[0]->who->org_id), "status"), "done");
  // Under bidder-and-escrow the shares are a required part, not a remedy: the bid opens by the
  // bidder's key (protocol §9 keeps `via: escrow` for the bidder-or-escrow remedy).
  EXPECT_EQ(field(final.at(b[0]->who->org_id), "via"), "bidder");
  const auto& f1 = final.at(b[1]->who->org_id);
  EXPECT_EQ(field(f1, "cause"), "escrow_incomplete");
  EXPECT_EQ(field(f1, "side"), "platform");
  EXPECT_EQ(field(f1, "treatment"), "withdrawn");
  const auto& f2 = final.at(b[2]->who->org_id);
  EXPECT_EQ(field(f2, "cause"), "no_attempt");
  EXPECT_EQ(field(f2, "treatment"), "revoked");
}

TEST_F(hall_failures, fewer_than_min_bids_valid_fails_the_tender) {
  const auto t = h.make_tender({.suffix = "f3", .bond = 1000});
  std::vector<hall_bidder*> b;
  for (int i = 0; i < 3; ++i)
    b.push_back(&h.add_bidder(t, 300 + i));
  h.add_cash_bond(t, *b[0], host);
  h.add_cash_bond(t, *b[1], host);  // b2 has no bond: 2 valid bids < min_bids 3
  auto host_s = h.join(t, &host);
  const auto list = h.open_window(t, *host_s);
  EXPECT_TRUE(list.at("failed").as_bool());
  const auto failed = data_of(host_s->wait_for_kind("failed", 30s));
  EXPECT_EQ(failed.at("lots").as_array()[0].at("valid").to_number<std::int64_t>(), 2);
  EXPECT_EQ(h.phase(t), "failed");
  EXPECT_EQ(w.db().query_value("SELECT state FROM tenders WHERE id = '" + t + "'"), "failed");
  // Nothing more happens in a failed hall.
  EXPECT_EQ(host_s->act("open_window").code, "hall.wrong_phase");
}

// The host's check_guarantees asks the issuer again (live status, docs/HALL.md): a guarantee the
// issuer revoked without telling the platform is found out in the hall and its bid is not valid;
// an issuer that cannot answer is named, asked nothing more, and the stored status is kept.
TEST_F(hall_failures, check_guarantees_asks_the_issuer_live) {
  auto& bank = w.user("hf-bank", "hf-bank-a", "issuer", {"issuer"});
  const auto key_file = tender::test::make_temp_dir("hf-bank") + "/bank.pem";
  {
    const auto pem = bank.key.to_pem();
    std::ofstream out(key_file);
    out.write(reinterpret_cast<const char*>(pem.data()), static_cast<std::streamsize>(pem.size()));
  }
  auto sim = std::make_unique<tender::test::guarantee_sim_process>("hf-bank-a", w.url(), key_file);
  tender::client::options so;
  so.server = sim->url();
  tender::client::client sim_api(so);
  const auto reg = w.admin().api->request(
      "POST", "/api/v1/issuers",
      json::serialize(json::object{{"org_id", "hf-bank-a"},
                                   {"base_url", sim->url()},
                                   {"key_fingerprint", bank.key.public_part().fingerprint()}}));
  ASSERT_EQ(reg.status, 200U) << reg.body;

  constexpr long long bond = 500000;
  const auto t = h.make_tender({.suffix = "c9", .bond = bond});
  const auto valid_until = w.db().query_value(
      "SELECT to_char((deadline_at + interval '3 days') AT TIME ZONE 'UTC', "
      "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') FROM tenders WHERE id = '" +
      t + "'");
  std::vector<hall_bidder*> b;
  std::vector<std::string> numbers;
  for (int i = 0; i < 3; ++i) {
    b.push_back(&h.add_bidder(t, 200 + i));
    const auto issued =
        sim_api.request("POST", "/admin/guarantees",
                        json::serialize(json::object{{"applicant", b[i]->who->org_id},
                                                     {"beneficiary", owner.org_id},
                                                     {"tender_code", "HL-c9"},
                                                     {"lot", 1},
                                                     {"amount", bond},
                                                     {"valid_until", valid_until}}));
    ASSERT_EQ(issued.status, 201U) << issued.body;
    const auto doc = json::parse(issued.body);
    numbers.emplace_back(doc.at("document").at("number").as_string());
    const auto attached =
        b[i]->who->api->request("POST", "/api/v1/tenders/" + t + "/lots/1/guarantees",
                                json::serialize(json::object{{"guarantee", doc}}));
    ASSERT_EQ(attached.status, 201U) << attached.body;
  }
  // The issuer revokes bidder 2's guarantee and does not call back: the platform still says valid.
  const auto rv =
      sim_api.request("POST", "/admin/guarantees/" + numbers[2] + "/revoke", R"({"notify":false})");
  ASSERT_EQ(rv.status, 200U) << rv.body;
  const auto stored = [&](int i) {
    return w.db().query_value("SELECT status FROM guarantees WHERE number = '" + numbers[i] + "'");
  };
  EXPECT_EQ(stored(2), "valid");

  auto host_s = h.join(t, &host);
  // Who bid is secret until the list: the host is told counts, a supervisor reads the event that
  // names each bidder's guarantee (hall-protocol.md §2.1).
  auto& sup = w.user("hf-sup", "hf-watch", "supervision", {"supervisor"});
  auto sup_s = h.join(t, &sup);
  h.pass_deadline(t);
  host_s->wait_for_kind("bids_sealed", 30s);
  const auto guarantee_of = [](const json::object& data) {
    std::map<std::string, std::string> out;
    for (const auto& r : data.at("results").as_array())
      out[std::string(r.at("org_id").as_string())] = std::string(r.at("guarantee").as_string());
    return out;
  };
  const auto count_of = [](const json::value& answer, const std::string& guarantee) {
    for (const auto& c : answer.at("counts").as_array()) {
      if (c.at("guarantee").as_string() == guarantee) return c.at("count").to_number<int>();
    }
    return 0;
  };
  const auto checked = [&](std::int64_t after) {
    return data_of(sup_s->wait_for(
        [&](const hall::event& e) { return e.kind == "guarantees_checked" && e.seq > after; },
        30s));
  };

  const auto first_text = hall::expect_ok(host_s->act("check_guarantees"));
  for (const auto* x : b)
    EXPECT_EQ(first_text.find(x->who->org_id), std::string::npos) << first_text;
  const auto first = json::parse(first_text);
  const auto& live = first.at("live");
  EXPECT_EQ(live.at("asked").as_int64(), 3);
  EXPECT_EQ(live.at("answered").as_int64(), 3);
  EXPECT_EQ(live.at("changed").to_number<int>(), 1) << first;
  EXPECT_TRUE(live.at("unreachable").as_array().empty());
  EXPECT_EQ(count_of(first, "valid"), 2) << first;
  EXPECT_EQ(count_of(first, "invalid"), 1) << first;
  EXPECT_EQ(stored(2), "revoked");
  // The host's stream has the event without actor or data; the supervisor's names the bidders.
  const auto host_ev = host_s->wait_for_kind("guarantees_checked", 30s);
  EXPECT_TRUE(data_of(host_ev).empty()) << host_ev.json;
  const auto ev = checked(0);
  ASSERT_EQ(ev.at("live").at("changed").as_array().size(), 1U);
  EXPECT_EQ(ev.at("live").at("changed").as_array()[0].at("org_id").as_string(), b[2]->who->org_id);
  EXPECT_EQ(ev.at("live").at("changed").as_array()[0].at("status").as_string(), "revoked");
  auto g = guarantee_of(ev);
  EXPECT_EQ(g[b[0]->who->org_id], "valid");
  EXPECT_EQ(g[b[1]->who->org_id], "valid");
  EXPECT_EQ(g[b[2]->who->org_id], "invalid");

  // The issuer is gone: named once, the other guarantees keep their stored status.
  sim.reset();
  const auto second = json::parse(hall::expect_ok(host_s->act("check_guarantees")));
  EXPECT_EQ(second.at("live").at("asked").as_int64(), 1);
  EXPECT_EQ(second.at("live").at("answered").as_int64(), 0);
  ASSERT_EQ(second.at("live").at("unreachable").as_array().size(), 1U) << second;
  EXPECT_EQ(second.at("live").at("unreachable").as_array()[0].at("issuer").as_string(),
            "hf-bank-a");
  EXPECT_EQ(count_of(second, "valid"), 2) << second;
  EXPECT_EQ(count_of(second, "invalid"), 1) << second;
  g = guarantee_of(checked(host_ev.seq));
  EXPECT_EQ(g[b[0]->who->org_id], "valid");
  EXPECT_EQ(g[b[1]->who->org_id], "valid");
  EXPECT_EQ(g[b[2]->who->org_id], "invalid");
  EXPECT_EQ(stored(0), "valid");

  // Only the host's check asks the issuers: a bidder's is refused by role and asks nobody.
  auto bidder_s = h.join(t, b[0]->who);
  EXPECT_EQ(bidder_s->act("check_guarantees").code, "hall.forbidden");
}

}  // namespace
