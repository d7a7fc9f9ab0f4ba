// Offline verification of bid receipts and deadline seals. The documents are built here, from the
// text of docs/design/submission.md and protocol/docs/bid-receipt.md, with their own leaf encoder
// and a signed-note signer — not with the code under test — and then tampered with one field at a
// time: every alteration must be refused with its own code.
#include <tender/client/receipts.hpp>

#include <tender/crypto/bytes.hpp>
#include <tender/crypto/digest.hpp>
#include <tender/crypto/error.hpp>
#include <tender/crypto/init.hpp>
#include <tender/crypto/keys.hpp>
#include <tender/crypto/merkle.hpp>
#include <tender/crypto/sealed_bid.hpp>
#include <tender/crypto/signed_note.hpp>
#include <tender/crypto/suite.hpp>

#include "cli_harness.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <algorithm>
#include <fstream>
#include <functional>
#include <optional>
#include <sstream>

namespace {

namespace rc = tender::client::receipts;
namespace tc = tender::crypto;
namespace note = tender::crypto::note;
namespace merkle = tender::crypto::merkle;
namespace json = boost::json;

using tender::test::run_cli;
using tender::test::temp_dir;

// F(x) = uint32_be(len(x)) || x  (protocol/docs/audit-log.md §2)
std::string field(const std::string& x) {
  std::string out(4, '\0');
  const auto n = static_cast<std::uint32_t>(x.size());
  out[0] = static_cast<char>(n >> 24);
  out[1] = static_cast<char>(n >> 16);
  out[2] = static_cast<char>(n >> 8);
  out[3] = static_cast<char>(n);
  return out + x;
}

// v1 without a salt; v2 (protocol/docs/audit-log.md §2.2) with one, as a ninth field.
std::string leaf_of(std::uint64_t seq, const std::string& time, const std::string& actor,
                    const std::string& role, const std::string& action, const std::string& subject,
                    const std::string& payload_digest,
                    const std::optional<std::string>& salt = std::nullopt) {
  return field(salt ? "tenderhall/audit-event/v2" : "tenderhall/audit-event/v1") +
         field(std::to_string(seq)) + field(time) + field(actor) + field(role) + field(action) +
         field(subject) + field(payload_digest) + (salt ? field(*salt) : std::string());
}

std::string hex_sha256(const std::string& s) {
  return tc::to_hex(tc::sha256(s));
}

std::string b64(const std::string& s) {
  return tc::base64_encode(tc::as_bytes(s));
}

// What the server knows about one accepted bid.
struct bid {
  std::string tender_id = "t-0123456789abcdef";
  std::uint64_t lot = 1;
  std::string bidder = "acme";
  std::string upload_id = "u-00112233aabbccdd";
  std::string ciphertext_digest = std::string(64, 'c');
  std::string file_digest = std::string(64, 'f');
  std::uint64_t size = 1234;
  std::string received_at = "2026-11-23T08:00:00.123456Z";
  std::string source_ip = "127.0.0.1";
  std::string client_version = "tender/0.1.0";
  std::string subject() const { return tender_id + "/" + std::to_string(lot); }
};

std::string payload_of(const bid& b) {
  // Canonical JSON: keys in byte order, no spaces.
  return R"({"bidder":")" + b.bidder + R"(","ciphertext_digest":")" + b.ciphertext_digest +
         R"(","client_version":")" + b.client_version + R"(","file_digest":")" + b.file_digest +
         R"(","lot":)" + std::to_string(b.lot) + R"(,"received_at":")" + b.received_at +
         R"(","size":)" + std::to_string(b.size) + R"(,"source_ip":")" + b.source_ip +
         R"(","tender_id":")" + b.tender_id + R"(","upload_id":")" + b.upload_id + R"("})";
}

std::string receipt_text(const bid& b, std::uint64_t log_index) {
  return "tenderhall/bid-receipt/v1\nsubject " + b.subject() + "\nbidder " + b.bidder +
         "\nupload " + b.upload_id + "\nciphertext-digest " + b.ciphertext_digest +
         "\nfile-digest " + b.file_digest + "\nsize " + std::to_string(b.size) + "\nreceived-at " +
         b.received_at + "\nlog-index " + std::to_string(log_index) + "\n";
}

struct log_fixture {
  note::ed25519_signer signer = note::ed25519_signer::generate("tenderhall/test");
  note::ed25519_signer other = note::ed25519_signer::generate("tenderhall/test");
  std::string vkey = note::format_verifier_key(signer.verifier());

  std::string sign(const std::string& text, const note::ed25519_signer& s) const {
    const note::ed25519_signer* signers[] = {&s};
    return note::sign(text, signers);
  }
  std::string sign(const std::string& text) const { return sign(text, signer); }
};

// A receipt for `b` whose event is entry `index` of a log of `size` entries.
struct receipt_parts {
  std::string note;
  std::uint64_t log_index = 0;
  std::string leaf;  // raw bytes
  std::string payload;
  std::vector<std::string> proof;  // base64
  std::string checkpoint;

  std::string to_json() const {
    json::array p;
    for (const auto& h : proof)
      p.emplace_back(h);
    json::object o{{"type", "tenderhall.bid_receipt"},
                   {"version", 1},
                   {"note", note},
                   {"log_index", log_index},
                   {"leaf_data", b64(leaf)},
                   {"payload", payload},
                   {"inclusion_proof", std::move(p)},
                   {"checkpoint", checkpoint}};
    return json::serialize(o);
  }
};

receipt_parts make_receipt(const log_fixture& log, const bid& b, std::uint64_t index = 5,
                           std::uint64_t size = 9, std::optional<std::string> payload = {},
                           const std::optional<std::string>& salt = std::nullopt) {
  receipt_parts r;
  r.log_index = index;
  r.payload = payload ? *payload : payload_of(b);
  r.leaf = leaf_of(index, "2026-11-23T08:00:00.123999Z", "alice", "bidder", "bid.submitted",
                   b.subject(), hex_sha256(r.payload), salt);
  std::vector<merkle::hash> leaves;
  for (std::uint64_t i = 0; i < size; ++i) {
    const std::string data =
        i == index ? r.leaf
                   : leaf_of(i, "2026-11-23T07:59:00.000000Z", "tenderd:0123456789abcdef", "system",
                             "system.node_started", "", hex_sha256(std::to_string(i)));
    leaves.push_back(merkle::leaf_hash(tc::as_bytes(data)));
  }
  for (const auto& h : merkle::inclusion_proof(leaves, index))
    r.proof.push_back(tc::base64_encode(h));
  const note::checkpoint cp{"tenderhall/test", size, merkle::root_from_leaf_hashes(leaves), {}};
  const note::ed25519_signer* signers[] = {&log.signer};
  r.checkpoint = note::sign_checkpoint(cp, signers);
  r.note = log.sign(receipt_text(b, index));
  return r;
}

std::string code_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const tender::protocol::coded_error& e) {
    return e.code();
  }
  return "(no error)";
}

class receipts : public ::testing::Test {
protected:
  static void SetUpTestSuite() { tc::init(); }
  log_fixture log;
  bid b;

  std::string verify(const std::string& doc,
                     const std::optional<rc::sealed_file_facts>& file = std::nullopt) {
    return code_of([&] { rc::verify_receipt(doc, {log.vkey}, file); });
  }
};

TEST_F(receipts, a_genuine_receipt_verifies_and_reports_its_facts) {
  const auto r = make_receipt(log, b);
  const auto v = rc::verify_receipt(r.to_json(), {log.vkey});
  EXPECT_EQ(v.facts.subject, "t-0123456789abcdef/1");
  EXPECT_EQ(v.facts.tender_id, "t-0123456789abcdef");
  EXPECT_EQ(v.facts.lot, 1u);
  EXPECT_EQ(v.facts.bidder, "acme");
  EXPECT_EQ(v.facts.upload_id, b.upload_id);
  EXPECT_EQ(v.facts.ciphertext_digest, b.ciphertext_digest);
  EXPECT_EQ(v.facts.file_digest, b.file_digest);
  EXPECT_EQ(v.facts.size, 1234u);
  EXPECT_EQ(v.facts.received_at, b.received_at);
  EXPECT_EQ(v.facts.log_index, 5u);
  EXPECT_EQ(v.actor, "alice");
  EXPECT_EQ(v.role, "bidder");
  EXPECT_EQ(v.source_ip, "127.0.0.1");
  EXPECT_EQ(v.client_version, "tender/0.1.0");
  EXPECT_EQ(v.checkpoint_size, 9u);
  EXPECT_EQ(v.checkpoint_origin, "tenderhall/test");
  EXPECT_EQ(v.signer.substr(0, 16), "tenderhall/test+");

  // Every position in trees of several sizes (proof lengths from 0 up).
  for (std::uint64_t size : {1u, 2u, 3u, 8u, 13u}) {
    for (std::uint64_t i = 0; i < size; ++i) {
      EXPECT_EQ(verify(make_receipt(log, b, i, size).to_json()), "(no error)")
          << i << " of " << size;
    }
  }
  // The optional payload fields may be null or absent.
  std::string p = payload_of(b);
  const auto from = p.find(R"("client_version")");
  const auto to = p.find(R"("file_digest")");
  p.replace(from, to - from, R"("client_version":null,)");
  const auto nulled = rc::verify_receipt(make_receipt(log, b, 5, 9, p).to_json(), {log.vkey});
  EXPECT_FALSE(nulled.client_version);
  const auto ip = p.find(R"(,"source_ip")");
  p.erase(ip, p.find(R"(,"tender_id")") - ip);
  const auto absent = rc::verify_receipt(make_receipt(log, b, 5, 9, p).to_json(), {log.vkey});
  EXPECT_FALSE(absent.source_ip);
}

// What tenderd issues since salted leaves: the bid's own v2 leaf, salt included, so the bidder
// checks it offline; the other leaves of the tree are salted too and only their hashes travel.
TEST_F(receipts, a_receipt_with_a_salted_v2_leaf_verifies_and_its_salt_is_bound) {
  const std::string salt = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
  const auto good = make_receipt(log, b, 5, 9, std::nullopt, salt);
  const auto v = rc::verify_receipt(good.to_json(), {log.vkey});
  EXPECT_EQ(v.facts.log_index, 5u);
  EXPECT_EQ(v.actor, "alice");
  for (std::uint64_t size : {1u, 6u, 13u}) {
    EXPECT_EQ(verify(make_receipt(log, b, 0, size, std::nullopt, salt).to_json()), "(no error)");
  }
  const auto tamper = [&](const std::function<void(receipt_parts&)>& change) {
    auto r = good;
    change(r);
    return verify(r.to_json());
  };
  const auto leaf_with = [&](const receipt_parts& r, const std::optional<std::string>& s) {
    return leaf_of(5, "2026-11-23T08:00:00.123999Z", "alice", "bidder", "bid.submitted",
                   b.subject(), hex_sha256(r.payload), s);
  };
  // Another salt, or none, is another leaf: not the one the tree holds.
  EXPECT_EQ(tamper([&](receipt_parts& r) { r.leaf = leaf_with(r, std::string(64, '0')); }),
            "receipt.proof_mismatch");
  EXPECT_EQ(tamper([&](receipt_parts& r) { r.leaf = leaf_with(r, std::nullopt); }),
            "receipt.proof_mismatch");
  // Not canonical: an upper-case or short salt, a v2 tag without the salt, a v1 tag with one.
  std::string upper = salt;
  std::transform(upper.begin(), upper.end(), upper.begin(), ::toupper);
  EXPECT_EQ(tamper([&](receipt_parts& r) { r.leaf = leaf_with(r, upper); }),
            "receipt.leaf_mismatch");
  EXPECT_EQ(tamper([&](receipt_parts& r) { r.leaf = leaf_with(r, salt.substr(2)); }),
            "receipt.leaf_mismatch");
  EXPECT_EQ(tamper([&](receipt_parts& r) { r.leaf.resize(r.leaf.size() - 4 - 64); }),
            "receipt.leaf_mismatch");
  EXPECT_EQ(tamper([&](receipt_parts& r) { r.leaf = leaf_with(r, std::nullopt) + field(salt); }),
            "receipt.leaf_mismatch");
  // The payload is still bound through the digest field.
  EXPECT_EQ(tamper([](receipt_parts& r) {
              r.payload.replace(r.payload.find("127.0.0.1"), 9, "10.0.0.66");
            }),
            "receipt.payload_mismatch");
}

TEST_F(receipts, every_tampering_has_its_own_code) {
  const auto good = make_receipt(log, b);
  const auto tamper = [&](const std::function<void(receipt_parts&)>& change) {
    auto r = good;
    change(r);
    return verify(r.to_json());
  };

  // Not a receipt document at all.
  EXPECT_EQ(verify("not json"), "receipt.malformed");
  EXPECT_EQ(verify("[]"), "receipt.malformed");
  {
    auto o = json::parse(good.to_json()).as_object();
    o["type"] = "tenderhall.something_else";
    EXPECT_EQ(verify(json::serialize(o)), "receipt.malformed");
    o = json::parse(good.to_json()).as_object();
    o["version"] = 2;
    EXPECT_EQ(verify(json::serialize(o)), "receipt.malformed");
    o = json::parse(good.to_json()).as_object();
    o.erase("checkpoint");
    EXPECT_EQ(verify(json::serialize(o)), "receipt.malformed");
  }
  EXPECT_EQ(tamper([](receipt_parts& r) { r.proof[0] = b64("short"); }), "receipt.malformed");
  // The unsigned log_index disagrees with the signed note.
  EXPECT_EQ(tamper([](receipt_parts& r) { r.log_index = 4; }), "receipt.malformed");

  // The note: another key, an edited text, another signed text.
  EXPECT_EQ(tamper([&](receipt_parts& r) { r.note = log.sign(receipt_text(b, 5), log.other); }),
            "receipt.bad_signature");
  EXPECT_EQ(
      tamper([](receipt_parts& r) { r.note.replace(r.note.find("size 1234"), 9, "size 1235"); }),
      "receipt.bad_signature");
  // A note the log did sign, but that is not a receipt (the checkpoint, here).
  EXPECT_EQ(tamper([](receipt_parts& r) { r.note = r.checkpoint; }), "receipt.malformed");

  // The checkpoint: another key, or a signed note that is not a checkpoint.
  EXPECT_EQ(tamper([&](receipt_parts& r) {
              const auto cp = note::parse_checkpoint(note::parse(r.checkpoint).text);
              const note::ed25519_signer* signers[] = {&log.other};
              r.checkpoint = note::sign_checkpoint(cp, signers);
            }),
            "receipt.bad_checkpoint");
  EXPECT_EQ(tamper([&](receipt_parts& r) { r.checkpoint = log.sign("not a checkpoint\n"); }),
            "receipt.bad_checkpoint");

  // The leaf: another event, another subject, another index, a broken encoding.
  EXPECT_EQ(tamper([&](receipt_parts& r) {
              r.leaf = leaf_of(5, "2026-11-23T08:00:00.123999Z", "alice", "bidder", "bid.withdrawn",
                               b.subject(), hex_sha256(r.payload));
            }),
            "receipt.leaf_mismatch");
  EXPECT_EQ(tamper([&](receipt_parts& r) {
              r.leaf = leaf_of(5, "2026-11-23T08:00:00.123999Z", "alice", "bidder", "bid.submitted",
                               "t-0123456789abcdef/2", hex_sha256(r.payload));
            }),
            "receipt.leaf_mismatch");
  EXPECT_EQ(tamper([&](receipt_parts& r) {
              r.leaf = leaf_of(6, "2026-11-23T08:00:00.123999Z", "alice", "bidder", "bid.submitted",
                               b.subject(), hex_sha256(r.payload));
            }),
            "receipt.leaf_mismatch");
  EXPECT_EQ(tamper([](receipt_parts& r) { r.leaf.pop_back(); }), "receipt.leaf_mismatch");
  EXPECT_EQ(tamper([](receipt_parts& r) { r.leaf += "x"; }), "receipt.leaf_mismatch");

  // The payload: edited (digest no longer matches), or consistent with the leaf but not with the
  // note (the leaf is then rebuilt too, so only the proof would catch it — the payload check
  // comes first and names it).
  EXPECT_EQ(tamper([](receipt_parts& r) {
              r.payload.replace(r.payload.find("127.0.0.1"), 9, "10.0.0.66");
            }),
            "receipt.payload_mismatch");
  for (const std::string field_name : {"tender_id", "lot", "bidder", "upload_id",
                                       "ciphertext_digest", "file_digest", "size", "received_at"}) {
    bid other = b;
    if (field_name == "tender_id") other.tender_id = "t-ffffffffffffffff";
    if (field_name == "lot") other.lot = 2;
    if (field_name == "bidder") other.bidder = "mallory";
    if (field_name == "upload_id") other.upload_id = "u-ffffffffffffffff";
    if (field_name == "ciphertext_digest") other.ciphertext_digest = std::string(64, 'd');
    if (field_name == "file_digest") other.file_digest = std::string(64, 'e');
    if (field_name == "size") other.size = 1;
    if (field_name == "received_at") other.received_at = "2026-11-23T09:00:00.000000Z";
    EXPECT_EQ(tamper([&](receipt_parts& r) {
                r.payload = payload_of(other);
                r.leaf = leaf_of(5, "2026-11-23T08:00:00.123999Z", "alice", "bidder",
                                 "bid.submitted", b.subject(), hex_sha256(r.payload));
              }),
              "receipt.payload_mismatch")
        << field_name;
  }

  // The proof: a changed hash, a missing hash, a leaf that is consistent with everything signed
  // but not in the tree (another actor).
  EXPECT_EQ(tamper([](receipt_parts& r) { r.proof[1] = tc::base64_encode(tc::sha256("x")); }),
            "receipt.proof_mismatch");
  EXPECT_EQ(tamper([](receipt_parts& r) { r.proof.pop_back(); }), "receipt.proof_mismatch");
  EXPECT_EQ(tamper([&](receipt_parts& r) {
              r.leaf = leaf_of(5, "2026-11-23T08:00:00.123999Z", "mallory", "bidder",
                               "bid.submitted", b.subject(), hex_sha256(r.payload));
            }),
            "receipt.proof_mismatch");
  // A checkpoint (genuinely signed) of an older tree that does not contain the event yet.
  EXPECT_EQ(tamper([&](receipt_parts& r) { r.checkpoint = make_receipt(log, b, 2, 4).checkpoint; }),
            "receipt.proof_mismatch");
  // A genuine checkpoint of a later tree, with the old proof.
  EXPECT_EQ(
      tamper([&](receipt_parts& r) { r.checkpoint = make_receipt(log, b, 5, 12).checkpoint; }),
      "receipt.proof_mismatch");

  // An unusable verifier key is the key's own error.
  EXPECT_EQ(code_of([&] { rc::verify_receipt(good.to_json(), {"nonsense"}); }), "note.bad_key");
  // The right key among others is enough.
  const auto other_vkey = note::format_verifier_key(note::ed25519_signer::generate("x").verifier());
  EXPECT_EQ(code_of([&] {
              rc::verify_receipt(good.to_json(), {other_vkey, log.vkey});
            }),
            "(no error)");
  EXPECT_EQ(code_of([&] { rc::verify_receipt(good.to_json(), {other_vkey}); }),
            "receipt.bad_signature");
}

// A real sealed file, so the receipt is checked against its actual digests.
struct sealed_file {
  std::string path;
  std::string bytes;
};

sealed_file seal_to(const std::string& path, const std::string& subject,
                    const std::string& bidder) {
  const auto& suite = tc::get_suite(tc::suite_id::sodium);
  tc::sealed::seal_params p;
  p.suite = tc::suite_id::sodium;
  p.policy = tc::sealed::key_policy::bidder;
  p.tender_id = subject;
  p.bidder_id = bidder;
  p.bidder_keys = {tc::private_key::generate(suite.encryption_key_type()).public_part()};
  p.signing_key = tc::private_key::generate(suite.signature_key_type());
  std::istringstream body(std::string(200000, 'b'));
  std::ostringstream out;
  tc::sealed::seal(p, R"({"price":"100"})", body, out);
  std::ofstream(path, std::ios::binary) << out.str();
  return {path, out.str()};
}

TEST_F(receipts, the_sealed_file_must_be_the_one_received) {
  temp_dir dir;
  const auto f = seal_to(dir / "bid.thsb", b.subject(), b.bidder);
  std::istringstream in(f.bytes);
  const auto v = tc::sealed::verify(in);
  bid real = b;
  real.ciphertext_digest = tc::hex_encode(v.ciphertext_digest);
  real.file_digest = hex_sha256(f.bytes);
  real.size = f.bytes.size();
  const auto r = make_receipt(log, real).to_json();

  const auto facts = rc::examine_sealed_file(f.path);
  EXPECT_EQ(facts.file_digest, real.file_digest);
  EXPECT_EQ(facts.ciphertext_digest, real.ciphertext_digest);
  EXPECT_EQ(facts.size, f.bytes.size());
  EXPECT_EQ(verify(r, facts), "(no error)");

  // Another genuine sealed file of the same bidder.
  const auto g = seal_to(dir / "other.thsb", b.subject(), b.bidder);
  EXPECT_EQ(verify(r, rc::examine_sealed_file(g.path)), "receipt.file_mismatch");
  // Each fact on its own.
  auto wrong = facts;
  wrong.ciphertext_digest = std::string(64, '0');
  EXPECT_EQ(verify(r, wrong), "receipt.file_mismatch");
  wrong = facts;
  wrong.size += 1;
  EXPECT_EQ(verify(r, wrong), "receipt.file_mismatch");
  wrong = facts;
  wrong.file_digest = std::string(64, '0');
  EXPECT_EQ(verify(r, wrong), "receipt.file_mismatch");
  // A damaged file is not a sealed bid any more: the format's own code.
  std::string damaged = f.bytes;
  damaged[damaged.size() / 2] ^= 1;
  std::ofstream(dir / "damaged.thsb", std::ios::binary) << damaged;
  EXPECT_EQ(code_of([&] { rc::examine_sealed_file(dir / "damaged.thsb"); }).substr(0, 7),
            "sealed.");
  EXPECT_EQ(code_of([&] { rc::examine_sealed_file(dir / "missing.thsb"); }),
            "receipt.file_mismatch");
}

// ---- Seals --------------------------------------------------------------------------------------

struct seal_parts {
  std::string subject = "t-0123456789abcdef/1";
  std::string deadline = "2026-11-23T08:00:00Z";
  std::vector<std::string> digests;
  std::uint64_t count = 0;
  std::string root;
  std::string note;

  std::string to_json() const {
    json::array d;
    for (const auto& x : digests)
      d.emplace_back(x);
    json::object o{{"subject", subject},      {"deadline", deadline}, {"count", count},
                   {"digests", std::move(d)}, {"root", root},         {"note", note}};
    return json::serialize(o);
  }
};

std::string seal_root_of(const std::vector<std::string>& hex_digests) {
  std::vector<merkle::hash> leaves;
  for (const auto& h : hex_digests)
    leaves.push_back(merkle::leaf_hash(tc::hex_decode(h)));
  return tc::base64_encode(merkle::root_from_leaf_hashes(leaves));
}

std::string seal_text(const seal_parts& s) {
  return "tenderhall/bid-seal/v1\nsubject " + s.subject + "\ndeadline " + s.deadline + "\ncount " +
         std::to_string(s.count) + "\nroot " + s.root + "\n";
}

seal_parts make_seal(const log_fixture& log, std::size_t n) {
  seal_parts s;
  for (std::size_t i = 0; i < n; ++i)
    s.digests.push_back(hex_sha256("bid " + std::to_string(i)));
  std::sort(s.digests.begin(), s.digests.end());
  s.count = n;
  s.root = seal_root_of(s.digests);
  s.note = log.sign(seal_text(s));
  return s;
}

class seals : public receipts {
protected:
  std::string verify_seal(const std::string& doc, std::optional<std::string> digest = {}) {
    return code_of([&] { rc::verify_seal(doc, {log.vkey}, digest); });
  }
};

TEST_F(seals, a_genuine_seal_verifies_and_finds_each_bid) {
  for (std::size_t n : {0u, 1u, 2u, 3u, 5u, 17u}) {
    const auto s = make_seal(log, n);
    const auto v = rc::verify_seal(s.to_json(), {log.vkey});
    EXPECT_EQ(v.count, n);
    EXPECT_EQ(v.root, s.root);
    EXPECT_FALSE(v.position);
    for (std::size_t i = 0; i < n; ++i) {
      const auto found = rc::verify_seal(s.to_json(), {log.vkey}, s.digests[i]);
      EXPECT_EQ(found.position, i);
    }
    std::string upper = n > 0 ? s.digests[0] : std::string(64, 'a');
    std::transform(upper.begin(), upper.end(), upper.begin(), ::toupper);
    EXPECT_EQ(verify_seal(s.to_json(), upper), n > 0 ? "(no error)" : "seal.not_included");
  }
  // The empty seal's root is the RFC 6962 empty tree: SHA-256("").
  EXPECT_EQ(make_seal(log, 0).root, tc::base64_encode(tc::sha256("")));
}

TEST_F(seals, every_tampering_has_its_own_code) {
  const auto good = make_seal(log, 5);
  const auto tamper = [&](const std::function<void(seal_parts&)>& change,
                          std::optional<std::string> digest = {}) {
    auto s = good;
    change(s);
    return verify_seal(s.to_json(), digest);
  };
  EXPECT_EQ(verify_seal("{"), "seal.malformed");
  EXPECT_EQ(tamper([](seal_parts& s) { s.digests[0] = "xyz"; }), "seal.malformed");
  EXPECT_EQ(tamper([](seal_parts& s) { s.root = "!!"; }), "seal.malformed");
  EXPECT_EQ(verify_seal(good.to_json(), "abc"), "seal.malformed");
  // Signed by another key; an edited note.
  EXPECT_EQ(tamper([&](seal_parts& s) { s.note = log.sign(seal_text(s), log.other); }),
            "seal.bad_signature");
  EXPECT_EQ(tamper([](seal_parts& s) { s.note.replace(s.note.find("count 5"), 7, "count 4"); }),
            "seal.bad_signature");
  // A note the log signed that is not a seal.
  EXPECT_EQ(tamper([&](seal_parts& s) { s.note = log.sign("tenderhall/bid-seal/v1\nhello\n"); }),
            "seal.malformed");
  // The document disagrees with its signed note.
  EXPECT_EQ(tamper([](seal_parts& s) { s.subject = "t-0123456789abcdef/2"; }),
            "seal.note_mismatch");
  EXPECT_EQ(tamper([](seal_parts& s) { s.deadline = "2026-11-23T09:00:00Z"; }),
            "seal.note_mismatch");
  EXPECT_EQ(tamper([](seal_parts& s) { s.count = 4; }), "seal.note_mismatch");
  EXPECT_EQ(tamper([&](seal_parts& s) { s.root = make_seal(log, 4).root; }), "seal.note_mismatch");
  // A digest removed (count no longer matches), or the count re-signed to match.
  EXPECT_EQ(tamper([](seal_parts& s) { s.digests.pop_back(); }), "seal.count_mismatch");
  // Out of order; duplicated.
  EXPECT_EQ(tamper([](seal_parts& s) { std::swap(s.digests[0], s.digests[1]); }),
            "seal.not_sorted");
  EXPECT_EQ(tamper([](seal_parts& s) { s.digests[1] = s.digests[0]; }), "seal.not_sorted");
  // A digest replaced by another (still sorted): the root gives it away.
  EXPECT_EQ(tamper([](seal_parts& s) { s.digests[4] = std::string(64, 'f'); }),
            "seal.root_mismatch");
  // A signed seal whose root is not that of its list (e.g. a bid slipped in after signing).
  EXPECT_EQ(tamper([&](seal_parts& s) {
              s.digests.push_back(std::string(64, 'f'));
              s.count = 6;
              s.note = log.sign(seal_text(s));
            }),
            "seal.root_mismatch");
  // Not in it.
  EXPECT_EQ(verify_seal(good.to_json(), hex_sha256("bid 99")), "seal.not_included");
  EXPECT_EQ(verify_seal(good.to_json(), hex_sha256("bid 3")), "(no error)");
}

// ---- The CLI commands on files ------------------------------------------------------------------

TEST_F(receipts, verify_receipt_command) {
  temp_dir dir;
  const auto f = seal_to(dir / "bid.thsb", b.subject(), b.bidder);
  std::istringstream in(f.bytes);
  const auto v = tc::sealed::verify(in);
  bid real = b;
  real.ciphertext_digest = tc::hex_encode(v.ciphertext_digest);
  real.file_digest = hex_sha256(f.bytes);
  real.size = f.bytes.size();
  const auto good = make_receipt(log, real);
  std::ofstream(dir / "r.json") << good.to_json();
  auto bad = good;
  bad.proof[0] = tc::base64_encode(tc::sha256("x"));
  std::ofstream(dir / "bad.json") << bad.to_json();

  auto r = run_cli({"verify-receipt", dir / "r.json", "--log-key", log.vkey});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("receipt VALID"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(real.ciphertext_digest), std::string::npos) << r.out;
  r = run_cli(
      {"--json", "verify-receipt", dir / "r.json", "--log-key", log.vkey, "--sealed", f.path});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find(R"("valid":true)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(R"("file_checked":true)"), std::string::npos) << r.out;

  r = run_cli({"verify-receipt", dir / "bad.json", "--log-key", log.vkey});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("[receipt.proof_mismatch]"), std::string::npos) << r.err;
  r = run_cli({"--json", "verify-receipt", dir / "bad.json", "--log-key", log.vkey});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find(R"("error":"receipt.proof_mismatch")"), std::string::npos) << r.out;

  const auto g = seal_to(dir / "other.thsb", b.subject(), b.bidder);
  r = run_cli({"verify-receipt", dir / "r.json", "--log-key", log.vkey, "--sealed", g.path});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("[receipt.file_mismatch]"), std::string::npos) << r.err;

  // Usage: no key, no file.
  EXPECT_EQ(run_cli({"verify-receipt", dir / "r.json"}).code, 2);
  EXPECT_EQ(run_cli({"verify-receipt", "--log-key", log.vkey}).code, 2);
  // A key file works like --log-key.
  std::ofstream(dir / "keys.txt") << "# the log\n" << log.vkey << "\n";
  r = run_cli({"verify-receipt", dir / "r.json", "--log-key-file", dir / "keys.txt"});
  EXPECT_EQ(r.code, 0) << r.err;
  const auto help = run_cli({"verify-receipt", "--help"});
  EXPECT_EQ(help.code, 0);
  for (const char* s : {"Examples:", "receipt.proof_mismatch", "receipt.file_mismatch", "--sealed"})
    EXPECT_NE(help.out.find(s), std::string::npos) << s;
}

TEST_F(seals, verify_seal_command) {
  temp_dir dir;
  const auto f = seal_to(dir / "bid.thsb", "t-0123456789abcdef/1", "acme");
  std::istringstream in(f.bytes);
  const auto mine = tc::hex_encode(tc::sealed::verify(in).ciphertext_digest);
  auto s = make_seal(log, 4);
  s.digests.push_back(mine);
  std::sort(s.digests.begin(), s.digests.end());
  s.count = 5;
  s.root = seal_root_of(s.digests);
  s.note = log.sign(seal_text(s));
  std::ofstream(dir / "seal.json") << s.to_json();

  auto r = run_cli({"verify-seal", dir / "seal.json", "--log-key", log.vkey, "--sealed", f.path});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("seal VALID"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("is sealed bid"), std::string::npos) << r.out;
  r = run_cli({"--json", "verify-seal", dir / "seal.json", "--log-key", log.vkey, "--digest",
               s.digests[0]});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find(R"("included":true)"), std::string::npos) << r.out;
  r = run_cli(
      {"verify-seal", dir / "seal.json", "--log-key", log.vkey, "--digest", std::string(64, '0')});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("[seal.not_included]"), std::string::npos) << r.err;
  // Without a bid to look for, only the seal itself is checked.
  r = run_cli({"verify-seal", dir / "seal.json", "--log-key", log.vkey});
  EXPECT_EQ(r.code, 0) << r.err;
  // Usage mistakes.
  EXPECT_EQ(run_cli({"verify-seal", dir / "seal.json"}).code, 2);
  EXPECT_EQ(run_cli({"verify-seal", dir / "seal.json", "--log-key", log.vkey, "--sealed", f.path,
                     "--digest", mine})
                .code,
            2);
  EXPECT_EQ(run_cli({"verify-seal", dir / "seal.json", "--tender", "t-1", "--lot", "1", "--log-key",
                     log.vkey})
                .code,
            2);
  const auto help = run_cli({"verify-seal", "--help"});
  EXPECT_EQ(help.code, 0);
  for (const char* x : {"Examples:", "seal.not_included", "seal.root_mismatch", "--digest"})
    EXPECT_NE(help.out.find(x), std::string::npos) << x;
}

}  // namespace
