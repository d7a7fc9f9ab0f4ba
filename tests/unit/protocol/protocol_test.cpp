#include <tender/protocol/errors.hpp>
#include <tender/protocol/health.hpp>

#include <gtest/gtest.h>
#include <boost/json.hpp>

namespace tp = tender::protocol;

TEST(errors, codes_are_stable_strings_with_matching_statuses) {
  EXPECT_EQ(tp::error_code_name(tp::errc::not_found), "route.not_found");
  EXPECT_EQ(tp::http_status(tp::errc::not_found), 404u);
  EXPECT_EQ(tp::error_code_name(tp::errc::header_too_large), "http.header_too_large");
  EXPECT_EQ(tp::http_status(tp::errc::header_too_large), 431u);
  EXPECT_EQ(tp::http_status(tp::errc::body_too_large), 413u);
  EXPECT_EQ(tp::http_status(tp::errc::bad_request), 400u);
  EXPECT_EQ(tp::http_status(tp::errc::not_ready), 503u);
}

TEST(errors, body_is_json_with_code_and_message_escaped) {
  const auto body = tp::error_body(tp::errc::bad_request, "quote \" and newline \n");
  const auto v = boost::json::parse(body);
  EXPECT_EQ(v.at("error").at("code").as_string(), "http.bad_request");
  EXPECT_EQ(v.at("error").at("message").as_string(), "quote \" and newline \n");
}

TEST(health, round_trips) {
  tp::health h{"ok", "tenderd", "1.2.3", "abcd", 12.5};
  const auto back = tp::parse_health(tp::to_json(h));
  EXPECT_EQ(back.status, "ok");
  EXPECT_EQ(back.version, "1.2.3");
  EXPECT_EQ(back.node_id, "abcd");
  EXPECT_DOUBLE_EQ(back.uptime_seconds, 12.5);
}

TEST(readiness, round_trips_and_rejects_wrong_shapes) {
  tp::readiness r;
  r.ready = false;
  r.reason = "database unreachable";
  r.database = "down";
  r.schema_version = 0;
  r.expected_schema_version = 3;
  r.attempts = 7;
  const auto back = tp::parse_readiness(tp::to_json(r));
  EXPECT_FALSE(back.ready);
  EXPECT_EQ(back.reason, "database unreachable");
  EXPECT_EQ(back.expected_schema_version, 3);
  EXPECT_EQ(back.attempts, 7);

  EXPECT_THROW(tp::parse_readiness("not json"), std::invalid_argument);
  EXPECT_THROW(tp::parse_readiness("[]"), std::invalid_argument);
  EXPECT_THROW(tp::parse_readiness(R"({"ready":"yes"})"), std::invalid_argument);
  try {
    tp::parse_readiness(R"({"ready":true,"reason":"","database":"up","schema_version":1})");
    FAIL() << "missing field accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("expected_schema_version"), std::string::npos);
  }
}
