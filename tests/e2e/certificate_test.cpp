// X.509 user certificates (issue 4, "Identity and access"): an administrator registers a user's
// certificate, tenderd verifies its chain against identity.ca_roots_file at the database clock
// time, and the user logs in with the certificate's key. Certificates are made here with the
// openssl command line (an independent implementation): a CA root and leaves it signed, a leaf of
// another CA, an expired leaf, and the root's revocation lists.
//
// Issue 15 §4: a certificate is checked at every use of its key, not only at registration — at
// login, at bid completion and on signed hall actions, on the database clock and against the CA's
// revocation list in identity.crl_dir (re-read when it changes).
#include <hall_world.hpp>
#include <world.hpp>

#include <tender/client/bids.hpp>
#include <tender/client/hall.hpp>
#include <tender/crypto/keys.hpp>
#include <tender/crypto/sealed_bid.hpp>

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>

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
    std::filesystem::create_directories(f("crls"));
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

  // Marks certificate `name`.pem revoked in the root's database (the next CRL lists it).
  bool revoke(const std::string& name) const {
    return openssl({"ca", "-config", f("ca.cnf"), "-cert", f("root.pem"), "-keyfile", f("root.key"),
                    "-revoke", f(name + ".pem"), "-crl_reason", "keyCompromise"});
  }
  // A CRL of the root's database signed by `ca` (root: the real one), installed in the directory
  // crls/ as `file` by a rename, as an operator's download script would.
  bool install_crl(const std::string& file, const std::string& ca = "root") const {
    if (!openssl({"ca", "-config", f("ca.cnf"), "-cert", f(ca + ".pem"), "-keyfile", f(ca + ".key"),
                  "-gencrl", "-crldays", "1", "-out", f("crl.tmp")})) {
      return false;
    }
    std::filesystem::rename(f("crl.tmp"), f("crls/" + file));
    return true;
  }
  // A CA `name` of its own key whose name is the root's: what a forger of the root's lists has.
  bool impostor(const std::string& name) const {
    return openssl({"genpkey", "-algorithm", "ed25519", "-out", f(name + ".key")}) &&
           openssl({"req", "-x509", "-new", "-key", f(name + ".key"), "-subj", "/CN=Test Root CA",
                    "-days", "30", "-addext", "basicConstraints=critical,CA:TRUE", "-addext",
                    "keyUsage=critical,keyCertSign,cRLSign", "-out", f(name + ".pem")});
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

tender::client::login_signer signer(const tender::crypto::private_key& key) {
  return [key](std::string_view m) {
    const auto sig = tender::crypto::sign_message(key, tender::crypto::as_bytes(m));
    return std::string(sig.begin(), sig.end());
  };
}

std::string body_of(const std::string& cert_pem) {
  return json::serialize(json::object{{"certificate", cert_pem}});
}

struct counts {
  long long keys, certs, events;
  bool operator==(const counts&) const = default;
};

class certificates : public ::testing::Test {
protected:
  certificates()
      : w_("certs", {{"TENDERD_IDENTITY_CA_ROOTS_FILE", ca_.f("root.pem")},
                     {"TENDERD_IDENTITY_CRL_DIR", ca_.f("crls")}}) {
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

// A bidder whose only key is certified by the root: its certificate registered by the
// administrator, then logged in with the certificate's key.
struct certified_bidder {
  tender::test::actor who;
  std::string cert_fingerprint;
};

certified_bidder certified(world& w, const pki& ca, const std::string& user,
                           const std::string& org) {
  w.admin().api->create_org(org, "bidder", org + " bidder");
  w.admin().api->create_user(org, user, user, {"bidder"});
  if (!ca.leaf(user, "root")) ADD_FAILURE() << "no certificate for " << user;
  const auto c = w.admin().api->add_certificate(user, ca.read(user + ".pem"));
  certified_bidder b;
  b.cert_fingerprint = c.fingerprint;
  b.who.user_id = user;
  b.who.org_id = org;
  b.who.roles = {"bidder"};
  b.who.key = tender::crypto::private_key::from_pem(ca.read(user + ".key"));
  b.who.api = w.anonymous();
  b.who.token = b.who.api->login(user, c.key.fingerprint, signer(b.who.key)).token;
  return b;
}

// A sealed bid of `who` for lot 1 of `tender_id` (bidder-only key policy), signed with its key.
std::string sealed_bid(const tender::test::actor& who, const std::string& tender_id) {
  namespace ts = tender::crypto::sealed;
  ts::seal_params p;
  p.suite = tender::crypto::suite_id::sodium;
  p.policy = ts::key_policy::bidder;
  p.tender_id = tender_id + "/1";
  p.bidder_id = who.org_id;
  p.bidder_keys = {
      tender::crypto::private_key::generate(tender::crypto::key_type::x25519).public_part()};
  p.signing_key = who.key;
  std::istringstream in(std::string(512, 'b'));
  std::ostringstream out;
  ts::seal(p, R"({"price":"90000000"})", in, out);
  return out.str();
}

// Uploads a sealed bid; "" when it is recorded, else the code of the refused completion.
std::string upload_code(const tender::test::actor& who, const std::string& tender_id) {
  namespace bids = tender::client::bids;
  const auto file = sealed_bid(who, tender_id);
  const auto created = bids::create_upload(*who.api, tender_id, 1, file.size(), "bid.thsb");
  try {
    bids::patch(*who.api, created.upload_id, 0, file);
  } catch (const tender::client::error& e) {
    return e.code();
  }
  return "";
}

std::string login_code(world& w, const certified_bidder& b) {
  auto c = w.anonymous();
  try {
    c->login(b.who.user_id, b.who.key.public_part().fingerprint(), signer(b.who.key));
  } catch (const tender::client::error& e) {
    return e.code();
  }
  return "";
}

std::string sign_in_code(tender::client::hall::blocking_session& s, const certified_bidder& b) {
  namespace hall = tender::client::hall;
  hall::signer who;
  who.fingerprint = b.who.key.public_part().fingerprint();
  const auto key = b.who.key;
  who.sign = [key](std::string_view m) {
    const auto sig = tender::crypto::sign_message(key, tender::crypto::as_bytes(m));
    return std::string(sig.begin(), sig.end());
  };
  const auto nonce = hall::make_nonce();
  const auto r =
      s.signed_act("sign_in", hall::sign_in_params(nonce.commitment), nonce.commitment, who);
  return r.ok ? "" : r.code;
}

TEST_F(certificates, a_certificate_out_of_its_validity_stops_its_key_at_login_bid_and_hall) {
  ASSERT_TRUE(ca_.ok());
  auto& owner = w_.user("cv-owner", "cv-ownco", "tenderer", {"tenderer"});
  tender::test::hall_world h(w_, owner);
  const auto t = h.make_tender({.suffix = "71"});
  auto b = certified(w_, ca_, "cv-bidder", "cv-org");
  // A bid while the certificate is in force: the hall counts its organisation as a bidder (a
  // viewer without a bid is the public, kept out until the list is published).
  ASSERT_EQ(upload_code(b.who, t), "");
  auto hall_s = h.join(t, &b.who);
  ASSERT_EQ(hall_s->last_welcome().viewer.role, "bidder");
  const auto current_bids = [&] {
    return w_.db().query_value("SELECT count(*) FROM bids WHERE status = 'current'");
  };

  // The certificate expires after its registration (on the database clock).
  const auto set_validity = [&](const std::string& before, const std::string& after) {
    w_.db().exec("UPDATE user_certificates SET not_before = clock_timestamp() + interval '" +
                 before + "', not_after = clock_timestamp() + interval '" + after +
                 "' WHERE fingerprint = '" + b.cert_fingerprint + "'");
  };
  set_validity("-2 days", "-1 second");
  const auto sessions = w_.rows("sessions");
  const auto events = w_.rows("audit_events");
  EXPECT_EQ(login_code(w_, b), "certificate.expired");
  EXPECT_EQ(w_.rows("sessions"), sessions);
  EXPECT_EQ(w_.rows("audit_events"), events);
  EXPECT_EQ(upload_code(b.who, t), "certificate.expired");
  EXPECT_EQ(w_.rows("bids"), 1);  // the replacement was refused; the first bid stands
  EXPECT_EQ(w_.db().query_value("SELECT reject_code FROM uploads ORDER BY created_at DESC LIMIT 1"),
            "certificate.expired");
  EXPECT_EQ(sign_in_code(*hall_s, b), "certificate.expired");
  EXPECT_EQ(w_.rows("hall_attendance"), 0);

  // Not valid yet.
  set_validity("1 hour", "2 days");
  EXPECT_EQ(login_code(w_, b), "certificate.not_yet_valid");
  EXPECT_EQ(upload_code(b.who, t), "certificate.not_yet_valid");
  EXPECT_EQ(sign_in_code(*hall_s, b), "certificate.not_yet_valid");

  // In force again: everything goes through.
  set_validity("-1 day", "2 days");
  EXPECT_EQ(login_code(w_, b), "");
  EXPECT_EQ(upload_code(b.who, t), "");
  EXPECT_EQ(w_.rows("bids"), 2);  // the replacement went through
  EXPECT_EQ(current_bids(), "1");
  EXPECT_EQ(sign_in_code(*hall_s, b), "");
  EXPECT_EQ(w_.rows("hall_attendance"), 1);
}

TEST_F(certificates, a_revoked_certificate_stops_its_key_once_its_crl_is_installed) {
  ASSERT_TRUE(ca_.ok());
  auto& owner = w_.user("cr-owner", "cr-ownco", "tenderer", {"tenderer"});
  tender::test::hall_world h(w_, owner);
  const auto t = h.make_tender({.suffix = "72"});
  auto b = certified(w_, ca_, "cr-bidder", "cr-org");

  // A first list revoking nobody, then the bidder's certificate revoked.
  ASSERT_TRUE(ca_.install_crl("root.crl"));
  EXPECT_EQ(login_code(w_, b), "");
  ASSERT_TRUE(ca_.revoke("cr-bidder"));
  // A list claiming to be the root's but signed by another key is not believed.
  ASSERT_TRUE(ca_.impostor("forger"));
  ASSERT_TRUE(ca_.install_crl("forged.crl", "forger"));
  EXPECT_EQ(login_code(w_, b), "");
  EXPECT_EQ(upload_code(b.who, t), "");
  EXPECT_EQ(w_.rows("bids"), 1);
  // With its bid, the organisation joins the hall as a bidder.
  auto hall_s = h.join(t, &b.who);
  ASSERT_EQ(hall_s->last_welcome().viewer.role, "bidder");

  // The root's new list replaces the first file: it is read at the next use.
  ASSERT_TRUE(ca_.install_crl("root.crl"));
  const auto sessions = w_.rows("sessions");
  EXPECT_EQ(login_code(w_, b), "certificate.revoked");
  EXPECT_EQ(w_.rows("sessions"), sessions);
  EXPECT_EQ(upload_code(b.who, t), "certificate.revoked");
  EXPECT_EQ(w_.db().query_value("SELECT count(*) FROM bids WHERE status = 'current'"), "1");
  EXPECT_EQ(sign_in_code(*hall_s, b), "certificate.revoked");
  EXPECT_EQ(w_.rows("hall_attendance"), 0);

  // A revoked certificate cannot be registered either.
  w_.admin().api->create_user("cr-org", "cr-second", "Second", {"bidder"});
  ASSERT_TRUE(ca_.leaf("cr-second", "root"));
  ASSERT_TRUE(ca_.revoke("cr-second"));
  ASSERT_TRUE(ca_.install_crl("root.crl"));
  const auto r = post("cr-second", body_of(ca_.read("cr-second.pem")));
  EXPECT_EQ(r.status, 400u);
  EXPECT_EQ(tender::test::error_code_of(r), "identity.bad_certificate");
  EXPECT_NE(r.body.find("revoked"), std::string::npos) << r.body;
}

}  // namespace
