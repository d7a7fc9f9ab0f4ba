// The identity endpoints' error codes: their names are a contract with clients, and each goes
// with the HTTP status the API documents.
#include <tender/protocol/errors.hpp>

#include <gtest/gtest.h>

namespace tp = tender::protocol;

TEST(auth_errors, names_and_statuses) {
  const struct {
    tp::errc code;
    const char* name;
    unsigned status;
  } expected[] = {
      {tp::errc::auth_required, "auth.required", 401},
      {tp::errc::auth_invalid_token, "auth.invalid_token", 401},
      {tp::errc::auth_bad_signature, "auth.bad_signature", 401},
      {tp::errc::auth_challenge_expired, "auth.challenge_expired", 401},
      {tp::errc::auth_forbidden, "auth.forbidden", 403},
      {tp::errc::request_bad_json, "request.bad_json", 400},
      {tp::errc::identity_bad_input, "identity.bad_input", 400},
      {tp::errc::identity_bad_key, "identity.bad_key", 400},
      {tp::errc::identity_exists, "identity.exists", 409},
      {tp::errc::identity_not_found, "identity.not_found", 404},
  };
  for (const auto& e : expected) {
    EXPECT_EQ(tp::error_code_name(e.code), e.name);
    EXPECT_EQ(tp::http_status(e.code), e.status) << e.name;
  }
  EXPECT_EQ(tp::error_body(tp::errc::auth_forbidden, "no"),
            R"({"error":{"code":"auth.forbidden","message":"no"}})");
}
