// `tender audit verify` without a server: help, usage mistakes, and inputs refused before any
// request is made. The verification itself runs against the real tenderd in tests/e2e.
#include <tender/cli/cli.hpp>

#include "cli_harness.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <unistd.h>

namespace {

using tender::test::cli_result;
using tender::test::contains;
using tender::test::read_text;
using tender::test::run_cli;
using tender::test::temp_dir;

std::string temp_file(const std::string& name, const std::string& content) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("th-cli-audit-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto path = dir / name;
  std::ofstream(path) << content;
  return path.string();
}

// A port nothing listens on: any request would fail with client.connect_failed.
const std::string nowhere = "http://127.0.0.1:1";

}  // namespace

TEST(cli_audit, help_documents_the_verdict_codes) {
  const auto r = run_cli({"audit", "verify", "--help"});
  EXPECT_EQ(r.code, 0);
  for (const char* code : {"audit.event_mismatch", "audit.missing_events", "audit.root_mismatch",
                           "audit.consistency_failed", "--state FILE", "Examples:"}) {
    EXPECT_NE(r.out.find(code), std::string::npos) << code;
  }
  EXPECT_NE(run_cli({"--help"}).out.find("audit verify"), std::string::npos);
}

TEST(cli_audit, usage_mistakes_exit_2) {
  auto r = run_cli({"audit", "verify", "--key", "a", "--key-file", "b"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("not both"), std::string::npos) << r.err;
  r = run_cli({"audit", "verify", "--spot-checks", "5000"});
  EXPECT_EQ(r.code, 2);
  r = run_cli({"audit", "verify", "--spot-checks", "many"});
  EXPECT_EQ(r.code, 2);
}

TEST(cli_audit, a_malformed_key_or_state_is_refused_before_any_request) {
  auto r = run_cli({"--server", nowhere, "audit", "verify", "--key", "not-a-key"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("[note.bad_key]"), std::string::npos) << r.err;

  const auto not_json = temp_file("state1.json", "hello");
  r = run_cli({"--server", nowhere, "audit", "verify", "--state", not_json, "--json"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find(R"("error":"audit.bad_state")"), std::string::npos) << r.out << r.err;

  // A state whose checkpoint does not verify with its own key (hand-edited, or not a state).
  const auto forged = temp_file(
      "state2.json",
      R"({"format":"tenderhall-audit-state/v1","origin":"tenderhall/local",)"
      R"("verifier_key":"tenderhall/local+78efe2a7+AV7im2i3eauejdMzf4Ccajqgt5z2biiEvYaaiHSjHTi9",)"
      R"("size":5,"root":"00","checkpoint":"tenderhall/local\n5\nbSB6xlJmFL4f6w7iAOceIx7+7mX44MrSkVdIEMkCH4k=\n\n— tenderhall/local eO/ip+P2/4TL9D1b3z69TL2QNU2kHQcv5aAIsJY8odSx2eaP0lDM0PuCJkiHo3XDmacjAcYWIDhH1Ryv7GIjPLSmcAA=\n"})");
  r = run_cli({"--server", nowhere, "audit", "verify", "--state", forged});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("[audit.bad_state]"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("note.bad_signature"), std::string::npos) << r.err;

  // A missing state file is a first run: the command goes on to the server.
  r = run_cli({"--server", nowhere, "audit", "verify", "--state", not_json + ".none", "--json"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find(R"("error":"client.connect_failed")"), std::string::npos) << r.out;
}
