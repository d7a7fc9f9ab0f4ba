// The opening record file's offline check (opening_record.hpp): a good file verifies, and each
// kind of damage is refused with its own code.
#include <tender/crypto/bytes.hpp>
#include <tender/crypto/error.hpp>
#include <tender/crypto/init.hpp>
#include <tender/crypto/keys.hpp>
#include <tender/crypto/opening_record.hpp>
#include <tender/crypto/signed_note.hpp>

#include <gtest/gtest.h>
#include <boost/json.hpp>

namespace crypto = tender::crypto;
namespace note = tender::crypto::note;
namespace json = boost::json;

namespace {

struct record_fixture : ::testing::Test {
  void SetUp() override {
    crypto::init();
    bidder = crypto::private_key::generate(crypto::key_type::ed25519);
  }

  // A record with one confirmation by `bidder`, signed by `log`.
  json::object make_file(const note::ed25519_signer& signer) {
    const std::string tender = "t-0123456789abcdef";
    const std::string record_digest(64, 'a');
    const std::string challenge_b64 = crypto::base64_encode(crypto::as_bytes(std::string(32, 'c')));
    const auto msg =
        crypto::hall_signed_message(tender, "confirm", "hc-1", challenge_b64, record_digest);
    const auto sig = crypto::sign_message(bidder, crypto::as_bytes(msg));
    const auto pub = bidder.public_part();
    json::object record{{"format", "tenderhall-opening-record/v1"},
                        {"tender", {{"id", tender}, {"title", "道路"}}},
                        {"lots", json::array{}},
                        {"confirmations", json::array{json::object{
                                              {"org_id", "b1"},
                                              {"confirmed_at", "2026-12-20T01:30:00.000000Z"},
                                              {"signature", crypto::base64_encode(sig)},
                                              {"key", pub.fingerprint()},
                                              {"public_key", crypto::base64_encode(pub.to_der())},
                                              {"challenge_id", "hc-1"},
                                              {"challenge", challenge_b64}}}},
                        {"record_digest", record_digest}};
    const auto digest = crypto::record_digest(record);
    const note::ed25519_signer* signers[] = {&signer};
    const auto n = note::sign(crypto::note_text(tender, digest), signers);
    return {{"record", record}, {"digest", digest}, {"note", n}, {"log_index", 42}};
  }

  std::string code_of(const json::object& file) {
    try {
      crypto::verify_record_file(json::serialize(file), log.verifier());
    } catch (const crypto::error& e) {
      return e.code();
    }
    return "";
  }

  note::ed25519_signer log = note::ed25519_signer::generate("log.example");
  crypto::private_key bidder;
};

TEST_F(record_fixture, a_good_record_verifies) {
  const auto file = make_file(log);
  const auto r = crypto::verify_record_file(json::serialize(file), log.verifier());
  EXPECT_EQ(r.tender_id, "t-0123456789abcdef");
  EXPECT_EQ(r.log_index, 42);
  EXPECT_EQ(r.signed_by, "log.example");
  EXPECT_EQ(r.confirmations, 1u);
  EXPECT_EQ(r.confirmations_verified, 1u);
  EXPECT_EQ(crypto::note_text("t-1", "ab"), "tenderhall opening record v1\nt-1\nab\n");
}

TEST_F(record_fixture, damage_is_refused_with_its_code) {
  EXPECT_EQ(code_of(json::object{{"x", 1}}), crypto::record_err_bad_format);
  {
    auto f = make_file(log);
    f["record"].as_object()["tender"].as_object()["title"] = "altered";
    EXPECT_EQ(code_of(f), crypto::record_err_digest_mismatch);
  }
  {
    auto f = make_file(log);
    f["note"] = "not a note";
    EXPECT_EQ(code_of(f), crypto::record_err_bad_note);
  }
  {
    const auto other = note::ed25519_signer::generate("log.example");
    EXPECT_EQ(code_of(make_file(other)), crypto::record_err_bad_signature);
  }
  {
    auto f = make_file(log);
    auto& rec = f["record"].as_object();
    rec["confirmations"].as_array()[0].as_object()["challenge_id"] = "hc-2";
    // Keep digest and note consistent so only the confirmation is wrong.
    f["digest"] = crypto::record_digest(rec);
    const note::ed25519_signer* signers[] = {&log};
    f["note"] = note::sign(
        crypto::note_text("t-0123456789abcdef", std::string(f["digest"].as_string())), signers);
    EXPECT_EQ(code_of(f), crypto::record_err_confirmation_bad_signature);
  }
}

}  // namespace
