// The order of the escrow key ceremony's rounds (core/escrow_ceremony.hpp).

#include <tender/core/escrow_ceremony.hpp>

#include <gtest/gtest.h>

namespace cer = tender::core::ceremony;
using cer::message;
using cer::round;

TEST(escrow_ceremony_rules, each_message_has_its_round) {
  const struct {
    round r;
    message m;
    bool taken;
  } table[] = {
      {round::keys, message::key, true},
      {round::keys, message::dealing, false},
      {round::keys, message::confirmation, false},
      {round::keys, message::complaint, false},
      {round::dealings, message::key, false},
      {round::dealings, message::dealing, true},
      {round::dealings, message::complaint, false},
      {round::confirmations, message::dealing, false},
      {round::confirmations, message::confirmation, true},
      {round::confirmations, message::complaint, true},
      {round::done, message::confirmation, false},
      {round::failed, message::complaint, false},
      {round::superseded, message::key, false},
  };
  for (const auto& row : table) {
    SCOPED_TRACE(std::string(cer::round_name(row.r)) + " / " +
                 std::string(cer::message_name(row.m)));
    const auto why = cer::refuse(row.r, row.m);
    EXPECT_EQ(!why.has_value(), row.taken);
    if (why) EXPECT_EQ(why->code, "ceremony.wrong_round");
  }
  EXPECT_NE(cer::refuse(round::keys, message::dealing)
                ->message.find("once every custodian has "
                               "sent its transport key"),
            std::string::npos);
  EXPECT_NE(cer::refuse(round::done, message::key)->message.find("the ceremony is done"),
            std::string::npos);
}

TEST(escrow_ceremony_rules, a_round_ends_when_every_custodian_has_sent_its_message) {
  EXPECT_EQ(cer::after(round::keys, message::key, 2, 3), round::keys);
  EXPECT_EQ(cer::after(round::keys, message::key, 3, 3), round::dealings);
  EXPECT_EQ(cer::after(round::dealings, message::dealing, 3, 3), round::confirmations);
  EXPECT_EQ(cer::after(round::confirmations, message::confirmation, 2, 3), round::confirmations);
  EXPECT_EQ(cer::after(round::confirmations, message::confirmation, 3, 3), round::done);
  // A complaint never advances a round; a message out of its round changes nothing.
  EXPECT_EQ(cer::after(round::confirmations, message::complaint, 3, 3), round::confirmations);
  EXPECT_EQ(cer::after(round::keys, message::dealing, 3, 3), round::keys);
  for (const auto r : {round::keys, round::dealings, round::confirmations, round::done,
                       round::failed, round::superseded}) {
    EXPECT_EQ(cer::round_from_name(cer::round_name(r)), r);
    EXPECT_EQ(cer::ended(r), r == round::done || r == round::failed || r == round::superseded);
  }
  EXPECT_FALSE(cer::round_from_name("finished"));
}
