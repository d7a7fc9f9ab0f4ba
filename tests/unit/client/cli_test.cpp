#include <tender/cli/cli.hpp>

#include <tender/client/client.hpp>
#include "cli_harness.hpp"

#include <gtest/gtest.h>

#include <sstream>

namespace {

using tender::test::cli_result;
using tender::test::contains;
using tender::test::read_text;
using tender::test::run_cli;
using tender::test::temp_dir;

}  // namespace

TEST(cli, help_lists_commands_and_global_options) {
  const auto r = run_cli({"--help"});
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("--server URL"), std::string::npos);
  EXPECT_NE(r.out.find("  status"), std::string::npos);
}

TEST(cli, every_command_has_help) {
  const auto r = run_cli({"status", "--help"});
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("Usage:"), std::string::npos);
  EXPECT_NE(r.out.find("Examples:"), std::string::npos);
  const auto via_help = run_cli({"help", "status"});
  EXPECT_EQ(via_help.code, 0);
  EXPECT_EQ(via_help.out, r.out);
}

TEST(cli, usage_errors_exit_2_with_a_message) {
  auto r = run_cli({"frobnicate"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("unknown command 'frobnicate'"), std::string::npos);
  r = run_cli({"--bogus", "status"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("unknown global option '--bogus'"), std::string::npos);
  r = run_cli({"status", "--bogus"});
  EXPECT_EQ(r.code, 2);
  r = run_cli({"--server"});
  EXPECT_EQ(r.code, 2);
  r = run_cli({});
  EXPECT_EQ(r.code, 2);
}

TEST(cli, bad_server_url_is_a_clear_failure) {
  const auto r = run_cli({"--server", "ftp://example", "status"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("client.bad_url"), std::string::npos);
}

TEST(client, rejects_urls_it_cannot_use) {
  for (const char* bad : {"not a url", "ftp://host", "http://", "://x"}) {
    try {
      tender::client::client c(tender::client::options{bad});
      ADD_FAILURE() << bad << " accepted";
    } catch (const tender::client::error& e) {
      EXPECT_EQ(e.code(), "client.bad_url") << bad;
    }
  }
  EXPECT_NO_THROW(tender::client::client(tender::client::options{"http://127.0.0.1:1/base/"}));
}
