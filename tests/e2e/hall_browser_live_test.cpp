// The hall web page against the REAL hall: tenderd on a real PostgreSQL, six bidders on SDK hall
// sessions (real keys, sealed and uploaded bids, cash bonds), and headless Chromium driven by
// tests/browser/hall_live.mjs (playwright-core) as the host, who takes every host step by clicking
// the page's controls. The two sides run at the same time and meet through the hall itself:
//
//   page (host)                              this test (bidders, custodian of the clock)
//   01 waiting, click commit_host      ──▶   on host_committed: five bidders sign in
//   02 attendance 5                    ──▶   "@@ signed-in": the deadline passes, opening is due
//   click check_guarantees, publish_list
//   03 listed, 04 the public's view
//   click open_window                  ──▶   on window_opened: three decrypt with their keys, one
//                                            through its backup file (and asks for help), one
//                                            with a wrong key; the sixth makes no attempt
//   05 grid: done / failed (wrong key) ──▶   "@@ decrypting": the window closes on the clock;
//                                            a bidder raises an objection
//   06 window closed (no attempt), click reveal_host
//                                      ──▶   on representative_drawn: the representative reveals
//   click draw, answer the objection, 07 drawn (no summary visible anywhere yet)
//   click announce, 08 announcement (¥), 09 the public's view
//                                      ──▶   on announced: five bidders confirm, one is silent
//   10 confirmations                   ──▶   "@@ confirmed": confirmations close on the clock
//   11 record published, 12 English
//
// The page script waits on what the page shows (upper-bound timeouts only), checks the texts of
// each step and saves one screenshot per step to browser-screenshots-live/ in the test's working
// directory (build/dev/tests/browser-screenshots-live/NN-step.png). It prints "@@ <mark>" lines
// that this test waits for before it moves the database clock. Any failed check makes the script
// exit non-zero, and this test fails with the script's output. Finally the signed opening record
// is verified here.
#include <hall_world.hpp>

#include <tender/crypto/opening_record.hpp>
#include <tender/crypto/signed_note.hpp>

#include <boost/json.hpp>

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <string>

using namespace std::chrono_literals;

namespace {

namespace hall = tender::client::hall;
namespace tc = tender::crypto;
namespace json = boost::json;
using tender::test::child_process;
using tender::test::data_of;
using tender::test::hall_bidder;
using tender::test::hall_world;
using tender::test::on_path;
using tender::test::world;

constexpr int bidder_count = 6;
constexpr int backup_i = 0;    // decrypts through its backup file and asks for help
constexpr int wrong_i = 4;     // submits a wrong key
constexpr int absent_i = 5;    // neither signs in nor decrypts nor confirms
constexpr int objector_i = 2;  // raises an objection after the window

// Fen as the page must show it: ¥ with thousands separators and two decimals.
std::string yuan(long long fen) {
  std::string digits = std::to_string(fen / 100);
  for (int i = static_cast<int>(digits.size()) - 3; i > 0; i -= 3)
    digits.insert(static_cast<std::size_t>(i), ",");
  const auto cents = std::to_string(100 + fen % 100).substr(1);
  return "¥" + digits + "." + cents;
}

}  // namespace

TEST(hall_browser_e2e, real_hall_with_sdk_bidders) {
  const std::string node_modules = std::string(TENDER_REPO_ROOT) + "/tests/node/node_modules";
  ASSERT_TRUE(std::filesystem::exists(node_modules + "/playwright-core"))
      << "playwright-core is missing: run deploy/install-deps.sh (npm ci in tests/node)";
  ASSERT_TRUE(std::filesystem::exists("/usr/bin/chromium"))
      << "chromium is missing: run deploy/install-deps.sh (deploy/packages.txt)";
  const std::string node = on_path("node");
  ASSERT_FALSE(node.empty()) << "node is not on PATH";

  world w("hall_live", {{"TENDERD_SCHEDULER_POLL_INTERVAL_MS", "100"}});
  auto& host = w.user("hl-host", "hl-center", "center", {"center_staff"});
  auto& super = w.user("hl-super", "hl-supco", "supervision", {"supervisor"});
  auto& owner = w.user("hl-owner", "hl-ownco", "tenderer", {"tenderer"});
  hall_world h(w, owner);
  const auto t = h.make_tender({.suffix = "c1", .bond = 1000, .discount = true});
  std::vector<hall_bidder*> b;
  for (int i = 0; i < bidder_count; ++i) {
    b.push_back(&h.add_bidder(t, i, /*backup=*/i == backup_i));
    h.add_cash_bond(t, *b.back(), host);
  }

  // The supervisor's session sees every event: this side follows the hall through it.
  auto super_s = h.join(t, &super);
  std::vector<std::unique_ptr<hall::blocking_session>> s;
  for (int i = 0; i < bidder_count; ++i)
    s.push_back(h.join(t, b[i]->who));

  // What the page must show, computed here (hall_world seals price 90000000 + 1000 i fen).
  json::object plan{{"ceiling", yuan(120000000)},
                    {"backup", b[backup_i]->who->org_id},
                    {"wrong", b[wrong_i]->who->org_id},
                    {"absent", b[absent_i]->who->org_id},
                    {"objector", b[objector_i]->who->org_id}};
  json::array orgs;
  json::object prices;
  for (int i = 0; i < bidder_count; ++i) {
    orgs.emplace_back(b[i]->who->org_id);
    prices[b[i]->who->org_id] = yuan(90000000 + i * 1000LL);
  }
  plan["orgs"] = orgs;
  plan["prices"] = prices;

  const auto out = std::filesystem::current_path() / "browser-screenshots-live";
  std::filesystem::remove_all(out);
  const auto log_dir = tender::test::make_temp_dir("hall_live_page");
  const std::string log_path = log_dir + "/page.log";
  child_process page({node, std::string(TENDER_REPO_ROOT) + "/tests/browser/hall_live.mjs", "--url",
                      w.url() + "/hall/" + t, "--token", host.token, "--out", out.string(),
                      "--plan", json::serialize(plan)},
                     {}, log_path);
  const auto page_log = [&] { return tender::test::read_file(log_path); };
  constexpr auto step_timeout = 120s;

  // An event on the supervisor's session, or the page script's end (then the test stops here).
  const auto await_event = [&](const std::string& kind) -> std::optional<hall::event> {
    const auto until = std::chrono::steady_clock::now() + step_timeout;
    while (std::chrono::steady_clock::now() < until) {
      try {
        return super_s->wait_for_kind(kind, 1s);
      } catch (const std::exception&) {
        if (!page.running()) return std::nullopt;
      }
    }
    return std::nullopt;
  };
  // A "@@ <mark>" line of the page script.
  const auto await_mark = [&](const std::string& mark) {
    bool seen = false;
    tender::test::wait_until(
        [&] {
          seen = page_log().find("@@ " + mark + "\n") != std::string::npos;
          return seen || !page.running();
        },
        step_timeout, 50ms);
    return seen || page_log().find("@@ " + mark + "\n") != std::string::npos;
  };

  // 1. The host commits on the page; five bidders sign in.
  ASSERT_TRUE(await_event("host_committed")) << page_log();
  for (int i = 0; i < bidder_count; ++i) {
    if (i == absent_i) continue;
    b[i]->nonce = hall::make_nonce();
    const auto r = s[i]->signed_act("sign_in", hall::sign_in_params(b[i]->nonce->commitment),
                                    b[i]->nonce->commitment, b[i]->signer());
    ASSERT_TRUE(r.ok) << r.code << " " << r.message;
  }

  // 2. The deadline passes once the page showed the attendance; the opening is due.
  ASSERT_TRUE(await_mark("signed-in")) << page_log();
  h.pass_deadline(t);
  h.opening_due(t);

  // 3. The host checks the guarantees, publishes the list and opens the window on the page.
  ASSERT_TRUE(await_event("window_opened")) << page_log();
  for (int i = 0; i < bidder_count; ++i) {
    if (i == absent_i || i == backup_i) continue;
    std::string key = b[i]->file_key();
    if (i == wrong_i) key = std::string(32, '\x5a');
    const auto r = s[i]->signed_act("decrypt", hall::decrypt_params(1, "primary", key),
                                    hall::decrypt_payload(1, "primary", key), b[i]->signer());
    ASSERT_TRUE(r.ok) << r.code << " " << r.message;
  }
  {
    const auto path =
        tender::test::temp_file_with("hall-live-backup-" + t + ".thsb", b[backup_i]->backup);
    hall::upload_backup(*b[backup_i]->who->api, t, 1, path);
    const auto key = hall::unwrap_key_from_file(path, b[backup_i]->enc_pem());
    std::filesystem::remove(path);
    const auto r =
        s[backup_i]->signed_act("decrypt", hall::decrypt_params(1, "backup", key.key),
                                hall::decrypt_payload(1, "backup", key.key), b[backup_i]->signer());
    ASSERT_TRUE(r.ok) << r.code << " " << r.message;
    const auto help = s[backup_i]->act("help", R"({"lot":1,"text":"主文件损坏，已改用备用文件"})");
    ASSERT_TRUE(help.ok) << help.code << " " << help.message;
  }

  // 4. The window closes on the clock once the page showed the grid; an objection follows.
  ASSERT_TRUE(await_mark("decrypting")) << page_log();
  h.close_window_now(t);
  ASSERT_TRUE(await_event("window_closed")) << page_log();
  {
    const auto r = s[objector_i]->act("object", R"({"lot":1,"text":"请复核备用文件的解密过程"})");
    ASSERT_TRUE(r.ok) << r.code << " " << r.message;
  }

  // 5. The host reveals on the page; the drawn representative reveals its nonce.
  const auto rep = await_event("representative_drawn");
  ASSERT_TRUE(rep) << page_log();
  const std::string rep_org(data_of(*rep).at("representative").as_string());
  int rep_i = -1;
  for (int i = 0; i < bidder_count; ++i) {
    if (b[i]->who->org_id == rep_org) rep_i = i;
  }
  ASSERT_GE(rep_i, 0) << rep_org;
  ASSERT_NE(rep_i, absent_i) << "the representative is drawn among the signed-in bidders";
  {
    const auto r = s[rep_i]->act("reveal_representative",
                                 R"({"nonce":")" + b[rep_i]->nonce->nonce_hex + "\"}");
    ASSERT_TRUE(r.ok) << r.code << " " << r.message;
  }

  // 6. The host draws, answers and announces on the page; five bidders confirm.
  const auto announced = await_event("announced");
  ASSERT_TRUE(announced) << page_log();
  const std::string digest(data_of(*announced).at("record_digest").as_string());
  for (int i = 0; i < bidder_count; ++i) {
    if (i == absent_i) continue;
    const auto r =
        s[i]->signed_act("confirm", hall::confirm_params(digest), digest, b[i]->signer());
    ASSERT_TRUE(r.ok) << r.code << " " << r.message;
  }

  // 7. Confirmations close on the clock once the page showed them; the record is published.
  ASSERT_TRUE(await_mark("confirmed")) << page_log();
  h.close_confirmations_now(t);
  ASSERT_TRUE(await_event("recorded")) << page_log();

  const auto code = page.wait(step_timeout);
  ASSERT_TRUE(code.has_value()) << "the page script did not finish\n" << page_log();
  EXPECT_EQ(*code, 0) << page_log();
  EXPECT_NE(page_log().find("hall live: all checks passed"), std::string::npos) << page_log();
  for (const char* f : {"01-waiting.png", "05-decrypting.png", "11-recorded.png"})
    EXPECT_TRUE(std::filesystem::exists(out / f)) << f;

  // The record the page links to verifies with the audit log's key.
  auto anon = w.anonymous();
  const auto record = hall::opening_record(*anon, t);
  const auto check = tc::verify_record_file(record, tc::note::parse_verifier_key(anon->log_key()));
  EXPECT_EQ(check.tender_id, t);
  EXPECT_EQ(check.record_digest, digest);
  EXPECT_EQ(check.confirmations, static_cast<std::size_t>(bidder_count - 1));
  std::filesystem::remove_all(log_dir);
}
