// The e2e world itself: users of several roles are created and signed in, each sees itself.
#include <world.hpp>

#include <gtest/gtest.h>

TEST(e2e_world, users_of_each_role_sign_in_and_see_themselves) {
  tender::test::world w("world");
  auto& bidder = w.user("b1", "acme", "bidder", {"bidder"});
  auto& host = w.user("h1", "city-works", "tenderer", {"tenderer"}, /*sm2=*/true);
  EXPECT_EQ(bidder.api->whoami().user.id, "b1");
  EXPECT_EQ(host.api->whoami().org.kind, "tenderer");
  EXPECT_EQ(&w.user("b1", "acme", "bidder", {"bidder"}), &bidder);
  EXPECT_EQ(w.rows("users"), 3);
  const auto anon = w.anonymous()->request("GET", "/api/v1/me");
  EXPECT_EQ(anon.status, 401u);
  EXPECT_EQ(tender::test::error_code_of(anon), "auth.required");
}
