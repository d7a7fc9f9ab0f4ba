// X.509 user certificates (issue 4, "Identity and access"): an administrator registers a user's
// certificate, tenderd verifies its chain against identity.ca_roots_file at the database clock
// time, and the user logs in with the certificate's key. Certificates are made here with the
// openssl command line (an independent implementation): a CA root and leaves it signed, a leaf of
// another CA, an expired leaf.
#include <world.hpp>

#include <tender/crypto/keys.hpp>

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include <fstream>
#include <iterator>

namespace {
using tender::test::run_command;
using tender::test::world;
namespace json = boost::json;

// A scratch directory with a CA made by openssl.
class pki {
public:
  pki() : dir_(tender::test::make_temp_dir("pki")) {
    write("ca.cnf",
          "[ca]\ndefault_ca=c\n[c]\ndatabase=index.txt\nnew_certs_dir=.\nserial=serial\n"
          "policy=p\ndefault_md=default\n[p]\ncommonName=supplied\n");
    write("index.txt", "");
    write("serial", "1000\n");
    ok_ = openssl({"genpkey", "-algorithm", "ed25519", "-out", f("root.key")}) &&
          openssl({"req", "-x509", "-new", "-key", f("root.key"), "-subj", "/CN=Test Root CA",
                   "-days", "30", "-addext", "basicConstraints=critical,CA:TRUE", "-addext",
                   "keyUsage=critical,keyCertSign,cRLSign", "-out", f("root.pem")}) &&
          openssl({"genpkey", "-algorithm", "ed25519", "-out", f("other.key")}) &&
          openssl({"req", "-x509", "-new", "-key", f("other.key"), "-subj", "/CN=Other Root CA",
                   "-days", "30", "-addext", "basicConstraints=critical,CA:TRUE", "-addext",
                   "keyUsage=critical,keyCertSign,cRLSign", "-out", f("other.pem")});
  }

  bool ok() const { return ok_; }
  std::string f(const std::string& name) const { return dir_ + "/" + name; }
  std::string read(const std::string& name) const {
    std::ifstream in(f(name), std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  }
  void write(const std::string& name, const std::string& text) const {
    std::ofstream(f(name), std::ios::binary) << text;
  }

  // A new key `name`.key (ed25519 or SM2) and a certificate `name`.pem for it, issued by `ca`
  // (root or other) for 10 days, or with the given validity (YYYYMMDDHHMMSSZ) when set.
  bool leaf(const std::string& name, const std::string& ca,
            const std::string& algorithm = "ed25519", const std::string& start = "",
            const std::string& end = "") const {
    if (!openssl({"genpkey", "-algorithm", algorithm, "-out", f(name + ".key")}) ||
        !openssl({"req", "-new", "-key", f(name + ".key"), "-subj", "/CN=" + name, "-out",
                  f(name + ".csr")})) {
      return false;
    }
    if (start.empty()) {
      return openssl({"x509", "-req", "-in", f(name + ".csr"), "-CA", f(ca + ".pem"), "-CAkey",
                      f(ca + ".key"), "-CAcreateserial", "-days", "10", "-out", f(name + ".pem")});
    }
    return openssl({"ca", "-batch", "-config", f("ca.cnf"), "-cert", f(ca + ".pem"), "-keyfile",
                    f(ca + ".key"), "-in", f(name + ".csr"), "-startdate", start, "-enddate", end,
                    "-notext", "-out", f(name + ".pem")});
  }

private:
  bool openssl(std::vector<std::string> args) const {
    // `openssl ca` writes its database files relative to the working directory: run in dir_.
    std::vector<std::string> argv{"/bin/sh", "-c", "cd \"$0\" && exec /usr/bin/openssl \"$@\"",
                                  dir_};
    argv.insert(argv.end(), args.begin(), args.end());
    const auto r = run_command(argv);
    if (r.exit_code != 0) ADD_FAILURE() << "openssl failed: " << r.output;
    return r.exit_code == 0;
  }

  std::string dir_;
  bool ok_ = false;
};

std::string body_of(const std::string& cert_pem) {
  return json::serialize(json::object{{"certificate", cert_pem}});
}

struct counts {
  long long keys, certs, events;
  bool operator==(const counts&) const = default;
};

class certificates : public ::testing::Test {
protected:
  certificates() : w_("certs", {{"TENDERD_IDENTITY_CA_ROOTS_FILE", ca_.f("root.pem")}}) {
    w_.admin().api->create_org("acme", "bidder", "Acme Bidder Ltd");
    w_.admin().api->create_user("acme", "alice", "Alice", {"bidder"});
  }
  counts now() const {
    return {w_.rows("user_keys"), w_.rows("user_certificates"), w_.rows("audit_events")};
  }
  tender::client::http_response post(const std::string& user, const std::string& body) {
    return w_.admin().api->request("POST", "/api/v1/users/" + user + "/certificates", body);
  }

  pki ca_;
  world w_;
};

TEST_F(certificates, a_certificate_from_the_configured_root_becomes_a_login_key) {
  ASSERT_TRUE(ca_.ok());
  ASSERT_TRUE(ca_.leaf("alice", "root"));
  const auto before = now();
  const auto c = w_.admin().api->add_certificate("alice", ca_.read("alice.pem"));
  EXPECT_EQ(c.key.user_id, "alice");
  EXPECT_EQ(c.key.algorithm, "ed25519");
  EXPECT_EQ(c.subject, "CN=alice");
  EXPECT_EQ(c.issuer, "CN=Test Root CA");
  const auto key = tender::crypto::private_key::from_pem(ca_.read("alice.key"));
  EXPECT_EQ(c.key.fingerprint, key.public_part().fingerprint());
  const counts after = now();
  EXPECT_EQ(after.keys, before.keys + 1);
  EXPECT_EQ(after.certs, before.certs + 1);
  EXPECT_EQ(after.events, before.events + 1);  // exactly one audit event
  EXPECT_EQ(w_.db().query_value("SELECT action FROM audit_events ORDER BY seq DESC LIMIT 1"),
            "identity.certificate_added");

  // Alice logs in with the certificate's private key.
  auto alice = w_.anonymous();
  const auto s = alice->login("alice", c.key.fingerprint, [&](std::string_view m) {
    const auto sig = tender::crypto::sign_message(key, tender::crypto::as_bytes(m));
    return std::string(sig.begin(), sig.end());
  });
  EXPECT_EQ(s.user_id, "alice");
  EXPECT_EQ(alice->whoami().user.id, "alice");

  // The same certificate again: its key is taken. (The login above was audited: count anew.)
  const counts before_again = now();
  const auto again = post("alice", body_of(ca_.read("alice.pem")));
  EXPECT_EQ(again.status, 409u);
  EXPECT_EQ(tender::test::error_code_of(again), "identity.exists");
  EXPECT_EQ(now(), before_again);
}

TEST_F(certificates, an_sm2_certificate_is_accepted_too) {
  ASSERT_TRUE(ca_.ok());
  ASSERT_TRUE(ca_.leaf("bob", "root", "SM2"));
  const auto c = w_.admin().api->add_certificate("alice", ca_.read("bob.pem"));
  EXPECT_EQ(c.key.algorithm, "sm2");
}

TEST_F(certificates, refused_certificates_say_why_and_change_nothing) {
  ASSERT_TRUE(ca_.ok());
  ASSERT_TRUE(ca_.leaf("stranger", "other"));
  ASSERT_TRUE(ca_.leaf("old", "root", "ed25519", "20200101000000Z", "20210101000000Z"));
  const auto before = now();
  const auto expect_refused = [&](const std::string& body, const std::string& code,
                                  const std::string& reason) {
    const auto r = post("alice", body);
    EXPECT_EQ(r.status, 400u) << r.body;
    EXPECT_EQ(tender::test::error_code_of(r), code) << r.body;
    EXPECT_NE(r.body.find(reason), std::string::npos) << r.body;
    EXPECT_EQ(now(), before) << r.body;
  };
  expect_refused(body_of(ca_.read("stranger.pem")), "identity.bad_certificate", "unknown issuer");
  expect_refused(body_of(ca_.read("old.pem")), "identity.bad_certificate", "expired");
  expect_refused(body_of("-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----\n"),
                 "identity.bad_certificate", "not a PEM X.509 certificate");
  expect_refused(R"({"certificate":"x","chain":"y"})", "request.bad_json", "chain");
  expect_refused(R"({"certificate":"x","chain":[1]})", "request.bad_json", "chain[0]");
  expect_refused(R"({"certificate":"x","extra":1})", "request.bad_json", "extra");
  expect_refused(R"({"chain":[]})", "request.bad_json", "certificate");
  // A chain through the other root's certificate does not help.
  expect_refused(json::serialize(json::object{{"certificate", ca_.read("stranger.pem")},
                                              {"chain", json::array{ca_.read("other.pem")}}}),
                 "identity.bad_certificate", "unknown issuer");

  // Unknown user, and a caller who is not an administrator.
  ASSERT_TRUE(ca_.leaf("carol", "root"));
  auto r = post("nobody", body_of(ca_.read("carol.pem")));
  EXPECT_EQ(r.status, 404u);
  EXPECT_EQ(tender::test::error_code_of(r), "identity.not_found");
  auto& bidder = w_.user("bidder-1", "bidco", "bidder", {"bidder"});
  const auto with_bidder = now();
  r = bidder.api->request("POST", "/api/v1/users/alice/certificates",
                          body_of(ca_.read("carol.pem")));
  EXPECT_EQ(r.status, 403u);
  EXPECT_EQ(now(), with_bidder);
}

TEST(certificates_without_roots, every_certificate_is_refused) {
  pki ca;
  ASSERT_TRUE(ca.ok());
  ASSERT_TRUE(ca.leaf("alice", "root"));
  world w("certs-noroots");
  w.admin().api->create_org("acme", "bidder", "Acme");
  w.admin().api->create_user("acme", "alice", "Alice", {"bidder"});
  const auto r = w.admin().api->request("POST", "/api/v1/users/alice/certificates",
                                        body_of(ca.read("alice.pem")));
  EXPECT_EQ(r.status, 400u);
  EXPECT_EQ(tender::test::error_code_of(r), "identity.bad_certificate");
  EXPECT_NE(r.body.find("identity.ca_roots_file"), std::string::npos) << r.body;
  EXPECT_EQ(w.rows("user_certificates"), 0);
}

TEST_F(certificates, the_cli_registers_a_certificate_with_its_chain_file) {
  ASSERT_TRUE(ca_.ok());
  ASSERT_TRUE(ca_.leaf("dave", "root"));
  ca_.write("token", w_.admin().token + "\n");
  const auto r = run_command({TENDER_CLI_PATH, "--server", w_.url(), "admin", "add-cert", "alice",
                              "--cert", ca_.f("dave.pem"), "--chain", ca_.f("root.pem"),
                              "--token-file", ca_.f("token"), "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto out = json::parse(r.output.substr(r.output.find('{')));
  EXPECT_EQ(out.at("user_id").as_string(), "alice");
  EXPECT_EQ(out.at("subject").as_string(), "CN=dave");
  EXPECT_EQ(w_.rows("user_certificates"), 1);

  // An untrusted certificate: the CLI fails with the server's reason.
  ASSERT_TRUE(ca_.leaf("eve", "other"));
  const auto bad = run_command({TENDER_CLI_PATH, "--server", w_.url(), "admin", "add-cert", "alice",
                                "--cert", ca_.f("eve.pem"), "--token-file", ca_.f("token")});
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.output.find("identity.bad_certificate"), std::string::npos) << bad.output;
}

}  // namespace
