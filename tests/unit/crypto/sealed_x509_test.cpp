// X.509 chains made with the `openssl` command line (root CA → intermediate → leaf, SM2 with the
// GM/T 0009 distinguishing ID, and Ed25519) verified by our code; wrong roots, missing
// intermediates, validity periods and a missing ID fail with their codes; a sealed bid signed
// with an embedded certificate yields the key the chain vouches for.

#include "openssl_cli_support.hpp"
#include "sealed_support.hpp"

#include <tender/crypto/x509.hpp>

#include <gtest/gtest.h>

#include <chrono>

namespace {

using namespace sealed_test;
using cli_test::scratch_dir;
namespace tx = tender::crypto::x509;

std::int64_t now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

constexpr const char* extensions = R"([v3_ca]
basicConstraints=critical,CA:TRUE
keyUsage=critical,keyCertSign,cRLSign
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid:always
[v3_leaf]
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,nonRepudiation
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid:always
)";

// Builds root → intermediate → leaf with the CLI. `algorithm` is SM2 or ED25519.
class chain_fixture {
public:
  chain_fixture(const scratch_dir& dir, const std::string& algorithm, const std::string& prefix)
      : dir_(dir), prefix_(prefix) {
    const bool sm2 = algorithm == "SM2";
    const std::string md = sm2 ? " -sm3 -sigopt distid:1234567812345678" : "";
    const std::string vfy = sm2 ? " -vfyopt distid:1234567812345678" : "";
    dir.write("ext.cnf", std::string(extensions));
    ok_ = run("genpkey -algorithm " + algorithm + " -out " + f("root.key")) &&
          run("req -new -x509 -key " + f("root.key") + md + " -subj '/CN=" + prefix +
              " Root CA' -days 3650 -addext basicConstraints=critical,CA:TRUE"
              " -addext keyUsage=critical,keyCertSign,cRLSign -out " +
              f("root.pem")) &&
          run("genpkey -algorithm " + algorithm + " -out " + f("int.key")) &&
          run("req -new -key " + f("int.key") + md + " -subj '/CN=" + prefix +
              " Intermediate CA' -out " + f("int.csr")) &&
          run("x509 -req -in " + f("int.csr") + " -CA " + f("root.pem") + " -CAkey " +
              f("root.key") + " -CAcreateserial" + md + vfy +
              " -days 1000 -extfile ext.cnf -extensions v3_ca -out " + f("int.pem")) &&
          run("genpkey -algorithm " + algorithm + " -out " + f("leaf.key")) &&
          run("req -new -key " + f("leaf.key") + md + " -subj '/CN=Bidder Co Ltd/O=" + prefix +
              "' -out " + f("leaf.csr")) &&
          run("x509 -req -in " + f("leaf.csr") + " -CA " + f("int.pem") + " -CAkey " +
              f("int.key") + " -CAcreateserial" + md + vfy +
              " -days 365 -extfile ext.cnf -extensions v3_leaf -out " + f("leaf.pem"));
  }

  bool ok() const { return ok_; }
  tx::certificate cert(const std::string& name) const {
    return tx::certificate::from_pem(dir_.read(f(name + ".pem")));
  }
  tc::private_key key(const std::string& name) const {
    return tc::private_key::from_pem(dir_.read(f(name + ".key")));
  }
  tx::trust_store roots() const {
    tx::trust_store t;
    t.add(cert("root"));
    return t;
  }

private:
  // File names: the display prefix with its spaces replaced.
  std::string f(const std::string& name) const {
    std::string stem = prefix_;
    for (char& c : stem) {
      if (c == ' ') c = '_';
    }
    return stem + "-" + name;
  }
  bool run(const std::string& args) const { return dir_.openssl(args) == 0; }

  const scratch_dir& dir_;
  std::string prefix_;
  bool ok_ = false;
};

class x509_cli : public testing::Test {
protected:
  void SetUp() override {
    tc::init();
    if (!cli_test::have_openssl()) GTEST_SKIP() << "no /usr/bin/openssl";
  }
  scratch_dir dir_;
};

TEST_F(x509_cli, an_sm2_chain_made_by_openssl_verifies_and_yields_the_leaf_key) {
  const chain_fixture ca(dir_, "SM2", "Test SM2");
  ASSERT_TRUE(ca.ok());
  const tx::certificate leaf = ca.cert("leaf");
  const tx::verified_chain chain = tx::verify_chain(leaf, {ca.cert("int")}, ca.roots());
  ASSERT_EQ(chain.path.size(), 3u);
  EXPECT_EQ(chain.path[0].fingerprint(), leaf.fingerprint());
  EXPECT_EQ(chain.path[2].subject(), "CN=Test SM2 Root CA");
  EXPECT_EQ(chain.leaf_key.type(), tc::key_type::sm2);
  EXPECT_TRUE(chain.leaf_key == ca.key("leaf").public_part());
  EXPECT_EQ(leaf.subject(), "O=Test SM2,CN=Bidder Co Ltd");
  EXPECT_EQ(leaf.issuer(), "CN=Test SM2 Intermediate CA");
  EXPECT_LT(leaf.not_before(), leaf.not_after());
  EXPECT_FALSE(leaf.serial_hex().empty());
  // DER and PEM round trips.
  EXPECT_EQ(tx::certificate::from_der(leaf.to_der()).fingerprint(), leaf.fingerprint());
  EXPECT_EQ(tx::certificate::from_pem(leaf.to_pem()).fingerprint(), leaf.fingerprint());
}

TEST_F(x509_cli, sm2_chain_failures_have_their_codes) {
  const chain_fixture ca(dir_, "SM2", "Test SM2");
  const chain_fixture other(dir_, "SM2", "Other SM2");
  ASSERT_TRUE(ca.ok());
  ASSERT_TRUE(other.ok());
  const tx::certificate leaf = ca.cert("leaf");
  const std::vector<tx::certificate> ints = {ca.cert("int")};

  // Another CA's root.
  EXPECT_EQ(code_of([&] { (void)tx::verify_chain(leaf, ints, other.roots()); }),
            tx::codes::untrusted);
  // The right root but the wrong intermediate, or none.
  EXPECT_EQ(code_of([&] { (void)tx::verify_chain(leaf, {other.cert("int")}, ca.roots()); }),
            tx::codes::untrusted);
  EXPECT_EQ(code_of([&] { (void)tx::verify_chain(leaf, {}, ca.roots()); }), tx::codes::untrusted);
  // No roots at all.
  EXPECT_EQ(code_of([&] { (void)tx::verify_chain(leaf, ints, tx::trust_store{}); }),
            tx::codes::no_roots);
  // Validity periods.
  tx::verify_options later;
  later.at_time = now() + 400LL * 86400;
  EXPECT_EQ(code_of([&] { (void)tx::verify_chain(leaf, ints, ca.roots(), later); }),
            tx::codes::expired);
  tx::verify_options earlier;
  earlier.at_time = now() - 2LL * 86400;
  EXPECT_EQ(code_of([&] { (void)tx::verify_chain(leaf, ints, ca.roots(), earlier); }),
            tx::codes::not_yet_valid);
  // Without the GM distinguishing ID (OpenSSL 3.0's default), the SM2 signatures do not verify.
  tx::verify_options no_id;
  no_id.sm2_id = "";
  EXPECT_EQ(code_of([&] { (void)tx::verify_chain(leaf, ints, ca.roots(), no_id); }),
            tx::codes::bad_signature);
  // A leaf (CA:FALSE) cannot issue certificates.
  const std::string id = " -sm3 -sigopt distid:1234567812345678";
  ASSERT_EQ(dir_.openssl("genpkey -algorithm SM2 -out sub.key"), 0);
  ASSERT_EQ(dir_.openssl("req -new -key sub.key" + id + " -subj /CN=sub -out sub.csr"), 0);
  ASSERT_EQ(
      dir_.openssl("x509 -req -in sub.csr -CA Test_SM2-leaf.pem -CAkey Test_SM2-leaf.key "
                   "-CAcreateserial -days 30 -extfile ext.cnf -extensions v3_leaf -out sub.pem" +
                   id + " -vfyopt distid:1234567812345678"),
      0);
  const tx::certificate sub = tx::certificate::from_pem(dir_.read("sub.pem"));
  EXPECT_EQ(code_of([&] {
              (void)tx::verify_chain(sub, {leaf, ca.cert("int")}, ca.roots());
            }),
            tx::codes::invalid_ca);
  EXPECT_EQ(code_of([] { (void)tx::certificate::from_pem("garbage"); }),
            tx::codes::bad_certificate);
  EXPECT_EQ(code_of([] {
              (void)tx::certificate::from_der(tc::bytes{0x30, 0x03, 0x02, 0x01, 0x00});
            }),
            tx::codes::bad_certificate);
}

TEST_F(x509_cli, an_ed25519_chain_verifies_without_the_sm2_id) {
  const chain_fixture ca(dir_, "ED25519", "Test Ed25519");
  ASSERT_TRUE(ca.ok());
  const tx::verified_chain chain = tx::verify_chain(ca.cert("leaf"), {ca.cert("int")}, ca.roots());
  EXPECT_EQ(chain.leaf_key.type(), tc::key_type::ed25519);
  const chain_fixture other(dir_, "ED25519", "Other Ed25519");
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(
      code_of([&] { (void)tx::verify_chain(ca.cert("leaf"), {ca.cert("int")}, other.roots()); }),
      tx::codes::untrusted);
}

TEST_F(x509_cli, bundles_load_in_order) {
  const chain_fixture ca(dir_, "SM2", "Test SM2");
  ASSERT_TRUE(ca.ok());
  const std::string bundle = ca.cert("leaf").to_pem() + ca.cert("int").to_pem();
  const std::vector<tx::certificate> certs = tx::certificate::bundle_from_pem(bundle);
  ASSERT_EQ(certs.size(), 2u);
  EXPECT_EQ(certs[1].subject(), "CN=Test SM2 Intermediate CA");
  tx::trust_store t;
  t.add_pem_bundle(ca.cert("root").to_pem());
  EXPECT_EQ(tx::verify_chain(certs[0], {certs[1]}, t).path.size(), 3u);
}

TEST_F(x509_cli, a_bid_signed_with_an_embedded_sm2_certificate_verifies_through_its_chain) {
  const chain_fixture ca(dir_, "SM2", "Test SM2");
  ASSERT_TRUE(ca.ok());
  const tx::certificate leaf = ca.cert("leaf");
  // The CA lock's signing key and certificate; a separate SM2 encryption key.
  const bidder b{tc::private_key::generate(tc::key_type::sm2), ca.key("leaf")};
  ts::seal_params p = params_for(tc::suite_id::gm, ts::key_policy::bidder, b, nullptr);
  p.signing_certificate = leaf.to_der();
  const sealed_file f = seal_string(p, "priced bill of quantities");

  std::istringstream in(f.bytes);
  const ts::verify_result v = ts::verify(in);
  ASSERT_TRUE(v.certificate.has_value());
  EXPECT_EQ(v.layout.tr.kind, ts::signer_kind::certificate);
  const tx::verified_chain chain =
      tx::verify_chain(tx::certificate::from_der(*v.certificate), {ca.cert("int")}, ca.roots());
  EXPECT_TRUE(chain.leaf_key == v.signer_key);

  // A certificate that is not the signing key's is refused at sealing.
  ts::seal_params q = p;
  q.signing_certificate = ca.cert("int").to_der();
  EXPECT_EQ(code_of([&] { (void)seal_string(q, "x"); }), ts::codes::bad_params);
}

}  // namespace
