// Keys and suites: PEM round trips that the `openssl` command line reads and writes, SM2
// signatures with the distinguishing ID checked against `openssl pkeyutl`/`dgst` in both
// directions, SM2 encryption and X25519 against the CLI, and the suites' primitives against known
// answers (RFC 5869) or the CLI (SM4-CTR, HMAC-SM3).

#include "openssl_cli_support.hpp"
#include "sealed_support.hpp"

#include <tender/crypto/digest.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>

namespace {

using namespace sealed_test;
using cli_test::scratch_dir;

std::string text_of(const tc::secure_bytes& b) {
  return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}

std::string upper_hex(tc::byte_view b) {
  std::string h = tc::hex_encode(b);
  std::transform(h.begin(), h.end(), h.begin(), [](unsigned char c) { return std::toupper(c); });
  return h;
}

class keys_cli : public testing::Test {
protected:
  void SetUp() override {
    tc::init();
    if (!cli_test::have_openssl()) GTEST_SKIP() << "no /usr/bin/openssl";
  }
  scratch_dir dir_;
};

TEST_F(keys_cli, keys_we_write_load_with_openssl_pkey_and_back) {
  for (const tc::key_type t : {tc::key_type::x25519, tc::key_type::ed25519, tc::key_type::sm2}) {
    SCOPED_TRACE(std::string(tc::key_type_name(t)));
    const tc::private_key k = tc::private_key::generate(t);
    dir_.write("k.pem", text_of(k.to_pem()));
    ASSERT_EQ(dir_.openssl("pkey -in k.pem -noout"), 0);
    // openssl derives the same public key we do, byte for byte in PEM.
    ASSERT_EQ(dir_.openssl("pkey -in k.pem -pubout -out pub.pem"), 0);
    EXPECT_EQ(dir_.read("pub.pem"), k.public_part().to_pem());
    // The fingerprint is SHA-256 over openssl's DER SubjectPublicKeyInfo.
    ASSERT_EQ(dir_.openssl("pkey -pubin -in pub.pem -outform DER -out pub.der"), 0);
    EXPECT_EQ(k.public_part().fingerprint(), tc::to_hex(tc::sha256(dir_.read_bytes("pub.der"))));
    EXPECT_TRUE(tc::public_key::from_der(dir_.read_bytes("pub.der")) == k.public_part());

    // Passphrase-encrypted PKCS#8.
    dir_.write("enc.pem", text_of(k.to_pem("correct horse")));
    EXPECT_NE(dir_.read("enc.pem").find("BEGIN ENCRYPTED PRIVATE KEY"), std::string::npos);
    EXPECT_EQ(dir_.openssl("pkey -in enc.pem -passin pass:'correct horse' -noout"), 0);
    EXPECT_NE(dir_.openssl("pkey -in enc.pem -passin pass:wrong -noout"), 0);
    const tc::private_key back = tc::private_key::from_pem(dir_.read("enc.pem"), "correct horse");
    EXPECT_TRUE(back.public_part() == k.public_part());
    EXPECT_TRUE(tc::constant_time_equal(back.raw().view(), k.raw().view()));
    EXPECT_EQ(code_of([&] { (void)tc::private_key::from_pem(dir_.read("enc.pem"), "wrong"); }),
              tc::key_codes::bad_passphrase);
    EXPECT_EQ(code_of([&] { (void)tc::private_key::from_pem(dir_.read("enc.pem")); }),
              tc::key_codes::bad_passphrase);
  }
}

TEST_F(keys_cli, keys_openssl_writes_load_here) {
  for (const auto& [name, type] :
       {std::pair{"X25519", tc::key_type::x25519}, std::pair{"ED25519", tc::key_type::ed25519},
        std::pair{"SM2", tc::key_type::sm2}}) {
    SCOPED_TRACE(name);
    ASSERT_EQ(dir_.openssl(std::string("genpkey -algorithm ") + name + " -out g.pem"), 0);
    ASSERT_EQ(dir_.openssl("pkey -in g.pem -pubout -out gp.pem"), 0);
    const tc::private_key k = tc::private_key::from_pem(dir_.read("g.pem"));
    EXPECT_EQ(k.type(), type);
    const tc::public_key p = tc::public_key::from_pem(dir_.read("gp.pem"));
    EXPECT_EQ(p.type(), type);
    EXPECT_TRUE(p == k.public_part());
    // Raw encodings round-trip.
    EXPECT_TRUE(tc::public_key::from_raw(type, p.raw()) == p);
    EXPECT_TRUE(tc::private_key::from_raw(type, k.raw().view()).public_part() == p);
    // An encrypted key from openssl.
    ASSERT_EQ(dir_.openssl("pkey -in g.pem -aes-256-cbc -passout pass:s3cret -out ge.pem"), 0);
    EXPECT_TRUE(tc::private_key::from_pem(dir_.read("ge.pem"), "s3cret").public_part() == p);
  }
}

TEST_F(keys_cli, sm2_signatures_carry_the_distinguishing_id_both_ways) {
  const tc::private_key k = tc::private_key::generate(tc::key_type::sm2);
  dir_.write("k.pem", text_of(k.to_pem()));
  dir_.write("p.pem", k.public_part().to_pem());
  const std::string msg = "tender ZB-2024-0001: the bid of 91310000MA1FL0001X";
  dir_.write("m.txt", msg);

  // Ours → openssl, through both CLI paths.
  dir_.write("ours.sig", tc::sign_message(k, view_of(msg)));
  EXPECT_EQ(dir_.openssl("pkeyutl -verify -rawin -digest sm3 -pubin -inkey p.pem -in m.txt "
                         "-sigfile ours.sig -pkeyopt distid:1234567812345678"),
            0);
  EXPECT_EQ(dir_.openssl("dgst -sm3 -verify p.pem -sigopt distid:1234567812345678 "
                         "-signature ours.sig m.txt"),
            0);
  // The ID really is part of the signature: OpenSSL's empty default ID does not verify it.
  EXPECT_NE(dir_.openssl("pkeyutl -verify -rawin -digest sm3 -pubin -inkey p.pem -in m.txt "
                         "-sigfile ours.sig"),
            0);

  // openssl → ours.
  ASSERT_EQ(
      dir_.openssl("dgst -sm3 -sign k.pem -sigopt distid:1234567812345678 -out cli.sig m.txt"), 0);
  const tc::bytes cli_sig = dir_.read_bytes("cli.sig");
  EXPECT_TRUE(tc::verify_message(k.public_part(), view_of(msg), cli_sig));
  EXPECT_FALSE(tc::verify_message(k.public_part(), view_of(msg), cli_sig, "another-id"));
  EXPECT_FALSE(tc::verify_message(k.public_part(), view_of(msg + "."), cli_sig));
  // A signature made with the empty ID is not accepted under the GM default.
  ASSERT_EQ(dir_.openssl("pkeyutl -sign -rawin -digest sm3 -inkey k.pem -in m.txt -out noid.sig"),
            0);
  EXPECT_FALSE(tc::verify_message(k.public_part(), view_of(msg), dir_.read_bytes("noid.sig")));
  EXPECT_TRUE(tc::verify_message(k.public_part(), view_of(msg), dir_.read_bytes("noid.sig"), ""));
}

TEST_F(keys_cli, ed25519_signatures_interoperate) {
  const tc::private_key k = tc::private_key::generate(tc::key_type::ed25519);
  dir_.write("k.pem", text_of(k.to_pem()));
  dir_.write("p.pem", k.public_part().to_pem());
  dir_.write("m.txt", std::string("message"));
  dir_.write("ours.sig", tc::sign_message(k, view_of(std::string("message"))));
  EXPECT_EQ(dir_.openssl("pkeyutl -verify -rawin -pubin -inkey p.pem -in m.txt -sigfile ours.sig"),
            0);
  ASSERT_EQ(dir_.openssl("pkeyutl -sign -rawin -inkey k.pem -in m.txt -out cli.sig"), 0);
  EXPECT_TRUE(tc::verify_message(k.public_part(), view_of(std::string("message")),
                                 dir_.read_bytes("cli.sig")));
  EXPECT_EQ(
      code_of([&] { (void)tc::sign_message(tc::private_key::generate(tc::key_type::x25519), {}); }),
      tc::key_codes::wrong_type);
}

TEST_F(keys_cli, sm2_encryption_and_x25519_interoperate) {
  const tc::private_key k = tc::private_key::generate(tc::key_type::sm2);
  dir_.write("k.pem", text_of(k.to_pem()));
  dir_.write("p.pem", k.public_part().to_pem());
  const std::string key32 = "0123456789abcdef0123456789abcdef";
  dir_.write("ours.ct", tc::sm2_encrypt(k.public_part(), view_of(key32)));
  ASSERT_EQ(dir_.openssl("pkeyutl -decrypt -inkey k.pem -in ours.ct -out ours.pt"), 0);
  EXPECT_EQ(dir_.read("ours.pt"), key32);
  dir_.write("pt", key32);
  ASSERT_EQ(dir_.openssl("pkeyutl -encrypt -pubin -inkey p.pem -in pt -out cli.ct"), 0);
  EXPECT_EQ(text_of(tc::sm2_decrypt(k, dir_.read_bytes("cli.ct"))), key32);
  tc::bytes bad = dir_.read_bytes("cli.ct");
  bad[bad.size() - 1] ^= 1;
  EXPECT_EQ(code_of([&] { (void)tc::sm2_decrypt(k, bad); }), tc::key_codes::decrypt_failed);

  const tc::private_key a = tc::private_key::generate(tc::key_type::x25519);
  const tc::private_key b = tc::private_key::generate(tc::key_type::x25519);
  dir_.write("a.pem", text_of(a.to_pem()));
  dir_.write("bp.pem", b.public_part().to_pem());
  ASSERT_EQ(dir_.openssl("pkeyutl -derive -inkey a.pem -peerkey bp.pem -out ab.bin"), 0);
  const tc::secure_bytes ab = tc::x25519_shared_secret(a, b.public_part().raw());
  EXPECT_EQ(tc::hex_encode(dir_.read_bytes("ab.bin")), tc::hex_encode(ab.view()));
  EXPECT_EQ(code_of([&] { (void)tc::x25519_shared_secret(a, tc::bytes(32, 0)); }),
            tc::key_codes::bad_raw);
}

TEST_F(keys_cli, gm_aead_is_sm4_ctr_then_hmac_sm3_as_openssl_computes_them) {
  const tc::cipher_suite& gm = tc::get_suite(tc::suite_id::gm);
  tc::bytes key(48);
  for (std::size_t i = 0; i < key.size(); ++i)
    key[i] = static_cast<std::uint8_t>(i * 7 + 1);
  const tc::aead_nonce nonce = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5, 1};
  const std::string plain = make_body(1000, 4);
  tc::bytes sealed(plain.size() + 32);
  gm.make_aead(key)->seal(nonce, view_of(plain), sealed);

  dir_.write("p.bin", plain);
  const std::string iv = tc::hex_encode(nonce) + "00000000";
  ASSERT_EQ(dir_.openssl("enc -sm4-ctr -K " + tc::hex_encode(tc::byte_view(key).first(16)) +
                         " -iv " + iv + " -in p.bin -out c.bin"),
            0);
  const tc::bytes ct = dir_.read_bytes("c.bin");
  EXPECT_EQ(tc::bytes(sealed.begin(), sealed.begin() + 1000), ct);
  tc::bytes mac_input(nonce.begin(), nonce.end());
  mac_input.insert(mac_input.end(), ct.begin(), ct.end());
  dir_.write("mac.in", mac_input);
  ASSERT_EQ(dir_.openssl(
                "mac -digest SM3 -macopt hexkey:" + tc::hex_encode(tc::byte_view(key).subspan(16)) +
                " -in mac.in -out mac.hex HMAC"),
            0);
  std::string mac_hex = dir_.read("mac.hex");
  mac_hex.erase(mac_hex.find_last_not_of("\r\n") + 1);
  EXPECT_EQ(mac_hex, upper_hex(tc::byte_view(sealed).subspan(1000)));
}

TEST(suites, hkdf_sha256_matches_rfc5869_case_1) {
  tc::init();
  const tc::bytes ikm(22, 0x0b);
  const tc::bytes salt = tc::hex_decode("000102030405060708090a0b0c");
  const tc::bytes info = tc::hex_decode("f0f1f2f3f4f5f6f7f8f9");
  const tc::secure_bytes okm = tc::get_suite(tc::suite_id::sodium).hkdf(ikm, salt, info, 42);
  EXPECT_EQ(tc::hex_encode(okm.view()),
            "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865");
  // The gm suite is a different function of the same inputs.
  EXPECT_NE(tc::hex_encode(tc::get_suite(tc::suite_id::gm).hkdf(ikm, salt, info, 42).view()),
            tc::hex_encode(okm.view()));
}

TEST(suites, hashes_are_sha256_and_sm3) {
  tc::init();
  EXPECT_EQ(tc::hex_encode(tc::get_suite(tc::suite_id::sodium).hash(tc::as_bytes("abc"))),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  // GB/T 32905-2016 example 1.
  EXPECT_EQ(tc::hex_encode(tc::get_suite(tc::suite_id::gm).hash(tc::as_bytes("abc"))),
            "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0");
}

TEST(suites, aead_round_trips_and_rejects_any_change_without_releasing_plaintext) {
  tc::init();
  for (const tc::suite_id id : {tc::suite_id::sodium, tc::suite_id::gm}) {
    SCOPED_TRACE(suite_label(id));
    const tc::cipher_suite& s = tc::get_suite(id);
    tc::bytes key(s.aead_key_size());
    tc::system_random().fill(key);
    const std::unique_ptr<tc::aead> a = s.make_aead(key);
    const std::string plain = make_body(300, 2);
    const tc::aead_nonce nonce{1, 2, 3};
    tc::bytes sealed(plain.size() + a->tag_size());
    a->seal(nonce, view_of(plain), sealed);
    tc::bytes out(plain.size());
    ASSERT_TRUE(a->open(nonce, sealed, out));
    EXPECT_EQ(std::string(out.begin(), out.end()), plain);
    for (const std::size_t pos :
         {std::size_t{0}, std::size_t{299}, std::size_t{300}, sealed.size() - 1}) {
      tc::bytes bad = sealed;
      bad[pos] ^= 0x40;
      std::fill(out.begin(), out.end(), 0xee);
      EXPECT_FALSE(a->open(nonce, bad, out));
      EXPECT_TRUE(std::all_of(out.begin(), out.end(), [](std::uint8_t c) { return c == 0; }));
    }
    tc::aead_nonce other = nonce;
    other[11] ^= 1;  // the last-chunk flag
    EXPECT_FALSE(a->open(other, sealed, out));
    EXPECT_EQ(code_of([&] { (void)s.make_aead(tc::bytes(5)); }), tc::suite_codes::bad_key);
  }
}

TEST(suites, derived_signing_keys_are_deterministic_and_sign) {
  tc::init();
  const tc::bytes seed(32, 0x42);
  for (const tc::suite_id id : {tc::suite_id::sodium, tc::suite_id::gm}) {
    SCOPED_TRACE(suite_label(id));
    const tc::cipher_suite& s = tc::get_suite(id);
    const tc::private_key a = s.derive_signing_key(seed);
    const tc::private_key b = s.derive_signing_key(seed);
    EXPECT_TRUE(a.public_part() == b.public_part());
    EXPECT_FALSE(a.public_part() == s.derive_signing_key(tc::bytes(32, 0x43)).public_part());
    EXPECT_EQ(a.type(), s.signature_key_type());
    const tc::bytes sig = tc::sign_message(a, tc::as_bytes("m"));
    EXPECT_TRUE(tc::verify_message(b.public_part(), tc::as_bytes("m"), sig));
  }
}

TEST(suites, deterministic_random_is_reproducible_and_names_round_trip) {
  tc::deterministic_random a(tc::as_bytes("x")), b(tc::as_bytes("x")), c(tc::as_bytes("y"));
  tc::bytes x1(40), x2(40), y1(40), x3(40);
  a.fill(x1);
  b.fill(x2);
  c.fill(y1);
  a.fill(x3);
  EXPECT_EQ(x1, x2);
  EXPECT_NE(x1, y1);
  EXPECT_NE(x1, x3);
  EXPECT_EQ(tc::suite_from_name("gm"), tc::suite_id::gm);
  EXPECT_EQ(tc::suite_from_name(tc::suite_name(tc::suite_id::sodium)), tc::suite_id::sodium);
  EXPECT_EQ(code_of([] { (void)tc::suite_from_name("aes"); }), tc::suite_codes::unknown);
}

TEST(keys, raw_and_pem_inputs_are_validated) {
  tc::init();
  tc::bytes off_curve(65, 0x01);
  off_curve[0] = 0x04;
  EXPECT_EQ(code_of([&] { (void)tc::public_key::from_raw(tc::key_type::sm2, off_curve); }),
            tc::key_codes::bad_raw);
  EXPECT_EQ(code_of([&] { (void)tc::public_key::from_raw(tc::key_type::ed25519, tc::bytes(31)); }),
            tc::key_codes::bad_raw);
  EXPECT_EQ(code_of([&] { (void)tc::private_key::from_raw(tc::key_type::sm2, tc::bytes(32, 0)); }),
            tc::key_codes::bad_raw);
  EXPECT_EQ(
      code_of([&] { (void)tc::private_key::from_raw(tc::key_type::sm2, tc::bytes(32, 0xff)); }),
      tc::key_codes::bad_raw);
  EXPECT_EQ(code_of([] { (void)tc::private_key::from_pem("-----BEGIN PRIVATE KEY-----\nAAAA\n"); }),
            tc::key_codes::bad_pem);
  EXPECT_EQ(code_of([] { (void)tc::public_key::from_pem("not pem"); }), tc::key_codes::bad_pem);
  EXPECT_EQ(code_of([] { (void)tc::public_key().raw(); }), tc::key_codes::empty);
}

}  // namespace
