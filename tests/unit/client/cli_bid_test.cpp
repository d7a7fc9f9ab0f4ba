// `tender upload | withdraw | bid show | rehearse` without a server: help that teaches, usage
// mistakes, and inputs refused locally before any request (a port nothing listens on would turn
// any request into client.connect_failed). The commands against the real tenderd are in
// tests/e2e/submission_cli_test.cpp.
#include <tender/crypto/init.hpp>
#include <tender/crypto/keys.hpp>
#include <tender/crypto/sealed_bid.hpp>
#include <tender/crypto/suite.hpp>

#include "cli_harness.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace {

namespace tc = tender::crypto;
using tender::test::contains;
using tender::test::run_cli;
using tender::test::temp_dir;

const std::string nowhere = "http://127.0.0.1:1";

struct sealed_fixture {
  temp_dir dir;
  std::string file = dir / "bid.thsb";
  std::string key = dir / "enc.pem";
  std::string other_key = dir / "other.pem";
  std::string token = dir / "token";

  sealed_fixture() {
    tc::init();
    const auto& suite = tc::get_suite(tc::suite_id::sodium);
    const auto enc = tc::private_key::generate(suite.encryption_key_type());
    const auto other = tc::private_key::generate(suite.encryption_key_type());
    tc::sealed::seal_params p;
    p.tender_id = "t-0123456789abcdef/1";
    p.bidder_id = "acme";
    p.bidder_keys = {enc.public_part()};
    p.signing_key = tc::private_key::generate(suite.signature_key_type());
    std::istringstream body("the bid");
    std::ofstream out(file, std::ios::binary);
    tc::sealed::seal(p, R"({"price":"1"})", body, out);
    const auto write_pem = [](const std::string& path, const tc::private_key& k) {
      const auto pem = k.to_pem();
      std::ofstream(path) << std::string_view(reinterpret_cast<const char*>(pem.data()),
                                              pem.size());
    };
    write_pem(key, enc);
    write_pem(other_key, other);
    std::ofstream(token) << "not-a-real-token\n";
  }
};

TEST(cli_bid, help_teaches_with_examples) {
  for (const auto& cmd : std::vector<std::vector<std::string>>{{"upload", "--help"},
                                                               {"withdraw", "--help"},
                                                               {"bid", "show", "--help"},
                                                               {"rehearse", "--help"}}) {
    const auto r = run_cli(cmd);
    EXPECT_EQ(r.code, 0) << cmd[0];
    EXPECT_TRUE(contains(r.out, "Examples:")) << cmd[0] << r.out;
    EXPECT_TRUE(contains(r.out, "--tender")) << cmd[0];
  }
  const auto up = run_cli({"upload", "--help"});
  for (const char* s : {"FILE.upload.json", "FILE.receipt.json", "--stop-after", "ETA",
                        "bid.deadline_passed", "run\nthe same command again"}) {
    EXPECT_TRUE(contains(up.out, s)) << s;
  }
}

TEST(cli_bid, usage_mistakes_exit_2) {
  sealed_fixture f;
  EXPECT_EQ(run_cli({"upload", f.file}).code, 2);                                     // no --tender
  EXPECT_EQ(run_cli({"upload", "--tender", "t-1", "--lot", "1"}).code, 2);            // no FILE
  EXPECT_EQ(run_cli({"withdraw", "--tender", "t-1"}).code, 2);                        // no --lot
  EXPECT_EQ(run_cli({"rehearse", "--tender", "t-1", "--lot", "1", f.file}).code, 2);  // no --key
  auto r = run_cli({"upload", "--tender", "t-1", "--lot", "1", "--chunk-size", "0", f.file});
  EXPECT_EQ(r.code, 2);
  r = run_cli({"upload", "--tender", "t-1", "--lot", "1", "--stop-after", "x", f.file});
  EXPECT_EQ(r.code, 2);
}

TEST(cli_bid, bad_inputs_are_refused_before_any_request) {
  sealed_fixture f;
  const std::vector<std::string> lot1{"--tender", "t-0123456789abcdef", "--lot",
                                      "1",        "--token-file",       f.token};
  const auto with = [&](std::vector<std::string> head, std::vector<std::string> tail) {
    head.insert(head.begin(), {"--server", nowhere});
    head.insert(head.end(), lot1.begin(), lot1.end());
    head.insert(head.end(), tail.begin(), tail.end());
    return head;
  };
  // A lot that is not a number.
  auto r = run_cli({"--server", nowhere, "withdraw", "--tender", "t-1", "--lot", "first",
                    "--token-file", f.token});
  EXPECT_EQ(r.code, 1);
  EXPECT_TRUE(contains(r.err, "[cli.bad_input]")) << r.err;
  // Not a sealed file.
  std::ofstream(f.dir / "plain.txt") << "hello";
  r = run_cli(with({"upload"}, {f.dir / "plain.txt"}));
  EXPECT_EQ(r.code, 1);
  EXPECT_TRUE(contains(r.err, "[sealed.")) << r.err;
  // Sealed for lot 1, uploaded to lot 2.
  r = run_cli({"--server", nowhere, "upload", "--tender", "t-0123456789abcdef", "--lot", "2",
               "--token-file", f.token, f.file});
  EXPECT_EQ(r.code, 1);
  EXPECT_TRUE(contains(r.err, "[bid.wrong_tender]")) << r.err;
  EXPECT_TRUE(contains(r.err, "t-0123456789abcdef/1")) << r.err;
  // No session.
  r = run_cli({"--server", nowhere, "upload", "--tender", "t-0123456789abcdef", "--lot", "1",
               "--token-file", f.dir / "none", f.file});
  EXPECT_EQ(r.code, 1);
  EXPECT_TRUE(contains(r.err, "tender login")) << r.err;
  // A key that opens no stanza of the file.
  r = run_cli(with({"rehearse"}, {"--key", f.other_key, f.file}));
  EXPECT_EQ(r.code, 1);
  EXPECT_TRUE(contains(r.err, "[sealed.wrong_key]")) << r.err;
  // The right key gets as far as the server (which is not there).
  r = run_cli(with({"rehearse"}, {"--key", f.key, f.file}));
  EXPECT_EQ(r.code, 1);
  EXPECT_TRUE(contains(r.err, "[client.connect_failed]")) << r.err;
  // A resume state file that is not one.
  std::ofstream(f.file + ".upload.json") << "{}";
  r = run_cli(with({"upload"}, {f.file}));
  EXPECT_EQ(r.code, 1);
  EXPECT_TRUE(contains(r.err, "not an upload state file")) << r.err;
  // Nothing was left behind by the refusals.
  EXPECT_FALSE(std::filesystem::exists(f.file + ".receipt.json"));
}

}  // namespace
