// The guarantee message formats (crypto/guarantee.hpp): canonical bytes, sealing and verifying
// with Ed25519 and SM2, strict parsing, and every tampering caught.
#include <tender/crypto/error.hpp>
#include <tender/crypto/guarantee.hpp>

#include <boost/json.hpp>

#include <gtest/gtest.h>

#include <functional>

namespace {

namespace g = tender::crypto::guarantee;
namespace json = boost::json;
using tender::crypto::key_type;
using tender::crypto::private_key;

g::document sample() {
  g::document d;
  d.number = "G-2026/0001";
  d.kind = "bank";
  d.issuer = "bank-a";
  d.applicant = "acme-build";
  d.beneficiary = "city-roads";
  d.tender_code = "SZ-2026-0042";
  d.lot = 1;
  d.amount = 500000;
  d.valid_from = "2026-11-20T02:00:00Z";
  d.valid_until = "2027-03-01T00:00:00Z";
  d.issued_at = "2026-11-20T02:00:00Z";
  return d;
}

std::string code_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const tender::crypto::error& e) {
    return e.code();
  }
  return "";
}

TEST(guarantee_format, canonical_json_sorts_keys_at_every_level) {
  const auto v = json::parse(R"({"b":1,"a":{"d":[1,{"z":true,"y":null}],"c":"x"}})");
  EXPECT_EQ(g::canonical_json(v), R"({"a":{"c":"x","d":[1,{"y":null,"z":true}]},"b":1})");
}

TEST(guarantee_format, documents_round_trip_and_verify_with_ed25519_and_sm2) {
  for (const auto type : {key_type::ed25519, key_type::sm2}) {
    const auto key = private_key::generate(type);
    auto d = sample();
    d.application_code = "PAID-0001";
    const json::value signed_doc = g::sign_document(d, key);
    const auto env = g::open(signed_doc, "document");
    EXPECT_EQ(env.signer, key.public_part().fingerprint());
    EXPECT_NO_THROW(g::verify(env, g::document_domain, key.public_part()));
    const auto back = g::parse_document(env.inner);
    EXPECT_EQ(back.number, d.number);
    EXPECT_EQ(back.amount, d.amount);
    EXPECT_EQ(back.application_code, d.application_code);
    // Reordering members changes nothing: the signature is over the canonical form.
    const auto reparsed = json::parse(json::serialize(signed_doc));
    EXPECT_NO_THROW(
        g::verify(g::open(reparsed, "document"), g::document_domain, key.public_part()));
  }
}

TEST(guarantee_format, tampering_and_wrong_keys_are_bad_signatures) {
  const auto key = private_key::generate(key_type::ed25519);
  const auto other = private_key::generate(key_type::ed25519);
  json::value signed_doc = g::sign_document(sample(), key);
  auto tampered = signed_doc;
  tampered.as_object()["document"].as_object()["amount"] = 5000000;
  EXPECT_EQ(code_of([&] {
              g::verify(g::open(tampered, "document"), g::document_domain, key.public_part());
            }),
            g::codes::bad_signature);
  EXPECT_EQ(code_of([&] {
              g::verify(g::open(signed_doc, "document"), g::document_domain, other.public_part());
            }),
            g::codes::bad_signature);
  // A status answer's signature does not pass as a document's (domains differ).
  g::status_answer s{"bank-a", "G-1", "valid", "2026-11-20T02:00:00Z", "00ff"};
  auto as_doc = g::sign_status(s, key);
  const auto env = g::open(as_doc, "status");
  EXPECT_EQ(code_of([&] { g::verify(env, g::document_domain, key.public_part()); }),
            g::codes::bad_signature);
  EXPECT_NO_THROW(g::verify(env, g::status_domain, key.public_part()));
}

TEST(guarantee_format, strict_parsing_names_the_problem) {
  const auto base = g::to_json(sample());
  const auto malformed = [&](const std::function<void(json::object&)>& change) {
    auto o = base;
    change(o);
    return code_of([&] { g::parse_document(o); });
  };
  EXPECT_EQ(malformed([](auto&) {}), "");
  EXPECT_EQ(malformed([](auto& o) { o["extra"] = 1; }), g::codes::malformed);
  EXPECT_EQ(malformed([](auto& o) { o.erase("amount"); }), g::codes::malformed);
  EXPECT_EQ(malformed([](auto& o) { o["amount"] = "500000"; }), g::codes::malformed);
  EXPECT_EQ(malformed([](auto& o) { o["kind"] = "friend"; }), g::codes::malformed);
  EXPECT_EQ(malformed([](auto& o) { o["valid_until"] = "2027-03-01"; }), g::codes::malformed);
  EXPECT_EQ(malformed([](auto& o) { o["valid_until"] = "2020-01-01T00:00:00Z"; }),
            g::codes::malformed);
  EXPECT_EQ(malformed([](auto& o) { o["type"] = "tenderhall.other"; }), g::codes::malformed);
  EXPECT_EQ(malformed([](auto& o) { o["version"] = 2; }), g::codes::malformed);
  EXPECT_EQ(code_of([] {
              g::open(json::parse(R"({"document":{},"signature":"@@","signer":"x"})"), "document");
            }),
            g::codes::malformed);
  EXPECT_FALSE(g::valid_time("2026-13-01T00:00:00Z"));
  EXPECT_TRUE(g::valid_time("2026-12-31T23:59:59Z"));
}

TEST(guarantee_format, events_round_trip) {
  const auto key = private_key::generate(key_type::sm2);
  g::event e{"e-1", "bank-a", "G-1", "revoked", "2026-11-21T08:00:00Z"};
  const json::value v = g::sign_event(e, key);
  const auto env = g::open(v, "event");
  EXPECT_NO_THROW(g::verify(env, g::event_domain, key.public_part()));
  const auto back = g::parse_event(env.inner);
  EXPECT_EQ(back.status, "revoked");
  EXPECT_EQ(back.event_id, "e-1");
}

}  // namespace
