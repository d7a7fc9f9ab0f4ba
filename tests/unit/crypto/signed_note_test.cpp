#include <tender/crypto/bytes.hpp>
#include <tender/crypto/error.hpp>
#include <tender/crypto/init.hpp>
#include <tender/crypto/merkle.hpp>
#include <tender/crypto/signed_note.hpp>

#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

namespace tc = tender::crypto;
namespace mk = tender::crypto::merkle;
namespace nt = tender::crypto::note;

namespace {

// Reference vectors from Go's golang.org/x/mod/sumdb/note (note.go documentation and
// note_test.go): a signer key, its verifier key, a text and the resulting signed note. The
// EnochRoot key is what note.GenerateKey produces from an all-zero random source (seed = 32 zero
// bytes), and its signature is the one Go's ExampleSign_add_signatures prints.
constexpr std::string_view peter_skey =
    "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
constexpr std::string_view peter_vkey =
    "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
constexpr std::string_view enoch_vkey =
    "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop";
constexpr std::string_view go_text =
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n";
constexpr std::string_view peter_sig_line =
    "\xE2\x80\x94 PeterNeumann "
    "x08go/ZJkuBS9UG/"
    "SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
constexpr std::string_view enoch_sig_line =
    "\xE2\x80\x94 EnochRoot "
    "rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/"
    "5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n";

std::string peter_note() {
  return std::string(go_text) + "\n" + std::string(peter_sig_line);
}

std::string code_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const tc::error& e) {
    return e.code();
  }
  return "";
}

std::string as_string(const tc::secure_bytes& s) {
  return {reinterpret_cast<const char*>(s.data()), s.size()};
}

}  // namespace

TEST(signed_note, reproduces_go_reference_signature_byte_for_byte) {
  tc::init();
  const auto peter = nt::ed25519_signer::parse(peter_skey);
  EXPECT_EQ(peter.name(), "PeterNeumann");
  EXPECT_EQ(peter.id(), 0xc74f20a3u);
  EXPECT_EQ(nt::format_verifier_key(peter.verifier()), peter_vkey);
  EXPECT_EQ(as_string(peter.format_signer_key()), peter_skey);
  const nt::ed25519_signer* signers[] = {&peter};
  EXPECT_EQ(nt::sign(go_text, signers), peter_note());

  // Adding a second signature, as a witness would.
  const auto enoch = nt::ed25519_signer::from_seed("EnochRoot", tc::bytes(32, 0));
  EXPECT_EQ(nt::format_verifier_key(enoch.verifier()), enoch_vkey);
  const nt::ed25519_signer* cosigners[] = {&enoch};
  const std::string both = nt::add_signatures(peter_note(), cosigners);
  EXPECT_EQ(both, peter_note() + std::string(enoch_sig_line));
  EXPECT_EQ(code_of([&] { (void)nt::add_signatures(both, cosigners); }), nt::err_already_signed);
}

// The worked example of c2sp.org/signed-note ("Verifier keys"): a second, independent vector.
TEST(signed_note, opens_the_c2sp_spec_example) {
  tc::init();
  const auto key = nt::parse_verifier_key(
      "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k");
  EXPECT_EQ(key.name, "example.com/foo");
  EXPECT_EQ(key.id, 0x530d903au);
  const std::string note =
      "This is an example message.\n\n\xE2\x80\x94 example.com/foo "
      "Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM="
      "\n";
  const std::vector<nt::verifier_key> known = {key};
  const auto opened = nt::open(note, known);
  EXPECT_EQ(opened.text, "This is an example message.\n");
  ASSERT_EQ(opened.verified.size(), 1u);
  EXPECT_EQ(opened.verified[0].id, 0x530d903au);
}

TEST(signed_note, open_verifies_known_keys_and_ignores_unknown_ones) {
  tc::init();
  const auto peter = nt::parse_verifier_key(peter_vkey);
  const auto enoch = nt::parse_verifier_key(enoch_vkey);
  EXPECT_EQ(peter.name, "PeterNeumann");
  EXPECT_EQ(peter.id, 0xc74f20a3u);
  EXPECT_EQ(nt::key_id(peter.name, nt::sig_type_ed25519, peter.public_key), 0xc74f20a3u);
  const std::string both = peter_note() + std::string(enoch_sig_line);

  const std::vector<nt::verifier_key> only_peter = {peter};
  auto opened = nt::open(both, only_peter);
  EXPECT_EQ(opened.text, go_text);
  ASSERT_EQ(opened.verified.size(), 1u);
  EXPECT_EQ(opened.verified[0].name, "PeterNeumann");
  ASSERT_EQ(opened.unverified.size(), 1u);
  EXPECT_EQ(opened.unverified[0].id, 0xaf0cfe78u);

  const std::vector<nt::verifier_key> both_keys = {enoch, peter};
  opened = nt::open(both, both_keys);
  EXPECT_EQ(opened.verified.size(), 2u);
  EXPECT_TRUE(opened.unverified.empty());

  // Only unknown keys: rejected.
  const std::vector<nt::verifier_key> only_enoch = {enoch};
  EXPECT_EQ(code_of([&] { (void)nt::open(peter_note(), only_enoch); }), nt::err_no_known_signature);
  EXPECT_EQ(code_of([&] { (void)nt::open(peter_note(), {}); }), nt::err_no_known_signature);

  // A key sharing the name but not the id (or the id but not the name) is unknown, not a failure.
  auto same_name = enoch;
  same_name.name = "PeterNeumann";
  auto same_id = enoch;
  same_id.id = peter.id;
  const std::vector<nt::verifier_key> impostors = {same_name, same_id};
  EXPECT_EQ(code_of([&] { (void)nt::open(peter_note(), impostors); }), nt::err_no_known_signature);

  // A known key whose signature fails rejects the whole note, even if another one verifies.
  std::string tampered = both;
  tampered.replace(tampered.find("cryptography"), 12, "cryptographY");
  EXPECT_EQ(code_of([&] { (void)nt::open(tampered, only_peter); }), nt::err_bad_signature);
  const std::string forged_enoch = peter_note() + "\xE2\x80\x94 EnochRoot " +
                                   tc::base64_encode(tc::bytes{0xaf, 0x0c, 0xfe, 0x78, 1, 2, 3}) +
                                   "\n";
  EXPECT_EQ(code_of([&] { (void)nt::open(forged_enoch, both_keys); }), nt::err_bad_signature);
  EXPECT_NO_THROW((void)nt::open(forged_enoch, only_peter));

  // Two known keys with the same name and id are ambiguous.
  const std::vector<nt::verifier_key> twice = {peter, peter};
  EXPECT_EQ(code_of([&] { (void)nt::open(peter_note(), twice); }), nt::err_ambiguous_key);
}

TEST(signed_note, verifier_key_manglings_are_rejected) {
  tc::init();
  // As in Go's TestNewVerifier: every proper substring and every single-byte change fails.
  const std::string vkey(peter_vkey);
  for (std::size_t i = 0; i <= vkey.size(); ++i) {
    for (std::size_t j = i; j <= vkey.size(); ++j) {
      if (i == 0 && j == vkey.size()) continue;
      EXPECT_THROW((void)nt::parse_verifier_key(vkey.substr(i, j - i)), tc::error) << i << ":" << j;
    }
  }
  for (std::size_t i = 0; i < vkey.size(); ++i) {
    std::string bad = vkey;
    bad[i] = static_cast<char>(bad[i] + 1);
    EXPECT_THROW((void)nt::parse_verifier_key(bad), tc::error) << i;
  }
  EXPECT_EQ(code_of([&] {
              (void)nt::parse_verifier_key(
                  "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW");
            }),
            nt::err_key_id_mismatch);
  // Type 0x02 (ECDSA) is valid in the spec but not supported here.
  EXPECT_EQ(code_of([&] {
              (void)nt::parse_verifier_key("x+00000000+" + tc::base64_encode(tc::bytes(33, 2)));
            }),
            nt::err_unsupported_key_type);
  EXPECT_EQ(
      code_of([&] {
        (void)nt::parse_verifier_key("a b+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW");
      }),
      nt::err_bad_key_name);
  // A small-order point is never a real key.
  tc::bytes small_order(33, 0);
  small_order[0] = 0x01;
  small_order[1] = 0x01;  // the identity point's encoding
  const std::string ident = tc::base64_encode(small_order);
  EXPECT_EQ(code_of([&] { (void)nt::parse_verifier_key("x+00000000+" + ident); }), nt::err_bad_key);

  EXPECT_EQ(code_of([&] {
              (void)nt::ed25519_signer::parse(
                  "PRIVATE+KEY+PeterNeumann+c74f20a4+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz");
            }),
            nt::err_key_id_mismatch);
  EXPECT_EQ(code_of([&] {
              (void)nt::ed25519_signer::parse(
                  "PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz");
            }),
            nt::err_bad_key);
  EXPECT_EQ(code_of([&] { (void)nt::ed25519_signer::from_seed("a+b", tc::bytes(32)); }),
            nt::err_bad_key_name);
  EXPECT_EQ(code_of([&] { (void)nt::ed25519_signer::from_seed("ok", tc::bytes(31)); }),
            nt::err_bad_key);
  // Unicode spaces count as spaces.
  EXPECT_EQ(code_of([&] {
              nt::check_key_name(
                  "a\xE3\x80\x80"
                  "b");
            }),
            nt::err_bad_key_name);
  EXPECT_NO_THROW(nt::check_key_name("tenderhall.example/log\xE6\x97\xA5\xE5\xBF\x97"));
}

TEST(signed_note, generated_keys_round_trip) {
  tc::init();
  const auto signer = nt::ed25519_signer::generate("tenderhall.example/audit-log");
  const auto again = nt::ed25519_signer::parse(as_string(signer.format_signer_key()));
  EXPECT_EQ(again.id(), signer.id());
  const auto vkey = nt::parse_verifier_key(nt::format_verifier_key(signer.verifier()));
  EXPECT_EQ(vkey.public_key, signer.verifier().public_key);
  const nt::ed25519_signer* signers[] = {&again};
  const std::vector<nt::verifier_key> known = {vkey};
  EXPECT_EQ(nt::open(nt::sign("hello\n\nworld\n", signers), known).text, "hello\n\nworld\n");
}

TEST(signed_note, malformed_notes_are_rejected_with_codes) {
  tc::init();
  const std::vector<nt::verifier_key> known = {nt::parse_verifier_key(peter_vkey)};
  const std::string good = peter_note();
  const auto open_code = [&](const std::string& n) {
    return code_of([&] { (void)nt::open(n, known); });
  };
  const auto parse_code = [&](const std::string& n, const nt::note_limits& l) {
    return code_of([&] { (void)nt::parse(n, l); });
  };

  EXPECT_EQ(open_code(good), "");
  EXPECT_EQ(open_code(good.substr(0, good.size() - 1)), nt::err_malformed);  // no final newline
  EXPECT_EQ(open_code(std::string(go_text) + std::string(peter_sig_line)),
            nt::err_malformed);                                          // no blank line
  EXPECT_EQ(open_code(good + "\n"), nt::err_malformed);                  // blank line at the end
  EXPECT_EQ(open_code(std::string(go_text) + "\n"), nt::err_malformed);  // no signatures
  EXPECT_EQ(
      open_code(std::string(go_text) +
                "\n- PeterNeumann "
                "x08go/ZJkuBS9UG/"
                "SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"),
      nt::err_malformed);  // hyphen, not em dash
  EXPECT_EQ(open_code(good + "\xE2\x80\x94 PeterNeumann\n"), nt::err_malformed);  // no signature
  EXPECT_EQ(open_code(good + "\xE2\x80\x94 x AAAA\n"), nt::err_malformed);  // shorter than a key id
  EXPECT_EQ(open_code(good + "\xE2\x80\x94 x AAAAAA=!\n"), nt::err_malformed);  // not base64
  EXPECT_EQ(open_code(good + "\xE2\x80\x94 x AAAAAAB=\n"),
            nt::err_malformed);  // non-canonical base64
  EXPECT_EQ(open_code(good + "\xE2\x80\x94 a+b AAAAAAA=\n"), nt::err_malformed);  // '+' in key name
  EXPECT_EQ(open_code(good + std::string(peter_sig_line)), nt::err_duplicate_signature);
  EXPECT_EQ(open_code("tab\there\n\n" + std::string(peter_sig_line)), nt::err_bad_text);
  EXPECT_EQ(open_code("cr\r\n\n" + std::string(peter_sig_line)), nt::err_bad_text);
  EXPECT_EQ(open_code("bad \xC0\xAF utf8\n\n" + std::string(peter_sig_line)),
            nt::err_bad_text);  // overlong '/'
  EXPECT_EQ(open_code("surrogate \xED\xA0\x80\n\n" + std::string(peter_sig_line)),
            nt::err_bad_text);
  EXPECT_EQ(open_code(std::string("nul\0\n\n", 6) + std::string(peter_sig_line)), nt::err_bad_text);

  nt::note_limits small;
  small.max_size = good.size() - 1;
  EXPECT_EQ(parse_code(good, small), nt::err_too_large);
  small = {};
  small.max_lines = 1;
  EXPECT_EQ(parse_code(good, small), nt::err_too_many_lines);

  // The spec's floor: at least 16 signatures must be accepted. One more than the limit is not.
  std::string many = good;
  for (int i = 0; i < 63; ++i) {
    const auto s = nt::ed25519_signer::from_seed("witness" + std::to_string(i),
                                                 tc::bytes(32, static_cast<std::uint8_t>(i)));
    const nt::ed25519_signer* one[] = {&s};
    many = nt::add_signatures(many, one);
  }
  EXPECT_EQ(nt::open(many, known).unverified.size(), 63u);
  std::string too_many = many + "\xE2\x80\x94 extra " + tc::base64_encode(tc::bytes(68, 1)) + "\n";
  EXPECT_EQ(open_code(too_many), nt::err_too_many_signatures);

  // Signing refuses text the format cannot carry.
  const auto peter = nt::ed25519_signer::parse(peter_skey);
  const nt::ed25519_signer* signers[] = {&peter};
  EXPECT_EQ(code_of([&] { (void)nt::sign("no newline", signers); }), nt::err_malformed);
  EXPECT_EQ(code_of([&] { (void)nt::sign("ctrl\x01\n", signers); }), nt::err_bad_text);
  const nt::ed25519_signer* twice[] = {&peter, &peter};
  EXPECT_EQ(code_of([&] { (void)nt::sign(go_text, twice); }), nt::err_duplicate_signature);
}

TEST(signed_note, checkpoint_format_and_parse) {
  tc::init();
  // The example body of c2sp.org/tlog-checkpoint.
  const std::string spec_body =
      "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
  const auto cp = nt::parse_checkpoint(spec_body);
  EXPECT_EQ(cp.origin, "example.com/behind-the-sofa");
  EXPECT_EQ(cp.size, 20852163u);
  EXPECT_EQ(tc::base64_encode(cp.root), "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=");
  EXPECT_TRUE(cp.extensions.empty());
  EXPECT_EQ(nt::format_checkpoint(cp), spec_body);

  auto with_ext = cp;
  with_ext.extensions = {"tender 2024-0001 closed"};
  EXPECT_EQ(nt::parse_checkpoint(nt::format_checkpoint(with_ext)), with_ext);

  const std::string root_b64 = "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=";
  const auto bad = [&](const std::string& text) {
    return code_of([&] { (void)nt::parse_checkpoint(text); });
  };
  EXPECT_EQ(bad("o\n0\n" + tc::base64_encode(mk::empty_root()) + "\n"), "");
  EXPECT_EQ(bad("o\n01\n" + root_b64 + "\n"), nt::err_bad_checkpoint);  // leading zero
  EXPECT_EQ(bad("o\n-1\n" + root_b64 + "\n"), nt::err_bad_checkpoint);
  EXPECT_EQ(bad("o\n+1\n" + root_b64 + "\n"), nt::err_bad_checkpoint);
  EXPECT_EQ(bad("o\n1a\n" + root_b64 + "\n"), nt::err_bad_checkpoint);
  EXPECT_EQ(bad("o\n18446744073709551616\n" + root_b64 + "\n"), nt::err_bad_checkpoint);
  EXPECT_EQ(bad("o\n18446744073709551615\n" + root_b64 + "\n"), "");
  EXPECT_EQ(bad("o\n1\nAAAA\n"), nt::err_bad_checkpoint);  // 3-byte root
  EXPECT_EQ(bad("o\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2J=\n"),
            nt::err_bad_checkpoint);                                     // non-canonical
  EXPECT_EQ(bad("o\n1\n" + root_b64), nt::err_bad_checkpoint);           // no final newline
  EXPECT_EQ(bad("o\n1\n"), nt::err_bad_checkpoint);                      // no root
  EXPECT_EQ(bad("\n1\n" + root_b64 + "\n"), nt::err_bad_checkpoint);     // empty origin
  EXPECT_EQ(bad("o\n1\n" + root_b64 + "\n\n"), nt::err_bad_checkpoint);  // empty extension
  auto bad_origin = cp;
  bad_origin.origin = "two\nlines";
  EXPECT_EQ(code_of([&] { (void)nt::format_checkpoint(bad_origin); }), nt::err_bad_checkpoint);
}

// The whole receipt flow: the log appends events, signs a checkpoint, hands a bidder an inclusion
// proof; later an auditor checks consistency between two signed checkpoints.
TEST(signed_note, signed_checkpoints_carry_verifiable_log_state) {
  tc::init();
  const auto log_key = nt::ed25519_signer::from_seed("tenderhall.example/audit", tc::bytes(32, 7));
  const std::vector<nt::verifier_key> known = {log_key.verifier()};
  const nt::ed25519_signer* signers[] = {&log_key};

  std::vector<mk::hash> leaves;
  mk::frontier log;
  for (int i = 0; i < 21; ++i) {
    leaves.push_back(mk::leaf_hash(tc::as_bytes("{\"event\":" + std::to_string(i) + "}")));
    log.append(leaves.back());
  }
  const std::string old_note =
      nt::sign_checkpoint({"tenderhall.example/audit", log.size(), log.root(), {}}, signers);
  for (int i = 21; i < 50; ++i) {
    leaves.push_back(mk::leaf_hash(tc::as_bytes("{\"event\":" + std::to_string(i) + "}")));
    log.append(leaves.back());
  }
  const std::string new_note =
      nt::sign_checkpoint({"tenderhall.example/audit", log.size(), log.root(), {}}, signers);

  const auto old_cp = nt::open_checkpoint(old_note, "tenderhall.example/audit", known).cp;
  const auto new_cp = nt::open_checkpoint(new_note, "tenderhall.example/audit", known).cp;
  EXPECT_EQ(old_cp.size, 21u);
  EXPECT_EQ(new_cp.size, 50u);

  const auto receipt = mk::inclusion_proof(std::span<const mk::hash>(leaves.data(), 21), 17);
  EXPECT_NO_THROW(mk::verify_inclusion(17, old_cp.size, leaves[17], receipt, old_cp.root));
  EXPECT_NO_THROW(mk::verify_consistency(old_cp.size, new_cp.size, old_cp.root, new_cp.root,
                                         mk::consistency_proof(leaves, 21)));

  EXPECT_EQ(code_of([&] { (void)nt::open_checkpoint(new_note, "other.example/log", known); }),
            nt::err_wrong_origin);
  // A checkpoint whose body was edited after signing no longer opens.
  std::string edited = new_note;
  edited.replace(edited.find("\n50\n"), 4, "\n51\n");
  EXPECT_EQ(code_of([&] { (void)nt::open_checkpoint(edited, "tenderhall.example/audit", known); }),
            nt::err_bad_signature);
}
