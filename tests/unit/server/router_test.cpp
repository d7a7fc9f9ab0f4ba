#include <tender/net/http.hpp>

#include <gtest/gtest.h>

using tender::net::request;
using tender::net::response;
using tender::net::router;
using tender::protocol::errc;

namespace {

tender::net::handler answer(unsigned status) {
  return [status](request&) -> boost::asio::awaitable<response> {
    co_return response::json(status, "{}");
  };
}

}  // namespace

TEST(router, literal_and_parameter_segments) {
  router r(router::options{100});
  r.add("GET", "/healthz", answer(200));
  r.add("GET", "/api/v1/tenders/{id}", answer(201), 5000);
  r.add("POST", "/api/v1/tenders/{id}/lots/{lot}", answer(202));

  auto m = r.match("GET", "/healthz");
  ASSERT_NE(m.target, nullptr);
  EXPECT_EQ(m.body_limit, 100u);

  m = r.match("GET", "/api/v1/tenders/T-42");
  ASSERT_NE(m.target, nullptr);
  EXPECT_EQ(m.params.at("id"), "T-42");
  EXPECT_EQ(m.body_limit, 5000u);

  m = r.match("POST", "/api/v1/tenders/T-1/lots/3/");
  ASSERT_NE(m.target, nullptr);
  EXPECT_EQ(m.params.at("lot"), "3");
}

TEST(router, unknown_path_and_wrong_method) {
  router r;
  r.add("GET", "/a", answer(200));
  r.add("PUT", "/a", answer(200));
  auto m = r.match("GET", "/b");
  EXPECT_EQ(m.target, nullptr);
  ASSERT_TRUE(m.error);
  EXPECT_EQ(*m.error, errc::not_found);

  m = r.match("DELETE", "/a");
  EXPECT_EQ(m.target, nullptr);
  ASSERT_TRUE(m.error);
  EXPECT_EQ(*m.error, errc::method_not_allowed);
  EXPECT_EQ(m.allow, "GET, PUT");

  m = r.match("GET", "/a/extra");
  EXPECT_EQ(*m.error, errc::not_found);
}

TEST(router, websocket_routes_are_separate) {
  router r;
  r.add_websocket("/ws/halls/{hall}", {});
  auto m = r.match_websocket("/ws/halls/7");
  ASSERT_NE(m.websocket, nullptr);
  EXPECT_EQ(m.params.at("hall"), "7");
  EXPECT_EQ(r.match_websocket("/ws/other").websocket, nullptr);
  // A plain GET on a WebSocket-only path is a method problem, not a missing route.
  auto plain = r.match("GET", "/ws/halls/7");
  EXPECT_EQ(plain.target, nullptr);
  EXPECT_EQ(*plain.error, errc::method_not_allowed);
}

TEST(request, header_lookup_is_case_insensitive) {
  request q;
  q.headers = {{"Content-Type", "application/json"}, {"X-A", "1"}};
  EXPECT_EQ(q.header("content-type").value_or(""), "application/json");
  EXPECT_EQ(q.header("x-a").value_or(""), "1");
  EXPECT_FALSE(q.header("missing"));
}
