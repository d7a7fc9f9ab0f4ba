// The hall web page in a real browser: tenderd (on a real PostgreSQL) serves GET /hall/{id}, and
// tests/browser/hall_page.mjs drives headless Chromium through playwright-core over a whole
// opening, answering the page's WebSocket with a scripted hall that follows
// protocol/docs/hall-protocol.md. Screenshots of every step go to browser-screenshots/ in the
// test's working directory (build/dev/tests/browser-screenshots/NN-step.png).
#include <world.hpp>

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <string>

using tender::test::on_path;
using tender::test::run_command;
using tender::test::world;

namespace {

constexpr const char* tender_id = "t-00000000000000b1";

}  // namespace

TEST(hall_browser_e2e, page_is_served_as_one_self_contained_document) {
  world w("hall_page");
  auto anon = w.anonymous();
  const auto res = anon->request("GET", std::string("/hall/") + tender_id);
  ASSERT_EQ(res.status, 200u) << res.body.substr(0, 300);
  EXPECT_TRUE(res.body.starts_with("<!doctype html>"));
  // The stylesheet and the script are inlined at build time: no other file is needed.
  EXPECT_EQ(res.body.find("href=\"hall.css\""), std::string::npos);
  EXPECT_EQ(res.body.find("src=\"hall.js\""), std::string::npos);
  EXPECT_NE(res.body.find("<style>"), std::string::npos);
  EXPECT_NE(res.body.find("/ws/halls/"), std::string::npos);
  EXPECT_NE(res.body.find("不见面开标大厅"), std::string::npos);
}

TEST(hall_browser_e2e, page_follows_a_whole_opening_in_chromium) {
  const std::string node_modules = std::string(TENDER_REPO_ROOT) + "/tests/node/node_modules";
  ASSERT_TRUE(std::filesystem::exists(node_modules + "/playwright-core"))
      << "playwright-core is missing: run deploy/install-deps.sh (npm ci in tests/node)";
  ASSERT_TRUE(std::filesystem::exists("/usr/bin/chromium"))
      << "chromium is missing: run deploy/install-deps.sh (deploy/packages.txt)";
  const std::string node = on_path("node");
  ASSERT_FALSE(node.empty()) << "node is not on PATH";
  world w("hall_browser");
  const auto out = std::filesystem::current_path() / "browser-screenshots";
  std::filesystem::remove_all(out);
  const auto r = run_command({node, std::string(TENDER_REPO_ROOT) + "/tests/browser/hall_page.mjs",
                              "--url", w.url() + "/hall/" + tender_id, "--out", out.string()});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("hall page: all checks passed"), std::string::npos) << r.output;
  EXPECT_TRUE(std::filesystem::exists(out / "01-waiting.png"));
}

// Issue 15 §6: free text from bidders, hosts and supervisors (names, objections, answers,
// reasons, summaries, messages) is shown as text; an HTML/JS payload in any of them does not run.
TEST(hall_browser_e2e, payloads_in_every_text_field_are_shown_as_text) {
  const std::string node_modules = std::string(TENDER_REPO_ROOT) + "/tests/node/node_modules";
  ASSERT_TRUE(std::filesystem::exists(node_modules + "/playwright-core"))
      << "playwright-core is missing: run deploy/install-deps.sh (npm ci in tests/node)";
  const std::string node = on_path("node");
  ASSERT_FALSE(node.empty()) << "node is not on PATH";
  world w("hall_xss");
  const auto r = run_command({node, std::string(TENDER_REPO_ROOT) + "/tests/browser/hall_xss.mjs",
                              "--url", w.url() + "/hall/" + tender_id});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("hall xss: all checks passed"), std::string::npos) << r.output;
}
