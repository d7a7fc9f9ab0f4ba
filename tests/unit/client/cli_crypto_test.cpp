// The file-based `tender` commands (escrow, verify-proof, checkpoint verify, draw, verify-draw),
// driven in process through tender::cli::run with real crypto and real files in a temp directory.

#include <tender/cli/cli.hpp>

#include <tender/crypto/bytes.hpp>
#include <tender/crypto/digest.hpp>
#include <tender/crypto/draw.hpp>
#include <tender/crypto/escrow.hpp>
#include <tender/crypto/init.hpp>
#include <tender/crypto/merkle.hpp>
#include <tender/crypto/signed_note.hpp>
#include "cli_harness.hpp"

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include <stdlib.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace {

using tender::test::cli_result;
using tender::test::contains;
using tender::test::read_text;
using tender::test::run_cli;
using tender::test::temp_dir;

namespace fs = std::filesystem;
namespace tc = tender::crypto;
namespace esc = tender::crypto::escrow;
namespace merkle = tender::crypto::merkle;
namespace note = tender::crypto::note;
namespace json = boost::json;

void write_text(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

json::object parse_object(const std::string& text) {
  return json::parse(text).as_object();
}

json::object read_json(const std::string& path) {
  return parse_object(read_text(path));
}

void write_json(const std::string& path, const json::value& v) {
  write_text(path, json::serialize(v));
}

// ---- help ---------------------------------------------------------------------------------------

TEST(cli_crypto, every_new_command_has_help_with_usage_and_examples) {
  const std::vector<std::vector<std::string>> commands = {{"escrow", "setup"},
                                                          {"escrow", "verify-share"},
                                                          {"escrow", "share"},
                                                          {"escrow", "combine"},
                                                          {"verify-proof"},
                                                          {"checkpoint", "verify"},
                                                          {"draw"},
                                                          {"verify-draw"}};
  const auto top = run_cli({"--help"});
  for (const auto& c : commands) {
    auto args = c;
    args.emplace_back("--help");
    const auto r = run_cli(args);
    EXPECT_EQ(r.code, 0) << args[0];
    EXPECT_TRUE(contains(r.out, "Usage:")) << args[0];
    EXPECT_TRUE(contains(r.out, "Examples:")) << args[0];
    std::string name;
    for (const auto& w : c)
      name += (name.empty() ? "" : " ") + w;
    EXPECT_TRUE(contains(top.out, "  " + name + " ")) << name;
    auto via_help = c;
    via_help.insert(via_help.begin(), "help");
    EXPECT_EQ(run_cli(via_help).out, r.out) << name;
  }
}

// ---- escrow -------------------------------------------------------------------------------------

class cli_escrow : public ::testing::TestWithParam<esc::group> {
protected:
  void SetUp() override {
    tc::init();
    const auto r =
        run_cli({"escrow",  "setup",  "--group",   std::string(esc::group_name(GetParam())),
                 "-k",      "3",      "-n",        "5",
                 "--label", "center", "--label",   "supervisor",
                 "--label", "notary", "--label",   "audit",
                 "--label", "backup", "--out-dir", dir_ / "ceremony"});
    ASSERT_EQ(r.code, 0) << r.err;
    setup_out_ = r.out;
    pub_ = esc::setup_from_json(read_text(public_file()));
    bid_ = esc::encapsulate(pub_.key());
    expected_secret_ = tc::hex_encode(bid_.shared.view());
  }

  std::string public_file() const { return dir_ / "ceremony/escrow-public.json"; }
  std::string share_file(int i) const {
    return dir_ / ("ceremony/share-" + std::to_string(i) + ".json");
  }
  std::string dshare_file(int i) const { return dir_ / ("dshare-" + std::to_string(i) + ".json"); }
  std::string ephemeral_hex() const { return tc::hex_encode(bid_.ephemeral); }

  // Custodian i's decryption share for the bid, written to dshare-<i>.json.
  cli_result make_share(int i, const std::string& context = "T-2024-0001/bid-17") {
    return run_cli({"escrow", "share", "--public", public_file(), "--share", share_file(i),
                    "--ephemeral", ephemeral_hex(), "--context", context, "--out", dshare_file(i)});
  }

  cli_result combine(const std::vector<int>& custodians, bool as_json = true) {
    std::vector<std::string> args = {"escrow",      "combine",           "--public",
                                     public_file(), "--ephemeral",       ephemeral_hex(),
                                     "--context",   "T-2024-0001/bid-17"};
    if (as_json) args.emplace_back("--json");
    for (int i : custodians)
      args.push_back(dshare_file(i));
    return run_cli(args);
  }

  temp_dir dir_;
  std::string setup_out_;
  esc::setup_public pub_;
  esc::encapsulation bid_;
  std::string expected_secret_;
};

TEST_P(cli_escrow, setup_writes_public_setup_and_private_shares) {
  EXPECT_EQ(pub_.grp, GetParam());
  EXPECT_EQ(pub_.threshold, 3u);
  EXPECT_EQ(pub_.custodians, 5u);
  EXPECT_EQ(pub_.labels,
            (std::vector<std::string>{"center", "supervisor", "notary", "audit", "backup"}));
  EXPECT_TRUE(contains(setup_out_, tc::hex_encode(pub_.public_key)));
  EXPECT_TRUE(contains(setup_out_, "verify-share"));
  EXPECT_TRUE(contains(setup_out_, "shred"));
  for (int i = 1; i <= 5; ++i) {
    const auto perms = fs::status(share_file(i)).permissions();
    EXPECT_EQ(perms & fs::perms::all, fs::perms::owner_read | fs::perms::owner_write) << i;
    const esc::custodian_share share = esc::share_from_json(read_text(share_file(i)));
    EXPECT_EQ(share.index, static_cast<std::uint32_t>(i));
    EXPECT_NO_THROW(esc::verify_share(pub_, share));
  }
  // A second ceremony into the same directory must not silently replace the shares.
  const std::string before = read_text(share_file(1));
  auto again = run_cli({"escrow", "setup", "--group", std::string(esc::group_name(GetParam())),
                        "-k", "2", "-n", "3", "--out-dir", dir_ / "ceremony"});
  EXPECT_EQ(again.code, 1);
  EXPECT_TRUE(contains(again.err, "cli.file_exists")) << again.err;
  EXPECT_EQ(read_text(share_file(1)), before);
  again = run_cli({"escrow", "setup", "--group", std::string(esc::group_name(GetParam())), "-k",
                   "2", "-n", "3", "--out-dir", dir_ / "ceremony", "--force"});
  EXPECT_EQ(again.code, 0) << again.err;
  EXPECT_NE(read_text(share_file(1)), before);
}

TEST_P(cli_escrow, verify_share_accepts_the_real_share_and_rejects_a_swapped_one) {
  auto r = run_cli({"escrow", "verify-share", "--public", public_file(), "--share", share_file(2)});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "custodian 2 (supervisor)")) << r.out;
  EXPECT_TRUE(contains(r.out, tc::hex_encode(esc::public_share(pub_, 2))));

  // Custodian 3's scalar under index 2: a dealer handing out a wrong share.
  json::object s2 = read_json(share_file(2));
  s2["share"] = read_json(share_file(3))["share"];
  write_json(dir_ / "bad-share.json", s2);
  r = run_cli(
      {"escrow", "verify-share", "--public", public_file(), "--share", dir_ / "bad-share.json"});
  EXPECT_EQ(r.code, 1);
  EXPECT_TRUE(contains(r.err, "[escrow.share_mismatch]")) << r.err;
  // Nor can it be used to make a decryption share.
  r = run_cli({"escrow", "share", "--public", public_file(), "--share", dir_ / "bad-share.json",
               "--ephemeral", ephemeral_hex(), "--out", dir_ / "never.json"});
  EXPECT_EQ(r.code, 1);
  EXPECT_TRUE(contains(r.err, "[escrow.share_mismatch]")) << r.err;
  EXPECT_FALSE(fs::exists(dir_ / "never.json"));
}

TEST_P(cli_escrow, three_shares_combine_to_the_encapsulated_secret) {
  // R given three ways: hex, base64, and a JSON file.
  ASSERT_EQ(make_share(1).code, 0);
  auto r = run_cli({"escrow", "share", "--public", public_file(), "--share", share_file(3),
                    "--ephemeral", tc::base64_encode(bid_.ephemeral), "--context",
                    "T-2024-0001/bid-17", "--out", dshare_file(3)});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "custodian 3 (notary)")) << r.out;
  write_json(dir_ / "bid-17.json", json::object{{"ephemeral", ephemeral_hex()}});
  r = run_cli({"escrow", "share", "--public", public_file(), "--share", share_file(4),
               "--ephemeral-file", dir_ / "bid-17.json", "--context", "T-2024-0001/bid-17", "--out",
               dshare_file(4)});
  ASSERT_EQ(r.code, 0) << r.err;
  const esc::decryption_share ds = esc::decryption_share_from_json(read_text(dshare_file(4)));
  EXPECT_EQ(ds.index, 4u);

  r = combine({1, 3, 4});
  ASSERT_EQ(r.code, 0) << r.err;
  const json::object result = parse_object(r.out);
  EXPECT_EQ(result.at("shared_secret").as_string(), expected_secret_);
  EXPECT_EQ(result.at("shares").as_array().size(), 3u);

  r = combine({4, 1, 3}, false);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "shared secret: " + expected_secret_)) << r.out;

  // More than k shares give the same secret.
  ASSERT_EQ(make_share(5).code, 0);
  r = combine({1, 3, 4, 5});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(parse_object(r.out).at("shared_secret").as_string(), expected_secret_);
}

TEST_P(cli_escrow, two_shares_are_not_enough) {
  ASSERT_EQ(make_share(1).code, 0);
  ASSERT_EQ(make_share(2).code, 0);
  const auto r = combine({1, 2});
  EXPECT_EQ(r.code, 1);
  EXPECT_TRUE(contains(r.err, "[escrow.not_enough_shares]")) << r.err;
  EXPECT_FALSE(contains(r.out, expected_secret_));
  // The same custodian twice is not two custodians.
  const auto twice =
      run_cli({"escrow", "combine", "--public", public_file(), "--ephemeral", ephemeral_hex(),
               "--context", "T-2024-0001/bid-17", dshare_file(1), dshare_file(2), dshare_file(1)});
  EXPECT_EQ(twice.code, 1);
  EXPECT_TRUE(contains(twice.err, "[escrow.duplicate_share]")) << twice.err;
}

TEST_P(cli_escrow, a_tampered_share_is_rejected_naming_its_custodian) {
  for (int i : {1, 3, 4})
    ASSERT_EQ(make_share(i).code, 0);
  // Custodian 3 publishes custodian 4's point: a valid point, but not x_3·R.
  json::object d3 = read_json(dshare_file(3));
  d3["point"] = read_json(dshare_file(4))["point"];
  write_json(dshare_file(3), d3);
  const auto r = combine({1, 3, 4});
  EXPECT_EQ(r.code, 1);
  EXPECT_TRUE(contains(r.err, "dshare-3.json: custodian 3 (notary)")) << r.err;
  EXPECT_TRUE(contains(r.err, "[escrow.bad_share_proof]")) << r.err;
  EXPECT_FALSE(contains(r.err, "custodian 1")) << r.err;
  EXPECT_FALSE(contains(r.err, "custodian 4")) << r.err;
  EXPECT_FALSE(contains(r.out, expected_secret_));
}

TEST_P(cli_escrow, shares_for_another_context_or_bid_do_not_combine) {
  ASSERT_EQ(make_share(1).code, 0);
  ASSERT_EQ(make_share(3).code, 0);
  ASSERT_EQ(make_share(4, "T-2024-0001/bid-18").code, 0);
  auto r = combine({1, 3, 4});
  EXPECT_EQ(r.code, 1);
  EXPECT_TRUE(contains(r.err, "custodian 4 (audit)")) << r.err;
  EXPECT_TRUE(contains(r.err, "[escrow.bad_share_proof]")) << r.err;

  // All three made for this bid, combined as if for another bid's R: every proof fails.
  fs::remove(dshare_file(4));
  ASSERT_EQ(make_share(4).code, 0);
  const esc::encapsulation other = esc::encapsulate(pub_.key());
  r = run_cli({"escrow", "combine", "--public", public_file(), "--ephemeral",
               tc::hex_encode(other.ephemeral), "--context", "T-2024-0001/bid-17", dshare_file(1),
               dshare_file(3), dshare_file(4)});
  EXPECT_EQ(r.code, 1);
  for (const char* who : {"custodian 1", "custodian 3", "custodian 4"})
    EXPECT_TRUE(contains(r.err, who)) << r.err;
}

TEST_P(cli_escrow, bad_arguments_are_usage_errors_or_coded_failures) {
  auto r = run_cli(
      {"escrow", "setup", "--group", "p256", "-k", "2", "-n", "3", "--out-dir", dir_ / "x"});
  EXPECT_EQ(r.code, 2);
  r = run_cli({"escrow", "setup", "--group", "sm2", "-k", "4", "-n", "3", "--out-dir", dir_ / "y"});
  EXPECT_EQ(r.code, 1);
  EXPECT_TRUE(contains(r.err, "[escrow.bad_parameters]")) << r.err;
  EXPECT_FALSE(fs::exists(dir_ / "y"));
  r = run_cli({"escrow", "share", "--public", public_file(), "--share", share_file(1)});
  EXPECT_EQ(r.code, 2);  // no R
  r = run_cli({"escrow", "share", "--public", public_file(), "--share", share_file(1),
               "--ephemeral", std::string(2 * esc::point_size(GetParam()), 'f')});
  EXPECT_EQ(r.code, 1);
  EXPECT_TRUE(contains(r.err, "[escrow.bad_point]")) << r.err;
  r = run_cli(
      {"escrow", "verify-share", "--public", dir_ / "missing.json", "--share", share_file(1)});
  EXPECT_EQ(r.code, 1);
  EXPECT_TRUE(contains(r.err, "[cli.io]")) << r.err;
}

INSTANTIATE_TEST_SUITE_P(groups, cli_escrow,
                         ::testing::Values(esc::group::ristretto255, esc::group::sm2),
                         [](const auto& param_info) {
                           return std::string(esc::group_name(param_info.param));
                         });

// ---- verify-proof and checkpoint verify ---------------------------------------------------------

class cli_transparency : public ::testing::Test {
protected:
  void SetUp() override {
    tc::init();
    for (int i = 0; i < 7; ++i) {
      entries_.push_back("audit-entry-" + std::to_string(i));
      leaves_.push_back(merkle::leaf_hash(tc::as_bytes(entries_.back())));
    }
    root_ = merkle::root_from_leaf_hashes(leaves_);
  }

  static std::string hex(const merkle::hash& h) { return tc::hex_encode(h); }

  static json::array hex_list(const std::vector<merkle::hash>& proof) {
    json::array a;
    for (const auto& h : proof)
      a.push_back(json::value(hex(h)));
    return a;
  }

  cli_result verify_inclusion(const std::string& proof_file, std::uint64_t index,
                              const merkle::hash& leaf) {
    return run_cli({"verify-proof", "--leaf-hash", hex(leaf), "--index", std::to_string(index),
                    "--size", "7", "--root", hex(root_), "--proof", proof_file});
  }

  std::string signed_checkpoint(const note::ed25519_signer& signer, std::uint64_t size,
                                const merkle::hash& root) {
    const note::ed25519_signer* signers[] = {&signer};
    return note::sign_checkpoint({"tenderhall.example/audit", size, root, {}}, signers);
  }

  temp_dir dir_;
  std::vector<std::string> entries_;
  std::vector<merkle::hash> leaves_;
  merkle::hash root_{};
};

TEST_F(cli_transparency, inclusion_proof_valid_and_flipped) {
  const auto proof = merkle::inclusion_proof(leaves_, 3);
  ASSERT_FALSE(proof.empty());
  write_json(dir_ / "proof.json", hex_list(proof));
  auto r = verify_inclusion(dir_ / "proof.json", 3, leaves_[3]);
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "inclusion proof OK")) << r.out;

  // The same proof as one hash per line, and the leaf given as the entry's bytes.
  std::string lines;
  for (const auto& h : proof)
    lines += hex(h) + "\n";
  write_text(dir_ / "proof.txt", lines);
  write_text(dir_ / "entry.bin", entries_[3]);
  r = run_cli({"verify-proof", "--leaf-data", dir_ / "entry.bin", "--index", "3", "--size", "7",
               "--root", tc::base64_encode(root_), "--proof", dir_ / "proof.txt", "--json"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(parse_object(r.out).at("valid").as_bool(), true);

  // One flipped byte anywhere in the proof breaks it.
  for (std::size_t i = 0; i < proof.size(); ++i) {
    auto bad = proof;
    bad[i][7] ^= 0x01;
    write_json(dir_ / "bad.json", hex_list(bad));
    r = verify_inclusion(dir_ / "bad.json", 3, leaves_[3]);
    EXPECT_EQ(r.code, 1) << i;
    EXPECT_TRUE(contains(r.err, "[merkle.root_mismatch]")) << r.err;
  }
  // So do another leaf, another index, and a truncated proof.
  r = verify_inclusion(dir_ / "proof.json", 3, leaves_[4]);
  EXPECT_EQ(r.code, 1);
  r = verify_inclusion(dir_ / "proof.json", 2, leaves_[3]);
  EXPECT_EQ(r.code, 1);
  write_json(dir_ / "short.json", hex_list({proof.begin(), proof.end() - 1}));
  r = verify_inclusion(dir_ / "short.json", 3, leaves_[3]);
  EXPECT_EQ(r.code, 1);
  EXPECT_TRUE(contains(r.err, "[merkle.bad_proof_length]")) << r.err;
  // With --json the verdict is on stdout too.
  r = run_cli({"verify-proof", "--leaf-hash", hex(leaves_[4]), "--index", "3", "--size", "7",
               "--root", hex(root_), "--proof", dir_ / "proof.json", "--json"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(parse_object(r.out).at("error").as_string(), "merkle.root_mismatch");
}

TEST_F(cli_transparency, consistency_proof_valid_and_flipped) {
  const std::vector<merkle::hash> old_leaves(leaves_.begin(), leaves_.begin() + 3);
  const merkle::hash old_root = merkle::root_from_leaf_hashes(old_leaves);
  const auto proof = merkle::consistency_proof(leaves_, 3);
  write_json(dir_ / "consistency.json", json::object{{"proof", hex_list(proof)}});
  auto r = run_cli({"verify-proof", "--old-size", "3", "--old-root", hex(old_root), "--new-size",
                    "7", "--new-root", hex(root_), "--proof", dir_ / "consistency.json"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "consistency proof OK")) << r.out;

  auto bad = proof;
  bad.back()[0] ^= 0x80;
  write_json(dir_ / "bad.json", hex_list(bad));
  r = run_cli({"verify-proof", "--old-size", "3", "--old-root", hex(old_root), "--new-size", "7",
               "--new-root", hex(root_), "--proof", dir_ / "bad.json"});
  EXPECT_EQ(r.code, 1);
  EXPECT_TRUE(contains(r.err, "[merkle.root_mismatch]")) << r.err;

  // Mixing the two modes, or giving neither, is a usage error.
  r = run_cli({"verify-proof", "--index", "1", "--old-size", "3", "--proof", dir_ / "bad.json"});
  EXPECT_EQ(r.code, 2);
  r = run_cli({"verify-proof", "--proof", dir_ / "bad.json"});
  EXPECT_EQ(r.code, 2);
}

TEST_F(cli_transparency, proofs_against_signed_checkpoints) {
  const auto signer = note::ed25519_signer::generate("tenderhall.example/audit");
  const std::string vkey = note::format_verifier_key(signer.verifier());
  write_text(dir_ / "cp-7.txt", signed_checkpoint(signer, 7, root_));
  const std::vector<merkle::hash> old_leaves(leaves_.begin(), leaves_.begin() + 3);
  write_text(dir_ / "cp-3.txt",
             signed_checkpoint(signer, 3, merkle::root_from_leaf_hashes(old_leaves)));
  write_json(dir_ / "proof.json", hex_list(merkle::inclusion_proof(leaves_, 5)));
  write_json(dir_ / "consistency.json", hex_list(merkle::consistency_proof(leaves_, 3)));

  auto r = run_cli({"verify-proof", "--leaf-hash", hex(leaves_[5]), "--index", "5", "--checkpoint",
                    dir_ / "cp-7.txt", "--key", vkey, "--origin", "tenderhall.example/audit",
                    "--proof", dir_ / "proof.json"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "signed by tenderhall.example/audit+")) << r.out;

  write_text(dir_ / "keys.txt", "# the audit log\n" + vkey + "\n");
  r = run_cli({"verify-proof", "--old-checkpoint", dir_ / "cp-3.txt", "--new-checkpoint",
               dir_ / "cp-7.txt", "--key-file", dir_ / "keys.txt", "--proof",
               dir_ / "consistency.json"});
  EXPECT_EQ(r.code, 0) << r.err;

  // The wrong origin, or a checkpoint without a key to check it, is refused.
  r = run_cli({"verify-proof", "--leaf-hash", hex(leaves_[5]), "--index", "5", "--checkpoint",
               dir_ / "cp-7.txt", "--key", vkey, "--origin", "other.example/log", "--proof",
               dir_ / "proof.json"});
  EXPECT_EQ(r.code, 1);
  EXPECT_TRUE(contains(r.err, "[checkpoint.wrong_origin]")) << r.err;
  r = run_cli({"verify-proof", "--leaf-hash", hex(leaves_[5]), "--index", "5", "--checkpoint",
               dir_ / "cp-7.txt", "--proof", dir_ / "proof.json"});
  EXPECT_EQ(r.code, 2);

  // A checkpoint whose size was edited no longer carries a valid signature.
  std::string forged = read_text(dir_ / "cp-7.txt");
  forged.replace(forged.find("\n7\n"), 3, "\n6\n");
  write_text(dir_ / "forged.txt", forged);
  r = run_cli({"verify-proof", "--leaf-hash", hex(leaves_[5]), "--index", "5", "--checkpoint",
               dir_ / "forged.txt", "--key", vkey, "--proof", dir_ / "proof.json"});
  EXPECT_EQ(r.code, 1);
  EXPECT_TRUE(contains(r.err, "[note.bad_signature]")) << r.err;
}

TEST_F(cli_transparency, checkpoint_verify_good_and_bad_signature) {
  const auto signer = note::ed25519_signer::generate("tenderhall.example/audit");
  const auto witness = note::ed25519_signer::generate("witness.example/w1");
  const std::string vkey = note::format_verifier_key(signer.verifier());
  write_text(dir_ / "cp.txt", signed_checkpoint(signer, 7, root_));

  auto r = run_cli({"checkpoint", "verify", "--key", vkey, dir_ / "cp.txt"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "origin:    tenderhall.example/audit")) << r.out;
  EXPECT_TRUE(contains(r.out, "size:      7")) << r.out;
  EXPECT_TRUE(contains(r.out, hex(root_))) << r.out;
  EXPECT_TRUE(contains(r.out, "signed by: tenderhall.example/audit+")) << r.out;

  r = run_cli({"checkpoint", "verify", "--json", "--key", vkey, "--origin",
               "tenderhall.example/audit", dir_ / "cp.txt"});
  ASSERT_EQ(r.code, 0) << r.err;
  const json::object v = parse_object(r.out);
  EXPECT_EQ(v.at("valid").as_bool(), true);
  EXPECT_EQ(v.at("size").to_number<std::uint64_t>(), 7u);
  EXPECT_EQ(v.at("root").as_string(), hex(root_));

  // One byte of the signature changed.
  std::string text = read_text(dir_ / "cp.txt");
  const std::size_t sig = text.rfind(' ') + 10;
  text[sig] = text[sig] == 'A' ? 'B' : 'A';
  write_text(dir_ / "bad-sig.txt", text);
  r = run_cli({"checkpoint", "verify", "--key", vkey, dir_ / "bad-sig.txt"});
  EXPECT_EQ(r.code, 1);
  EXPECT_TRUE(contains(r.err, "[note.bad_signature]")) << r.err;

  // Signed, but not by a key we trust.
  r = run_cli({"checkpoint", "verify", "--json", "--key",
               note::format_verifier_key(witness.verifier()), dir_ / "cp.txt"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(parse_object(r.out).at("error").as_string(), "note.no_known_signature");

  r = run_cli({"checkpoint", "verify", dir_ / "cp.txt"});
  EXPECT_EQ(r.code, 2);  // no key
}

// ---- draw and verify-draw -----------------------------------------------------------------------

class cli_draw : public ::testing::Test {
protected:
  void SetUp() override {
    tc::init();
    std::string candidates;
    for (int i = 1; i <= 12; ++i) {
      char id[8];
      std::snprintf(id, sizeof id, "E%03d", i);
      candidates += std::string(id) + "\n";
    }
    write_text(dir_ / "candidates.txt", candidates);
    write_text(dir_ / "exclude.txt", "E004\r\nE009\r\n");
  }

  // The worked example of protocol/docs/verifiable-draw.md §7.
  cli_result run_example(const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args = {
        "draw",
        "--seed",
        "draw_id=text:T-2024-0001/experts/1",
        "--seed",
        "checkpoint_root=5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
        "--seed",
        "host_reveal=00112233445566778899aabbccddeeff",
        "--candidates",
        dir_ / "candidates.txt",
        "--exclude",
        dir_ / "exclude.txt",
        "--count",
        "4"};
    args.insert(args.end(), extra.begin(), extra.end());
    return run_cli(args);
  }

  temp_dir dir_;
};

TEST_F(cli_draw, draw_matches_the_documented_example_and_verifies) {
  auto r = run_example({"--out", dir_ / "record.json"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "ea5ff0c2e38e07c056b7da3368e8a183046c0aa9f852f0d0f190ed7eb3bd3535"));
  EXPECT_TRUE(contains(r.out, "1. E007\n  2. E011\n  3. E002\n  4. E005\n")) << r.out;

  const json::object record = read_json(dir_ / "record.json");
  EXPECT_EQ(record.at("seed").as_string(),
            "ea5ff0c2e38e07c056b7da3368e8a183046c0aa9f852f0d0f190ed7eb3bd3535");
  EXPECT_EQ(record.at("selected"), json::value(json::array{"E007", "E011", "E002", "E005"}));
  EXPECT_EQ(record.at("exclusions"), json::value(json::array{"E004", "E009"}));
  EXPECT_EQ(record.at("candidates").as_array().size(), 12u);

  r = run_cli({"verify-draw", dir_ / "record.json"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "draw record OK")) << r.out;

  // --json prints the same record; the file is not replaced without --force.
  r = run_example({"--json", "--out", dir_ / "record.json"});
  EXPECT_EQ(r.code, 1);
  EXPECT_TRUE(contains(r.err, "[cli.file_exists]")) << r.err;
  r = run_example({"--json"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(json::parse(r.out), json::value(record));
}

TEST_F(cli_draw, edited_records_fail_verification) {
  ASSERT_EQ(run_example({"--out", dir_ / "record.json"}).code, 0);
  const json::object record = read_json(dir_ / "record.json");

  // The announced order changed: the first two swapped.
  json::object swapped = record;
  swapped["selected"] = json::array{"E011", "E007", "E002", "E005"};
  write_json(dir_ / "swapped.json", swapped);
  auto r = run_cli({"verify-draw", dir_ / "swapped.json"});
  EXPECT_EQ(r.code, 1);
  EXPECT_TRUE(contains(r.err, "position 1")) << r.err;
  EXPECT_TRUE(contains(r.err, "[cli.draw_mismatch]")) << r.err;

  // A reserve dropped from the announcement.
  json::object shorter = record;
  shorter["selected"] = json::array{"E007", "E011", "E002"};
  write_json(dir_ / "shorter.json", shorter);
  r = run_cli({"verify-draw", "--json", dir_ / "shorter.json"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(parse_object(r.out).at("error").as_string(), "cli.draw_mismatch");

  // A seed input changed after the fact: the seed no longer matches.
  json::object reseeded = record;
  reseeded["seed_materials"].as_array()[2].as_object()["value"] =
      "00112233445566778899aabbccddeefe";
  write_json(dir_ / "reseeded.json", reseeded);
  r = run_cli({"verify-draw", dir_ / "reseeded.json"});
  EXPECT_EQ(r.code, 1);
  EXPECT_TRUE(contains(r.err, "seed")) << r.err;
  EXPECT_TRUE(contains(r.err, "[cli.draw_mismatch]")) << r.err;

  // An exclusion quietly removed: inputs and selection now disagree.
  json::object unexcluded = record;
  unexcluded["exclusions"] = json::array{"E004"};
  write_json(dir_ / "unexcluded.json", unexcluded);
  r = run_cli({"verify-draw", dir_ / "unexcluded.json"});
  EXPECT_EQ(r.code, 1);

  // Not a record at all, or an extra member the verifier would not check.
  json::object missing = record;
  missing.erase("seed");
  write_json(dir_ / "missing.json", missing);
  r = run_cli({"verify-draw", dir_ / "missing.json"});
  EXPECT_EQ(r.code, 1);
  EXPECT_TRUE(contains(r.err, "[cli.bad_draw_record]")) << r.err;
  json::object extra = record;
  extra["winner"] = "E001";
  write_json(dir_ / "extra.json", extra);
  r = run_cli({"verify-draw", dir_ / "extra.json"});
  EXPECT_EQ(r.code, 1);
  EXPECT_TRUE(contains(r.err, "[cli.bad_draw_record]")) << r.err;
}

TEST_F(cli_draw, bad_inputs_are_refused_with_codes) {
  write_text(dir_ / "typo.txt", "E099\n");
  auto r = run_cli({"draw", "--seed", "draw_id=00", "--candidates", dir_ / "candidates.txt",
                    "--exclude", dir_ / "typo.txt", "--count", "1"});
  EXPECT_EQ(r.code, 1);
  EXPECT_TRUE(contains(r.err, "[draw.unknown_exclusion]")) << r.err;
  r = run_cli(
      {"draw", "--seed", "draw_id=00", "--candidates", dir_ / "candidates.txt", "--count", "13"});
  EXPECT_EQ(r.code, 1);
  EXPECT_TRUE(contains(r.err, "[draw.count_exceeds_candidates]")) << r.err;
  r = run_cli(
      {"draw", "--seed", "draw_id=xyz", "--candidates", dir_ / "candidates.txt", "--count", "1"});
  EXPECT_EQ(r.code, 1);
  EXPECT_TRUE(contains(r.err, "[cli.bad_input]")) << r.err;
  r = run_cli({"draw", "--candidates", dir_ / "candidates.txt", "--count", "1"});
  EXPECT_EQ(r.code, 2);  // no seed
  r = run_cli({"draw", "--seed", "a=00", "--candidates", dir_ / "candidates.txt", "--count", "-1"});
  EXPECT_EQ(r.code, 2);
}

// The opening hall publishes its draws inside events and the opening record; verify-draw finds
// them there, in records made before the draw procedure v2 (no draw checkpoint) and after it,
// where the draw checkpoint beside each parameter draw must be the draw's last input and, with
// the log's key, a checkpoint signed by the log.
class cli_hall_draw : public cli_draw {
protected:
  static json::object draw_json(const std::vector<std::pair<std::string, std::string>>& materials,
                                const std::vector<std::string>& candidates) {
    tc::draw_inputs in;
    json::array m;
    for (const auto& [label, value] : materials) {
      const auto b = tc::as_bytes(value);
      in.seed_materials.push_back({label, tc::bytes(b.begin(), b.end())});
      m.push_back(json::object{{"label", label}, {"value", tc::hex_encode(b)}});
    }
    json::array c;
    for (const auto& x : candidates)
      c.push_back(json::value(x));
    in.candidates = candidates;
    in.count = 1;
    const auto d = tc::run_draw(in);
    return {{"algorithm", "tenderhall/draw/v1"},
            {"seed_materials", std::move(m)},
            {"candidates", std::move(c)},
            {"exclusions", json::array{}},
            {"count", 1},
            {"seed", tc::to_hex(d.seed)},
            {"selected", json::array{json::value(d.selected.front())}}};
  }

  // An opening record file (hall-protocol.md §12) around these draws; verify-draw reads only the
  // draws, so the rest is a stub.
  static json::object record_file(json::object draws) {
    return {{"record",
             json::object{{"format", "tenderhall-opening-record/v1"}, {"draws", std::move(draws)}}},
            {"digest", std::string(64, '0')},
            {"note", ""},
            {"log_index", 1}};
  }

  const std::string host_ = std::string(32, 'h');
  const std::string root_ = "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328";
  const std::vector<std::string> rates_ = {"0.05", "0.08", "0.10"};
};

TEST_F(cli_hall_draw, records_without_a_procedure_verify_as_before) {
  const auto rep = draw_json(
      {{"checkpoint_root", root_}, {"host_reveal", host_}, {"draw_id", "t-1/representative"}},
      {"o-1", "o-2"});
  const auto lot = draw_json({{"checkpoint_root", root_},
                              {"host_reveal", host_},
                              {"representative:o-1", ""},
                              {"draw_id", "t-1/lot/1/discount"}},
                             rates_);
  write_json(dir_ / "old.json",
             record_file({{"checkpoint_root", root_},
                          {"representative_draw", rep},
                          {"parameters",
                           json::array{json::object{{"lot", 1},
                                                    {"value", lot.at("selected").as_array().at(0)},
                                                    {"draw", lot}}}}}));
  auto r = run_cli({"verify-draw", dir_ / "old.json"});
  EXPECT_EQ(r.code, 0) << r.err;
  // Both draws were found and checked.
  EXPECT_NE(r.out.find("draw record OK"), r.out.rfind("draw record OK")) << r.out;
  // And an edited one fails.
  auto bad = lot;
  bad["selected"] =
      json::array{lot.at("selected").as_array().at(0).as_string() == "0.05" ? "0.08" : "0.05"};
  write_json(dir_ / "old-bad.json",
             record_file({{"representative_draw", rep},
                          {"parameters", json::array{json::object{{"lot", 1}, {"draw", bad}}}}}));
  r = run_cli({"verify-draw", dir_ / "old-bad.json"});
  EXPECT_EQ(r.code, 1);
  EXPECT_TRUE(contains(r.err, "[cli.draw_mismatch]")) << r.err;
}

TEST_F(cli_hall_draw, a_v2_draw_checkpoint_must_be_the_last_input_and_signed_by_the_log) {
  const auto log = note::ed25519_signer::generate("tenderhall.example/audit");
  const auto other = note::ed25519_signer::generate("tenderhall.example/audit");
  auto checkpoint_of = [&](std::uint64_t size, const std::string& seed) {
    const auto root = merkle::hash_from_bytes(tc::sha256(seed));
    const note::ed25519_signer* signers[] = {&log};
    return json::object{
        {"size", size},
        {"root", tc::base64_encode(root)},
        {"note", note::sign_checkpoint({"tenderhall.example/audit", size, root, {}}, signers)},
        {"audit_seq", size - 1},
        {"salt", std::string(64, 'a')}};
  };
  const auto cp = checkpoint_of(42, "draw");
  const auto lot = draw_json({{"checkpoint_root", root_},
                              {"host_reveal", host_},
                              {"representative:o-1", ""},
                              {"draw_checkpoint", std::string(cp.at("root").as_string())},
                              {"draw_id", "t-1/lot/1/discount"}},
                             rates_);
  auto file_with = [&](const json::object& checkpoint) {
    return json::object{
        {"procedure", "tenderhall/hall-draw/v2"},
        {"draws", json::array{json::object{{"lot", 1},
                                           {"value", lot.at("selected").as_array().at(0)},
                                           {"draw", lot},
                                           {"checkpoint", checkpoint}}}}};
  };
  write_json(dir_ / "event.json", file_with(cp));
  auto r = run_cli({"verify-draw", dir_ / "event.json"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(contains(r.out,
                       "draw checkpoint: size 42, its root is the draw's draw_checkpoint "
                       "input (give --log-key"))
      << r.out;
  write_text(dir_ / "log.key", note::format_verifier_key(log.verifier()) + "\n");
  r = run_cli({"verify-draw", "--log-key", dir_ / "log.key", dir_ / "event.json"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "signed by the log's key")) << r.out;
  r = run_cli({"verify-draw", "--json", "--log-key", note::format_verifier_key(log.verifier()),
               dir_ / "event.json"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(contains(std::string(parse_object(r.out).at("draw_checkpoint").as_string()),
                       "signed by the log's key"));

  // Another key did not sign it.
  r = run_cli({"verify-draw", "--log-key", note::format_verifier_key(other.verifier()),
               dir_ / "event.json"});
  EXPECT_EQ(r.code, 1);
  // A checkpoint that is not the draw's input, even a genuine one, is refused.
  write_json(dir_ / "swapped.json", file_with(checkpoint_of(43, "another")));
  r = run_cli({"verify-draw", dir_ / "swapped.json"});
  EXPECT_EQ(r.code, 1);
  EXPECT_TRUE(contains(r.err, "[cli.draw_mismatch]")) << r.err;
  EXPECT_TRUE(contains(r.err, "draw_checkpoint")) << r.err;
  // A note for another size than the one published.
  auto resized = cp;
  resized["size"] = 41;
  write_json(dir_ / "resized.json", file_with(resized));
  r = run_cli({"verify-draw", "--log-key", dir_ / "log.key", dir_ / "resized.json"});
  EXPECT_EQ(r.code, 1);
  EXPECT_TRUE(contains(r.err, "another size or root")) << r.err;
}

}  // namespace
