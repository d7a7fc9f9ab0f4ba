#include <tender/crypto/bytes.hpp>
#include <tender/crypto/digest.hpp>
#include <tender/crypto/error.hpp>
#include <tender/crypto/init.hpp>

#include <gtest/gtest.h>

namespace tc = tender::crypto;

TEST(digest, sha256_known_vectors) {
  tc::init();
  EXPECT_EQ(tc::to_hex(tc::sha256("")),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(tc::to_hex(tc::sha256("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(bytes, hex_and_base64_round_trip_and_reject_garbage) {
  tc::init();
  const tc::bytes data{0x00, 0x01, 0xfe, 0xff, 0x7f};
  EXPECT_EQ(tc::hex_encode(data), "0001feff7f");
  EXPECT_EQ(tc::hex_decode("0001FEff7f"), data);
  EXPECT_EQ(tc::base64_decode(tc::base64_encode(data)), data);
  EXPECT_EQ(tc::base64_encode(tc::as_bytes("foobar")), "Zm9vYmFy");
  try {
    (void)tc::hex_decode("0g");
    FAIL() << "bad hex accepted";
  } catch (const tc::error& e) {
    EXPECT_EQ(e.code(), "encoding.bad_hex");
  }
  EXPECT_THROW((void)tc::hex_decode("abc"), tc::error);
  EXPECT_THROW((void)tc::base64_decode("Zm9v!"), tc::error);
}

TEST(bytes, secure_bytes_moves_and_clones) {
  tc::secure_bytes a(tc::as_bytes("secret"));
  tc::secure_bytes b = a.clone();
  tc::secure_bytes c = std::move(a);
  EXPECT_EQ(c.size(), 6u);
  EXPECT_TRUE(tc::constant_time_equal(b.view(), c.view()));
  c.resize(3);
  EXPECT_EQ(c.size(), 3u);
  EXPECT_FALSE(tc::constant_time_equal(b.view(), c.view()));
}
