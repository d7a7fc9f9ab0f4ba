// Acceptance 1 of issue 5, through the `tender` binary against the real tenderd and the guarantee
// issuer simulator: bidders seal, upload (one upload interrupted and resumed by running the same
// command again), replace, withdraw, rehearse, attach guarantees (open and integrated flows),
// verify their receipts offline, and after the deadline verify that the lot's seal contains
// exactly the bids that count; nothing changes after the deadline.
#include <world.hpp>

#include <tender/client/tenders.hpp>
#include <tender/core/tender_rules.hpp>

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

using namespace std::chrono_literals;
namespace json = boost::json;
namespace fs = std::filesystem;
using tender::test::actor;
using tender::test::run_result;
using tender::test::wait_until;
using tender::test::world;

namespace {

std::string at(std::int64_t seconds_from_now) {
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  return tender::core::format_utc(now + seconds_from_now);
}

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// The last line of the output that is a JSON object (progress and notes go to stderr, which
// run_command mixes in).
json::object last_json(const std::string& output) {
  std::size_t end = output.size();
  while (end > 0) {
    const auto begin = output.rfind('\n', end - 1);
    const auto start = begin == std::string::npos ? 0 : begin + 1;
    const std::string line = output.substr(start, end - start);
    if (!line.empty() && line.front() == '{') return json::parse(line).as_object();
    if (begin == std::string::npos) break;
    end = begin;
  }
  ADD_FAILURE() << "no JSON object in: " << output;
  return {};
}

std::string str(const json::object& o, const char* key) {
  const auto* v = o.if_contains(key);
  return v != nullptr && v->is_string() ? std::string(v->get_string()) : std::string();
}

// Bytes that do not compress away and differ per bidder.
std::string plaintext(std::size_t size, unsigned seed) {
  std::string s(size, '\0');
  std::uint32_t x = 2463534242u ^ seed;
  for (auto& c : s) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    c = static_cast<char>(x);
  }
  return s;
}

class submission_cli : public ::testing::Test {
protected:
  world w{"submission-cli", {{"TENDERD_SCHEDULER_POLL_INTERVAL_MS", "100"}}};
  actor& host = w.user("host", "city-works", "tenderer", {"tenderer"});
  std::string dir = tender::test::make_temp_dir("submission-cli");

  std::string token_file(const actor& a) {
    const std::string path = dir + "/" + a.user_id + ".token";
    if (!fs::exists(path)) std::ofstream(path) << a.token << "\n";
    return path;
  }

  // `tender --server URL <args...>` (with the actor's session when given).
  run_result cli(std::vector<std::string> args, const actor* as = nullptr) {
    args.insert(args.begin(), {TENDER_CLI_PATH, "--server", w.url()});
    if (as != nullptr) args.insert(args.end(), {"--token-file", token_file(*as)});
    return tender::test::run_command(args, {{"HOME", dir}});
  }

  // A published sandbox tender with one lot, no escrow (key policy bidder_only).
  std::string publish_tender(std::int64_t lead_s) {
    const json::object doc{
        {"project_code", "SBX-BID-1"},
        {"title", "Harbour road resurfacing"},
        {"kind", "works"},
        {"rule_pack", "sandbox"},
        {"deadline_at", at(lead_s)},
        {"opening_at", at(lead_s + 60)},
        {"lots", json::array{json::object{
                     {"lot_no", 1},
                     {"title", "Road"},
                     {"estimated_price", 300'000'000},
                     {"bond_amount", 3'000'000},
                     {"summary_fields",
                      json::array{json::object{
                          {"key", "price"}, {"label", "投标报价"}, {"type", "money"}}}}}}}};
    const auto created = tender::client::create_tender(*host.api, json::serialize(doc));
    EXPECT_EQ(created.status, 201u) << created.body;
    const auto published = tender::client::publish_tender(*host.api, created.id, created.etag);
    EXPECT_EQ(published.state, "published") << published.body;
    return created.id;
  }

  // The bidder's keys: an encryption pair from `tender keygen`, and its registered login key
  // (Ed25519, known to the server) as the signing key.
  std::string keys_of(const actor& a) {
    const std::string d = dir + "/" + a.user_id;
    if (!fs::exists(d + "/bidder-encryption.pem")) {
      const auto r = cli({"keygen", "--suite", "sodium", "--out-dir", d});
      EXPECT_EQ(r.exit_code, 0) << r.output;
      const auto pem = a.key.to_pem();
      std::ofstream(d + "/login.pem")
          << std::string_view(reinterpret_cast<const char*>(pem.data()), pem.size());
      fs::permissions(d + "/login.pem", fs::perms::owner_read | fs::perms::owner_write);
    }
    return d;
  }

  // `tender seal` of `size` bytes for lot 1 of `tender`, signed with the actor's login key.
  std::string seal(const actor& a, const std::string& tender, const std::string& name,
                   std::size_t size, unsigned seed) {
    const std::string d = keys_of(a);
    const std::string plain = d + "/" + name + ".plain";
    std::ofstream(plain, std::ios::binary) << plaintext(size, seed);
    std::ofstream(d + "/summary.json") << R"({"price":"298000000.00"})";
    const std::string out = d + "/" + name + ".thsb";
    const auto r =
        cli({"seal", "--suite", "sodium", "--tender", tender + "/1", "--bidder", a.org_id,
             "--policy", "bidder", "--recipient", d + "/bidder-encryption.pub.pem", "--sign-key",
             d + "/login.pem", "--summary", d + "/summary.json", plain, out});
    EXPECT_EQ(r.exit_code, 0) << r.output;
    return out;
  }

  long long count(const std::string& sql) { return std::stoll(w.db().query_value(sql)); }
};

TEST_F(submission_cli, seal_upload_resume_replace_withdraw_rehearse_verify_and_seal) {
  auto& acme = w.user("acme-bid", "acme", "bidder", {"bidder"});
  auto& brick = w.user("brick-bid", "brick-co", "bidder", {"bidder"});
  auto& steel = w.user("steel-bid", "steel-co", "bidder", {"bidder"});
  auto& glass = w.user("glass-bid", "glass-co", "bidder", {"bidder"});
  // Long enough for every submission below on a loaded machine; the deadline is brought forward
  // (the sandbox clock) once they are done.
  const std::string t = publish_tender(600);
  const std::string log_key = w.anonymous()->log_key();
  const std::vector<std::string> lot{"--tender", t, "--lot", "1"};
  const auto with_lot = [&](std::vector<std::string> args) {
    args.insert(args.end(), lot.begin(), lot.end());
    return args;
  };

  const auto acme_file = seal(acme, t, "bid", 3'000'000, 1);
  const auto brick_v1 = seal(brick, t, "bid-v1", 700'000, 2);
  const auto brick_v2 = seal(brick, t, "bid-v2", 900'000, 3);
  const auto steel_file = seal(steel, t, "bid", 500'000, 4);
  const auto glass_file = seal(glass, t, "bid", 1'200'000, 5);

  // --- acme: an upload interrupted after 1.5 MB, resumed by running the same command again ----
  const std::vector<std::string> acme_upload =
      with_lot({"upload", "--chunk-size", "1048576", "--json", acme_file});
  const auto stopped =
      with_lot({"upload", "--chunk-size", "1048576", "--stop-after", "1500000", acme_file});
  auto r = cli(stopped, &acme);
  ASSERT_EQ(r.exit_code, 1) << r.output;
  EXPECT_TRUE(contains(r.output, "[cli.upload_interrupted]")) << r.output;
  ASSERT_TRUE(fs::exists(acme_file + ".upload.json"));
  EXPECT_FALSE(fs::exists(acme_file + ".receipt.json"));
  EXPECT_EQ(count("SELECT count(*) FROM bids"), 0);
  EXPECT_EQ(count("SELECT count(*) FROM uploads WHERE state = 'open' AND \"offset\" = 1500000"), 1);

  r = cli(acme_upload, &acme);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto up = last_json(r.output);
  EXPECT_TRUE(up.at("resumed").as_bool()) << r.output;
  EXPECT_EQ(up.at("resumed_from").to_number<std::int64_t>(), 1'500'000) << r.output;
  EXPECT_EQ(up.at("size").to_number<std::int64_t>(),
            static_cast<std::int64_t>(fs::file_size(acme_file)));
  const std::string acme_digest = str(up, "ciphertext_digest");
  EXPECT_EQ(acme_digest.size(), 64u) << r.output;
  EXPECT_FALSE(fs::exists(acme_file + ".upload.json"));
  ASSERT_TRUE(fs::exists(acme_file + ".receipt.json"));
  // One upload, resumed: not a second one.
  EXPECT_EQ(count("SELECT count(*) FROM uploads WHERE bidder_org = 'acme'"), 1);
  EXPECT_EQ(count("SELECT count(*) FROM bids WHERE bidder_org = 'acme' AND status = 'current'"), 1);

  // --- brick: a bid, then a replacement (the last submission counts) --------------------------
  r = cli(with_lot({"upload", "--log-key", log_key, "--json", brick_v1}), &brick);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(last_json(r.output).at("receipt_verified").as_bool());
  const std::string brick_v1_digest = str(last_json(r.output), "ciphertext_digest");
  r = cli(with_lot({"upload", "--json", brick_v2}), &brick);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const std::string brick_v2_digest = str(last_json(r.output), "ciphertext_digest");
  EXPECT_NE(brick_v1_digest, brick_v2_digest);
  EXPECT_EQ(
      count("SELECT count(*) FROM bids WHERE bidder_org = 'brick-co' AND status = 'replaced'"), 1);
  r = cli(with_lot({"bid", "show", "--json"}), &brick);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(str(last_json(r.output), "ciphertext_digest"), brick_v2_digest);

  // --- steel: a bid, withdrawn ----------------------------------------------------------------
  r = cli(with_lot({"upload", steel_file}), &steel);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "bid recorded for " + t + "/1")) << r.output;
  r = cli(with_lot({"withdraw"}), &steel);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "withdrawn")) << r.output;
  r = cli(with_lot({"bid", "show"}), &steel);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_TRUE(contains(r.output, "[bid.not_found]")) << r.output;
  r = cli(with_lot({"withdraw"}), &steel);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_TRUE(contains(r.output, "[bid.not_found]")) << r.output;

  // --- glass: a bid and the decryption rehearsal ------------------------------------------------
  r = cli(with_lot({"upload", "--no-progress", glass_file}), &glass);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  // Another bidder's key opens nothing in this file: refused locally, nothing sent.
  const auto rehearsals_before =
      count("SELECT count(*) FROM audit_events WHERE action = 'bid.rehearsed'");
  r = cli(with_lot({"rehearse", "--key", keys_of(acme) + "/bidder-encryption.pem", glass_file}),
          &glass);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_TRUE(contains(r.output, "[sealed.wrong_key]")) << r.output;
  r = cli(with_lot({"rehearse", "--key", keys_of(glass) + "/bidder-encryption.pem", "--out",
                    dir + "/glass-rehearsal.txt", glass_file}),
          &glass);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "rehearsal confirmed")) << r.output;
  EXPECT_TRUE(fs::exists(dir + "/glass-rehearsal.txt"));
  EXPECT_EQ(count("SELECT count(*) FROM audit_events WHERE action = 'bid.rehearsed'"),
            rehearsals_before + 1);
  r = cli(with_lot({"bid", "show", "--json"}), &glass);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(last_json(r.output).at("rehearsed").as_bool()) << r.output;
  // Rehearsing with a file that is not the current bid (brick's replaced first version).
  r = cli(with_lot({"rehearse", "--key", keys_of(brick) + "/bidder-encryption.pem", brick_v1}),
          &brick);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_TRUE(contains(r.output, "[bid.rehearsal_failed]")) << r.output;

  // --- every receipt verifies offline, against its own file only -------------------------------
  for (const auto& f : {acme_file, brick_v1, brick_v2, steel_file, glass_file}) {
    r = cli({"verify-receipt", f + ".receipt.json", "--log-key", log_key, "--sealed", f});
    EXPECT_EQ(r.exit_code, 0) << f << "\n" << r.output;
    EXPECT_TRUE(contains(r.output, "receipt VALID")) << r.output;
  }
  r = cli({"verify-receipt", acme_file + ".receipt.json", "--log-key", log_key, "--sealed",
           glass_file});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_TRUE(contains(r.output, "[receipt.file_mismatch]")) << r.output;
  // A receipt altered after the fact.
  {
    auto doc = json::parse(tender::test::read_file(acme_file + ".receipt.json")).as_object();
    auto payload = std::string(doc.at("payload").as_string());
    payload.replace(payload.find("acme"), 4, "acmf");
    doc["payload"] = payload;
    std::ofstream(dir + "/forged.json") << json::serialize(doc);
    r = cli({"verify-receipt", dir + "/forged.json", "--log-key", log_key});
    EXPECT_EQ(r.exit_code, 1) << r.output;
    EXPECT_TRUE(contains(r.output, "[receipt.payload_mismatch]")) << r.output;
  }
  // The saved receipt is the one the server keeps.
  r = cli(with_lot({"bid", "show", "--save-receipt", dir + "/acme-again.json"}), &acme);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = cli({"--json", "verify-receipt", dir + "/acme-again.json", "--log-key", log_key});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(str(last_json(r.output), "ciphertext_digest"), acme_digest);

  // --- guarantees: the issuer simulator as its own process; the open flow (a file attached)
  // and the integrated flow (applied for through the platform, pushed by the issuer) ----------
  auto& bank = w.user("bank-ops", "bank-a", "issuer", {"issuer"});
  const std::string bank_key = dir + "/bank.pem";
  {
    const auto pem = bank.key.to_pem();
    std::ofstream(bank_key) << std::string_view(reinterpret_cast<const char*>(pem.data()),
                                                pem.size());
  }
  tender::test::guarantee_sim_process sim("bank-a", w.url(), bank_key);
  r = cli({"guarantee", "issuer-register", "--org", "bank-a", "--url", sim.url(), "--fingerprint",
           bank.key.public_part().fingerprint()},
          &w.admin());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  tender::client::options sim_options;
  sim_options.server = sim.url();
  tender::client::client sim_admin(sim_options);
  const std::string valid_until = w.db().query_value(
      "SELECT to_char((deadline_at + interval '30 days') AT TIME ZONE 'UTC', "
      "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') FROM tenders WHERE id = '" +
      t + "'");
  for (const actor* a : {&acme, &brick}) {
    const auto issued =
        sim_admin.request("POST", "/admin/guarantees",
                          json::serialize(json::object{{"applicant", a->org_id},
                                                       {"beneficiary", host.org_id},
                                                       {"tender_code", "SBX-BID-1"},
                                                       {"lot", 1},
                                                       {"amount", 3'000'000},
                                                       {"valid_until", valid_until}}));
    ASSERT_EQ(issued.status, 201u) << issued.body;
    const std::string file = dir + "/" + a->user_id + "-guarantee.json";
    std::ofstream(file) << issued.body;
    r = cli({"guarantee", "attach", t, file, "--lot", "1"}, a);
    ASSERT_EQ(r.exit_code, 0) << r.output;
    EXPECT_TRUE(contains(r.output, "valid")) << r.output;
  }
  r = cli({"guarantee", "apply", t, "--lot", "1", "--issuer", "bank-a", "--code", "PAID-GLASS-1",
           "--wait", "30", "--json"},
          &glass);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(str(last_json(r.output), "state"), "issued") << r.output;
  r = cli({"guarantee", "status", t, "--lot", "1", "--json"}, &glass);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  {
    const auto mine = last_json(r.output);
    ASSERT_TRUE(mine.contains("guarantees")) << r.output;
    ASSERT_EQ(mine.at("guarantees").as_array().size(), 1u) << r.output;
    EXPECT_EQ(str(mine.at("guarantees").at(0).as_object(), "status"), "valid") << r.output;
  }
  EXPECT_EQ(count("SELECT count(*) FROM guarantees WHERE tender_id = '" + t + "'"), 3);

  // --- the deadline (sandbox clock: brought forward to now)
  // ---------------------------------------
  w.db().exec(
      "UPDATE tenders SET deadline_at = date_trunc('second', clock_timestamp()) + "
      "interval '1 second' WHERE id = '" +
      t + "'");
  w.db().exec("UPDATE scheduled_jobs SET due_at = (SELECT deadline_at FROM tenders WHERE id = '" +
              t + "') WHERE subject = '" + t + "' AND kind = 'tender.deadline'");
  ASSERT_TRUE(wait_until(
      [&] {
        return count("SELECT count(*) FROM bid_seals WHERE tender_id = '" + t +
                     "' AND note IS NOT NULL") == 1;
      },
      30s, 50ms))
      << w.server().log();

  // Each counting bid is in the seal; the replaced version and the withdrawn bid are not.
  const std::vector<std::string> seal_args{"verify-seal", "--tender",  t,      "--lot",
                                           "1",           "--log-key", log_key};
  for (const auto& f : {acme_file, brick_v2, glass_file}) {
    auto args = seal_args;
    args.insert(args.end(), {"--sealed", f});
    r = cli(args);
    EXPECT_EQ(r.exit_code, 0) << f << "\n" << r.output;
    EXPECT_TRUE(contains(r.output, "seal VALID")) << r.output;
    EXPECT_TRUE(contains(r.output, "of 3")) << r.output;
  }
  for (const auto& f : {brick_v1, steel_file}) {
    auto args = seal_args;
    args.insert(args.end(), {"--sealed", f});
    r = cli(args);
    EXPECT_EQ(r.exit_code, 1) << f << "\n" << r.output;
    EXPECT_TRUE(contains(r.output, "[seal.not_included]")) << r.output;
  }
  // Saved, the seal verifies offline with the digest from a receipt.
  auto args = seal_args;
  args.insert(args.end(), {"--out", dir + "/seal.json", "--digest", acme_digest, "--json"});
  r = cli(args);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(last_json(r.output).at("count").to_number<std::int64_t>(), 3);
  r = cli({"verify-seal", dir + "/seal.json", "--log-key", log_key, "--digest", brick_v2_digest});
  EXPECT_EQ(r.exit_code, 0) << r.output;

  // After the deadline nothing changes any more, whatever the command.
  const auto bids_before = count("SELECT count(*) FROM bids");
  const auto late = seal(steel, t, "late", 100'000, 6);
  r = cli(with_lot({"upload", late}), &steel);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_TRUE(contains(r.output, "[bid.deadline_passed]")) << r.output;
  r = cli(with_lot({"withdraw"}), &acme);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_TRUE(contains(r.output, "[bid.deadline_passed]")) << r.output;
  {
    const auto issued =
        sim_admin.request("POST", "/admin/guarantees",
                          json::serialize(json::object{{"applicant", steel.org_id},
                                                       {"beneficiary", host.org_id},
                                                       {"tender_code", "SBX-BID-1"},
                                                       {"lot", 1},
                                                       {"amount", 3'000'000},
                                                       {"valid_until", valid_until}}));
    ASSERT_EQ(issued.status, 201u) << issued.body;
    std::ofstream(dir + "/late-guarantee.json") << issued.body;
    r = cli({"guarantee", "attach", t, dir + "/late-guarantee.json", "--lot", "1"}, &steel);
    EXPECT_EQ(r.exit_code, 1) << r.output;
    EXPECT_TRUE(contains(r.output, "[bid.deadline_passed]")) << r.output;
  }
  EXPECT_EQ(count("SELECT count(*) FROM guarantees WHERE tender_id = '" + t + "'"), 3);
  EXPECT_EQ(count("SELECT count(*) FROM bids"), bids_before);
  EXPECT_EQ(count("SELECT count(*) FROM bids WHERE status = 'current'"), 3);
}

// The resume state follows the file: a changed file or an upload the server no longer has starts
// a new upload instead of appending to the wrong one.
TEST_F(submission_cli, a_stale_resume_state_starts_a_new_upload) {
  auto& acme = w.user("acme-bid", "acme", "bidder", {"bidder"});
  const std::string t = publish_tender(600);
  const auto file = seal(acme, t, "bid", 600'000, 7);
  const std::vector<std::string> base{"upload",       "--tender", t,        "--lot", "1",
                                      "--chunk-size", "100000",   "--json", file};
  auto stopped = base;
  stopped.insert(stopped.end() - 1, {"--stop-after", "200000"});
  auto r = cli(stopped, &acme);
  ASSERT_EQ(r.exit_code, 1) << r.output;
  const auto first = json::parse(tender::test::read_file(file + ".upload.json")).as_object();
  const std::string first_id = str(first, "upload_id");
  // The upload is terminated on the server (as the deadline would void it): a re-run notices.
  ASSERT_EQ(acme.api
                ->request("DELETE", "/api/v1/uploads/" + first_id, {}, "application/json",
                          {{"Tus-Resumable", "1.0.0"}})
                .status,
            204u);
  r = cli(base, &acme);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "starting a new upload")) << r.output;
  const auto done = last_json(r.output);
  EXPECT_NE(str(done, "upload_id"), first_id);
  EXPECT_FALSE(done.at("resumed").as_bool());
  EXPECT_EQ(count("SELECT count(*) FROM bids WHERE status = 'current'"), 1);

  // A file sealed for another lot is refused before anything is sent.
  const auto uploads_before = count("SELECT count(*) FROM uploads");
  r = cli({"upload", "--tender", t, "--lot", "2", file}, &acme);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_TRUE(contains(r.output, "[bid.wrong_tender]")) << r.output;
  EXPECT_EQ(count("SELECT count(*) FROM uploads"), uploads_before);
}

}  // namespace
