// The sealed-bid `tender` commands (keygen, seal, inspect, verify, open, backup-check) and the
// escrow opening of a sealed file (escrow share|combine --sealed), driven in process through
// tender::cli::run with real keys, real files and real crypto in a temp directory, for both suites.

#include <tender/cli/cli.hpp>

#include <tender/crypto/bytes.hpp>
#include <tender/crypto/init.hpp>
#include <tender/crypto/keys.hpp>
#include <tender/crypto/sealed_bid.hpp>
#include "cli_harness.hpp"

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include <stdlib.h>

#include <cstdlib>
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
namespace json = boost::json;

void write_text(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

// Three chunks and a bit: 64 KiB framing, a full and a partial last chunk.
std::string sample_body() {
  std::string body(150'000, '\0');
  for (std::size_t i = 0; i < body.size(); ++i)
    body[i] = static_cast<char>((i * 7 + i / 251) % 256);
  return body;
}

// Files left in a directory, temporary ones (".name.tmp-XXXXXX") included.
std::vector<std::string> entries(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir))
    names.push_back(e.path().filename().string());
  return names;
}

struct suite_case {
  std::string suite;  // sodium / gm
  std::string group;  // ristretto255 / sm2
};

class cli_sealed : public ::testing::TestWithParam<suite_case> {
protected:
  void SetUp() override {
    tc::init();
    const auto k = run_cli({"keygen", "--suite", suite(), "--out-dir", dir_ / "keys"});
    ASSERT_EQ(k.code, 0) << k.err;
    keygen_out_ = k.out;
    const auto e = run_cli({"escrow", "setup", "--group", GetParam().group, "-k", "3", "-n", "5",
                            "--out-dir", dir_ / "ceremony"});
    ASSERT_EQ(e.code, 0) << e.err;
    write_text(body_file(), sample_body());
    write_text(summary_file(),
               R"({"price":"12345678.90","duration_days":365,"project_manager":"Zhang San"})");
  }

  const std::string& suite() const { return GetParam().suite; }
  std::string key(const std::string& role, const std::string& name = "bidder") const {
    return dir_ / ("keys/" + name + "-" + role + ".pem");
  }
  std::string pub(const std::string& role, const std::string& name = "bidder") const {
    return dir_ / ("keys/" + name + "-" + role + ".pub.pem");
  }
  std::string escrow_public() const { return dir_ / "ceremony/escrow-public.json"; }
  std::string body_file() const { return dir_ / "bid.bin"; }
  std::string summary_file() const { return dir_ / "summary.json"; }

  cli_result seal(const std::string& policy, const std::string& out,
                  std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"seal",
                                     "--suite",
                                     suite(),
                                     "--tender",
                                     "ZB-2024-0001",
                                     "--bidder",
                                     "91310000MA1FL0001X",
                                     "--policy",
                                     policy,
                                     "--recipient",
                                     pub("encryption"),
                                     "--sign-key",
                                     key("signing"),
                                     "--summary",
                                     summary_file()};
    if (policy != "bidder") {
      args.emplace_back("--escrow");
      args.push_back(escrow_public());
    }
    args.insert(args.end(), extra.begin(), extra.end());
    args.push_back(body_file());
    args.push_back(out);
    return run_cli(args);
  }

  // Custodian i's decryption share for a sealed file, made from the file itself.
  cli_result escrow_share(int i, const std::string& sealed_file, const std::string& out) {
    return run_cli({"escrow", "share", "--public", escrow_public(), "--share",
                    dir_ / ("ceremony/share-" + std::to_string(i) + ".json"), "--sealed",
                    sealed_file, "--out", out});
  }

  std::vector<std::string> escrow_args(const std::vector<std::string>& shares) {
    std::vector<std::string> args = {"--escrow-public", escrow_public()};
    for (const auto& s : shares) {
      args.emplace_back("--escrow-share");
      args.push_back(s);
    }
    return args;
  }

  cli_result open(const std::string& file, std::vector<std::string> extra) {
    std::vector<std::string> args = {"open", file};
    args.insert(args.end(), extra.begin(), extra.end());
    return run_cli(args);
  }

  temp_dir dir_;
  std::string keygen_out_;
};

// ---- help ---------------------------------------------------------------------------------------

TEST(cli_sealed_help, every_new_command_has_help_with_usage_and_examples) {
  const std::vector<std::vector<std::string>> commands = {
      {"keygen"}, {"seal"},         {"inspect"},         {"verify"},
      {"open"},   {"backup-check"}, {"escrow", "share"}, {"escrow", "combine"}};
  for (auto c : commands) {
    c.emplace_back("--help");
    const auto r = run_cli(c);
    EXPECT_EQ(r.code, 0) << c[0];
    EXPECT_TRUE(contains(r.out, "Usage:")) << c[0];
    EXPECT_TRUE(contains(r.out, "Examples:")) << c[0];
  }
  const auto share = run_cli({"escrow", "share", "--help"});
  EXPECT_TRUE(contains(share.out, "--sealed"));
  EXPECT_TRUE(contains(share.out, "header digest"));
  const auto all = run_cli({"--help"});
  for (const char* name : {"keygen", "seal", "inspect", "verify", "open", "backup-check"})
    EXPECT_TRUE(contains(all.out, name)) << name;
}

// ---- keygen -------------------------------------------------------------------------------------

TEST_P(cli_sealed, keygen_writes_pem_files_that_openssl_reads) {
  for (const char* role : {"encryption", "signing"}) {
    const auto perms = fs::status(key(role)).permissions();
    EXPECT_EQ(perms & (fs::perms::group_all | fs::perms::others_all), fs::perms::none) << role;
    const std::string check_private = "/usr/bin/openssl pkey -in '" + key(role) + "' -noout";
    EXPECT_EQ(std::system(check_private.c_str()), 0) << role;
    const std::string check_public = "/usr/bin/openssl pkey -pubin -in '" + pub(role) + "' -noout";
    EXPECT_EQ(std::system(check_public.c_str()), 0) << role;
    // The printed fingerprint is the public key file's.
    const auto p = tc::public_key::from_pem(read_text(pub(role)));
    EXPECT_TRUE(contains(keygen_out_, p.fingerprint())) << role;
    EXPECT_TRUE(tc::private_key::from_pem(read_text(key(role))).public_part() == p) << role;
  }
  const auto enc = tc::public_key::from_pem(read_text(pub("encryption")));
  const auto sig = tc::public_key::from_pem(read_text(pub("signing")));
  EXPECT_EQ(enc.type(), suite() == "gm" ? tc::key_type::sm2 : tc::key_type::x25519);
  EXPECT_EQ(sig.type(), suite() == "gm" ? tc::key_type::sm2 : tc::key_type::ed25519);
  EXPECT_FALSE(enc == sig);

  // Never replaced without --force.
  const std::string before = read_text(key("encryption"));
  const auto again = run_cli({"keygen", "--suite", suite(), "--out-dir", dir_ / "keys"});
  EXPECT_EQ(again.code, 1);
  EXPECT_TRUE(contains(again.err, "[cli.file_exists]")) << again.err;
  EXPECT_EQ(read_text(key("encryption")), before);
  const auto forced =
      run_cli({"keygen", "--suite", suite(), "--out-dir", dir_ / "keys", "--force", "--json"});
  ASSERT_EQ(forced.code, 0) << forced.err;
  EXPECT_NE(read_text(key("encryption")), before);
  const auto j = json::parse(forced.out).as_object();
  EXPECT_EQ(j.at("suite").as_string(), suite());
  EXPECT_EQ(j.at("encryption").at("fingerprint").as_string(),
            tc::public_key::from_pem(read_text(pub("encryption"))).fingerprint());
}

TEST_P(cli_sealed, keygen_with_passphrase_encrypts_the_private_keys) {
  write_text(dir_ / "pass.txt", "correct horse battery staple\n");
  const auto k = run_cli({"keygen", "--suite", suite(), "--out-dir", dir_ / "keys", "--name",
                          "locked", "--passphrase-file", dir_ / "pass.txt"});
  ASSERT_EQ(k.code, 0) << k.err;
  EXPECT_TRUE(contains(read_text(key("encryption", "locked")), "ENCRYPTED PRIVATE KEY"));
  const std::string check = "/usr/bin/openssl pkey -in '" + key("signing", "locked") +
                            "' -passin 'pass:correct horse battery staple' -noout";
  EXPECT_EQ(std::system(check.c_str()), 0);
  // Sealing with the locked signing key needs the passphrase.
  const std::vector<std::string> base = {"seal",
                                         "--suite",
                                         suite(),
                                         "--tender",
                                         "T-1",
                                         "--bidder",
                                         "B-1",
                                         "--policy",
                                         "bidder",
                                         "--recipient",
                                         pub("encryption", "locked"),
                                         "--summary",
                                         summary_file(),
                                         "--sign-key",
                                         key("signing", "locked")};
  auto without = base;
  without.push_back(body_file());
  without.push_back(dir_ / "a.thsb");
  const auto r1 = run_cli(without);
  EXPECT_EQ(r1.code, 1);
  EXPECT_TRUE(contains(r1.err, "[key.bad_passphrase]")) << r1.err;
  EXPECT_FALSE(fs::exists(dir_ / "a.thsb"));
  auto with = base;
  with.insert(with.end(), {"--passphrase-file", dir_ / "pass.txt", body_file(), dir_ / "a.thsb"});
  ASSERT_EQ(run_cli(with).code, 0);
  const auto o = open(dir_ / "a.thsb", {"--key", key("encryption", "locked"), "--passphrase-file",
                                        dir_ / "pass.txt", "--out", dir_ / "a.out"});
  ASSERT_EQ(o.code, 0) << o.err;
  EXPECT_EQ(read_text(dir_ / "a.out"), sample_body());
}

// ---- seal, inspect, verify, open ----------------------------------------------------------------

TEST_P(cli_sealed, bidder_policy_round_trip) {
  const std::string sealed_file = dir_ / "bid.thsb";
  const auto s = seal("bidder", sealed_file, {"--json"});
  ASSERT_EQ(s.code, 0) << s.err;
  const auto sj = json::parse(s.out).as_object();
  const auto& result = sj.at("sealed").as_object();
  EXPECT_EQ(result.at("file_size").to_number<std::uint64_t>(), fs::file_size(sealed_file));
  EXPECT_EQ(result.at("body_size").to_number<std::uint64_t>(), sample_body().size());
  EXPECT_EQ(result.at("ciphertext_digest").as_string().size(), 64u);
  EXPECT_FALSE(result.at("rehearsal_public_key").as_string().empty());

  // inspect: the header and recipients, without any key.
  const auto i = run_cli({"inspect", "--json", sealed_file});
  ASSERT_EQ(i.code, 0) << i.err;
  const auto ij = json::parse(i.out).as_object();
  EXPECT_EQ(ij.at("suite").as_string(), suite());
  EXPECT_EQ(ij.at("policy").as_string(), "bidder");
  EXPECT_EQ(ij.at("tender_id").as_string(), "ZB-2024-0001");
  EXPECT_EQ(ij.at("bidder_id").as_string(), "91310000MA1FL0001X");
  EXPECT_EQ(ij.at("chunk_count").to_number<int>(), 3);
  EXPECT_EQ(ij.at("body_size").to_number<std::uint64_t>(), sample_body().size());
  EXPECT_EQ(ij.at("sizes").at("total").to_number<std::uint64_t>(), fs::file_size(sealed_file));
  EXPECT_EQ(ij.at("ciphertext_digest"), result.at("ciphertext_digest"));
  EXPECT_EQ(ij.at("commitment"), result.at("commitment"));
  EXPECT_EQ(ij.at("rehearsal_public_key"), result.at("rehearsal_public_key"));
  const auto& stanzas = ij.at("stanzas").as_array();
  ASSERT_EQ(stanzas.size(), 1u);
  EXPECT_EQ(stanzas[0].at("type").as_string(), suite() == "gm" ? "sm2" : "x25519");
  EXPECT_EQ(stanzas[0].at("fingerprint").as_string(),
            tc::public_key::from_pem(read_text(pub("encryption"))).fingerprint());
  EXPECT_EQ(ij.at("signer").at("fingerprint").as_string(),
            tc::public_key::from_pem(read_text(pub("signing"))).fingerprint());
  const auto text = run_cli({"inspect", sealed_file});
  EXPECT_EQ(text.code, 0);
  EXPECT_TRUE(contains(text.out, "ZB-2024-0001"));

  // verify: any signer, the expected signer, and another signer.
  EXPECT_EQ(run_cli({"verify", sealed_file}).code, 0);
  const auto v = run_cli({"verify", "--signer", pub("signing"), "--json", sealed_file});
  ASSERT_EQ(v.code, 0) << v.err;
  EXPECT_TRUE(json::parse(v.out).at("valid").as_bool());
  ASSERT_EQ(
      run_cli({"keygen", "--suite", suite(), "--out-dir", dir_ / "keys", "--name", "other"}).code,
      0);
  const auto wrong = run_cli({"verify", "--signer", pub("signing", "other"), sealed_file});
  EXPECT_EQ(wrong.code, 1);
  EXPECT_TRUE(contains(wrong.err, "[sealed.bad_signer]")) << wrong.err;

  // open: the bid comes back byte for byte; the summary is printed.
  const auto o = open(sealed_file, {"--key", key("encryption"), "--out", dir_ / "opened.bin"});
  ASSERT_EQ(o.code, 0) << o.err;
  EXPECT_EQ(read_text(dir_ / "opened.bin"), sample_body());
  EXPECT_TRUE(contains(o.out, "12345678.90"));
  const auto perms = fs::status(dir_ / "opened.bin").permissions();
  EXPECT_EQ(perms & (fs::perms::group_all | fs::perms::others_all), fs::perms::none);

  // --summary-only does not need the body; --json gives the summary as an object.
  const auto so = open(sealed_file, {"--key", key("encryption"), "--summary-only", "--json"});
  ASSERT_EQ(so.code, 0) << so.err;
  const auto soj = json::parse(so.out).as_object();
  EXPECT_EQ(soj.at("summary").at("price").as_string(), "12345678.90");
  EXPECT_FALSE(soj.contains("body_size"));

  // Another bidder's key is not a recipient.
  const auto other =
      open(sealed_file, {"--key", key("encryption", "other"), "--out", dir_ / "other.bin"});
  EXPECT_EQ(other.code, 1);
  EXPECT_TRUE(contains(other.err, "[sealed.wrong_key]")) << other.err;
  EXPECT_FALSE(fs::exists(dir_ / "other.bin"));

  // Outputs are never replaced without --force.
  const auto again = seal("bidder", sealed_file);
  EXPECT_EQ(again.code, 1);
  EXPECT_TRUE(contains(again.err, "[cli.file_exists]")) << again.err;
  EXPECT_EQ(seal("bidder", sealed_file, {"--force"}).code, 0);
}

TEST_P(cli_sealed, bidder_or_escrow_opens_with_the_key_or_with_three_of_five_custodians) {
  const std::string sealed_file = dir_ / "bid.thsb";
  ASSERT_EQ(seal("bidder-or-escrow", sealed_file).code, 0);
  const auto ij = json::parse(run_cli({"inspect", "--json", sealed_file}).out).as_object();
  EXPECT_EQ(ij.at("policy").as_string(), "bidder-or-escrow");
  EXPECT_EQ(ij.at("stanzas").as_array().size(), 2u);
  EXPECT_EQ(run_cli({"verify", sealed_file}).code, 0);

  const auto by_key = open(sealed_file, {"--key", key("encryption"), "--out", dir_ / "k.bin"});
  ASSERT_EQ(by_key.code, 0) << by_key.err;
  EXPECT_EQ(read_text(dir_ / "k.bin"), sample_body());

  // The custodians work on the sealed file itself: R and the context come from it.
  std::vector<std::string> shares;
  for (int i : {2, 4, 5}) {
    shares.push_back(dir_ / ("dshare-" + std::to_string(i) + ".json"));
    const auto r = escrow_share(i, sealed_file, shares.back());
    ASSERT_EQ(r.code, 0) << r.err;
  }
  // Two shares are not enough, and nothing is written.
  auto two = escrow_args({shares[0], shares[1]});
  two.insert(two.end(), {"--out", dir_ / "e.bin"});
  const auto too_few = open(sealed_file, two);
  EXPECT_EQ(too_few.code, 1);
  EXPECT_TRUE(contains(too_few.err, "[escrow.not_enough_shares]")) << too_few.err;
  EXPECT_FALSE(fs::exists(dir_ / "e.bin"));
  // Three open it, with no bidder key.
  auto three = escrow_args(shares);
  three.insert(three.end(), {"--out", dir_ / "e.bin", "--json"});
  const auto by_escrow = open(sealed_file, three);
  ASSERT_EQ(by_escrow.code, 0) << by_escrow.err;
  EXPECT_EQ(read_text(dir_ / "e.bin"), sample_body());
  EXPECT_EQ(json::parse(by_escrow.out).at("opened_with").as_string(), "escrow");

  // escrow combine --sealed accepts the same shares.
  const auto combined = run_cli({"escrow", "combine", "--public", escrow_public(), "--sealed",
                                 sealed_file, shares[0], shares[1], shares[2]});
  EXPECT_EQ(combined.code, 0) << combined.err;

  // A share made for another sealed file (another R, another header) does not open this one.
  const std::string second = dir_ / "second.thsb";
  ASSERT_EQ(seal("bidder-or-escrow", second).code, 0);
  const std::string foreign = dir_ / "foreign.json";
  ASSERT_EQ(escrow_share(1, second, foreign).code, 0);
  const auto mixed = open(sealed_file, escrow_args({shares[0], shares[1], foreign}));
  EXPECT_EQ(mixed.code, 1);
  EXPECT_TRUE(contains(mixed.err, "[escrow.bad_share_proof]")) << mixed.err;

  // --sealed fixes R and the context; giving them as well is a usage error.
  const auto conflicting =
      run_cli({"escrow", "share", "--public", escrow_public(), "--share",
               dir_ / "ceremony/share-1.json", "--sealed", sealed_file, "--context", "x"});
  EXPECT_EQ(conflicting.code, 2);
}

TEST_P(cli_sealed, bidder_and_escrow_needs_both_the_key_and_the_shares) {
  const std::string sealed_file = dir_ / "bid.thsb";
  ASSERT_EQ(seal("bidder-and-escrow", sealed_file).code, 0);
  EXPECT_EQ(run_cli({"verify", "--signer", pub("signing"), sealed_file}).code, 0);

  const auto key_alone = open(sealed_file, {"--key", key("encryption"), "--out", dir_ / "o.bin"});
  EXPECT_EQ(key_alone.code, 1);
  EXPECT_TRUE(contains(key_alone.err, "[sealed.wrong_key]")) << key_alone.err;
  EXPECT_FALSE(fs::exists(dir_ / "o.bin"));

  std::vector<std::string> shares;
  for (int i : {1, 3, 5}) {
    shares.push_back(dir_ / ("dshare-" + std::to_string(i) + ".json"));
    ASSERT_EQ(escrow_share(i, sealed_file, shares.back()).code, 0);
  }
  auto escrow_alone = escrow_args(shares);
  escrow_alone.insert(escrow_alone.end(), {"--out", dir_ / "o.bin"});
  const auto shares_alone = open(sealed_file, escrow_alone);
  EXPECT_EQ(shares_alone.code, 1);
  EXPECT_TRUE(contains(shares_alone.err, "[sealed.bad_params]")) << shares_alone.err;
  EXPECT_FALSE(fs::exists(dir_ / "o.bin"));

  auto both = escrow_args(shares);
  both.insert(both.end(), {"--key", key("encryption"), "--out", dir_ / "o.bin"});
  const auto opened = open(sealed_file, both);
  ASSERT_EQ(opened.code, 0) << opened.err;
  EXPECT_EQ(read_text(dir_ / "o.bin"), sample_body());
}

TEST_P(cli_sealed, escrow_share_refuses_a_file_sealed_for_another_escrow_key) {
  const std::string sealed_file = dir_ / "bid.thsb";
  ASSERT_EQ(seal("bidder-or-escrow", sealed_file).code, 0);
  ASSERT_EQ(run_cli({"escrow", "setup", "--group", GetParam().group, "-k", "2", "-n", "3",
                     "--out-dir", dir_ / "other"})
                .code,
            0);
  const auto r = run_cli({"escrow", "share", "--public", dir_ / "other/escrow-public.json",
                          "--share", dir_ / "other/share-1.json", "--sealed", sealed_file});
  EXPECT_EQ(r.code, 1);
  EXPECT_TRUE(contains(r.err, "[cli.escrow_mismatch]")) << r.err;
  // A bidder-policy file has no escrow stanza at all.
  ASSERT_EQ(seal("bidder", dir_ / "plain.thsb").code, 0);
  const auto plain = escrow_share(1, dir_ / "plain.thsb", dir_ / "d.json");
  EXPECT_EQ(plain.code, 1);
  EXPECT_TRUE(contains(plain.err, "[sealed.bad_params]")) << plain.err;
}

// ---- tampering ----------------------------------------------------------------------------------

TEST_P(cli_sealed, a_tampered_file_fails_verify_and_open_and_leaves_no_output) {
  const std::string sealed_file = dir_ / "bid.thsb";
  ASSERT_EQ(seal("bidder", sealed_file).code, 0);
  std::string bytes = read_text(sealed_file);
  // A bit in the middle of the body (the file is ~150 kB, the header and summary < 1 kB).
  bytes[bytes.size() / 2] = static_cast<char>(bytes[bytes.size() / 2] ^ 0x01);
  const std::string tampered = dir_ / "out/tampered.thsb";
  fs::create_directory(dir_ / "out");
  write_text(tampered, bytes);

  const auto v = run_cli({"verify", "--json", tampered});
  EXPECT_EQ(v.code, 1);
  EXPECT_TRUE(contains(v.err, "[sealed.ciphertext_mismatch]")) << v.err;
  EXPECT_EQ(json::parse(v.out).at("error").as_string(), "sealed.ciphertext_mismatch");

  const auto o = open(tampered, {"--key", key("encryption"), "--out", dir_ / "out/opened.bin"});
  EXPECT_EQ(o.code, 1);
  EXPECT_TRUE(contains(o.err, "[sealed.chunk_auth_failed]")) << o.err;
  // Neither the output nor its temporary file survive the failure.
  EXPECT_EQ(entries(dir_ / "out"), std::vector<std::string>{"tampered.thsb"});

  // A truncated file is reported as such by every command.
  write_text(tampered, read_text(sealed_file).substr(0, 70'000));
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"verify", tampered},
           {"inspect", tampered},
           {"open", tampered, "--key", key("encryption"), "--out", dir_ / "out/opened.bin"}}) {
    const auto r = run_cli(args);
    EXPECT_EQ(r.code, 1) << args[0];
    EXPECT_TRUE(contains(r.err, "[sealed.truncated]")) << args[0] << ": " << r.err;
  }
  EXPECT_FALSE(fs::exists(dir_ / "out/opened.bin"));

  // Not a sealed file at all.
  write_text(tampered, "hello");
  const auto junk = run_cli({"inspect", tampered});
  EXPECT_EQ(junk.code, 1);
  EXPECT_TRUE(contains(junk.err, "[sealed.bad_magic]")) << junk.err;
}

// ---- backup files -------------------------------------------------------------------------------

TEST_P(cli_sealed, backup_check_accepts_the_backup_made_at_sealing_and_rejects_another) {
  const std::string sealed_file = dir_ / "bid.thsb";
  const std::string backup_file = dir_ / "bid.backup.thsb";
  // The backup is sealed to the escrow as well, so the custodians can open it if the key fails.
  const auto s = seal("bidder", sealed_file,
                      {"--backup", backup_file, "--backup-policy", "bidder-or-escrow", "--escrow",
                       escrow_public(), "--json"});
  ASSERT_EQ(s.code, 0) << s.err;
  const auto sj = json::parse(s.out).as_object();
  EXPECT_EQ(sj.at("sealed").at("commitment"), sj.at("backup").at("commitment"));
  EXPECT_NE(sj.at("sealed").at("ciphertext_digest"), sj.at("backup").at("ciphertext_digest"));
  EXPECT_EQ(sj.at("backup").at("policy").as_string(), "bidder-or-escrow");

  const auto ok = run_cli({"backup-check", sealed_file, backup_file});
  EXPECT_EQ(ok.code, 0) << ok.err;
  const auto okj = run_cli({"backup-check", "--json", sealed_file, backup_file});
  EXPECT_TRUE(json::parse(okj.out).at("valid").as_bool());

  // Another sealing of the very same plaintext has another salt, hence another commitment.
  const std::string other = dir_ / "other.thsb";
  ASSERT_EQ(seal("bidder", other).code, 0);
  const auto bad = run_cli({"backup-check", sealed_file, other});
  EXPECT_EQ(bad.code, 1);
  EXPECT_TRUE(contains(bad.err, "[sealed.backup_mismatch]")) << bad.err;

  // The backup opens with the custodians' shares to the same plaintext.
  std::vector<std::string> shares;
  for (int i : {1, 2, 3}) {
    shares.push_back(dir_ / ("dshare-" + std::to_string(i) + ".json"));
    ASSERT_EQ(escrow_share(i, backup_file, shares.back()).code, 0);
  }
  auto args = escrow_args(shares);
  args.insert(args.end(), {"--out", dir_ / "backup.bin"});
  const auto o = open(backup_file, args);
  ASSERT_EQ(o.code, 0) << o.err;
  EXPECT_EQ(read_text(dir_ / "backup.bin"), sample_body());
}

// ---- usage --------------------------------------------------------------------------------------

TEST_P(cli_sealed, usage_mistakes_exit_with_2) {
  // An escrow policy without the escrow setup.
  const std::vector<std::string> no_escrow = {"seal",
                                              "--suite",
                                              suite(),
                                              "--tender",
                                              "T",
                                              "--bidder",
                                              "B",
                                              "--policy",
                                              "bidder-or-escrow",
                                              "--recipient",
                                              pub("encryption"),
                                              "--sign-key",
                                              key("signing"),
                                              "--summary",
                                              summary_file(),
                                              body_file(),
                                              dir_ / "x.thsb"};
  EXPECT_EQ(run_cli(no_escrow).code, 2);
  EXPECT_EQ(run_cli({"open", dir_ / "x.thsb"}).code, 2);  // no key, no shares
  EXPECT_EQ(run_cli({"keygen", "--suite", "rsa", "--out-dir", dir_ / "k"}).code, 2);
  EXPECT_EQ(run_cli({"backup-check", body_file()}).code, 2);
  EXPECT_FALSE(fs::exists(dir_ / "x.thsb"));
}

INSTANTIATE_TEST_SUITE_P(suites, cli_sealed,
                         ::testing::Values(suite_case{"sodium", "ristretto255"},
                                           suite_case{"gm", "sm2"}),
                         [](const auto& param_info) { return param_info.param.suite; });

// ---- certificates -------------------------------------------------------------------------------

// A self-signed Ed25519 certificate made by the openssl tool: seal embeds it, verify --ca accepts
// the file against it as a root and rejects a file without a certificate.
TEST(cli_sealed_certificates, verify_with_ca_checks_the_embedded_certificate) {
  tc::init();
  temp_dir dir;
  ASSERT_EQ(run_cli({"keygen", "--suite", "sodium", "--out-dir", dir / "keys"}).code, 0);
  const std::string cert = dir / "cert.pem";
  const std::string make_cert =
      "/usr/bin/openssl req -x509 -new -key '" + (dir / "keys/bidder-signing.pem") +
      "' -subj '/CN=Bidder Co Ltd' -days 2 -out '" + cert + "' 2>/dev/null";
  ASSERT_EQ(std::system(make_cert.c_str()), 0);
  write_text(dir / "summary.json", R"({"price":"1.00"})");
  write_text(dir / "bid.bin", "a small bid");
  std::vector<std::string> args = {"seal",
                                   "--suite",
                                   "sodium",
                                   "--tender",
                                   "T-1",
                                   "--bidder",
                                   "B-1",
                                   "--policy",
                                   "bidder",
                                   "--recipient",
                                   dir / "keys/bidder-encryption.pub.pem",
                                   "--sign-key",
                                   dir / "keys/bidder-signing.pem",
                                   "--summary",
                                   dir / "summary.json"};
  auto with_cert = args;
  with_cert.insert(with_cert.end(), {"--sign-cert", cert, dir / "bid.bin", dir / "c.thsb"});
  ASSERT_EQ(run_cli(with_cert).code, 0);
  auto without = args;
  without.insert(without.end(), {dir / "bid.bin", dir / "r.thsb"});
  ASSERT_EQ(run_cli(without).code, 0);

  const auto ok = run_cli({"verify", "--ca", cert, dir / "c.thsb"});
  EXPECT_EQ(ok.code, 0) << ok.err;
  EXPECT_TRUE(contains(ok.out, "Bidder Co Ltd"));
  const auto i = run_cli({"inspect", "--json", dir / "c.thsb"});
  EXPECT_EQ(json::parse(i.out).at("signer").at("kind").as_string(), "certificate");
  const auto raw = run_cli({"verify", "--ca", cert, dir / "r.thsb"});
  EXPECT_EQ(raw.code, 1);
  EXPECT_TRUE(contains(raw.err, "[sealed.bad_signer]")) << raw.err;
  // --signer accepts the certificate file as well.
  EXPECT_EQ(run_cli({"verify", "--signer", cert, dir / "r.thsb"}).code, 0);
}

}  // namespace
