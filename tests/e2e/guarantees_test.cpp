// Electronic guarantees and cash bonds end to end (docs/GUARANTEES.md): the issuer simulator
// (tools/guarantee-sim) runs as a process of its own, signing with the key registered for its
// issuer organisation. The open flow (attach a file), the integrated flow (apply; the issuer
// pushes), signed status callbacks, the refusals of issue 5's acceptance 4 for guarantees — each
// with its code and nothing recorded — and cash bonds with a shared payer flagged.
#include <world.hpp>

#include <tender/crypto/guarantee.hpp>

#include <boost/json.hpp>

#include <gtest/gtest.h>

#include <fstream>
#include <map>

namespace {

namespace json = boost::json;
using tender::test::actor;
using tender::test::error_code_of;
using tender::test::guarantee_sim_process;
using tender::test::wait_until;
using tender::test::world;
using namespace std::chrono_literals;

constexpr std::int64_t bond = 500000;  // 5 000 yuan, in fen

struct setup {
  world w;
  actor& host = w.user("gh-host", "gh-owner", "tenderer", {"tenderer"});
  actor& bidder = w.user("gb-1", "gb-org1", "bidder", {"bidder"});
  actor& bidder2 = w.user("gb-2", "gb-org2", "bidder", {"bidder"});
  actor& bank = w.user("bank-ops", "bank-a", "issuer", {"issuer"});
  actor& staff = w.user("center-1", "center", "center", {"center_staff"});
  actor& supervisor = w.user("sup-1", "supervision", "supervision", {"supervisor"});
  std::unique_ptr<guarantee_sim_process> sim;
  std::unique_ptr<tender::client::client> sim_api;

  explicit setup(std::map<std::string, std::string> env = {}) : w("guarantees", std::move(env)) {
    const auto key_file = tender::test::make_temp_dir("bank-key") + "/bank.pem";
    {
      const auto pem = bank.key.to_pem();
      std::ofstream out(key_file);
      out.write(reinterpret_cast<const char*>(pem.data()),
                static_cast<std::streamsize>(pem.size()));
    }
    sim = std::make_unique<guarantee_sim_process>("bank-a", w.url(), key_file);
    tender::client::options o;
    o.server = sim->url();
    sim_api = std::make_unique<tender::client::client>(o);
    const auto r = w.admin().api->request(
        "POST", "/api/v1/issuers",
        json::serialize(json::object{{"org_id", "bank-a"},
                                     {"base_url", sim->url()},
                                     {"key_fingerprint", bank.key.public_part().fingerprint()}}));
    EXPECT_EQ(r.status, 200U) << r.body;
  }

  // A published sandbox tender (bid validity 1 day) with one lot requiring `bond`.
  std::string tender(
      const std::string& suffix,
      const std::string& deadline = "date_trunc('second', now()) + interval '2 days'",
      const std::string& opening = "NULL") {
    const std::string id = "t-00000000000000" + suffix;
    w.db().exec(
        "INSERT INTO tenders (id, project_code, title, kind, rule_pack, owner_org, created_by, "
        "state, published_at, deadline_at, opening_at) VALUES ('" +
        id + "', 'G-" + suffix + "', 'Bridge " + suffix + "', 'works', 'sandbox', '" + host.org_id +
        "', '" + host.user_id + "', 'published', now(), " + deadline + ", " + opening + ")");
    w.db().exec(
        "INSERT INTO lots (tender_id, lot_no, title, estimated_price, bond_amount, "
        "summary_fields) VALUES ('" +
        id + "', 1, 'Lot 1', 100000000, " + std::to_string(bond) +
        ", '[{\"key\":\"price\",\"label\":\"投标报价\",\"type\":\"money\"}]')");
    return id;
  }

  std::string deadline_plus(const std::string& tender_id, const std::string& interval) {
    return w.db().query_value(
        "SELECT to_char((deadline_at + interval '" + interval +
        "') AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') FROM tenders WHERE id = '" +
        tender_id + "'");
  }

  // A signed guarantee file from the simulator's admin endpoint (open flow).
  json::value issue(const std::string& tender_id, json::object overrides = {}) {
    json::object req{{"applicant", bidder.org_id},
                     {"beneficiary", host.org_id},
                     {"tender_code", "G-" + tender_id.substr(tender_id.size() - 2)},
                     {"lot", 1},
                     {"amount", bond},
                     {"valid_until", deadline_plus(tender_id, "3 days")}};
    for (const auto& kv : overrides)
      req[kv.key()] = kv.value();
    const auto r = sim_api->request("POST", "/admin/guarantees", json::serialize(req));
    EXPECT_EQ(r.status, 201U) << r.body;
    return json::parse(r.body);
  }

  tender::client::http_response attach(actor& who, const std::string& tender_id,
                                       const json::value& signed_doc) {
    return who.api->request("POST", "/api/v1/tenders/" + tender_id + "/lots/1/guarantees",
                            json::serialize(json::object{{"guarantee", signed_doc}}));
  }

  json::object mine(actor& who, const std::string& tender_id) {
    const auto r = who.api->request("GET", "/api/v1/tenders/" + tender_id + "/lots/1/guarantees");
    EXPECT_EQ(r.status, 200U) << r.body;
    return json::parse(r.body).as_object();
  }

  std::string snapshot() {
    std::string out;
    for (const char* t :
         {"guarantees", "guarantee_applications", "guarantee_events", "bonds", "audit_events"}) {
      out += std::string(t) + "=" + std::to_string(w.rows(t)) + " ";
    }
    return out;
  }
};

std::string number_of(const json::value& signed_doc) {
  return std::string(signed_doc.at("document").at("number").as_string());
}

TEST(guarantees_e2e, open_flow_attach_and_signed_callbacks_change_the_status) {
  setup s;
  const auto t = s.tender("a1");
  const auto file = s.issue(t);
  const auto r = s.attach(s.bidder, t, file);
  ASSERT_EQ(r.status, 201U) << r.body;
  const auto g = json::parse(r.body).as_object();
  EXPECT_EQ(g.at("status").as_string(), "valid");
  EXPECT_EQ(g.at("flow").as_string(), "open");
  EXPECT_EQ(g.at("bidder").as_string(), s.bidder.org_id);
  EXPECT_EQ(g.at("number").as_string(), number_of(file));

  // The same file again: the first record answers, nothing new.
  const auto before = s.snapshot();
  const auto again = s.attach(s.bidder, t, file);
  EXPECT_EQ(again.status, 200U) << again.body;
  EXPECT_EQ(s.snapshot(), before);
  // Another bidder cannot take it: the applicant is not its organisation.
  EXPECT_EQ(error_code_of(s.attach(s.bidder2, t, file)), "guarantee.wrong_applicant");

  // Before the deadline the tenderer sees a count, no bidders.
  const auto host_view = s.mine(s.host, t);
  EXPECT_EQ(host_view.at("count").as_int64(), 1);
  EXPECT_FALSE(host_view.contains("guarantees"));
  EXPECT_EQ(s.mine(s.bidder2, t).at("guarantees").as_array().size(), 0U);

  // The issuer revokes: a signed callback reaches the platform and the status follows.
  const auto rv =
      s.sim_api->request("POST", "/admin/guarantees/" + number_of(file) + "/revoke", "{}");
  ASSERT_EQ(rv.status, 200U) << rv.body;
  const auto cb = json::parse(rv.body).at("callback");
  EXPECT_EQ(cb.at("http_status").as_int64(), 200) << json::serialize(cb);
  auto list = s.mine(s.bidder, t).at("guarantees").as_array();
  ASSERT_EQ(list.size(), 1U);
  EXPECT_EQ(list[0].at("status").as_string(), "revoked");
  EXPECT_EQ(std::stoll(s.w.db().query_value("SELECT count(*) FROM guarantee_events")), 1);

  // A forged callback (the event re-signed by another key) is refused, nothing changes.
  const auto other = tender::crypto::private_key::generate(tender::crypto::key_type::ed25519);
  tender::crypto::guarantee::event ev{"forged-1", "bank-a", number_of(file), "valid",
                                      "2026-01-01T00:00:00Z"};
  const auto forged = tender::crypto::guarantee::sign_event(ev, other);
  const auto before_forged = s.snapshot();
  const auto fr =
      s.w.anonymous()->request("POST", "/api/v1/guarantee-callbacks", json::serialize(forged));
  EXPECT_EQ(error_code_of(fr), "guarantee.bad_signature") << fr.body;
  EXPECT_EQ(s.snapshot(), before_forged);

  // The issuer releases it: claimed/released are recorded the same way.
  const auto rl =
      s.sim_api->request("POST", "/admin/guarantees/" + number_of(file) + "/release", "{}");
  ASSERT_EQ(rl.status, 200U) << rl.body;
  EXPECT_EQ(s.mine(s.bidder, t).at("guarantees").at(0).at("status").as_string(), "released");

  // After the deadline the tenderer and supervisors see every guarantee with its bidder.
  s.w.db().exec("UPDATE tenders SET deadline_at = now() - interval '1 second' WHERE id = '" + t +
                "'");
  const auto after = s.mine(s.host, t);
  ASSERT_EQ(after.at("guarantees").as_array().size(), 1U);
  EXPECT_EQ(after.at("guarantees").at(0).at("bidder").as_string(), s.bidder.org_id);
  EXPECT_EQ(s.mine(s.supervisor, t).at("count").as_int64(), 1);
}

TEST(guarantees_e2e, integrated_flow_the_issuer_pushes_the_guarantee) {
  setup s;
  const auto t = s.tender("b1");
  const auto r =
      s.bidder2.api->request("POST", "/api/v1/tenders/" + t + "/lots/1/guarantee-applications",
                             R"({"issuer":"bank-a","application_code":"PAID-0001"})");
  ASSERT_EQ(r.status, 202U) << r.body;
  const auto app = json::parse(r.body).as_object();
  const std::string app_id(app.at("application_id").as_string());
  // The issuer may push before this answer is written: pending or already issued.
  EXPECT_NE(app.at("state").as_string(), "refused") << r.body;

  json::object view;
  ASSERT_TRUE(wait_until(
      [&] {
        const auto v = s.bidder2.api->request("GET", "/api/v1/guarantee-applications/" + app_id);
        view = json::parse(v.body).as_object();
        return view.at("state").as_string() != "pending";
      },
      20s))
      << s.sim->log();
  EXPECT_EQ(view.at("state").as_string(), "issued") << json::serialize(view);
  const auto list = s.mine(s.bidder2, t).at("guarantees").as_array();
  ASSERT_EQ(list.size(), 1U);
  EXPECT_EQ(list[0].at("flow").as_string(), "integrated");
  EXPECT_EQ(list[0].at("status").as_string(), "valid");
  EXPECT_EQ(list[0].at("amount").as_int64(), bond);
  EXPECT_EQ(list[0].at("application_id").as_string(), app_id);

  // The same application code again: the issuer refuses it, the platform says so.
  const auto again =
      s.bidder2.api->request("POST", "/api/v1/tenders/" + t + "/lots/1/guarantee-applications",
                             R"({"issuer":"bank-a","application_code":"PAID-0001"})");
  EXPECT_EQ(error_code_of(again), "guarantee.not_found") << again.body;
  // An unknown issuer: refused before anything is recorded.
  const auto before = s.snapshot();
  const auto unknown =
      s.bidder2.api->request("POST", "/api/v1/tenders/" + t + "/lots/1/guarantee-applications",
                             R"({"issuer":"gb-org1","application_code":"X-1"})");
  EXPECT_EQ(error_code_of(unknown), "guarantee.unknown_issuer");
  EXPECT_EQ(s.snapshot(), before);
}

// Issue 15 §4: the push route takes no token, so nothing may change before the document's
// signature is known to be the application's issuer's. A push that anyone could forge (wrong
// key, altered document, another issuer, garbage) must leave the application pending, so that
// the issuer's genuine push still lands.
TEST(guarantees_e2e, unsigned_or_forged_pushes_change_nothing) {
  setup s;
  const auto t = s.tender("f1");
  // A pending application, as the platform stores it after a 202 (written directly: the
  // simulator would push at once).
  const std::string app_id = "ga-00000000000000a1";
  s.w.db().exec(
      "INSERT INTO guarantee_applications (id, tender_id, lot_no, bidder_org, user_id, issuer_org, "
      "application_code) VALUES ('" +
      app_id + "', '" + t + "', 1, '" + s.bidder.org_id + "', '" + s.bidder.user_id +
      "', 'bank-a', 'CODE-P1')");
  // The issuer's signed guarantee for that application (its key is the bank's registered key).
  auto issued = tender::crypto::guarantee::parse_document(s.issue(t).at("document"));
  issued.applicant = s.bidder.org_id;
  issued.application_code = "CODE-P1";
  const json::value genuine = tender::crypto::guarantee::sign_document(issued, s.bank.key);
  auto anyone = s.w.anonymous();
  const auto push = [&](const json::value& doc) {
    return anyone->request(
        "POST", "/api/v1/guarantee-pushes",
        json::serialize(json::object{{"application_id", app_id}, {"guarantee", doc}}));
  };
  const auto state = [&] {
    return s.w.db().query_value(
        "SELECT state || ':' || coalesce(refusal_code, '') FROM "
        "guarantee_applications WHERE id = '" +
        app_id + "'");
  };
  const auto forged = [&](const json::value& doc, const std::string& code) {
    const auto before = s.snapshot();
    const auto r = push(doc);
    EXPECT_EQ(error_code_of(r), code) << r.body;
    EXPECT_EQ(state(), "pending:") << code;
    EXPECT_EQ(s.snapshot(), before) << code;
  };
  // Altered after signing, and signed with a key that is not the issuer's.
  auto altered = genuine;
  altered.as_object()["document"].as_object()["amount"] = 1;
  forged(altered, "guarantee.bad_signature");
  {
    auto doc = tender::crypto::guarantee::parse_document(genuine.at("document"));
    const auto other = tender::crypto::private_key::generate(tender::crypto::key_type::ed25519);
    forged(tender::crypto::guarantee::sign_document(doc, other), "guarantee.bad_signature");
  }
  // Not a guarantee at all, and a document naming an issuer the application was not made to.
  forged(json::parse(R"({"document":{"type":"x"},"signature":"AA==","signer":"00"})"),
         "guarantee.malformed");
  {
    auto doc = tender::crypto::guarantee::parse_document(genuine.at("document"));
    doc.issuer = "gb-org2";
    forged(tender::crypto::guarantee::sign_document(doc, s.bank.key), "guarantee.unknown_issuer");
  }
  // The issuer's own push still lands.
  const auto r = push(genuine);
  EXPECT_EQ(r.status, 201U) << r.body;
  EXPECT_EQ(state(), "issued:");
}

TEST(guarantees_e2e, bad_guarantees_are_refused_with_their_code_and_nothing_recorded) {
  setup s;
  const auto t = s.tender("c1");
  const auto other_tender = s.tender("c2");

  const auto refused = [&](const json::value& file, const std::string& code) {
    const auto before = s.snapshot();
    const auto r = s.attach(s.bidder, t, file);
    EXPECT_EQ(error_code_of(r), code) << r.body;
    EXPECT_EQ(s.snapshot(), before) << code;
  };

  // Expired: valid for less than deadline + bid validity (1 day in the sandbox pack) ...
  refused(s.issue(t, {{"valid_until", s.deadline_plus(t, "12 hours")}}), "guarantee.expired");
  // ... or already over.
  refused(
      s.issue(t, {{"valid_from", "2020-01-01T00:00:00Z"}, {"valid_until", "2020-06-01T00:00:00Z"}}),
      "guarantee.expired");
  refused(s.issue(t, {{"amount", bond - 1}}), "guarantee.under_amount");
  refused(s.issue(t, {{"beneficiary", s.bidder2.org_id}}), "guarantee.wrong_beneficiary");
  refused(s.issue(t, {{"tender_code", "G-c2"}}), "guarantee.wrong_tender");
  refused(s.issue(t, {{"lot", 2}}), "guarantee.wrong_tender");
  refused(s.issue(t, {{"issued_at", s.deadline_plus(t, "1 hour")}}), "guarantee.issued_late");

  // Revoked at the issuer: the live status query says so.
  const auto revoked = s.issue(t);
  const auto rv =
      s.sim_api->request("POST", "/admin/guarantees/" + number_of(revoked) + "/revoke", "{}");
  ASSERT_EQ(rv.status, 200U) << rv.body;
  refused(revoked, "guarantee.revoked");

  // A forged signature: the amount changed after signing.
  auto forged = s.issue(t, {{"amount", 1000}});
  forged.as_object()["document"].as_object()["amount"] = bond * 10;
  refused(forged, "guarantee.bad_signature");
  // Signed by a key that is not the issuer's registered key.
  {
    auto doc = tender::crypto::guarantee::parse_document(s.issue(t).at("document"));
    const auto other = tender::crypto::private_key::generate(tender::crypto::key_type::ed25519);
    refused(tender::crypto::guarantee::sign_document(doc, other), "guarantee.bad_signature");
  }
  // Not a guarantee at all, and a document from an issuer the platform does not know.
  refused(json::parse(R"({"document":{"type":"x"},"signature":"AA==","signer":"00"})"),
          "guarantee.malformed");
  {
    auto doc = tender::crypto::guarantee::parse_document(s.issue(t).at("document"));
    doc.issuer = "gb-org2";
    refused(tender::crypto::guarantee::sign_document(doc, s.bank.key), "guarantee.unknown_issuer");
  }

  // The valid one is accepted; after the deadline even a valid one is refused.
  EXPECT_EQ(s.attach(s.bidder, t, s.issue(t)).status, 201U);
  const auto late = s.issue(other_tender, {{"tender_code", "G-c2"}});
  s.w.db().exec("UPDATE tenders SET deadline_at = now() - interval '1 second' WHERE id = '" +
                other_tender + "'");
  const auto before = s.snapshot();
  EXPECT_EQ(error_code_of(s.attach(s.bidder, other_tender, late)), "bid.deadline_passed");
  EXPECT_EQ(s.snapshot(), before);
}

TEST(guarantees_e2e, cash_bonds_flag_a_payer_shared_by_several_bidders) {
  setup s;
  auto& bidder3 = s.w.user("gb-3", "gb-org3", "bidder", {"bidder"});
  const auto t = s.tender("d1");
  const auto record = [&](actor& who, const std::string& bidder, const std::string& account) {
    return who.api->request(
        "POST", "/api/v1/tenders/" + t + "/lots/1/bonds",
        json::serialize(json::object{{"bidder", bidder},
                                     {"amount", bond},
                                     {"payer_account", account},
                                     {"payer_name", "Payer of " + bidder},
                                     {"paid_at", "2026-11-20T10:00:00+08:00"}}));
  };
  EXPECT_EQ(record(s.staff, s.bidder.org_id, "6222 0000 1111").status, 201U);
  EXPECT_EQ(record(s.staff, s.bidder2.org_id, "6222 0000 1111").status, 201U);
  EXPECT_EQ(record(s.staff, bidder3.org_id, "6222 0000 3333").status, 201U);

  const auto before = s.snapshot();
  EXPECT_EQ(error_code_of(record(s.bidder, s.bidder.org_id, "1")), "auth.forbidden");
  EXPECT_EQ(error_code_of(record(s.staff, s.host.org_id, "1")), "bond.bad_input");
  EXPECT_EQ(error_code_of(record(s.staff, s.bidder.org_id, "not/an/account")), "bond.bad_input");
  EXPECT_EQ(s.snapshot(), before);

  const auto r = s.staff.api->request("GET", "/api/v1/tenders/" + t + "/lots/1/bonds");
  ASSERT_EQ(r.status, 200U) << r.body;
  const auto o = json::parse(r.body).as_object();
  EXPECT_EQ(o.at("refund_rule").at("trigger").as_string(), "contract_signed");
  EXPECT_EQ(o.at("shared_payer_count").as_int64(), 2);
  for (const auto& b : o.at("bonds").as_array()) {
    const auto& shared = b.at("shared_payer").as_array();
    if (b.at("bidder").as_string() == s.bidder.org_id) {
      ASSERT_EQ(shared.size(), 1U);
      EXPECT_EQ(shared[0].as_string(), s.bidder2.org_id);
    } else if (b.at("bidder").as_string() == s.bidder2.org_id) {
      ASSERT_EQ(shared.size(), 1U);
      EXPECT_EQ(shared[0].as_string(), s.bidder.org_id);
    } else {
      EXPECT_TRUE(shared.empty());
    }
  }
  // The tenderer sees bonds only after the deadline.
  EXPECT_EQ(error_code_of(s.host.api->request("GET", "/api/v1/tenders/" + t + "/lots/1/bonds")),
            "auth.forbidden");
  // Issue 15 §4: after the deadline no bond can be recorded, and nothing changes.
  s.w.db().exec("UPDATE tenders SET deadline_at = now() - interval '1 second' WHERE id = '" + t +
                "'");
  const auto late_before = s.snapshot();
  EXPECT_EQ(error_code_of(record(s.staff, bidder3.org_id, "6222 0000 4444")),
            "bid.deadline_passed");
  EXPECT_EQ(s.snapshot(), late_before);
}

// The `tender` command line against the real server and the simulator: issuers, attach (open
// flow), apply --wait (integrated flow), status, and bonds with a shared payer.
TEST(guarantees_e2e, cli_attach_apply_status_and_bonds) {
  setup s;
  const auto t = s.tender("e1");
  const std::string dir = tender::test::make_temp_dir("guarantees-cli");
  const auto cli = [&](const actor& a, std::vector<std::string> args) {
    const std::string token = dir + "/" + a.user_id + ".token";
    std::ofstream(token) << a.token << "\n";
    args.insert(args.begin(), {TENDER_CLI_PATH, "--server", s.w.url()});
    args.insert(args.end(), {"--token-file", token});
    return tender::test::run_command(args, {{"HOME", dir}});
  };
  const auto has = [](const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
  };

  auto r = cli(s.bidder, {"guarantee", "issuers"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(has(r.output, "bank-a")) << r.output;

  const auto file = s.issue(t);
  std::ofstream(dir + "/g.json") << json::serialize(file);
  r = cli(s.bidder, {"guarantee", "attach", t, dir + "/g.json", "--lot", "1"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(has(r.output, "attached: " + number_of(file))) << r.output;

  r = cli(s.bidder2, {"guarantee", "apply", t, "--issuer", "bank-a", "--code", "CLI-1", "--wait",
                      "20", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(json::parse(r.output).at("state").as_string(), "issued") << r.output;

  r = cli(s.bidder2, {"guarantee", "status", t});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(has(r.output, "valid")) << r.output;
  EXPECT_TRUE(has(r.output, "integrated flow")) << r.output;

  // A file for another bidder: refused with its code, exit 1.
  std::ofstream(dir + "/other.json") << json::serialize(s.issue(t, {{"applicant", "gb-org2"}}));
  r = cli(s.bidder, {"guarantee", "attach", t, dir + "/other.json"});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_TRUE(has(r.output, "guarantee.wrong_applicant")) << r.output;

  for (const auto* b : {"gb-org1", "gb-org2"}) {
    r = cli(s.staff,
            {"bond", "record", t, "--bidder", b, "--amount", "500000", "--payer-account",
             "6222-7777", "--payer-name", "Same Payer", "--paid-at", "2026-11-20T10:00:00+08:00"});
    ASSERT_EQ(r.exit_code, 0) << r.output;
  }
  r = cli(s.staff, {"bond", "list", t});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(has(r.output, "SHARED PAYER with gb-org2")) << r.output;
  EXPECT_TRUE(has(r.output, "5 days after the contract is signed")) << r.output;

  r = tender::test::run_command({TENDER_CLI_PATH, "guarantee", "attach", "--help"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_TRUE(has(r.output, "guarantee.expired")) << r.output;
}

// Before the opening every attached guarantee is asked of its issuer again: a guarantee revoked
// at the issuer without a callback is found out then, and recorded once.
TEST(guarantees_e2e, guarantees_are_rechecked_with_the_issuer_before_the_opening) {
  setup s(std::map<std::string, std::string>{{"TENDERD_SCHEDULER_POLL_INTERVAL_MS", "100"}});
  const auto t = s.tender("f1", "date_trunc('second', clock_timestamp()) + interval '6 seconds'",
                          "date_trunc('second', clock_timestamp()) + interval '7 seconds'");
  for (const char* kind : {"tender.deadline", "tender.opening"}) {
    s.w.db().exec("INSERT INTO scheduled_jobs (kind, subject, due_at) SELECT '" +
                  std::string(kind) + "', id, " +
                  (std::string(kind) == "tender.deadline" ? "deadline_at" : "opening_at") +
                  " FROM tenders WHERE id = '" + t + "'");
  }
  tender::test::add_bid_rows(s.w, t);  // enough bids for the deadline to close, not fail
  const auto kept = s.issue(t);
  ASSERT_EQ(s.attach(s.bidder, t, kept).status, 201U);
  auto silent = s.issue(t, {{"applicant", s.bidder2.org_id}});
  ASSERT_EQ(s.attach(s.bidder2, t, silent).status, 201U);
  const auto rv = s.sim_api->request("POST", "/admin/guarantees/" + number_of(silent) + "/revoke",
                                     R"({"notify":false})");
  ASSERT_EQ(rv.status, 200U) << rv.body;
  const auto status_of = [&](const json::value& file) {
    return s.w.db().query_value("SELECT status FROM guarantees WHERE number = '" + number_of(file) +
                                "'");
  };
  EXPECT_EQ(status_of(silent), "valid");  // the platform does not know yet

  ASSERT_TRUE(wait_until(
      [&] {
        return s.w.db().query_value("SELECT state FROM tenders WHERE id = '" + t + "'") ==
               "opening";
      },
      30s))
      << s.w.server().log();
  EXPECT_EQ(status_of(silent), "revoked");
  EXPECT_EQ(status_of(kept), "valid");
  EXPECT_EQ(s.w.db().query_value(
                "SELECT count(*) FROM audit_events WHERE action = 'guarantee.rechecked'"),
            "1");
}

// A dead issuer (the simulator holds its status queries unanswered) while a tender opens: the
// re-check asks it before the opening's transaction, holding no lock, so another tender's
// deadline still fires and the opening tender's row stays free; when the issuer answers at last,
// its answer is recorded with the opening.
TEST(guarantees_e2e, a_hanging_issuer_stalls_neither_the_scheduler_nor_the_tender) {
  // A timeout far longer than the test waits for anything: only the issuer's answer ends the call.
  setup s(std::map<std::string, std::string>{{"TENDERD_SCHEDULER_POLL_INTERVAL_MS", "100"},
                                             {"TENDERD_GUARANTEE_STATUS_TIMEOUT_MS", "120000"}});
  const auto far = std::string("date_trunc('second', clock_timestamp()) + interval '1 day'");
  const auto a = s.tender("a1", far, far + " + interval '1 hour'");
  const auto b = s.tender("a2", far, far + " + interval '1 hour'");
  for (const auto& t : {a, b}) {
    for (const char* kind : {"tender.deadline", "tender.opening"}) {
      s.w.db().exec("INSERT INTO scheduled_jobs (kind, subject, due_at) SELECT '" +
                    std::string(kind) + "', id, " +
                    (std::string(kind) == "tender.deadline" ? "deadline_at" : "opening_at") +
                    " FROM tenders WHERE id = '" + t + "'");
    }
    tender::test::add_bid_rows(s.w, t);
  }
  const auto g = s.issue(a);
  ASSERT_EQ(s.attach(s.bidder, a, g).status, 201U);
  const auto state_of = [&](const std::string& t) {
    return s.w.db().query_value("SELECT state FROM tenders WHERE id = '" + t + "'");
  };
  const auto due_now = [&](const std::string& t, const char* column, const char* kind) {
    s.w.db().exec("UPDATE tenders SET " + std::string(column) +
                  " = clock_timestamp() - interval '1 millisecond' WHERE id = '" + t + "'");
    s.w.db().exec("UPDATE scheduled_jobs SET due_at = clock_timestamp() WHERE subject = '" + t +
                  "' AND kind = '" + kind + "'");
  };
  due_now(a, "deadline_at", "tender.deadline");
  ASSERT_TRUE(wait_until([&] { return state_of(a) == "closed"; }, 30s)) << s.w.server().log();

  // The issuer goes dead, and revokes the guarantee without telling the platform.
  auto mode = s.sim_api->request("POST", "/admin/status-mode", R"({"mode":"hang"})");
  ASSERT_EQ(mode.status, 200U) << mode.body;
  ASSERT_EQ(
      s.sim_api
          ->request("POST", "/admin/guarantees/" + number_of(g) + "/revoke", R"({"notify":false})")
          .status,
      200U);
  due_now(a, "opening_at", "tender.opening");
  const auto waiting = [&] {
    const auto r = s.sim_api->request("GET", "/admin/status-mode");
    return json::parse(r.body).at("waiting").to_number<int>();
  };
  ASSERT_TRUE(wait_until([&] { return waiting() >= 1; }, 30s)) << s.w.server().log();

  // While the platform waits for the issuer: another tender's deadline fires...
  due_now(b, "deadline_at", "tender.deadline");
  EXPECT_TRUE(wait_until([&] { return state_of(b) == "closed"; }, 30s)) << s.w.server().log();
  // ...and nothing holds the opening tender's row.
  EXPECT_NO_THROW(s.w.db().exec("SELECT 1 FROM tenders WHERE id = '" + a + "' FOR UPDATE NOWAIT"));
  EXPECT_EQ(state_of(a), "closed");
  EXPECT_GE(waiting(), 1);  // still unanswered all along

  // The issuer comes back: its answer is recorded with the opening.
  mode = s.sim_api->request("POST", "/admin/status-mode", R"({"mode":"answer"})");
  ASSERT_EQ(mode.status, 200U) << mode.body;
  ASSERT_TRUE(wait_until([&] { return state_of(a) == "opening"; }, 30s)) << s.w.server().log();
  EXPECT_EQ(
      s.w.db().query_value("SELECT status FROM guarantees WHERE number = '" + number_of(g) + "'"),
      "revoked");
}

// A dead issuer is timed out (guarantee.status_timeout_ms) and the opening goes on, the issuer
// named in the audit event of the re-check and in the log; its guarantee keeps its status.
TEST(guarantees_e2e, a_dead_issuer_is_timed_out_and_named_at_the_opening) {
  setup s(std::map<std::string, std::string>{{"TENDERD_SCHEDULER_POLL_INTERVAL_MS", "100"},
                                             {"TENDERD_GUARANTEE_STATUS_TIMEOUT_MS", "500"}});
  const auto far = std::string("date_trunc('second', clock_timestamp()) + interval '1 day'");
  const auto t = s.tender("a3", far, far + " + interval '1 hour'");
  for (const char* kind : {"tender.deadline", "tender.opening"}) {
    s.w.db().exec("INSERT INTO scheduled_jobs (kind, subject, due_at) VALUES ('" +
                  std::string(kind) + "', '" + t + "', clock_timestamp() + interval '1 day')");
  }
  tender::test::add_bid_rows(s.w, t);
  const auto g = s.issue(t);
  ASSERT_EQ(s.attach(s.bidder, t, g).status, 201U);
  ASSERT_EQ(s.sim_api->request("POST", "/admin/status-mode", R"({"mode":"hang"})").status, 200U);
  s.w.db().exec(
      "UPDATE tenders SET deadline_at = clock_timestamp() - interval '2 milliseconds', "
      "opening_at = clock_timestamp() - interval '1 millisecond' WHERE id = '" +
      t + "'");
  s.w.db().exec("UPDATE scheduled_jobs SET due_at = clock_timestamp() WHERE subject = '" + t + "'");
  ASSERT_TRUE(wait_until(
      [&] {
        return s.w.db().query_value("SELECT state FROM tenders WHERE id = '" + t + "'") ==
               "opening";
      },
      30s))
      << s.w.server().log();
  EXPECT_EQ(
      s.w.db().query_value("SELECT status FROM guarantees WHERE number = '" + number_of(g) + "'"),
      "valid");
  EXPECT_EQ(s.w.db().query_value("SELECT count(*) FROM audit_events WHERE action = "
                                 "'guarantee.rechecked' AND subject = '" +
                                 t + "'"),
            "1");
  const auto log = s.w.server().log();
  EXPECT_NE(log.find("did not answer"), std::string::npos) << log;
  EXPECT_NE(log.find("bank-a"), std::string::npos);
}

}  // namespace
