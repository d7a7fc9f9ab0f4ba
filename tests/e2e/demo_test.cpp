// `tender demo` (README command 1's story, docs/HALL.md "Demo") end to end: the built CLI plays a
// whole opening with 8 bidders against the real tenderd and a guarantee-sim process, through the
// API only. The hall URL comes before the first bidder, the run ends with the path of a record
// that verifies with the audit log's key, and the failures the story stages are in that record.
#include <world.hpp>

#include <tender/crypto/opening_record.hpp>
#include <tender/crypto/signed_note.hpp>

#include <boost/json.hpp>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>

namespace {

namespace json = boost::json;
namespace tc = tender::crypto;
using tender::test::world;

void write_pem(const std::string& path, const tc::private_key& key) {
  const auto pem = key.to_pem();
  std::ofstream out(path);
  out.write(reinterpret_cast<const char*>(pem.data()), static_cast<std::streamsize>(pem.size()));
}

// The text after `label` up to the end of its line.
std::string line_after(const std::string& text, const std::string& label) {
  const auto at = text.find(label);
  if (at == std::string::npos) return {};
  const auto from = at + label.size();
  return text.substr(from, text.find('\n', from) - from);
}

TEST(demo_e2e, whole_story_with_eight_bidders) {
  world w("demo", {{"TENDERD_SCHEDULER_POLL_INTERVAL_MS", "100"}});
  const auto dir = tender::test::make_temp_dir("demo");
  write_pem(dir + "/admin.pem", w.admin().key);
  write_pem(dir + "/bank.pem", tc::private_key::generate(tc::key_type::ed25519));
  tender::test::guarantee_sim_process sim("demo-bank", w.url(), dir + "/bank.pem");

  const auto r = tender::test::run_command({TENDER_CLI_PATH,
                                            "--server",
                                            w.url(),
                                            "demo",
                                            "--admin-key",
                                            dir + "/admin.pem",
                                            "--guarantee-sim",
                                            sim.url(),
                                            "--bidders",
                                            "8",
                                            "--pause",
                                            "0",
                                            "--window",
                                            "10",
                                            "--confirm-window",
                                            "5",
                                            "--deadline-in",
                                            "62",
                                            "--run",
                                            "e2e",
                                            "--out",
                                            dir + "/out"});
  ASSERT_EQ(r.exit_code, 0) << r.output << "\n--- guarantee-sim:\n" << sim.log();

  // The hall URL first, before any bidder step.
  const auto url_at = r.output.find("hall URL:  " + w.url() + "/hall/t-");
  const auto bidder_at = r.output.find("bidder 01 ");
  ASSERT_NE(url_at, std::string::npos) << r.output;
  ASSERT_NE(bidder_at, std::string::npos) << r.output;
  EXPECT_LT(url_at, bidder_at);

  // The record it names exists and verifies.
  const std::string path = line_after(r.output, "opening record: ");
  ASSERT_FALSE(path.empty()) << r.output;
  ASSERT_TRUE(std::filesystem::exists(path)) << path;
  EXPECT_TRUE(
      std::filesystem::exists(std::filesystem::path(path).parent_path() / "opening-record.html"));
  const auto text = tender::test::read_file(path);
  auto anon = w.anonymous();
  const auto check = tc::verify_record_file(text, tc::note::parse_verifier_key(anon->log_key()));
  EXPECT_EQ(path.find(check.tender_id) != std::string::npos, true) << path;
  // Six listed bidders, one silent.
  EXPECT_EQ(check.confirmations, 5u);
  EXPECT_EQ(check.confirmations_verified, 5u);

  // The staged failures, as the record has them.
  const auto record = json::parse(text).at("record").as_object();
  std::map<std::string, json::object> dec;
  for (const auto& row : record.at("decryption").as_array())
    dec[std::string(row.at("org_id").as_string())] = row.as_object();
  ASSERT_EQ(dec.size(), 8u);
  // Bidder 07's guarantee was revoked, bidder 08 had none: neither is listed.
  EXPECT_FALSE(dec["demo-e2e-bidder07"].at("listed").as_bool());
  EXPECT_EQ(dec["demo-e2e-bidder07"].at("guarantee").as_string(), "invalid");
  EXPECT_FALSE(dec["demo-e2e-bidder08"].at("listed").as_bool());
  EXPECT_EQ(dec["demo-e2e-bidder08"].at("guarantee").as_string(), "none");
  EXPECT_TRUE(dec["demo-e2e-bidder06"].at("listed").as_bool());
  ASSERT_EQ(dec.count("demo-e2e-bidder03"), 1u);
  EXPECT_EQ(dec["demo-e2e-bidder03"].at("status").as_string(), "failed");
  EXPECT_EQ(dec["demo-e2e-bidder03"].at("cause").as_string(), "no_attempt");
  EXPECT_EQ(dec["demo-e2e-bidder03"].at("treatment").as_string(), "revoked");
  ASSERT_EQ(dec.count("demo-e2e-bidder01"), 1u);
  EXPECT_EQ(dec["demo-e2e-bidder01"].at("status").as_string(), "done");
  EXPECT_EQ(dec["demo-e2e-bidder01"].at("via").as_string(), "backup");
  ASSERT_EQ(dec.count("demo-e2e-bidder02"), 1u);
  EXPECT_EQ(dec["demo-e2e-bidder02"].at("status").as_string(), "done");
  EXPECT_EQ(dec["demo-e2e-bidder02"].at("attempts").to_number<std::int64_t>(), 2);
  const auto& silent = record.at("silent").as_array();
  ASSERT_EQ(silent.size(), 1u);
  EXPECT_EQ(silent[0].as_string(), "demo-e2e-bidder04");
  EXPECT_FALSE(record.at("objections").as_array().empty());
  EXPECT_NE(r.output.find("in the record: demo-e2e-bidder03 failed (no_attempt"), std::string::npos)
      << r.output;
}

}  // namespace
