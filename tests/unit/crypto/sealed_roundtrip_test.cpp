// Round trips for both suites × every key policy × the sizes around chunk boundaries, through
// every way of getting the file key (bidder key, escrow, both), plus the operations around them:
// inspect, verify, open_summary, verify_body, open_body, backup files and rehearsal signatures.

#include "sealed_support.hpp"

#include <gtest/gtest.h>
#include <boost/json/parse.hpp>

#include <fstream>

namespace {

using namespace sealed_test;

struct case_param {
  tc::suite_id suite;
  ts::key_policy policy;
};

std::string case_name(const testing::TestParamInfo<case_param>& info) {
  std::string p(ts::policy_name(info.param.policy));
  for (char& c : p) {
    if (c == '-') c = '_';
  }
  return suite_label(info.param.suite) + "_" + p;
}

class sealed_roundtrip : public testing::TestWithParam<case_param> {
protected:
  void SetUp() override { tc::init(); }
};

TEST_P(sealed_roundtrip, every_size_opens_through_every_key_path) {
  const auto [suite, policy] = GetParam();
  const bidder b = make_bidder(suite);
  const escrow_fixture escrow(suite);
  const ts::seal_params p = params_for(suite, policy, b, &escrow);

  for (const std::size_t size :
       {std::size_t{0}, std::size_t{1}, std::size_t{65535}, std::size_t{65536}, std::size_t{65537},
        std::size_t{3 * 65536}, std::size_t{3 * 1024 * 1024 + 17}}) {
    SCOPED_TRACE("body size " + std::to_string(size));
    const std::string body = make_body(size, static_cast<std::uint8_t>(size));
    const sealed_file f = seal_string(p, body);

    // Layout: chunks, sizes, header fields as sealed.
    std::istringstream in(f.bytes);
    const ts::file_layout layout = ts::inspect(in);
    const std::uint64_t chunks = size == 0 ? 1 : (size + ts::chunk_size - 1) / ts::chunk_size;
    EXPECT_EQ(layout.tr.chunk_count, chunks);
    EXPECT_EQ(layout.tr.body_size, size);
    EXPECT_EQ(layout.total_size, f.bytes.size());
    EXPECT_EQ(layout.header_size + layout.summary_section_size + layout.body_section_size +
                  layout.trailer_size,
              f.bytes.size());
    EXPECT_EQ(layout.hdr.suite, suite);
    EXPECT_EQ(layout.hdr.policy, policy);
    EXPECT_EQ(layout.hdr.tender_id, "ZB-2024-0001");
    EXPECT_EQ(layout.hdr.created_at, 1700000000);
    EXPECT_EQ(layout.hdr.stanzas.size(), policy == ts::key_policy::bidder ? 1u : 2u);
    EXPECT_EQ(f.result.file_size, f.bytes.size());

    // Verification without keys, with and without an expected signer.
    std::istringstream vin(f.bytes);
    const tc::public_key signer = b.signing.public_part();
    const ts::verify_result v = ts::verify(vin, &signer);
    EXPECT_TRUE(v.signer_key == signer);
    EXPECT_EQ(v.ciphertext_digest, f.result.tr.ciphertext_digest);
    EXPECT_EQ(v.commitment, f.result.tr.commitment);
    EXPECT_FALSE(v.certificate.has_value());

    // Through the bidder's key.
    const tc::secure_bytes key = file_key_via_bidder(f.bytes, b, &escrow);
    ts::open_result opened;
    EXPECT_EQ(open_to_string(f.bytes, key.view(), &opened), body);
    EXPECT_EQ(opened.body_size, size);
    EXPECT_EQ(opened.verified.commitment, f.result.tr.commitment);

    std::istringstream sin(f.bytes);
    const ts::opened_summary summary = ts::open_summary(sin, key.view());
    const boost::json::object obj = boost::json::parse(summary.json).as_object();
    EXPECT_EQ(obj.at("price").as_string(), "12345678.90");
    EXPECT_EQ(obj.at("project_manager").as_string(), "Zhang San");
    EXPECT_EQ(obj.at("machine_fingerprint").as_string(), *p.machine_fingerprint);
    EXPECT_EQ(obj.at("tool_version").as_string(), p.tool_version);
    EXPECT_EQ(summary.salt.size(), ts::salt_size);

    std::istringstream bin(f.bytes);
    EXPECT_EQ(ts::verify_body(bin, key.view()).body_size, size);

    // Through the escrow alone where the policy allows it.
    const ts::header& h = layout.hdr;
    if (policy == ts::key_policy::bidder_or_escrow) {
      const tc::secure_bytes s = escrow.shared_for(ts::escrow_ephemeral(h), {2, 4, 5});
      const tc::secure_bytes k2 = ts::file_key_from_escrow(h, s.view());
      EXPECT_TRUE(tc::constant_time_equal(k2.view(), key.view()));
    }
    if (policy == ts::key_policy::bidder_and_escrow) {
      // Neither side alone: the bidder's part is not the file key, the escrow needs the part.
      const ts::unwrapped_key part = ts::unwrap_bidder(h, b.encryption);
      EXPECT_EQ(part.kind, ts::key_kind::bidder_part);
      EXPECT_EQ(code_of([&] { ts::check_file_key(h, part.key.view()); }), ts::codes::wrong_key);
      const tc::secure_bytes s = escrow.shared_for(ts::escrow_ephemeral(h));
      EXPECT_EQ(code_of([&] { (void)ts::file_key_from_escrow(h, s.view()); }),
                ts::codes::bad_params);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    all, sealed_roundtrip,
    testing::Values(case_param{tc::suite_id::sodium, ts::key_policy::bidder},
                    case_param{tc::suite_id::sodium, ts::key_policy::bidder_or_escrow},
                    case_param{tc::suite_id::sodium, ts::key_policy::bidder_and_escrow},
                    case_param{tc::suite_id::gm, ts::key_policy::bidder},
                    case_param{tc::suite_id::gm, ts::key_policy::bidder_or_escrow},
                    case_param{tc::suite_id::gm, ts::key_policy::bidder_and_escrow}),
    case_name);

class sealed_suite : public testing::TestWithParam<tc::suite_id> {
protected:
  void SetUp() override { tc::init(); }
};

TEST_P(sealed_suite, several_bidder_keys_each_open_the_file) {
  const tc::suite_id suite = GetParam();
  const bidder b = make_bidder(suite);
  const tc::private_key second =
      tc::private_key::generate(tc::get_suite(suite).encryption_key_type());
  ts::seal_params p = params_for(suite, ts::key_policy::bidder, b, nullptr);
  p.bidder_keys.push_back(second.public_part());
  const std::string body = make_body(100000);
  const sealed_file f = seal_string(p, body);
  const ts::header h = header_of(f.bytes);
  const ts::unwrapped_key k1 = ts::unwrap_bidder(h, b.encryption);
  const ts::unwrapped_key k2 = ts::unwrap_bidder(h, second);
  EXPECT_TRUE(tc::constant_time_equal(k1.key.view(), k2.key.view()));
  EXPECT_EQ(open_to_string(f.bytes, k2.key.view()), body);
}

TEST(sealed_gm, one_sm2_key_may_both_encrypt_and_sign) {
  tc::init();
  const tc::suite_id suite = tc::suite_id::gm;
  const tc::private_key both = tc::private_key::generate(tc::key_type::sm2);
  const bidder b{both, both};
  const sealed_file f = seal_string(params_for(suite, ts::key_policy::bidder, b, nullptr), "x");
  const tc::secure_bytes key = file_key_via_bidder(f.bytes, b, nullptr);
  EXPECT_EQ(open_to_string(f.bytes, key.view()), "x");
}

TEST_P(sealed_suite, backup_check_accepts_the_twin_and_rejects_any_other) {
  const tc::suite_id suite = GetParam();
  const bidder b = make_bidder(suite);
  const escrow_fixture escrow(suite);
  const ts::seal_params primary = params_for(suite, ts::key_policy::bidder, b, nullptr);
  // The backup is sealed to the escrow as well, so it can be opened if the bidder's key fails.
  const ts::seal_params backup = params_for(suite, ts::key_policy::bidder_or_escrow, b, &escrow);
  const std::string body = make_body(200000, 7);

  std::istringstream in(body);
  std::ostringstream out, backup_out;
  const ts::sealed_pair pair =
      ts::seal_with_backup(primary, backup, summary_json(), in, out, backup_out);
  EXPECT_EQ(pair.primary.tr.commitment, pair.backup.tr.commitment);
  EXPECT_NE(pair.primary.tr.ciphertext_digest, pair.backup.tr.ciphertext_digest);

  std::istringstream a(out.str()), c(backup_out.str());
  const ts::backup_check_result r = ts::backup_check(a, c);
  EXPECT_EQ(r.commitment, pair.primary.tr.commitment);

  // The backup opens through the escrow and its plaintext matches the commitment it shares.
  const ts::header bh = header_of(backup_out.str());
  const tc::secure_bytes s = escrow.shared_for(ts::escrow_ephemeral(bh));
  const tc::secure_bytes bk = ts::file_key_from_escrow(bh, s.view());
  EXPECT_EQ(open_to_string(backup_out.str(), bk.view()), body);

  // Another sealing of the very same plaintext is not a backup: the salt differs.
  const sealed_file other = seal_string(primary, body);
  std::istringstream a2(out.str()), o2(other.bytes);
  EXPECT_EQ(code_of([&] { (void)ts::backup_check(a2, o2); }), ts::codes::backup_mismatch);

  // Nor is a file from another bidder, nor a damaged backup.
  const bidder b2 = make_bidder(suite);
  const sealed_file foreign =
      seal_string(params_for(suite, ts::key_policy::bidder, b2, nullptr), body);
  std::istringstream a3(out.str()), f3(foreign.bytes);
  EXPECT_EQ(code_of([&] { (void)ts::backup_check(a3, f3); }), ts::codes::backup_mismatch);
  std::string damaged = backup_out.str();
  damaged[damaged.size() / 2] ^= 0x01;
  std::istringstream a4(out.str()), d4(damaged);
  EXPECT_NE(code_of([&] { (void)ts::backup_check(a4, d4); }), "");

  // Backups must come from the same bidder and signer.
  ts::seal_params wrong = backup;
  wrong.signing_key = b2.signing;
  std::istringstream in2(body);
  std::ostringstream o1, o3;
  EXPECT_EQ(
      code_of([&] { (void)ts::seal_with_backup(primary, wrong, summary_json(), in2, o1, o3); }),
      ts::codes::bad_params);
}

TEST_P(sealed_suite, rehearsal_signatures_verify_only_for_the_right_key_and_challenge) {
  const tc::suite_id suite = GetParam();
  const bidder b = make_bidder(suite);
  const escrow_fixture escrow(suite);
  for (const ts::key_policy policy : {ts::key_policy::bidder, ts::key_policy::bidder_or_escrow,
                                      ts::key_policy::bidder_and_escrow}) {
    SCOPED_TRACE(std::string(ts::policy_name(policy)));
    const sealed_file f = seal_string(params_for(suite, policy, b, &escrow), make_body(1000));
    const ts::header h = header_of(f.bytes);
    // Under bidder-and-escrow the bidder proves with its part alone, before any escrow opening.
    const ts::unwrapped_key k = ts::unwrap_bidder(h, b.encryption);
    const ts::rehearsal_key rk = ts::derive_rehearsal_key(h, k.key.view());
    EXPECT_EQ(rk.public_part().raw(), h.rehearsal_public_key);

    const std::string challenge = "hall-42/bidder-7/nonce-8f3a";
    const tc::bytes sig = ts::sign_rehearsal(rk, view_of(challenge));
    EXPECT_TRUE(ts::verify_rehearsal(h, view_of(challenge), sig));
    EXPECT_FALSE(ts::verify_rehearsal(h, view_of(std::string("hall-42/bidder-7/nonce-8f3b")), sig));

    // Another bid's rehearsal key signs, but not for this header.
    const sealed_file g = seal_string(params_for(suite, policy, b, &escrow), make_body(10));
    const ts::header gh = header_of(g.bytes);
    const ts::unwrapped_key gk = ts::unwrap_bidder(gh, b.encryption);
    const ts::rehearsal_key grk = ts::derive_rehearsal_key(gh, gk.key.view());
    EXPECT_FALSE(ts::verify_rehearsal(h, view_of(challenge), grk.sign(view_of(challenge))));
    // A key that is not this file's does not derive its rehearsal key at all.
    EXPECT_EQ(code_of([&] { (void)ts::derive_rehearsal_key(h, gk.key.view()); }),
              ts::codes::wrong_key);
    EXPECT_EQ(code_of([&] { (void)rk.sign({}); }), ts::codes::bad_challenge);
  }
}

TEST_P(sealed_suite, seal_rejects_bad_parameters_and_summaries) {
  const tc::suite_id suite = GetParam();
  const bidder b = make_bidder(suite);
  const escrow_fixture escrow(suite);
  const auto attempt = [&](const ts::seal_params& p, const char* summary = summary_json()) {
    return code_of([&] { (void)seal_string(p, "body", summary); });
  };
  ts::seal_params p = params_for(suite, ts::key_policy::bidder, b, nullptr);
  EXPECT_EQ(attempt(p), "");

  ts::seal_params q = p;
  q.tender_id = "";
  EXPECT_EQ(attempt(q), ts::codes::bad_params);
  q = p;
  q.bidder_id = std::string(129, 'x');
  EXPECT_EQ(attempt(q), ts::codes::bad_params);
  q = p;
  q.tender_id = "has space";
  EXPECT_EQ(attempt(q), ts::codes::bad_params);
  q = p;
  q.bidder_keys.clear();
  EXPECT_EQ(attempt(q), ts::codes::bad_params);
  q = p;
  q.bidder_keys = {b.signing.public_part()};  // Ed25519 cannot encrypt; an SM2 key can
  EXPECT_EQ(attempt(q), suite == tc::suite_id::sodium ? ts::codes::bad_params : "");
  q = p;
  q.bidder_keys = {tc::private_key::generate(tc::key_type::ed25519).public_part()};
  EXPECT_EQ(attempt(q), ts::codes::bad_params);
  q = p;
  q.bidder_keys.push_back(b.encryption.public_part());  // the same recipient twice
  EXPECT_EQ(attempt(q), ts::codes::malformed_header);
  q = p;
  q.policy = ts::key_policy::bidder_or_escrow;  // escrow policy without an escrow key
  EXPECT_EQ(attempt(q), ts::codes::bad_params);
  q = p;
  q.escrow_key = escrow.key();  // bidder policy with an escrow key
  EXPECT_EQ(attempt(q), ts::codes::bad_params);
  q = params_for(suite, ts::key_policy::bidder_or_escrow, b, &escrow);
  q.escrow_key->grp =
      suite == tc::suite_id::sodium ? tc::escrow::group::sm2 : tc::escrow::group::ristretto255;
  EXPECT_EQ(attempt(q), ts::codes::bad_params);
  q = p;
  q.signing_key = b.encryption;  // X25519 cannot sign; for gm this is fine
  EXPECT_EQ(attempt(q), suite == tc::suite_id::sodium ? ts::codes::bad_params : "");

  q = params_for(suite, ts::key_policy::bidder_or_escrow, b, &escrow);
  q.escrow_key->point.assign(q.escrow_key->point.size(), 0xff);  // not a group element
  EXPECT_EQ(attempt(q), ts::codes::bad_params);
  {
    std::ifstream missing("/nonexistent/tenderhall/bid.bin", std::ios::binary);
    std::ostringstream out;
    EXPECT_EQ(code_of([&] { (void)ts::seal(p, summary_json(), missing, out); }),
              ts::codes::io_error);
  }

  EXPECT_EQ(attempt(p, "[1,2]"), ts::codes::bad_summary);
  EXPECT_EQ(attempt(p, "{not json"), ts::codes::bad_summary);
  EXPECT_EQ(attempt(p, R"({"machine_fingerprint":"forged"})"), ts::codes::bad_summary);
  const std::string big = R"({"x":")" + std::string(ts::max_summary_json_size, 'a') + R"("})";
  EXPECT_EQ(attempt(p, big.c_str()), ts::codes::bad_summary);
}

TEST_P(sealed_suite, deterministic_rng_reproduces_the_sodium_file_byte_for_byte) {
  const tc::suite_id suite = GetParam();
  const bidder b = make_bidder(suite);
  ts::seal_params p = params_for(suite, ts::key_policy::bidder, b, nullptr);
  tc::deterministic_random r1(view_of(std::string("seed")));
  tc::deterministic_random r2(view_of(std::string("seed")));
  p.rng = &r1;
  const sealed_file f1 = seal_string(p, make_body(70000));
  p.rng = &r2;
  const sealed_file f2 = seal_string(p, make_body(70000));
  // SM2 encryption and signatures draw their own randomness inside OpenSSL, so only the sodium
  // suite is reproducible to the byte; gm files still share every field the sealer chose.
  if (suite == tc::suite_id::sodium) {
    EXPECT_EQ(f1.bytes, f2.bytes);
  } else {
    EXPECT_EQ(f1.result.hdr.payload_nonce, f2.result.hdr.payload_nonce);
    EXPECT_EQ(f1.result.hdr.key_check, f2.result.hdr.key_check);
    EXPECT_EQ(f1.result.tr.commitment, f2.result.tr.commitment);
    EXPECT_EQ(f1.result.tr.ciphertext_digest, f2.result.tr.ciphertext_digest);
  }
}

TEST_P(sealed_suite, hashing_threads_change_nothing_in_the_output) {
  const tc::suite_id suite = GetParam();
  const bidder b = make_bidder(suite);
  ts::seal_params p = params_for(suite, ts::key_policy::bidder, b, nullptr);
  const std::string body = make_body(9 * ts::chunk_size + 5, 11);
  tc::deterministic_random r1(view_of(std::string("same")));
  tc::deterministic_random r2(view_of(std::string("same")));
  p.rng = &r1;
  p.parallel_hashing = true;
  const sealed_file threaded = seal_string(p, body);
  p.rng = &r2;
  p.parallel_hashing = false;
  const sealed_file inline_ = seal_string(p, body);
  EXPECT_EQ(threaded.result.tr.ciphertext_digest, inline_.result.tr.ciphertext_digest);
  EXPECT_EQ(threaded.result.tr.commitment, inline_.result.tr.commitment);
  if (suite == tc::suite_id::sodium) {
    EXPECT_EQ(threaded.bytes, inline_.bytes);
  }
  const tc::secure_bytes key = file_key_via_bidder(threaded.bytes, b, nullptr);
  for (const bool parallel : {true, false}) {
    std::istringstream in(threaded.bytes);
    std::ostringstream out;
    ts::open_options o;
    o.parallel_hashing = parallel;
    EXPECT_EQ(ts::open_body(in, key.view(), out, o).body_size, body.size());
    EXPECT_EQ(out.str(), body);
  }
  // A failure in the middle of a threaded opening stops cleanly and releases nothing after it.
  std::string bad = threaded.bytes;
  std::istringstream lin(bad);
  const ts::file_layout l = ts::inspect(lin);
  const std::size_t chunk6 = l.header_size + l.summary_section_size +
                             6 * (4 + ts::chunk_size + tc::get_suite(suite).aead_tag_size()) + 100;
  bad[chunk6] ^= 0x01;
  std::istringstream in(bad);
  std::ostringstream out;
  EXPECT_EQ(code_of([&] { (void)ts::open_body(in, key.view(), out); }),
            ts::codes::chunk_auth_failed);
  EXPECT_EQ(out.str(), body.substr(0, 6 * ts::chunk_size));
}

TEST_P(sealed_suite, seal_rejects_a_signing_certificate_that_is_not_one) {
  const tc::suite_id suite = GetParam();
  // Embedding real certificates is covered with an OpenSSL-made SM2 chain in sealed_x509_test.
  const bidder b = make_bidder(suite);
  ts::seal_params p = params_for(suite, ts::key_policy::bidder, b, nullptr);
  p.signing_certificate = tc::bytes{0x30, 0x00};  // not a certificate
  EXPECT_EQ(code_of([&] { (void)seal_string(p, "x"); }), ts::codes::bad_params);
}

INSTANTIATE_TEST_SUITE_P(both, sealed_suite,
                         testing::Values(tc::suite_id::sodium, tc::suite_id::gm),
                         [](const testing::TestParamInfo<tc::suite_id>& i) {
                           return suite_label(i.param);
                         });

TEST(sealed_misc, machine_fingerprint_is_stable_hex_and_hides_the_machine_id) {
  const std::string a = ts::machine_fingerprint();
  EXPECT_EQ(a.size(), 64u);
  EXPECT_EQ(a, ts::machine_fingerprint());
  EXPECT_EQ(a.find_first_not_of("0123456789abcdef"), std::string::npos);
}

TEST(sealed_misc, policy_names_round_trip) {
  for (const ts::key_policy p : {ts::key_policy::bidder, ts::key_policy::bidder_or_escrow,
                                 ts::key_policy::bidder_and_escrow}) {
    EXPECT_EQ(ts::policy_from_name(ts::policy_name(p)), p);
  }
  EXPECT_EQ(code_of([] { (void)ts::policy_from_name("escrow"); }), ts::codes::bad_params);
}

}  // namespace
