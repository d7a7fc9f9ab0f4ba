#include <tender/crypto/bytes.hpp>
#include <tender/crypto/error.hpp>
#include <tender/crypto/escrow.hpp>
#include <tender/crypto/init.hpp>

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <cstdio>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

namespace tc = tender::crypto;
namespace esc = tender::crypto::escrow;

namespace {

const tc::bytes bid_context = [] {
  const std::string_view text = "tender T-2024-0001 / bid 7f3a";
  return tc::bytes(text.begin(), text.end());
}();

// Runs `f`, expects a tender::crypto::error with `code`, returns it for further checks.
std::string error_code_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const tc::error& e) {
    return e.code();
  }
  return "(no error)";
}

// Same, for errors that must name one custodian; returns the named index (0 if none thrown).
std::uint32_t share_error_index(const std::function<void()>& f, const std::string& code) {
  try {
    f();
  } catch (const esc::share_error& e) {
    EXPECT_EQ(e.code(), code) << e.what();
    return e.index();
  } catch (const tc::error& e) {
    ADD_FAILURE() << "expected share_error " << code << ", got " << e.code() << ": " << e.what();
    return 0;
  }
  ADD_FAILURE() << "expected share_error " << code << ", nothing thrown";
  return 0;
}

bool same(const tc::secure_bytes& a, const tc::secure_bytes& b) {
  return tc::constant_time_equal(a.view(), b.view());
}

// All subsets of {0..n-1} with exactly `size` elements.
std::vector<std::vector<std::size_t>> subsets(std::size_t n, std::size_t size) {
  std::vector<std::vector<std::size_t>> out;
  for (unsigned mask = 0; mask < (1u << n); ++mask) {
    if (static_cast<std::size_t>(__builtin_popcount(mask)) != size) continue;
    std::vector<std::size_t> s;
    for (std::size_t i = 0; i < n; ++i) {
      if (mask & (1u << i)) s.push_back(i);
    }
    out.push_back(s);
  }
  return out;
}

class escrow_test : public ::testing::TestWithParam<esc::group> {
protected:
  void SetUp() override {
    tc::init();
    dealt_ = esc::deal(GetParam(), 3, 5, {"center", "supervisor", "notary", "audit", "backup"});
  }

  const esc::setup_public& pub() const { return dealt_.pub; }
  const esc::custodian_share& share(std::uint32_t index) const {
    return dealt_.shares.at(index - 1);
  }

  std::vector<esc::decryption_share> decryption_shares(const tc::bytes& ephemeral) const {
    std::vector<esc::decryption_share> out;
    for (const auto& s : dealt_.shares) {
      out.push_back(esc::make_decryption_share(pub(), s, ephemeral, bid_context));
    }
    return out;
  }

  // Another valid, non-identity point of the group (a fresh ephemeral).
  tc::bytes other_point() const { return esc::encapsulate(pub().key()).ephemeral; }

  esc::dealing dealt_;
};

// ---------------------------------------------------------------------------------------------
// Dealer ceremony

TEST_P(escrow_test, deal_publishes_consistent_setup_and_valid_shares) {
  EXPECT_EQ(pub().grp, GetParam());
  EXPECT_EQ(pub().threshold, 3u);
  EXPECT_EQ(pub().custodians, 5u);
  ASSERT_EQ(pub().commitments.size(), 3u);
  EXPECT_EQ(pub().commitments[0], pub().public_key);
  EXPECT_EQ(pub().public_key.size(), esc::point_size(GetParam()));
  ASSERT_EQ(dealt_.shares.size(), 5u);
  EXPECT_NO_THROW(esc::validate_setup(pub()));
  for (std::uint32_t i = 1; i <= 5; ++i) {
    EXPECT_EQ(share(i).index, i);
    EXPECT_EQ(share(i).scalar.size(), esc::scalar_size(GetParam()));
    EXPECT_NO_THROW(esc::verify_share(pub(), share(i)));
    EXPECT_NO_THROW(esc::check_point(GetParam(), esc::public_share(pub(), i)));
  }
  // Two dealings never share a key.
  const esc::dealing other = esc::deal(GetParam(), 3, 5);
  EXPECT_NE(other.pub.public_key, pub().public_key);
  EXPECT_EQ(other.pub.labels.front(), "custodian-1");
}

TEST_P(escrow_test, feldman_check_catches_a_tampered_share) {
  // Flip one bit of the lowest-order byte (LE: first byte; BE: last byte) so the value stays a
  // canonical scalar but is a different one.
  esc::custodian_share bad{GetParam(), 2, share(2).scalar.clone()};
  const std::size_t low = GetParam() == esc::group::ristretto255 ? 0 : bad.scalar.size() - 1;
  bad.scalar.data()[low] ^= 0x01;
  EXPECT_EQ(share_error_index([&] { esc::verify_share(pub(), bad); }, esc::codes::share_mismatch),
            2u);

  // The right scalar presented as another custodian's.
  esc::custodian_share moved{GetParam(), 3, share(2).scalar.clone()};
  EXPECT_EQ(share_error_index([&] { esc::verify_share(pub(), moved); }, esc::codes::share_mismatch),
            3u);

  // A share checked against tampered commitments.
  esc::setup_public tampered = pub();
  tampered.commitments[2] = other_point();
  EXPECT_EQ(
      share_error_index([&] { esc::verify_share(tampered, share(1)); }, esc::codes::share_mismatch),
      1u);

  esc::custodian_share out_of_range{GetParam(), 6, share(2).scalar.clone()};
  EXPECT_EQ(
      share_error_index([&] { esc::verify_share(pub(), out_of_range); }, esc::codes::bad_index),
      6u);
  esc::custodian_share zero{GetParam(), 1, tc::secure_bytes(esc::scalar_size(GetParam()))};
  EXPECT_EQ(share_error_index([&] { esc::verify_share(pub(), zero); }, esc::codes::bad_scalar), 1u);
}

TEST_P(escrow_test, deal_rejects_bad_parameters) {
  EXPECT_EQ(error_code_of([&] { (void)esc::deal(GetParam(), 0, 3); }), esc::codes::bad_parameters);
  EXPECT_EQ(error_code_of([&] { (void)esc::deal(GetParam(), 4, 3); }), esc::codes::bad_parameters);
  EXPECT_EQ(error_code_of([&] { (void)esc::deal(GetParam(), 2, esc::max_custodians + 1); }),
            esc::codes::bad_parameters);
  EXPECT_EQ(error_code_of([&] {
              (void)esc::deal(GetParam(), 2, 3, {"only", "two"});
            }),
            esc::codes::bad_parameters);
}

// ---------------------------------------------------------------------------------------------
// KEM, decryption shares, combine

TEST_P(escrow_test, every_three_of_five_subset_recovers_the_encapsulated_secret) {
  const esc::encapsulation enc = esc::encapsulate(pub().key());
  EXPECT_EQ(enc.ephemeral.size(), esc::point_size(GetParam()));
  EXPECT_EQ(enc.shared.size(), esc::point_size(GetParam()));
  EXPECT_NO_THROW(esc::check_point(GetParam(), enc.ephemeral));
  EXPECT_NO_THROW(esc::check_point(GetParam(), enc.shared.view()));

  const auto all = decryption_shares(enc.ephemeral);
  for (const auto& s : all) {
    EXPECT_NO_THROW(esc::verify_decryption_share(pub(), enc.ephemeral, s, bid_context));
  }
  for (std::size_t size = 3; size <= 5; ++size) {
    for (const auto& subset : subsets(5, size)) {
      std::vector<esc::decryption_share> chosen;
      for (const std::size_t i : subset)
        chosen.push_back(all[i]);
      const tc::secure_bytes s = esc::combine(pub(), enc.ephemeral, chosen, bid_context);
      EXPECT_TRUE(same(s, enc.shared))
          << "subset of size " << size << " starting at " << subset.front() + 1;
    }
  }
  // Order does not matter.
  const std::vector<esc::decryption_share> reversed{all[4], all[0], all[2]};
  EXPECT_TRUE(same(esc::combine(pub(), enc.ephemeral, reversed, bid_context), enc.shared));
}

TEST_P(escrow_test, each_encapsulation_is_fresh_and_shares_open_only_their_bid) {
  const esc::encapsulation a = esc::encapsulate(pub().key());
  const esc::encapsulation b = esc::encapsulate(pub().key());
  EXPECT_NE(a.ephemeral, b.ephemeral);
  EXPECT_FALSE(same(a.shared, b.shared));

  // Shares made for bid a, presented for bid b: every proof fails; the first one is named.
  const auto for_a = decryption_shares(a.ephemeral);
  const std::vector<esc::decryption_share> three{for_a[1], for_a[2], for_a[3]};
  EXPECT_EQ(share_error_index([&] { (void)esc::combine(pub(), b.ephemeral, three, bid_context); },
                              esc::codes::bad_share_proof),
            2u);
  // Right bid, wrong context (another tender or bid digest).
  EXPECT_EQ(share_error_index(
                [&] { (void)esc::combine(pub(), a.ephemeral, three, tc::as_bytes("other")); },
                esc::codes::bad_share_proof),
            2u);
}

TEST_P(escrow_test, fewer_than_k_shares_or_duplicates_are_refused) {
  const esc::encapsulation enc = esc::encapsulate(pub().key());
  const auto all = decryption_shares(enc.ephemeral);
  EXPECT_EQ(error_code_of([&] {
              (void)esc::combine(pub(), enc.ephemeral, {all[0], all[3]}, bid_context);
            }),
            esc::codes::not_enough_shares);
  EXPECT_EQ(error_code_of([&] { (void)esc::combine(pub(), enc.ephemeral, {}, bid_context); }),
            esc::codes::not_enough_shares);
  EXPECT_EQ(share_error_index(
                [&] {
                  (void)esc::combine(pub(), enc.ephemeral, {all[0], all[3], all[0]}, bid_context);
                },
                esc::codes::duplicate_share),
            1u);
}

TEST_P(escrow_test, a_corrupted_share_is_rejected_by_its_proof_and_named) {
  const esc::encapsulation enc = esc::encapsulate(pub().key());
  const auto all = decryption_shares(enc.ephemeral);
  const auto combine_with = [&](const esc::decryption_share& bad) {
    return [&, bad] {
      (void)esc::combine(pub(), enc.ephemeral, {all[0], bad, all[4]}, bid_context);
    };
  };

  // Wrong D_i: another valid point.
  esc::decryption_share bad_point = all[2];
  bad_point.point = other_point();
  EXPECT_EQ(share_error_index(combine_with(bad_point), esc::codes::bad_share_proof), 3u);

  // Honest D_i but the proof of another custodian.
  esc::decryption_share swapped_proof = all[2];
  swapped_proof.proof = all[1].proof;
  EXPECT_EQ(share_error_index(combine_with(swapped_proof), esc::codes::bad_share_proof), 3u);

  // Tweaked response and challenge (still canonical scalars).
  const std::size_t low =
      GetParam() == esc::group::ristretto255 ? 0 : all[2].proof.response.size() - 1;
  esc::decryption_share bad_z = all[2];
  bad_z.proof.response[low] ^= 0x01;
  EXPECT_EQ(share_error_index(combine_with(bad_z), esc::codes::bad_share_proof), 3u);
  esc::decryption_share bad_c = all[2];
  bad_c.proof.challenge[low] ^= 0x01;
  EXPECT_EQ(share_error_index(combine_with(bad_c), esc::codes::bad_share_proof), 3u);

  // An honest share relabelled as another custodian's.
  esc::decryption_share relabelled = all[2];
  relabelled.index = 2;
  EXPECT_EQ(share_error_index(combine_with(relabelled), esc::codes::bad_share_proof), 2u);

  // Structurally bad shares are named too.
  esc::decryption_share garbage = all[2];
  garbage.point.assign(garbage.point.size(), 0xff);
  EXPECT_EQ(share_error_index(combine_with(garbage), esc::codes::bad_point), 3u);
  esc::decryption_share identity = all[2];
  identity.point.assign(identity.point.size(), 0x00);
  EXPECT_EQ(share_error_index(combine_with(identity), esc::codes::identity_point), 3u);
  esc::decryption_share short_proof = all[2];
  short_proof.proof.challenge.pop_back();
  EXPECT_EQ(share_error_index(combine_with(short_proof), esc::codes::bad_scalar), 3u);
  esc::decryption_share out_of_range = all[2];
  out_of_range.index = 9;
  EXPECT_EQ(share_error_index(combine_with(out_of_range), esc::codes::bad_index), 9u);
  esc::decryption_share zero_index = all[2];
  zero_index.index = 0;
  EXPECT_EQ(share_error_index(combine_with(zero_index), esc::codes::bad_index), 0u);

  // The honest shares still open the bid.
  EXPECT_TRUE(
      same(esc::combine(pub(), enc.ephemeral, {all[0], all[2], all[4]}, bid_context), enc.shared));
}

TEST_P(escrow_test, a_wrong_custodian_share_cannot_produce_a_decryption_share) {
  const esc::encapsulation enc = esc::encapsulate(pub().key());
  esc::custodian_share wrong{GetParam(), 4, share(5).scalar.clone()};
  EXPECT_EQ(share_error_index(
                [&] { (void)esc::make_decryption_share(pub(), wrong, enc.ephemeral, bid_context); },
                esc::codes::share_mismatch),
            4u);
}

TEST_P(escrow_test, bad_points_are_refused_by_encapsulate_and_combine) {
  const std::size_t n = esc::point_size(GetParam());
  const auto encapsulate_to = [&](tc::bytes point) {
    return error_code_of([&] { (void)esc::encapsulate({GetParam(), point}); });
  };
  EXPECT_EQ(encapsulate_to(tc::bytes(n, 0x00)), esc::codes::identity_point);
  EXPECT_EQ(encapsulate_to(tc::bytes(n, 0xff)), esc::codes::bad_point);
  EXPECT_EQ(encapsulate_to(tc::bytes(n - 1, 0x02)), esc::codes::bad_point);
  EXPECT_EQ(encapsulate_to({}), esc::codes::bad_point);
  tc::bytes longer = pub().public_key;
  longer.push_back(0);
  EXPECT_EQ(encapsulate_to(longer), esc::codes::bad_point);

  const esc::encapsulation enc = esc::encapsulate(pub().key());
  const auto all = decryption_shares(enc.ephemeral);
  EXPECT_EQ(error_code_of([&] { (void)esc::combine(pub(), tc::bytes(n, 0), all, bid_context); }),
            esc::codes::identity_point);
  EXPECT_EQ(error_code_of([&] { (void)esc::combine(pub(), tc::bytes(n, 0xff), all, bid_context); }),
            esc::codes::bad_point);
  EXPECT_EQ(error_code_of([&] {
              (void)esc::make_decryption_share(pub(), share(1), tc::bytes(n, 0), bid_context);
            }),
            esc::codes::identity_point);
}

TEST_P(escrow_test, shares_of_another_group_are_refused) {
  const esc::group other =
      GetParam() == esc::group::sm2 ? esc::group::ristretto255 : esc::group::sm2;
  const esc::dealing foreign = esc::deal(other, 3, 5);
  EXPECT_EQ(share_error_index([&] { esc::verify_share(pub(), foreign.shares[0]); },
                              esc::codes::group_mismatch),
            1u);
  const esc::encapsulation enc = esc::encapsulate(pub().key());
  auto all = decryption_shares(enc.ephemeral);
  all[1].grp = other;
  EXPECT_EQ(share_error_index([&] { (void)esc::combine(pub(), enc.ephemeral, all, bid_context); },
                              esc::codes::group_mismatch),
            2u);
}

TEST_P(escrow_test, inconsistent_setups_are_refused) {
  const auto code_for = [&](const std::function<void(esc::setup_public&)>& edit) {
    esc::setup_public s = pub();
    edit(s);
    return error_code_of([&] { esc::validate_setup(s); });
  };
  EXPECT_EQ(code_for([](auto& s) { s.commitments.pop_back(); }), esc::codes::bad_setup);
  EXPECT_EQ(code_for([&](auto& s) { s.commitments.push_back(other_point()); }),
            esc::codes::bad_setup);
  EXPECT_EQ(code_for([&](auto& s) { s.public_key = other_point(); }), esc::codes::bad_setup);
  EXPECT_EQ(code_for([](auto& s) { s.labels.pop_back(); }), esc::codes::bad_setup);
  EXPECT_EQ(code_for([](auto& s) { s.threshold = 6; }), esc::codes::bad_parameters);
  EXPECT_EQ(code_for([](auto& s) { s.threshold = 0; }), esc::codes::bad_parameters);
  EXPECT_EQ(code_for([](auto& s) { s.commitments[1].assign(s.commitments[1].size(), 0); }),
            esc::codes::identity_point);
  EXPECT_EQ(code_for([](auto& s) { s.commitments[2].resize(5); }), esc::codes::bad_point);
}

// ---------------------------------------------------------------------------------------------
// Distributed key generation

TEST_P(escrow_test, dkg_joint_key_opens_bids_without_any_dealer_knowing_it) {
  constexpr std::uint32_t k = 2;
  constexpr std::uint32_t n = 3;
  std::vector<esc::dealing> dealings;
  std::vector<esc::setup_public> published;
  for (std::uint32_t d = 0; d < n; ++d) {
    dealings.push_back(esc::deal(GetParam(), k, n));
    published.push_back(dealings.back().pub);
  }
  const esc::setup_public joint = esc::aggregate_setup(published);
  EXPECT_NO_THROW(esc::validate_setup(joint));

  std::vector<esc::custodian_share> joint_shares;
  for (std::uint32_t i = 1; i <= n; ++i) {
    std::vector<esc::custodian_share> received;
    for (const auto& d : dealings) {
      received.push_back({GetParam(), i, d.shares[i - 1].scalar.clone()});
    }
    joint_shares.push_back(esc::aggregate_share(published, received));
    EXPECT_NO_THROW(esc::verify_share(joint, joint_shares.back()));
  }

  const esc::encapsulation enc = esc::encapsulate(joint.key());
  const auto d1 = esc::make_decryption_share(joint, joint_shares[0], enc.ephemeral, bid_context);
  const auto d3 = esc::make_decryption_share(joint, joint_shares[2], enc.ephemeral, bid_context);
  EXPECT_TRUE(same(esc::combine(joint, enc.ephemeral, {d3, d1}, bid_context), enc.shared));

  // Dealer 2 sends custodian 1 a wrong share: custodian 1 detects it and names dealer 2.
  std::vector<esc::custodian_share> received;
  for (const auto& d : dealings)
    received.push_back({GetParam(), 1, d.shares[0].scalar.clone()});
  received[1].scalar = dealings[1].shares[2].scalar.clone();
  EXPECT_EQ(share_error_index([&] { (void)esc::aggregate_share(published, received); },
                              esc::codes::share_mismatch),
            2u);

  // Dealings that disagree on k cannot be combined.
  std::vector<esc::setup_public> mixed = published;
  mixed[2] = esc::deal(GetParam(), k + 1, n).pub;
  EXPECT_EQ(error_code_of([&] { (void)esc::aggregate_setup(mixed); }), esc::codes::bad_setup);
  EXPECT_EQ(error_code_of([&] { (void)esc::aggregate_share(mixed, received); }),
            esc::codes::bad_setup);
}

// ---------------------------------------------------------------------------------------------
// Serialization

TEST_P(escrow_test, json_forms_round_trip) {
  const std::string setup_text = esc::setup_to_json(pub());
  const esc::setup_public setup = esc::setup_from_json(setup_text);
  EXPECT_EQ(setup.grp, pub().grp);
  EXPECT_EQ(setup.threshold, pub().threshold);
  EXPECT_EQ(setup.custodians, pub().custodians);
  EXPECT_EQ(setup.public_key, pub().public_key);
  EXPECT_EQ(setup.commitments, pub().commitments);
  EXPECT_EQ(setup.labels, pub().labels);
  EXPECT_EQ(esc::setup_to_json(setup), setup_text);

  const tc::secure_bytes share_text = esc::share_to_json(share(4));
  const std::string_view share_view(reinterpret_cast<const char*>(share_text.data()),
                                    share_text.size());
  const esc::custodian_share s4 = esc::share_from_json(share_view);
  EXPECT_EQ(s4.grp, GetParam());
  EXPECT_EQ(s4.index, 4u);
  EXPECT_TRUE(same(s4.scalar, share(4).scalar));
  EXPECT_NO_THROW(esc::verify_share(setup, s4));

  const esc::encapsulation enc = esc::encapsulate(setup.key());
  std::vector<esc::decryption_share> parsed;
  for (const std::uint32_t i : {5u, 1u, 3u}) {
    const std::string text = esc::decryption_share_to_json(
        esc::make_decryption_share(setup, share(i), enc.ephemeral, bid_context));
    parsed.push_back(esc::decryption_share_from_json(text));
    EXPECT_EQ(esc::decryption_share_to_json(parsed.back()), text);
  }
  EXPECT_TRUE(same(esc::combine(setup, enc.ephemeral, parsed, bid_context), enc.shared));

  // The documented layout, field by field.
  const boost::json::object o = boost::json::parse(setup_text).as_object();
  EXPECT_EQ(o.at("type").as_string(), "tenderhall.escrow.setup");
  EXPECT_EQ(o.at("group").as_string(), esc::group_name(GetParam()));
  EXPECT_EQ(tc::base64_decode(o.at("public_key").as_string()), pub().public_key);
  EXPECT_EQ(o.at("labels").as_array().at(1).as_string(), "supervisor");
}

TEST_P(escrow_test, malformed_json_is_rejected_with_clear_codes) {
  const auto setup_code = [&](const std::function<void(boost::json::object&)>& edit) {
    boost::json::object o = boost::json::parse(esc::setup_to_json(pub())).as_object();
    edit(o);
    return error_code_of([&] { (void)esc::setup_from_json(boost::json::serialize(o)); });
  };
  const auto b64 = [](const tc::bytes& b) { return boost::json::string(tc::base64_encode(b)); };
  const std::size_t pn = esc::point_size(GetParam());

  EXPECT_EQ(error_code_of([] { (void)esc::setup_from_json("{not json"); }), esc::codes::bad_json);
  EXPECT_EQ(error_code_of([] { (void)esc::setup_from_json("[1,2]"); }), esc::codes::bad_json);
  EXPECT_EQ(error_code_of([] { (void)esc::setup_from_json(""); }), esc::codes::bad_json);
  EXPECT_EQ(
      error_code_of([] { (void)esc::setup_from_json(std::string(esc::max_json_size + 1, ' ')); }),
      esc::codes::bad_json);
  EXPECT_EQ(setup_code([](auto& o) { o["type"] = "tenderhall.escrow.share"; }),
            esc::codes::bad_json);
  EXPECT_EQ(setup_code([](auto& o) { o["version"] = 2; }), esc::codes::bad_json);
  EXPECT_EQ(setup_code([](auto& o) { o.erase("commitments"); }), esc::codes::bad_json);
  EXPECT_EQ(setup_code([](auto& o) { o["threshold"] = "3"; }), esc::codes::bad_json);
  EXPECT_EQ(setup_code([](auto& o) { o["threshold"] = -3; }), esc::codes::bad_json);
  EXPECT_EQ(setup_code([](auto& o) { o["threshold"] = 3.5; }), esc::codes::bad_json);
  EXPECT_EQ(setup_code([](auto& o) { o["custodians"] = 1u << 31; }), esc::codes::bad_parameters);
  EXPECT_EQ(setup_code([](auto& o) { o["group"] = "p256"; }), esc::codes::bad_group);
  EXPECT_EQ(setup_code([](auto& o) { o["public_key"] = "not base64!"; }), esc::codes::bad_json);
  EXPECT_EQ(setup_code([&](auto& o) { o["public_key"] = b64(tc::bytes(pn - 1, 2)); }),
            esc::codes::bad_point);
  EXPECT_EQ(setup_code([&](auto& o) { o["public_key"] = b64(tc::bytes(pn, 0)); }),
            esc::codes::identity_point);
  EXPECT_EQ(setup_code([&](auto& o) { o["commitments"].as_array()[1] = b64(tc::bytes(pn, 0xff)); }),
            esc::codes::bad_point);
  EXPECT_EQ(setup_code([](auto& o) { o["commitments"].as_array()[1] = 7; }), esc::codes::bad_json);
  EXPECT_EQ(setup_code([](auto& o) { o["labels"].as_array().pop_back(); }), esc::codes::bad_setup);
  EXPECT_EQ(setup_code([](auto& o) { o["labels"].as_array()[0] = 1; }), esc::codes::bad_json);

  // Custodian share files.
  const tc::secure_bytes share_text = esc::share_to_json(share(2));
  const auto share_code = [&](const std::function<void(boost::json::object&)>& edit) {
    boost::json::object o =
        boost::json::parse(
            std::string_view(reinterpret_cast<const char*>(share_text.data()), share_text.size()))
            .as_object();
    edit(o);
    return error_code_of([&] { (void)esc::share_from_json(boost::json::serialize(o)); });
  };
  const std::size_t sn = esc::scalar_size(GetParam());
  EXPECT_EQ(share_code([](auto&) {}), "(no error)");
  EXPECT_EQ(share_code([](auto& o) { o["index"] = 0; }), esc::codes::bad_index);
  EXPECT_EQ(share_code([](auto& o) { o.erase("share"); }), esc::codes::bad_json);
  EXPECT_EQ(share_code([&](auto& o) { o["share"] = b64(tc::bytes(sn + 1, 1)); }),
            esc::codes::bad_scalar);
  EXPECT_EQ(share_code([&](auto& o) { o["share"] = b64(tc::bytes(sn, 0xff)); }),
            esc::codes::bad_scalar);  // not below the group order
  EXPECT_EQ(share_code([&](auto& o) { o["share"] = b64(tc::bytes(sn, 0)); }),
            esc::codes::bad_scalar);
  EXPECT_EQ(error_code_of([] { (void)esc::share_from_json("{}"); }), esc::codes::bad_json);
  EXPECT_EQ(error_code_of([] { (void)esc::share_from_json("{\"type\":"); }), esc::codes::bad_json);
  EXPECT_EQ(error_code_of([] { (void)esc::share_from_json("[]"); }), esc::codes::bad_json);
  EXPECT_EQ(error_code_of([&] {
              const std::string_view good(reinterpret_cast<const char*>(share_text.data()),
                                          share_text.size());
              (void)esc::share_from_json(std::string(good) + " {}");
            }),
            esc::codes::bad_json);
  EXPECT_EQ(error_code_of([] { (void)esc::share_from_json(std::string(5000, ' ')); }),
            esc::codes::bad_json);
  // Within the size limit but deeply nested: must fail cleanly, not overflow anything.
  EXPECT_EQ(error_code_of([] {
              (void)esc::share_from_json(std::string(2000, '[') + std::string(2000, ']'));
            }),
            esc::codes::bad_json);

  // Decryption shares.
  const esc::encapsulation enc = esc::encapsulate(pub().key());
  const std::string dtext = esc::decryption_share_to_json(
      esc::make_decryption_share(pub(), share(1), enc.ephemeral, bid_context));
  const auto dshare_code = [&](const std::function<void(boost::json::object&)>& edit) {
    boost::json::object o = boost::json::parse(dtext).as_object();
    edit(o);
    return error_code_of([&] { (void)esc::decryption_share_from_json(boost::json::serialize(o)); });
  };
  EXPECT_EQ(dshare_code([](auto&) {}), "(no error)");
  EXPECT_EQ(dshare_code([&](auto& o) { o["point"] = b64(tc::bytes(pn, 0)); }),
            esc::codes::identity_point);
  EXPECT_EQ(dshare_code([&](auto& o) { o["point"] = b64(tc::bytes(3, 1)); }),
            esc::codes::bad_point);
  EXPECT_EQ(dshare_code([](auto& o) { o["proof"].as_object().erase("z"); }), esc::codes::bad_json);
  EXPECT_EQ(dshare_code([&](auto& o) { o["proof"].as_object()["c"] = b64(tc::bytes(sn, 0xff)); }),
            esc::codes::bad_scalar);
  EXPECT_EQ(dshare_code([](auto& o) { o["index"] = 1001; }), esc::codes::bad_index);
  EXPECT_EQ(dshare_code([](auto& o) { o["type"] = "tenderhall.escrow.setup"; }),
            esc::codes::bad_json);
}

INSTANTIATE_TEST_SUITE_P(groups, escrow_test,
                         ::testing::Values(esc::group::ristretto255, esc::group::sm2),
                         [](const ::testing::TestParamInfo<esc::group>& param_info) {
                           return std::string(esc::group_name(param_info.param));
                         });

// ---------------------------------------------------------------------------------------------
// Group-specific encodings

TEST(escrow_groups, names_and_sizes) {
  tc::init();
  EXPECT_EQ(esc::group_from_name("ristretto255"), esc::group::ristretto255);
  EXPECT_EQ(esc::group_from_name("sm2"), esc::group::sm2);
  EXPECT_EQ(error_code_of([] { (void)esc::group_from_name("SM2"); }), esc::codes::bad_group);
  EXPECT_EQ(esc::point_size(esc::group::ristretto255), 32u);
  EXPECT_EQ(esc::scalar_size(esc::group::ristretto255), 32u);
  EXPECT_EQ(esc::point_size(esc::group::sm2), 33u);
  EXPECT_EQ(esc::scalar_size(esc::group::sm2), 32u);
}

TEST(escrow_groups, ristretto255_rejects_non_canonical_encodings) {
  tc::init();
  // The ristretto255 generator's canonical encoding (RFC 9496) is accepted...
  const tc::bytes g =
      tc::hex_decode("e2f2ae0a6abc4e71a884a961c500515f58e30b6aa582dd8db6a65945e08d2d76");
  EXPECT_NO_THROW(esc::check_point(esc::group::ristretto255, g));
  // ...but a field element >= p, and a "negative" (odd) field element, are not encodings.
  const tc::bytes p_plus_0 =
      tc::hex_decode("edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f");
  EXPECT_EQ(error_code_of([&] { esc::check_point(esc::group::ristretto255, p_plus_0); }),
            esc::codes::bad_point);
  tc::bytes odd = g;
  odd[0] ^= 0x01;
  EXPECT_EQ(error_code_of([&] { esc::check_point(esc::group::ristretto255, odd); }),
            esc::codes::bad_point);
}

TEST(escrow_groups, sm2_rejects_off_curve_and_non_compressed_points) {
  tc::init();
  // The SM2 base point (GB/T 32918.5), compressed: y of G is even, so the prefix is 02.
  const tc::bytes g =
      tc::hex_decode("0232c4ae2c1f1981195f9904466a39c9948fe30bbff2660be1715a4589334c74c7");
  EXPECT_NO_THROW(esc::check_point(esc::group::sm2, g));

  // Uncompressed (04) and hybrid (06/07) prefixes are not our encoding, whatever follows.
  for (const std::uint8_t prefix : {0x00, 0x01, 0x04, 0x05, 0x06, 0x07}) {
    tc::bytes p = g;
    p[0] = prefix;
    EXPECT_EQ(error_code_of([&] { esc::check_point(esc::group::sm2, p); }), esc::codes::bad_point)
        << int(prefix);
  }
  // x >= p (the field prime is FFFFFFFE FFFFFFFF ... 00000000 FFFFFFFF FFFFFFFF).
  tc::bytes too_big(33, 0xff);
  too_big[0] = 0x02;
  EXPECT_EQ(error_code_of([&] { esc::check_point(esc::group::sm2, too_big); }),
            esc::codes::bad_point);

  // About half of all x have no point on the curve: find the first small one and check it fails,
  // and that its neighbour with a point passes (so the test really exercises the curve check).
  int rejected = 0;
  int accepted = 0;
  for (std::uint8_t x = 1; x < 40; ++x) {
    tc::bytes p(33, 0);
    p[0] = 0x02;
    p[32] = x;
    if (error_code_of([&] { esc::check_point(esc::group::sm2, p); }) == esc::codes::bad_point) {
      ++rejected;
    } else {
      ++accepted;
    }
  }
  EXPECT_GT(rejected, 5);
  EXPECT_GT(accepted, 5);
}

TEST(escrow_groups, one_of_one_and_k_equals_n_work) {
  tc::init();
  for (const esc::group g : {esc::group::ristretto255, esc::group::sm2}) {
    for (const auto& [k, n] : {std::pair{1u, 1u}, std::pair{4u, 4u}, std::pair{1u, 3u}}) {
      const esc::dealing d = esc::deal(g, k, n);
      const esc::encapsulation enc = esc::encapsulate(d.pub.key());
      std::vector<esc::decryption_share> shares;
      for (std::uint32_t i = 0; i < k; ++i) {
        shares.push_back(esc::make_decryption_share(d.pub, d.shares[n - 1 - i], enc.ephemeral));
      }
      EXPECT_TRUE(same(esc::combine(d.pub, enc.ephemeral, shares), enc.shared))
          << esc::group_name(g) << " " << k << "-of-" << n;
    }
  }
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Published test vectors (protocol/docs/threshold-escrow-vectors.json). They pin the encodings,
// the hash to scalar and the transcript byte by byte: any change to those breaks these proofs.

namespace {

boost::json::value load_vectors() {
  const std::string path =
      std::string(TENDER_REPO_ROOT) + "/protocol/docs/threshold-escrow-vectors.json";
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) throw std::runtime_error("cannot open " + path);
  std::string text;
  char buf[4096];
  for (std::size_t got; (got = std::fread(buf, 1, sizeof buf, f)) > 0;)
    text.append(buf, got);
  std::fclose(f);
  return boost::json::parse(text);
}

TEST(escrow_vectors, published_vectors_verify_and_combine) {
  tc::init();
  const boost::json::value root = load_vectors();
  const auto& vectors = root.at("vectors").as_array();
  ASSERT_EQ(vectors.size(), 2u);
  for (const auto& item : vectors) {
    const auto& v = item.as_object();
    SCOPED_TRACE(std::string(v.at("group").as_string()));
    const esc::setup_public setup = esc::setup_from_json(boost::json::serialize(v.at("setup")));
    EXPECT_EQ(esc::group_name(setup.grp), v.at("group").as_string());
    for (const auto& s : v.at("custodian_shares").as_array()) {
      EXPECT_NO_THROW(esc::verify_share(setup, esc::share_from_json(boost::json::serialize(s))));
    }
    const std::string_view context_text = v.at("context").as_string();
    const tc::bytes context(context_text.begin(), context_text.end());
    const tc::bytes ephemeral = tc::base64_decode(v.at("ephemeral").as_string());
    std::vector<esc::decryption_share> shares;
    for (const auto& d : v.at("decryption_shares").as_array()) {
      shares.push_back(esc::decryption_share_from_json(boost::json::serialize(d)));
      EXPECT_NO_THROW(esc::verify_decryption_share(setup, ephemeral, shares.back(), context));
    }
    const tc::bytes expected = tc::base64_decode(v.at("shared").as_string());
    const tc::secure_bytes s = esc::combine(setup, ephemeral, shares, context);
    EXPECT_TRUE(tc::constant_time_equal(s.view(), expected));
    // The same shares under another context are refused: the context is in the transcript.
    EXPECT_EQ(share_error_index([&] { (void)esc::combine(setup, ephemeral, shares); },
                                esc::codes::bad_share_proof),
              shares.front().index);
  }
}

}  // namespace
