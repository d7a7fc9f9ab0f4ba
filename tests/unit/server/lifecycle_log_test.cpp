#include <tender/core/lifecycle.hpp>
#include <tender/core/log.hpp>

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include <sstream>

namespace tlog = tender::core::log;

class captured_log : public ::testing::Test {
protected:
  void SetUp() override {
    tlog::set_sink(&out_);
    tlog::set_level(tlog::level::info);
  }
  void TearDown() override { tlog::set_sink(nullptr); }
  std::vector<boost::json::object> lines() const {
    std::vector<boost::json::object> result;
    std::istringstream in(out_.str());
    std::string line;
    while (std::getline(in, line))
      result.push_back(boost::json::parse(line).as_object());
    return result;
  }
  std::ostringstream out_;
};

TEST_F(captured_log, each_line_is_one_json_object_with_fields) {
  tlog::info("listening", {{"port", 8080}, {"text", "a\nb"}});
  tlog::debug("hidden below the level");
  tlog::error("boom");
  const auto l = lines();
  ASSERT_EQ(l.size(), 2u);
  EXPECT_EQ(l[0].at("msg").as_string(), "listening");
  EXPECT_EQ(l[0].at("level").as_string(), "info");
  EXPECT_EQ(l[0].at("port").as_int64(), 8080);
  EXPECT_EQ(l[0].at("text").as_string(), "a\nb");
  EXPECT_EQ(l[0].at("ts").as_string().size(), 24u);  // 2026-11-22T20:35:52.123Z
  EXPECT_EQ(l[1].at("level").as_string(), "error");
}

TEST_F(captured_log, lifecycle_stops_in_reverse_order_even_after_a_failure) {
  tender::core::lifecycle life;
  std::vector<std::string> calls;
  life.started("database", [&](auto) { calls.push_back("database"); });
  life.started("cache", [&](auto) {
    calls.push_back("cache");
    throw std::runtime_error("cache would not stop");
  });
  life.started("http", [&](auto) { calls.push_back("http"); });
  const auto order = life.stop_all(std::chrono::steady_clock::now() + std::chrono::seconds(1));
  EXPECT_EQ(calls, (std::vector<std::string>{"http", "cache", "database"}));
  EXPECT_EQ(order, calls);
  EXPECT_EQ(life.size(), 0u);
  EXPECT_TRUE(life.stop_all(std::chrono::steady_clock::now()).empty());
  bool saw_failure = false;
  for (const auto& l : lines()) {
    if (l.at("msg").as_string() == "stop failed") saw_failure = true;
  }
  EXPECT_TRUE(saw_failure);
}
