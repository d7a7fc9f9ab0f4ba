// The hall actions' parameter table (core/hall_params.hpp): what a well-formed act carries, and
// each way a malformed one is refused before the hall opens a transaction.
#include <tender/core/hall_params.hpp>

#include <boost/json.hpp>

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <variant>

namespace {

namespace json = boost::json;
using tender::core::base64_decoded_size;
using tender::core::check_hall_params;
using tender::core::hall_action_params;
using tender::core::hall_params;
using tender::core::hall_refusal;

const std::string hex64(64, 'a');
const std::string sig = "c2lnbmF0dXJl";                                    // 9 bytes
const std::string key32 = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";  // 32 bytes

std::string refusal(const char* action, const json::object& p) {
  const auto r = check_hall_params(action, p);
  if (const auto* no = std::get_if<hall_refusal>(&r)) return no->code + ": " + no->message;
  return "ok";
}

TEST(hall_params, every_action_of_the_protocol_has_a_row) {
  for (const char* a : {"challenge",    "sign_in",       "commit_host", "check_guarantees",
                        "publish_list", "open_window",   "decrypt",     "help",
                        "share",        "extend_window", "reveal_host", "reveal_representative",
                        "draw",         "announce",      "confirm",     "finish",
                        "object",       "answer",        "pause",       "resume",
                        "suspend",      "unsuspend"}) {
    EXPECT_TRUE(hall_action_params(a).has_value()) << a;
  }
  EXPECT_FALSE(hall_action_params("teleport").has_value());
  EXPECT_EQ(refusal("teleport", {}), "hall.bad_message: unknown action 'teleport'");
}

TEST(hall_params, well_formed_acts_are_read_by_name) {
  const json::object decrypt{
      {"lot", 2},     {"file", "primary"}, {"key_material", key32}, {"challenge_id", "c"},
      {"key", hex64}, {"signature", sig}};
  const auto r = check_hall_params("decrypt", decrypt);
  ASSERT_TRUE(std::holds_alternative<hall_params>(r)) << refusal("decrypt", decrypt);
  const auto& p = std::get<hall_params>(r);
  EXPECT_EQ(p.integer("lot"), 2);
  EXPECT_EQ(p.text("file"), "primary");
  EXPECT_EQ(p.text("key_material"), key32);

  const auto o = check_hall_params("object", {{"text", "异议"}});
  ASSERT_TRUE(std::holds_alternative<hall_params>(o));
  EXPECT_FALSE(std::get<hall_params>(o).optional_integer("lot").has_value());

  const json::object share{{"d", 1}};
  for (const json::value v : {json::value(share), json::value("{\"d\":1}")}) {
    const auto s = check_hall_params("share", {{"lot", 1}, {"org_id", "o"}, {"share", v}});
    ASSERT_TRUE(std::holds_alternative<hall_params>(s));
    EXPECT_EQ(std::get<hall_params>(s).object_text("share"), "{\"d\":1}");
  }
  EXPECT_EQ(refusal("draw", {}), "ok");
}

TEST(hall_params, malformed_acts_are_refused_by_name) {
  struct row {
    const char* action;
    json::object params;
    const char* want;
  };
  const std::string long_reason(501, 'x');
  const row rows[] = {
      {"draw", {{"lot", 1}}, "hall.bad_message: unknown parameter 'lot' for action draw"},
      {"commit_host", {}, "hall.bad_message: parameter 'commitment' of commit_host is required"},
      {"commit_host",
       {{"commitment", nullptr}},
       "hall.bad_message: parameter 'commitment' of commit_host is required"},
      {"commit_host",
       {{"commitment", std::string(64, 'A')}},
       "hall.bad_message: parameter 'commitment' of commit_host must be 64 lower-case hex digits"},
      {"commit_host",
       {{"commitment", std::string(63, 'a')}},
       "hall.bad_message: parameter 'commitment' of commit_host must be 64 lower-case hex digits"},
      {"reveal_host",
       {{"nonce", 7}},
       "hall.bad_message: parameter 'nonce' of reveal_host must be text"},
      {"help",
       {{"lot", 0}, {"text", "t"}},
       "hall.bad_message: parameter 'lot' of help must be 1..999"},
      {"help",
       {{"lot", 1.5}, {"text", "t"}},
       "hall.bad_message: parameter 'lot' of help must be an integer"},
      {"help",
       {{"lot", 1}, {"text", ""}},
       "hall.bad_message: parameter 'text' of help must be 1..500 characters"},
      {"pause",
       {{"reason", long_reason}},
       "hall.bad_message: parameter 'reason' of pause must be 1..500 characters"},
      {"extend_window",
       {{"seconds", 3601}, {"reason", "r"}},
       "hall.bad_message: parameter 'seconds' of extend_window must be 1..3600"},
      {"answer",
       {{"objection_id", -1}, {"text", "t"}},
       "hall.bad_message: parameter 'objection_id' of answer must be 1..9223372036854775807"},
      {"share",
       {{"lot", 1}, {"org_id", "o"}, {"share", json::array{}}},
       "hall.bad_message: parameter 'share' of share must be a JSON object"},
      {"decrypt",
       {{"lot", 1},
        {"file", "primary"},
        {"key_material", sig},
        {"challenge_id", "c"},
        {"key", hex64},
        {"signature", sig}},
       "hall.bad_message: parameter 'key_material' of decrypt must be standard base64 of 32 bytes"},
      {"sign_in",
       {{"challenge_id", "c"}, {"key", hex64}, {"signature", "not base64!"}, {"commitment", hex64}},
       "hall.bad_message: parameter 'signature' of sign_in must be standard base64 of 1..512 "
       "bytes"},
  };
  for (const auto& r : rows)
    EXPECT_EQ(refusal(r.action, r.params), r.want) << r.action;
  // 500 characters of Chinese are 1,500 bytes and fit a 500-character reason.
  std::string chinese;
  for (int i = 0; i < 500; ++i)
    chinese += "开";
  EXPECT_EQ(refusal("pause", {{"reason", chinese}}), "ok");
}

TEST(hall_params, base64_shape_and_size) {
  EXPECT_EQ(base64_decoded_size("AAAA"), 3u);
  EXPECT_EQ(base64_decoded_size("AAA="), 2u);
  EXPECT_EQ(base64_decoded_size("AA=="), 1u);
  EXPECT_EQ(base64_decoded_size(key32), 32u);
  for (const char* bad : {"", "A", "AAA", "A===", "AA=A", "AA A", "AAAA=", "AA-_", "=AAA"})
    EXPECT_FALSE(base64_decoded_size(bad).has_value()) << bad;
}

TEST(hall_params, reading_an_undeclared_parameter_is_a_programming_error) {
  const auto r = check_hall_params("help", {{"lot", 1}, {"text", "t"}});
  ASSERT_TRUE(std::holds_alternative<hall_params>(r));
  const auto& p = std::get<hall_params>(r);
  EXPECT_THROW((void)p.text("reason"), std::logic_error);
  EXPECT_THROW((void)p.text("lot"), std::logic_error);  // declared, but an integer
  EXPECT_THROW((void)p.integer("text"), std::logic_error);
}

}  // namespace
