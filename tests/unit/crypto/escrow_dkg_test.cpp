// The DKG through a relay (threshold-escrow.md §6.1): sealed dealer shares, their opening, the
// complaint's public unmasking, and a whole joint-Feldman run whose key opens an encapsulation.

#include <tender/crypto/bytes.hpp>
#include <tender/crypto/error.hpp>
#include <tender/crypto/escrow.hpp>
#include <tender/crypto/init.hpp>

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <fstream>
#include <iterator>

#include <string>
#include <vector>

namespace tc = tender::crypto;
namespace esc = tender::crypto::escrow;

namespace {

class escrow_dkg : public ::testing::TestWithParam<esc::group> {
protected:
  void SetUp() override { tc::init(); }
};

std::string context_for(std::uint32_t dealer, std::uint32_t recipient) {
  return "t-0123456789abcdef/1/" + std::to_string(dealer) + "/" + std::to_string(recipient);
}

std::string code_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const tc::error& e) {
    return e.code();
  }
  return "(no error)";
}

TEST_P(escrow_dkg, a_sealed_share_opens_only_for_its_recipient_and_its_context) {
  const auto g = GetParam();
  const auto dealt = esc::deal(g, 2, 3);
  const auto alice = esc::make_transport_key(g);
  const auto bob = esc::make_transport_key(g);
  const auto ctx = context_for(1, 2);
  const auto sealed = esc::seal_share(alice.pub, dealt.shares[1], ctx);
  EXPECT_EQ(sealed.ephemeral.size(), esc::point_size(g));
  EXPECT_EQ(sealed.masked.size(), esc::scalar_size(g));

  const auto opened = esc::open_share(alice, sealed, 2, ctx);
  EXPECT_EQ(opened.index, 2u);
  EXPECT_TRUE(tc::constant_time_equal(opened.scalar.view(), dealt.shares[1].scalar.view()));
  EXPECT_NO_THROW(esc::verify_share(dealt.pub, opened));

  // Another key or another context gives a scalar that fails the Feldman check.
  const auto wrong_key = esc::open_share(bob, sealed, 2, ctx);
  EXPECT_EQ(code_of([&] { esc::verify_share(dealt.pub, wrong_key); }), "escrow.share_mismatch");
  const auto wrong_ctx = esc::open_share(alice, sealed, 2, context_for(1, 3));
  EXPECT_EQ(code_of([&] { esc::verify_share(dealt.pub, wrong_ctx); }), "escrow.share_mismatch");
}

TEST_P(escrow_dkg, a_complaint_reveals_the_shared_point_so_anyone_can_redo_the_check) {
  const auto g = GetParam();
  const auto dealt = esc::deal(g, 2, 3);
  const auto victim = esc::make_transport_key(g);
  const auto ctx = context_for(3, 1);
  // The dealer seals a share that is not f(1): the share of custodian 2 under index 1.
  const auto bad = esc::seal_share(victim.pub, dealt.shares[1], ctx);
  const auto good = esc::seal_share(victim.pub, dealt.shares[0], ctx);

  // The complainer proves S = t·R over its transport key with the same context.
  const auto published = esc::transport_setup(g, victim.pub.public_key);
  const auto ctx_bytes = tc::as_bytes(ctx);
  for (const auto* sealed : {&bad, &good}) {
    const auto reveal =
        esc::make_decryption_share(victim.pub, victim.secret, sealed->ephemeral, ctx_bytes);
    ASSERT_NO_THROW(esc::verify_decryption_share(published, sealed->ephemeral, reveal, ctx_bytes));
    const auto x = esc::unmask_share(published, *sealed, reveal.point, 1, ctx);
    if (sealed == &bad) {
      EXPECT_EQ(code_of([&] { esc::verify_share(dealt.pub, x); }), "escrow.share_mismatch");
    } else {
      EXPECT_NO_THROW(esc::verify_share(dealt.pub, x));  // a false complaint is seen as false
    }
  }
  // A reveal made for another context does not verify.
  const auto other = esc::make_decryption_share(victim.pub, victim.secret, bad.ephemeral,
                                                tc::as_bytes(context_for(3, 2)));
  EXPECT_EQ(
      code_of([&] { esc::verify_decryption_share(published, bad.ephemeral, other, ctx_bytes); }),
      "escrow.bad_share_proof");
}

TEST_P(escrow_dkg, malformed_sealed_shares_and_transport_keys_are_refused) {
  const auto g = GetParam();
  const auto key = esc::make_transport_key(g);
  const auto dealt = esc::deal(g, 1, 1);
  auto sealed = esc::seal_share(key.pub, dealt.shares[0], "c");
  auto bad_r = sealed;
  bad_r.ephemeral.assign(bad_r.ephemeral.size(), 0xff);
  EXPECT_EQ(code_of([&] { (void)esc::open_share(key, bad_r, 1, "c"); }), "escrow.bad_point");
  auto bad_masked = sealed;
  bad_masked.masked.assign(bad_masked.masked.size(), 0xff);  // >= q in both groups
  EXPECT_EQ(code_of([&] { (void)esc::open_share(key, bad_masked, 1, "c"); }), "escrow.bad_scalar");
  EXPECT_EQ(code_of([&] { (void)esc::transport_setup(g, tc::bytes(esc::point_size(g), 0)); }),
            "escrow.identity_point");  // all zeros: the identity's encoding in both groups
  const auto gen = esc::generator(g);
  EXPECT_NO_THROW((void)esc::transport_setup(g, gen));
}

TEST_P(escrow_dkg, three_dealers_make_a_key_nobody_dealt_that_any_two_custodians_open) {
  const auto g = GetParam();
  constexpr std::uint32_t n = 3;
  std::vector<esc::transport_key> keys;
  for (std::uint32_t i = 0; i < n; ++i)
    keys.push_back(esc::make_transport_key(g));
  std::vector<esc::setup_public> dealings;
  std::vector<std::vector<esc::sealed_share>> sealed(n);  // [dealer][recipient]
  for (std::uint32_t d = 1; d <= n; ++d) {
    auto dealt = esc::deal(g, 2, n);
    for (std::uint32_t i = 1; i <= n; ++i)
      sealed[d - 1].push_back(
          esc::seal_share(keys[i - 1].pub, dealt.shares[i - 1], context_for(d, i)));
    dealings.push_back(dealt.pub);
  }
  const auto joint = esc::aggregate_setup(dealings);
  std::vector<esc::custodian_share> joint_shares;
  for (std::uint32_t i = 1; i <= n; ++i) {
    std::vector<esc::custodian_share> received;
    for (std::uint32_t d = 1; d <= n; ++d)
      received.push_back(esc::open_share(keys[i - 1], sealed[d - 1][i - 1], i, context_for(d, i)));
    joint_shares.push_back(esc::aggregate_share(dealings, received));
    EXPECT_NO_THROW(esc::verify_share(joint, joint_shares.back()));
  }
  for (const auto& d : dealings)
    EXPECT_NE(d.public_key, joint.public_key);

  // The confirmation: a proof over R = G, which shows the custodian holds x_i (D_i = Y_i).
  const auto gen = esc::generator(g);
  const auto confirm = esc::make_decryption_share(joint, joint_shares[1], gen, tc::as_bytes("c"));
  EXPECT_NO_THROW(esc::verify_decryption_share(joint, gen, confirm, tc::as_bytes("c")));
  EXPECT_EQ(confirm.point, esc::public_share(joint, 2));

  const auto kem = esc::encapsulate(joint.key());
  const std::vector<esc::decryption_share> two = {
      esc::make_decryption_share(joint, joint_shares[0], kem.ephemeral),
      esc::make_decryption_share(joint, joint_shares[2], kem.ephemeral)};
  const auto opened = esc::combine(joint, kem.ephemeral, two);
  EXPECT_TRUE(tc::constant_time_equal(opened.view(), kem.shared.view()));
}

// The published vectors' dkg member (protocol/docs/threshold-escrow-vectors.json, made by the
// Python reference): our transport opens the sealed share the document's equations made, and a
// complaint's revealed S unmasks it too.
TEST(escrow_dkg_vectors, the_published_sealed_shares_open_byte_for_byte) {
  tc::init();
  const std::string path =
      std::string(TENDER_REPO_ROOT) + "/protocol/docs/threshold-escrow-vectors.json";
  std::ifstream in(path, std::ios::binary);
  ASSERT_TRUE(in) << path;
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto root = boost::json::parse(text);
  const auto& list = root.at("dkg").as_array();
  ASSERT_EQ(list.size(), 2u);
  for (const auto& item : list) {
    const auto& v = item.as_object();
    const auto b = [&](const char* key) { return tc::base64_decode(v.at(key).as_string()); };
    const auto g = esc::group_from_name(v.at("group").as_string());
    SCOPED_TRACE(std::string(esc::group_name(g)));
    const std::string ctx(v.at("context").as_string());
    esc::transport_key key{esc::transport_setup(g, b("transport_key")),
                           esc::custodian_share{g, 1, tc::secure_bytes(b("transport_secret"))}};
    EXPECT_NO_THROW(esc::verify_share(key.pub, key.secret));  // T = t·G
    const esc::sealed_share sealed{b("ephemeral"), b("masked")};
    const auto opened = esc::open_share(key, sealed, 1, ctx);
    EXPECT_EQ(tc::bytes(opened.scalar.view().begin(), opened.scalar.view().end()), b("share"));
    const auto unmasked = esc::unmask_share(key.pub, sealed, b("shared"), 1, ctx);
    EXPECT_EQ(tc::bytes(unmasked.scalar.view().begin(), unmasked.scalar.view().end()), b("share"));
    const auto reveal =
        esc::make_decryption_share(key.pub, key.secret, sealed.ephemeral, tc::as_bytes(ctx));
    EXPECT_EQ(reveal.point, b("shared"));
  }
}

INSTANTIATE_TEST_SUITE_P(groups, escrow_dkg,
                         ::testing::Values(esc::group::ristretto255, esc::group::sm2),
                         [](const auto& info) { return std::string(esc::group_name(info.param)); });

}  // namespace
