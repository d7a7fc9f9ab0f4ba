// `tender hall …`, `tender record verify` and `tender verify-draw` on hall draws, without a
// server: every hall command documents itself, a draw as the hall publishes it verifies (and a
// changed one does not), and an opening record file is checked against the audit log's key.
// The hall commands against the real tenderd run in tests/e2e/hall_*_test.cpp.
#include <tender/cli/cli.hpp>
#include <tender/crypto/canonical_json.hpp>
#include <tender/crypto/digest.hpp>
#include <tender/crypto/draw.hpp>
#include <tender/crypto/init.hpp>
#include <tender/crypto/signed_note.hpp>

#include "cli_harness.hpp"

#include <boost/json.hpp>

#include <gtest/gtest.h>

#include <fstream>

namespace {

using tender::test::contains;
using tender::test::run_cli;
using tender::test::temp_dir;
namespace tc = tender::crypto;
namespace json = boost::json;

void write_text(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
}

TEST(cli_hall, every_hall_command_has_help_with_examples) {
  const auto overview = run_cli({"hall", "--help"});
  EXPECT_EQ(overview.code, 0);
  for (const char* c :
       {"watch",       "sign-in", "join",        "decrypt",   "backup",           "confirm",
        "reveal",      "commit",  "reveal-host", "share",     "check-guarantees", "publish-list",
        "open-window", "extend",  "draw",        "announce",  "finish",           "answer",
        "pause",       "resume",  "suspend",     "unsuspend", "object",           "help"}) {
    EXPECT_TRUE(contains(overview.out, std::string("tender hall ") + c)) << c;
    const auto r = run_cli({"hall", c, "--help"});
    EXPECT_EQ(r.code, 0) << c << r.err;
    EXPECT_TRUE(contains(r.out, "Usage:")) << c;
    EXPECT_TRUE(contains(r.out, "Example")) << c;
  }
  EXPECT_EQ(run_cli({"hall", "no-such-step"}).code, 2);
  // Missing required options are usage errors, before any connection.
  EXPECT_EQ(run_cli({"--server", "http://127.0.0.1:1", "hall", "extend", "--tender", "t-1"}).code,
            2);
  const auto r = run_cli({"record", "verify", "--help"});
  EXPECT_EQ(r.code, 0);
  EXPECT_TRUE(contains(r.out, "--log-key"));
}

json::object hall_draw() {
  tc::draw_inputs in;
  in.seed_materials = {{"checkpoint_root", {'r', 'o', 'o', 't'}},
                       {"host_reveal", tc::bytes(32, 7)},
                       {"representative:o-3", tc::bytes(32, 9)},
                       {"draw_id", {'t', '/', 'l', 'o', 't', '/', '1'}}};
  in.candidates = {"0.05", "0.08", "0.10"};
  in.count = 1;
  const auto r = tc::run_draw(in);
  json::array materials;
  for (const auto& m : in.seed_materials)
    materials.push_back(json::object{{"label", m.label}, {"value", tc::hex_encode(m.value)}});
  return {{"algorithm", tc::draw_domain},
          {"seed_materials", materials},
          {"candidates", json::array{"0.05", "0.08", "0.10"}},
          {"exclusions", json::array{}},
          {"count", 1},
          {"seed", tc::to_hex(r.seed)},
          {"selected", json::array{json::value(r.selected[0])}}};
}

TEST(cli_hall, verify_draw_accepts_draws_as_the_hall_publishes_them) {
  tc::init();
  temp_dir dir;
  const auto d = hall_draw();
  const json::object event{
      {"type", "event"},
      {"seq", 40},
      {"kind", "parameters_drawn"},
      {"data",
       {{"draws", json::array{json::object{
                      {"lot", 1}, {"value", d.at("selected").as_array()[0]}, {"draw", d}}}}}}};
  write_text(dir / "event.json", json::serialize(event));
  auto r = run_cli({"verify-draw", dir / "event.json"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "draw record OK")) << r.out;

  // Another selection than the inputs give: refused.
  auto changed = d;
  const std::string other = d.at("selected").as_array()[0].as_string() == "0.05" ? "0.08" : "0.05";
  changed["selected"] = json::array{json::value(other)};
  const json::object rep{{"representative", "o-3"}, {"draw", changed}};
  write_text(dir / "rep.json", json::serialize(rep));
  r = run_cli({"verify-draw", dir / "rep.json"});
  EXPECT_EQ(r.code, 1);
  EXPECT_TRUE(contains(r.err, "[cli.draw_mismatch]")) << r.err;
}

TEST(cli_hall, record_verify_checks_digest_and_signature) {
  tc::init();
  temp_dir dir;
  const auto signer = tc::note::ed25519_signer::generate("log.example");
  const json::object record{{"format", "tenderhall-opening-record/v1"},
                            {"tender", {{"id", "t-0000000000000001"}}},
                            {"lots", json::array{}},
                            {"confirmations", json::array{}},
                            {"record_digest", std::string(64, 'a')}};
  const std::string digest = tc::to_hex(tc::sha256(tc::canonical_json(record)));
  const tc::note::ed25519_signer* signers[] = {&signer};
  const std::string note =
      tc::note::sign("tenderhall opening record v1\nt-0000000000000001\n" + digest + "\n", signers);
  const json::object file{{"record", record}, {"digest", digest}, {"note", note}, {"log_index", 5}};
  write_text(dir / "record.json", json::serialize(file));
  const std::string key = tc::note::format_verifier_key(signer.verifier());
  auto r = run_cli({"record", "verify", dir / "record.json", "--log-key", key});
  EXPECT_EQ(r.code, 0) << r.err;

  // The record changed after signing.
  auto edited = file;
  edited["record"].as_object()["lots"] = json::array{json::object{{"lot", 1}}};
  write_text(dir / "edited.json", json::serialize(edited));
  r = run_cli({"record", "verify", dir / "edited.json", "--log-key", key});
  EXPECT_EQ(r.code, 1) << r.out;

  // Another key than the log's.
  const auto other = tc::note::ed25519_signer::generate("log.example");
  r = run_cli({"record", "verify", dir / "record.json", "--log-key",
               tc::note::format_verifier_key(other.verifier())});
  EXPECT_EQ(r.code, 1) << r.out;
}

}  // namespace
