// A whole remote bid opening (docs/HALL.md) end to end: 50 bidders in one
// process, each on its own asynchronous SDK hall session, through the ten steps
// on the real tenderd and PostgreSQL with real crypto: sign-in with draw
// commitments, the guarantees check and the published list (one bid without its
// bond is not listed), the window, decryption by the bidders' own keys, one
// backup file remedy, one escrow remedy by custodians' shares
// (bidder-or-escrow), pause and resume, the representative's draw and the
// parameter draw recomputed here with the crypto draw functions, the
// announcement, confirmations with one silent bidder, an objection answered,
// and the signed opening record checked with the audit log's key.
#include <hall_world.hpp>

#include <tender/crypto/draw.hpp>
#include <tender/crypto/opening_record.hpp>
#include <tender/crypto/signed_note.hpp>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <thread>

using namespace std::chrono_literals;

namespace {

namespace hall = tender::client::hall;
namespace tc = tender::crypto;
namespace json = boost::json;
using tender::test::act_f;
using tender::test::actor;
using tender::test::all_ok;
using tender::test::data_of;
using tender::test::hall_bidder;
using tender::test::hall_world;
using tender::test::signed_f;
using tender::test::world;

constexpr int bidder_count = 50;

// A draw as the hall publishes it, recomputed with tenderhall/draw/v1.
void expect_draw_verifies(const json::object& d) {
  tc::draw_inputs in;
  for (const auto& m : d.at("seed_materials").as_array()) {
    const auto& o = m.as_object();
    in.seed_materials.push_back({std::string(o.at("label").as_string()),
                                 tc::hex_decode(std::string(o.at("value").as_string()))});
  }
  for (const auto& c : d.at("candidates").as_array())
    in.candidates.emplace_back(c.as_string());
  if (const auto* x = d.if_contains("exclusions"); x != nullptr && x->is_array()) {
    for (const auto& c : x->as_array())
      in.exclusions.emplace_back(c.as_string());
  }
  in.count = static_cast<std::uint32_t>(d.at("count").to_number<std::int64_t>());
  std::vector<std::string> selected;
  for (const auto& s : d.at("selected").as_array())
    selected.emplace_back(s.as_string());
  EXPECT_TRUE(tc::verify_draw(in, selected)) << json::serialize(d);
  EXPECT_EQ(tc::to_hex(tc::draw_seed(in)), std::string(d.at("seed").as_string()));
}

TEST(hall_opening, fifty_bidders_through_the_ten_steps) {
  world w("hall_opening", {{"TENDERD_SCHEDULER_POLL_INTERVAL_MS", "100"}});
  auto& host = w.user("ho-host", "ho-center", "center", {"center_staff"});
  auto& super = w.user("ho-super", "ho-supco", "supervision", {"supervisor"});
  auto& owner = w.user("ho-owner", "ho-ownco", "tenderer", {"tenderer"});
  hall_world h(w, owner);

  // A 2-of-3 escrow held by three custodian organisations.
  const auto esc = tender::test::make_escrow(w, "ho");
  const auto& dealt = esc.dealt;
  const auto& custodians = esc.custodians;
  const auto& setup_json = esc.setup_json;
  const auto t = h.make_tender({.suffix = "01",
                                .key_policy = "bidder_or_escrow",
                                .escrow_json = esc.escrow_json,
                                .bond = 1000,
                                .discount = true});

  std::vector<hall_bidder*> b;
  for (int i = 0; i < bidder_count; ++i) {
    b.push_back(&h.add_bidder(t, i, /*backup=*/i == 0));
    if (i != bidder_count - 1) h.add_cash_bond(t, *b.back(), host);  // the last has no bond
  }

  auto host_s = h.join(t, &host);
  auto super_s = h.join(t, &super);
  ASSERT_EQ(host_s->last_welcome().viewer.role, "host");
  ASSERT_EQ(super_s->last_welcome().viewer.role, "supervisor");

  // 1. The host commits to its draw nonce before the deadline.
  const auto host_nonce = hall::make_nonce();
  ASSERT_TRUE(host_s->act("commit_host", R"({"commitment":")" + host_nonce.commitment + "\"}").ok);

  // 2. Every bidder joins on its own asynchronous session (one io_context, two
  // threads) and signs
  //    in with a commitment to its own nonce.
  boost::asio::io_context ioc;
  auto guard = boost::asio::make_work_guard(ioc);
  std::vector<std::unique_ptr<hall::session>> s;
  std::vector<std::promise<void>> joined(bidder_count);
  std::vector<std::future<void>> joined_f;
  // Every odd bidder uses the summary view (hall-protocol.md §4.1); what it got is kept here.
  struct summary_seen {
    std::mutex m;
    std::vector<hall::event> events;
    std::vector<std::pair<std::int64_t, std::int64_t>> skips;
    std::vector<std::string> progress;
  };
  std::vector<std::unique_ptr<summary_seen>> seen(bidder_count);
  for (int i = 0; i < bidder_count; ++i) {
    auto o = h.options(t, b[i]->who);
    if (i % 2 == 1) {
      seen[i] = std::make_unique<summary_seen>();
      auto* x = seen[i].get();
      o.view = "summary";
      o.on_event = [x](const hall::event& e) {
        std::lock_guard lock(x->m);
        x->events.push_back(e);
      };
      o.on_skip = [x](std::int64_t from, std::int64_t to) {
        std::lock_guard lock(x->m);
        x->skips.emplace_back(from, to);
      };
      o.on_progress = [x](const std::string& p) {
        std::lock_guard lock(x->m);
        x->progress.push_back(p);
      };
    }
    auto p = std::make_shared<bool>(false);
    o.on_snapshot = [&joined, i, p](const hall::snapshot&) {
      if (!*p) {
        *p = true;
        joined[i].set_value();
      }
    };
    joined_f.push_back(joined[i].get_future());
    s.push_back(std::make_unique<hall::session>(ioc, std::move(o)));
    s.back()->start();
  }
  std::thread io1([&] { ioc.run(); });
  std::thread io2([&] { ioc.run(); });
  struct stopper {
    boost::asio::io_context& ioc;
    std::vector<std::unique_ptr<hall::session>>& s;
    std::thread& a;
    std::thread& b;
    ~stopper() {
      for (auto& x : s)
        x->close();
      ioc.stop();
      a.join();
      b.join();
    }
  } stop{ioc, s, io1, io2};
  for (auto& f : joined_f)
    ASSERT_EQ(f.wait_for(60s), std::future_status::ready);
  for (auto& x : s)
    EXPECT_EQ(x->viewer()->role, "bidder");
  {
    std::vector<std::future<hall::act_result>> fs;
    for (int i = 0; i < bidder_count; ++i) {
      b[i]->nonce = hall::make_nonce();
      fs.push_back(signed_f(*s[i], t, "sign_in", hall::sign_in_params(b[i]->nonce->commitment),
                            b[i]->nonce->commitment, b[i]->signer()));
    }
    all_ok(fs, "sign_in");
  }
  // A second sign-in is refused.
  {
    auto f = signed_f(*s[3], t, "sign_in", hall::sign_in_params(b[3]->nonce->commitment),
                      b[3]->nonce->commitment, b[3]->signer());
    EXPECT_EQ(f.get().code, "hall.already_done");
  }

  // 3. The deadline seals the bids.
  h.pass_deadline(t);
  const auto sealed_ev = host_s->wait_for_kind("bids_sealed", 30s);
  EXPECT_EQ(data_of(sealed_ev).at("lots").as_array()[0].at("count").as_int64(), bidder_count);

  // 4. Guarantees checked, the list published: the bid without a bond is not
  // listed.
  // The host is told how many, not who (hall-protocol.md §2.1).
  const auto checked = json::parse(hall::expect_ok(host_s->act("check_guarantees")));
  int none = 0;
  for (const auto& c : checked.at("counts").as_array()) {
    if (c.at("guarantee").as_string() == "none") none += c.at("count").to_number<int>();
  }
  EXPECT_EQ(none, 1);
  const auto list = json::parse(hall::expect_ok(host_s->act("publish_list")));
  EXPECT_FALSE(list.at("failed").as_bool());
  EXPECT_EQ(list.at("lots").as_array()[0].at("valid").as_int64(), bidder_count - 1);
  const auto published = data_of(host_s->wait_for_kind("list_published"));
  std::map<std::string, std::string> escrow_r;
  for (const auto& x : published.at("lots").as_array()[0].at("bidders").as_array()) {
    escrow_r[std::string(x.at("org_id").as_string())] = std::string(x.at("escrow_r").as_string());
  }
  EXPECT_EQ(escrow_r.size(), static_cast<std::size_t>(bidder_count - 1));
  EXPECT_EQ(escrow_r.count(b[bidder_count - 1]->who->org_id), 0u);

  // The public may watch now.
  hall::blocking_session public_s(h.options(t, nullptr));
  EXPECT_EQ(public_s.last_welcome().viewer.role, "public");

  // 5. The window opens at the opening time.
  h.opening_due(t);
  const auto window = json::parse(hall::expect_ok(host_s->act("open_window")));
  EXPECT_TRUE(window.as_object().contains("window_closes_at"));

  // 6. Decryption. Bidders 2..48 with their own keys; bidder 0 through its
  // backup file (uploaded
  //    and checked first); bidder 1 makes no attempt and is opened by two
  //    custodians' shares. A help request on the way.
  {
    std::vector<std::future<hall::act_result>> fs;
    for (int i = 2; i < bidder_count - 1; ++i) {
      const auto key = b[i]->file_key();
      fs.push_back(signed_f(*s[i], t, "decrypt", hall::decrypt_params(1, "primary", key),
                            hall::decrypt_payload(1, "primary", key), b[i]->signer()));
    }
    all_ok(fs, "decrypt");
  }
  {
    const auto path = std::filesystem::temp_directory_path() / ("hall-backup-" + t + ".thsb");
    {
      std::ofstream out(path, std::ios::binary);
      out << b[0]->backup;
    }
    const auto receipt = hall::upload_backup(*b[0]->who->api, t, 1, path);
    std::filesystem::remove(path);
    EXPECT_EQ(receipt.org_id, b[0]->who->org_id);
    const auto key = hall::unwrap_key_from_header(
        [&] {
          std::istringstream in(b[0]->backup);
          const auto l = tc::sealed::inspect(in);
          return std::string(l.hdr.encoded.begin(), l.hdr.encoded.end());
        }(),
        b[0]->enc_pem());
    auto f = signed_f(*s[0], t, "decrypt", hall::decrypt_params(1, "backup", key.key),
                      hall::decrypt_payload(1, "backup", key.key), b[0]->signer());
    EXPECT_TRUE(f.get().ok);
    auto help = act_f(*s[0], "help", R"({"lot":1,"text":"our primary file is damaged"})");
    EXPECT_TRUE(help.get().ok);
  }
  for (int c = 0; c < 2; ++c) {
    auto cs = h.join(t, custodians[c]);
    ASSERT_EQ(cs->last_welcome().viewer.role, "custodian");
    const auto share_json = tc::escrow::share_to_json(dealt.shares[c]);
    const auto d = hall::make_share(
        setup_json,
        std::string_view(reinterpret_cast<const char*>(share_json.data()), share_json.size()),
        escrow_r.at(b[1]->who->org_id), t, 1, b[1]->who->org_id);
    EXPECT_TRUE(cs->act("share", hall::share_params(1, b[1]->who->org_id, d)).ok);
  }
  // Every listed bid is done: the supervisor sees it live.
  std::set<std::string> done;
  try {
    super_s->wait_for(
        [&](const hall::event& e) {
          if (e.kind != "decryption_status") return false;
          const auto d = data_of(e);
          if (d.at("status").as_string() == "done")
            done.insert(std::string(d.at("org_id").as_string()));
          return done.size() == static_cast<std::size_t>(bidder_count - 1);
        },
        60s);
  } catch (const std::exception&) {
    // Which bids never finished, and why (the database's view).
    ADD_FAILURE() << "listed bids not done:\n"
                  << w.db().query_value(
                         "SELECT coalesce(string_agg(b.org_id || ' ' || b.status || ' ' || "
                         "coalesce(b.message, '-') || ' | ' || coalesce((SELECT "
                         "string_agg(a.source || ':' || a.state || ':' || coalesce(a.message, "
                         "'-'), ', ') FROM hall_attempts a WHERE a.tender_id = b.tender_id AND "
                         "a.org_id = b.org_id), 'no attempts'), E'\\n'), 'none') FROM hall_bids "
                         "b WHERE b.tender_id = '" +
                         t + "' AND b.listed AND b.status <> 'done'");
    throw;
  }
  EXPECT_EQ(done.size(), static_cast<std::size_t>(bidder_count - 1));

  // Pause and resume: while paused a step is refused.
  EXPECT_TRUE(host_s->act("pause", R"({"reason":"checking the help request"})").ok);
  EXPECT_EQ(act_f(*s[5], "help", R"({"lot":1,"text":"x"})").get().code, "hall.paused");
  EXPECT_TRUE(host_s->act("resume", R"({"reason":"done"})").ok);

  // 7. The window closes on the clock.
  h.close_window_now(t);
  const auto closed = data_of(host_s->wait_for_kind("window_closed", 30s));
  EXPECT_EQ(closed.at("done").to_number<std::int64_t>(), bidder_count - 1);
  EXPECT_EQ(closed.at("failed").to_number<std::int64_t>(), 0);

  // 8. The draws: the host reveals, the representative is drawn and reveals,
  // the host draws.
  hall::expect_ok(host_s->act("reveal_host", R"({"nonce":")" + host_nonce.nonce_hex + "\"}"));
  const auto rep = data_of(host_s->wait_for_kind("representative_drawn"));
  expect_draw_verifies(rep.at("draw").as_object());
  const std::string rep_org(rep.at("representative").as_string());
  int rep_i = -1;
  for (int i = 0; i < bidder_count; ++i) {
    if (b[i]->who->org_id == rep_org) rep_i = i;
  }
  ASSERT_GE(rep_i, 0);
  EXPECT_TRUE(act_f(*s[rep_i], "reveal_representative",
                    R"({"nonce":")" + b[rep_i]->nonce->nonce_hex + "\"}")
                  .get()
                  .ok);
  hall::expect_ok(host_s->act("draw"));
  const auto drawn = data_of(host_s->wait_for_kind("parameters_drawn"));
  for (const auto& d : drawn.at("draws").as_array())
    expect_draw_verifies(d.at("draw").as_object());

  // 9. An objection, answered.
  const auto objection = json::parse(hall::expect_ok(
      act_f(*s[7], "object", R"({"text":"please read our price again","lot":1})").get()));
  EXPECT_TRUE(host_s
                  ->act("answer", R"({"objection_id":)" +
                                      json::serialize(objection.at("objection_id")) +
                                      R"(,"text":"read again: correct"})")
                  .ok);

  // 10. The announcement, confirmations (bidder 9 stays silent) and the record.
  const auto announced = json::parse(hall::expect_ok(host_s->act("announce")));
  const std::string digest(announced.at("record_digest").as_string());
  {
    std::vector<std::future<hall::act_result>> fs;
    for (int i = 0; i < bidder_count - 1; ++i) {
      if (i == 9) continue;
      fs.push_back(
          signed_f(*s[i], t, "confirm", hall::confirm_params(digest), digest, b[i]->signer()));
    }
    all_ok(fs, "confirm");
  }
  h.close_confirmations_now(t);
  const auto closing = data_of(host_s->wait_for_kind("confirmation_closed", 30s));
  ASSERT_EQ(closing.at("silent").as_array().size(), 1u);
  EXPECT_EQ(closing.at("silent").as_array()[0].as_string(), b[9]->who->org_id);
  host_s->wait_for_kind("recorded", 30s);
  EXPECT_EQ(h.phase(t), "recorded");

  // The public saw the whole history up to the record, in order and without
  // gaps.
  const auto head = host_s->last_seq();
  EXPECT_EQ(public_s.wait_for([&](const hall::event& e) { return e.seq == head; }).kind,
            "recorded");

  // The summary view: each seq exactly once (in an event or a skip), in order, up to the head; its
  // own bid's statuses and no other bidder's; the announcement cut to its own row with the total
  // beside it; the hall's counts as progress messages.
  for (int i = 1; i < bidder_count - 1; i += 2) {
    const auto give_up = std::chrono::steady_clock::now() + 30s;
    while (s[i]->last_seq() < head && std::chrono::steady_clock::now() < give_up)
      std::this_thread::sleep_for(20ms);
    std::lock_guard lock(seen[i]->m);
    std::map<std::int64_t, int> covered;
    for (const auto& e : seen[i]->events)
      ++covered[e.seq];
    for (const auto& [from, to] : seen[i]->skips) {
      EXPECT_LE(from, to);
      for (auto q = from; q <= to; ++q)
        ++covered[q];
    }
    const auto first = s[i]->last_seq() - static_cast<std::int64_t>(covered.size()) + 1;
    ASSERT_EQ(s[i]->last_seq(), head) << "bidder " << i;
    for (auto q = first; q <= head; ++q)
      ASSERT_EQ(covered[q], 1) << "bidder " << i << " seq " << q;
    bool own_done = false;
    for (const auto& e : seen[i]->events) {
      if (e.kind == "decryption_status" || e.kind == "signed_in" || e.kind == "confirmed") {
        EXPECT_EQ(data_of(e).at("org_id").as_string(), b[i]->who->org_id) << e.json;
        if (e.kind == "decryption_status" && data_of(e).at("status").as_string() == "done")
          own_done = true;
      }
      if (e.kind == "announced") {
        const auto announced_data = data_of(e);
        const auto& lot = announced_data.at("lots").as_array()[0].as_object();
        ASSERT_EQ(lot.at("rows").as_array().size(), 1u) << e.json;
        EXPECT_EQ(lot.at("rows").as_array()[0].at("org_id").as_string(), b[i]->who->org_id);
        EXPECT_EQ(lot.at("rows_total").to_number<std::int64_t>(), bidder_count - 1);
      }
    }
    EXPECT_TRUE(own_done) << "bidder " << i;
    ASSERT_FALSE(seen[i]->progress.empty()) << "bidder " << i;
    const auto last = json::parse(seen[i]->progress.back()).as_object();
    EXPECT_EQ(last.at("signed_in").to_number<std::int64_t>(), bidder_count);
  }

  // The signed opening record verifies with the audit log's key.
  auto anon = w.anonymous();
  const auto record = hall::opening_record(*anon, t);
  const auto key = tc::note::parse_verifier_key(anon->log_key());
  const auto check = tc::verify_record_file(record, key);
  EXPECT_EQ(check.tender_id, t);
  EXPECT_EQ(check.record_digest, digest);
  EXPECT_EQ(check.confirmations, static_cast<std::size_t>(bidder_count - 2));
  EXPECT_EQ(check.confirmations_verified, check.confirmations);

  // Issue 15 §6: every HTML answer carries the same Content-Security-Policy and nosniff — the
  // hall page and the record's printable page alike (the record holds bidders' own texts).
  const auto page = anon->request("GET", "/hall/" + t);
  const auto printable = anon->request("GET", "/api/v1/tenders/" + t + "/opening-record.html");
  ASSERT_EQ(page.status, 200u);
  ASSERT_EQ(printable.status, 200u) << printable.body.substr(0, 300);
  EXPECT_EQ(printable.content_type, "text/html; charset=utf-8");
  EXPECT_NE(page.header("Content-Security-Policy").find("default-src 'none'"), std::string::npos);
  EXPECT_EQ(printable.header("Content-Security-Policy"), page.header("Content-Security-Policy"));
  EXPECT_EQ(page.header("X-Content-Type-Options"), "nosniff");
  EXPECT_EQ(printable.header("X-Content-Type-Options"), "nosniff");
  // JSON answers are never sniffed either.
  EXPECT_EQ(anon->request("GET", "/api/v1/tenders/" + t + "/opening-record")
                .header("X-Content-Type-Options"),
            "nosniff");
}

}  // namespace
