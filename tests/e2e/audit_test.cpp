// The audit log end to end: the real tenderd records its own start and stop, serves checkpoints
// and proofs, and the real `tender audit verify` accepts the log, then catches tampering done
// directly in PostgreSQL.
#include <test_support.hpp>
#include <world.hpp>

#include <tender/client/client.hpp>
#include <tender/client/documents.hpp>
#include <tender/crypto/canonical_json.hpp>
#include <tender/crypto/digest.hpp>
#include <tender/crypto/init.hpp>
#include <tender/crypto/keys.hpp>
#include <tender/crypto/merkle.hpp>
#include <tender/crypto/signed_note.hpp>
#include <tender/protocol/audit.hpp>

#include <gtest/gtest.h>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/json.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace merkle = tender::crypto::merkle;
namespace note = tender::crypto::note;
using tender::test::fresh_database;
using tender::test::run_command;
using tender::test::tenderd_process;

namespace {

tender::client::client client_for(const tenderd_process& d) {
  tender::client::options o;
  o.server = d.url();
  return tender::client::client(o);
}

tender::client::login_signer signer_of(const tender::crypto::private_key& key) {
  return [&key](std::string_view message) {
    const auto sig = tender::crypto::sign_message(key, tender::crypto::as_bytes(message));
    return std::string(sig.begin(), sig.end());
  };
}

// The events are confidential (only supervisors, admins and center staff read them): the
// bootstrapped administrator, logged in, with its token saved where `tender --token-file` reads
// it. Its creation and login are audit events too.
struct event_reader {
  tender::crypto::private_key key =
      tender::crypto::private_key::generate(tender::crypto::key_type::ed25519);
  std::string token;
  std::string token_file;
};

event_reader signed_in_admin(const fresh_database& db, const tenderd_process& d) {
  event_reader r;
  auto c = client_for(d);
  // tenderd listens before its database is migrated: create the admin once it is ready.
  tender::test::wait_until(
      [&] {
        try {
          return c.readiness().ready;
        } catch (const std::exception&) {
          return false;
        }
      },
      std::chrono::seconds(60));
  const std::string dir = tender::test::make_temp_dir("auditadmin");
  { std::ofstream(dir + "/admin.pub.pem") << r.key.public_part().to_pem(); }
  const auto created = run_command(
      {TENDER_TENDERD_PATH, "admin", "create-admin", "--org-name", "Tenderhall", "--user-id",
       "root", "--name", "Root Admin", "--public-key", dir + "/admin.pub.pem"},
      {{"TENDERD_DATABASE_CONNINFO", db.conninfo()}});
  EXPECT_EQ(created.exit_code, 0) << created.output;
  r.token = c.login("root", r.key.public_part().fingerprint(), signer_of(r.key)).token;
  r.token_file = dir + "/token";
  { std::ofstream(r.token_file) << r.token << "\n"; }
  return r;
}

// The number of events in the log now.
std::uint64_t log_size(const fresh_database& db) {
  return std::stoull(db.query_value("SELECT count(*) FROM audit_events"));
}

// `tenderd keygen` into a new directory; returns {key file, verifier key}.
std::pair<std::string, std::string> make_key(const std::string& log_name = "local") {
  const std::string dir = tender::test::make_temp_dir("auditkey");
  const std::string file = dir + "/audit.key";
  const auto r = run_command({TENDER_TENDERD_PATH, "keygen", "--out", file},
                             {{"TENDERD_AUDIT_LOG_NAME", log_name}});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  std::istringstream lines(r.output);
  std::string line;
  std::string vkey;
  while (std::getline(lines, line)) {
    if (line.rfind("tenderhall/", 0) == 0) vkey = line;
  }
  EXPECT_FALSE(vkey.empty()) << r.output;
  EXPECT_EQ(std::filesystem::status(file).permissions() & std::filesystem::perms::group_read,
            std::filesystem::perms::none);
  return {file, vkey};
}

std::map<std::string, std::string> audit_env(const std::string& key_file) {
  return {{"TENDERD_AUDIT_SIGNING_KEY_FILE", key_file},
          {"TENDERD_AUDIT_CHECKPOINT_INTERVAL_SECONDS", "1"}};
}

// Waits until the server serves a checkpoint, signed by `vkey`, of at least `min_size`.
std::uint64_t wait_checkpoint(tender::client::client& c, const std::string& vkey,
                              std::uint64_t min_size) {
  const note::verifier_key keys[] = {note::parse_verifier_key(vkey)};
  std::uint64_t size = 0;
  tender::test::wait_until(
      [&] {
        try {
          size = note::open_checkpoint(c.log_checkpoint(), "tenderhall/local", keys).cp.size;
        } catch (const std::exception&) {
          return false;
        }
        return size >= min_size;
      },
      std::chrono::seconds(30), std::chrono::milliseconds(100));
  return size;
}

tender::test::run_result verify(const tenderd_process& d, const event_reader& who,
                                std::vector<std::string> extra) {
  std::vector<std::string> argv{TENDER_CLI_PATH, "--server",     d.url(),       "audit",
                                "verify",        "--token-file", who.token_file};
  argv.insert(argv.end(), extra.begin(), extra.end());
  return run_command(argv);
}

bool contains(const std::string& text, const std::string& what) {
  return text.find(what) != std::string::npos;
}

std::string raw_get(std::uint16_t port, const std::string& target, const std::string& token = "") {
  boost::asio::io_context ioc;
  boost::asio::ip::tcp::socket s(ioc);
  s.connect({boost::asio::ip::make_address("127.0.0.1"), port});
  const std::string auth = token.empty() ? "" : "Authorization: Bearer " + token + "\r\n";
  boost::asio::write(s, boost::asio::buffer("GET " + target + " HTTP/1.1\r\nHost: x\r\n" + auth +
                                            "Connection: close\r\n\r\n"));
  std::string answer;
  boost::system::error_code ec;
  boost::asio::read(s, boost::asio::dynamic_buffer(answer), ec);
  return answer;
}

// Status line and error code of a raw answer.
std::pair<std::string, std::string> status_and_code(const std::string& answer) {
  const std::string status = answer.substr(0, answer.find("\r\n"));
  const auto body = answer.substr(answer.find("\r\n\r\n") + 4);
  boost::system::error_code ec;
  const auto v = boost::json::parse(body, ec);
  std::string code;
  if (!ec && v.is_object() && v.as_object().contains("error")) {
    code = std::string(v.at("error").at("code").as_string());
  }
  return {status, code};
}

std::string hex(const merkle::hash& h) {
  return tender::crypto::hex_encode(h);
}

// What an insider with database access and the signing key could do: rewrite event 0 and
// recompute everything derived from it (its leaf, every tree node, the head), and drop the
// checkpoints so the next one is signed over the rewritten tree.
void rewrite_the_past(const fresh_database& db, tender::client::client& c) {
  const auto page = c.log_events(0, 1000);
  std::vector<merkle::hash> leaves;
  for (auto rec : page.events) {
    if (rec.fields.seq == 0) {
      rec.fields.actor = "mallory";
      const std::string data = tender::protocol::audit::leaf_data(rec.fields);
      const auto leaf = merkle::leaf_hash(tender::crypto::as_bytes(data));
      db.exec("UPDATE audit_events SET actor = 'mallory', leaf_data = decode('" +
              tender::crypto::hex_encode(tender::crypto::as_bytes(data)) +
              "', 'hex'), leaf_hash = decode('" + hex(leaf) + "', 'hex') WHERE seq = 0");
    }
    leaves.push_back(merkle::leaf_hash(
        tender::crypto::as_bytes(tender::protocol::audit::leaf_data(rec.fields))));
  }
  merkle::frontier f;
  for (const auto& leaf : leaves) {
    f.append(leaf, [&](merkle::node_id id, const merkle::hash& h) {
      db.exec("UPDATE audit_nodes SET hash = decode('" + hex(h) + "', 'hex') WHERE level = " +
              std::to_string(id.level) + " AND index = " + std::to_string(id.index));
    });
  }
  std::string frontier;
  for (const auto& h : f.nodes())
    frontier += hex(h);
  db.exec("UPDATE audit_head SET frontier = decode('" + frontier + "', 'hex')");
  db.exec("DELETE FROM audit_checkpoints");
}

}  // namespace

TEST(audit_e2e, verify_passes_then_catches_an_update_and_a_delete) {
  tender::crypto::init();
  fresh_database db("e2e_audit");
  const auto [key_file, vkey] = make_key();
  tenderd_process d(db.conninfo(), audit_env(key_file));
  const auto admin = signed_in_admin(db, d);
  auto c = client_for(d);
  c.set_token(admin.token);
  const auto covered = log_size(db);
  ASSERT_GE(wait_checkpoint(c, vkey, covered), covered) << d.log();

  // The node's start is a real event with the documented fields.
  const auto h = c.health();
  const auto first = c.log_event(0);
  EXPECT_EQ(first.fields.actor, "tenderd:" + h.node_id);
  EXPECT_EQ(first.fields.role, "system");
  EXPECT_EQ(first.fields.action, "system.node_started");
  EXPECT_EQ(first.fields.payload_digest,
            tender::crypto::hex_encode(tender::crypto::sha256(
                R"({"node_id":")" + h.node_id + R"(","version":")" + h.version + R"("})")));
  EXPECT_EQ(c.log_key(), vkey);

  auto ok = verify(d, admin, {"--key", vkey});
  EXPECT_EQ(ok.exit_code, 0) << ok.output;
  EXPECT_TRUE(contains(ok.output, "audit log VALID")) << ok.output;
  const auto as_json = verify(d, admin, {"--key", vkey, "--json", "--origin", "tenderhall/local"});
  ASSERT_EQ(as_json.exit_code, 0) << as_json.output;
  EXPECT_TRUE(boost::json::parse(as_json.output).at("valid").as_bool());

  // Someone edits the events table directly.
  const std::string original_actor = first.fields.actor;
  db.exec("UPDATE audit_events SET actor = 'mallory' WHERE seq = 0");
  auto bad = verify(d, admin, {"--key", vkey});
  EXPECT_EQ(bad.exit_code, 1) << bad.output;
  EXPECT_TRUE(contains(bad.output, "[audit.event_mismatch]")) << bad.output;
  EXPECT_TRUE(contains(bad.output, "event 0")) << bad.output;
  bad = verify(d, admin, {"--key", vkey, "--json"});
  EXPECT_EQ(bad.exit_code, 1);
  const auto at = bad.output.find("{\"valid\"");
  ASSERT_NE(at, std::string::npos) << bad.output;
  const auto line = bad.output.substr(at, bad.output.find('\n', at) - at);
  EXPECT_EQ(boost::json::parse(line).at("error").as_string(), "audit.event_mismatch") << bad.output;

  // Put it back: the verdict is precise, not a general alarm.
  db.exec("UPDATE audit_events SET actor = '" + original_actor + "' WHERE seq = 0");
  ok = verify(d, admin, {"--key", vkey});
  EXPECT_EQ(ok.exit_code, 0) << ok.output;

  // Deleting the last event the checkpoint covers.
  db.exec("DELETE FROM audit_events WHERE seq = (SELECT max(seq) FROM audit_events)");
  bad = verify(d, admin, {"--key", vkey});
  EXPECT_EQ(bad.exit_code, 1) << bad.output;
  EXPECT_TRUE(contains(bad.output, "[audit.missing_events]")) << bad.output;

  // A key other than the log's does not verify its checkpoint.
  const auto [other_file, other_vkey] = make_key();
  bad = verify(d, admin, {"--key", other_vkey});
  EXPECT_EQ(bad.exit_code, 1) << bad.output;
  EXPECT_TRUE(contains(bad.output, "[note.no_known_signature]")) << bad.output;
}

TEST(audit_e2e, rewritten_leaves_do_not_make_the_signed_root) {
  tender::crypto::init();
  fresh_database db("e2e_audit_leaf");
  const auto [key_file, vkey] = make_key();
  tenderd_process d(db.conninfo(), audit_env(key_file));
  const auto admin = signed_in_admin(db, d);
  auto c = client_for(d);
  c.set_token(admin.token);
  const auto covered = log_size(db);
  ASSERT_GE(wait_checkpoint(c, vkey, covered), covered) << d.log();
  // The actor changed and the leaf data and hash recomputed to match: each event is consistent
  // with itself, but the tree no longer has the root the checkpoint signed.
  auto rec = c.log_event(0);
  rec.fields.actor = "mallory";
  const std::string data = tender::protocol::audit::leaf_data(rec.fields);
  db.exec("UPDATE audit_events SET actor = 'mallory', leaf_data = decode('" +
          tender::crypto::hex_encode(tender::crypto::as_bytes(data)) +
          "', 'hex'), leaf_hash = decode('" +
          hex(merkle::leaf_hash(tender::crypto::as_bytes(data))) + "', 'hex') WHERE seq = 0");
  const auto bad = verify(d, admin, {"--key", vkey});
  EXPECT_EQ(bad.exit_code, 1) << bad.output;
  EXPECT_TRUE(contains(bad.output, "[audit.root_mismatch]")) << bad.output;
}

TEST(audit_e2e, state_checks_consistency_across_a_restart_and_catches_a_resigned_rewrite) {
  tender::crypto::init();
  fresh_database db("e2e_audit_state");
  const auto [key_file, vkey] = make_key();
  const std::string state = tender::test::make_temp_dir("auditstate") + "/state.json";
  std::uint64_t first_size = 0;
  event_reader admin;
  {
    tenderd_process d(db.conninfo(), audit_env(key_file));
    admin = signed_in_admin(db, d);
    auto c = client_for(d);
    c.set_token(admin.token);
    first_size = wait_checkpoint(c, vkey, log_size(db));
    ASSERT_GE(first_size, 1u) << d.log();
    const auto r = verify(d, admin, {"--key", vkey, "--state", state});
    ASSERT_EQ(r.exit_code, 0) << r.output;
    EXPECT_TRUE(contains(r.output, "first run")) << r.output;
    ASSERT_EQ(d.stop(), std::optional<int>(0)) << d.log();
    // The stop is an event too, with a checkpoint over it.
    EXPECT_EQ(db.query_value("SELECT action FROM audit_events ORDER BY seq DESC LIMIT 1"),
              "system.node_stopped");
    EXPECT_EQ(db.query_value("SELECT max(size) FROM audit_checkpoints"),
              db.query_value("SELECT size FROM audit_head"));
  }
  tenderd_process d(db.conninfo(), audit_env(key_file));
  auto c = client_for(d);
  c.set_token(admin.token);
  ASSERT_GE(wait_checkpoint(c, vkey, first_size + 2), first_size + 2) << d.log();
  // Across the restart the log only grew. The key remembered in the state file is used when
  // none is given.
  const auto r = verify(d, admin, {"--state", state, "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto v = boost::json::parse(r.output);
  EXPECT_EQ(v.at("consistency").at("from_size").to_number<std::uint64_t>(), first_size);
  const std::uint64_t verified_size = v.at("consistency").at("to_size").to_number<std::uint64_t>();
  EXPECT_GE(verified_size, first_size + 2);
  EXPECT_EQ(v.at("verifier_key").as_string(), vkey);
  const std::string remembered = tender::test::read_file(state);

  // An insider rewrites event 0 and everything derived from it; the running server, holding the
  // key, signs a new checkpoint over the rewritten tree.
  rewrite_the_past(db, c);
  ASSERT_GE(wait_checkpoint(c, vkey, verified_size), verified_size) << d.log();
  // A newcomer without history sees a perfectly consistent, properly signed log...
  const auto fresh = verify(d, admin, {"--key", vkey});
  EXPECT_EQ(fresh.exit_code, 0) << fresh.output;
  // ...but whoever remembered an earlier checkpoint sees the past was rewritten.
  const auto caught = verify(d, admin, {"--key", vkey, "--state", state});
  EXPECT_EQ(caught.exit_code, 1) << caught.output;
  EXPECT_TRUE(contains(caught.output, "[audit.consistency_failed]")) << caught.output;
  EXPECT_EQ(tender::test::read_file(state), remembered) << "a failed run must not move the state";
}

TEST(audit_e2e, http_endpoints_validate_their_parameters) {
  tender::crypto::init();
  fresh_database db("e2e_audit_http");
  const auto [key_file, vkey] = make_key();
  tenderd_process d(db.conninfo(), audit_env(key_file));
  const auto admin = signed_in_admin(db, d);
  auto c = client_for(d);
  c.set_token(admin.token);
  ASSERT_GE(wait_checkpoint(c, vkey, 1), 1u) << d.log();
  const std::string& token = admin.token;

  const auto cp = raw_get(d.port(), "/api/v1/log/checkpoint");
  EXPECT_TRUE(contains(cp, "200 OK")) << cp;
  EXPECT_TRUE(contains(cp, "Content-Type: text/plain")) << cp;
  EXPECT_TRUE(contains(cp, "\r\n\r\ntenderhall/local\n")) << cp;
  const auto key = raw_get(d.port(), "/api/v1/log/key");
  EXPECT_TRUE(contains(key, "\r\n\r\n" + vkey + "\n")) << key;

  using pair = std::pair<std::string, std::string>;
  const std::string bad_request = "HTTP/1.1 400 Bad Request";
  EXPECT_EQ(status_and_code(raw_get(d.port(), "/api/v1/log/events?from=abc", token)),
            pair(bad_request, "log.bad_parameter"));
  EXPECT_EQ(status_and_code(raw_get(d.port(), "/api/v1/log/events?from=-1", token)),
            pair(bad_request, "log.bad_parameter"));
  EXPECT_EQ(status_and_code(raw_get(d.port(), "/api/v1/log/events?from=01", token)),
            pair(bad_request, "log.bad_parameter"));
  EXPECT_EQ(
      status_and_code(raw_get(d.port(), "/api/v1/log/events?from=99999999999999999999", token)),
      pair(bad_request, "log.bad_parameter"));
  EXPECT_EQ(status_and_code(raw_get(d.port(), "/api/v1/log/events?limit=0", token)),
            pair(bad_request, "log.bad_parameter"));
  EXPECT_EQ(status_and_code(raw_get(d.port(), "/api/v1/log/events?from=1&from=2", token)),
            pair(bad_request, "log.bad_parameter"));
  EXPECT_EQ(status_and_code(raw_get(d.port(), "/api/v1/log/events?since=1", token)),
            pair(bad_request, "log.bad_parameter"));
  EXPECT_EQ(status_and_code(raw_get(d.port(), "/api/v1/log/events?from", token)),
            pair(bad_request, "log.bad_parameter"));
  EXPECT_EQ(status_and_code(raw_get(d.port(), "/api/v1/log/events/x1", token)),
            pair(bad_request, "log.bad_parameter"));
  EXPECT_EQ(status_and_code(raw_get(d.port(), "/api/v1/log/events/999", token)),
            pair("HTTP/1.1 404 Not Found", "log.not_found"));
  EXPECT_EQ(status_and_code(raw_get(d.port(), "/api/v1/log/proof/inclusion?index=0")),
            pair(bad_request, "log.bad_parameter"));
  EXPECT_EQ(status_and_code(raw_get(d.port(), "/api/v1/log/proof/inclusion?index=5&size=1")),
            pair(bad_request, "log.bad_range"));
  EXPECT_EQ(status_and_code(raw_get(d.port(), "/api/v1/log/proof/inclusion?index=0&size=999")),
            pair(bad_request, "log.bad_range"));
  EXPECT_EQ(status_and_code(raw_get(d.port(), "/api/v1/log/proof/consistency?old=0&new=1")),
            pair(bad_request, "log.bad_range"));
  EXPECT_EQ(status_and_code(raw_get(d.port(), "/api/v1/log/proof/consistency?old=2&new=1")),
            pair(bad_request, "log.bad_range"));
  const auto message = raw_get(d.port(), "/api/v1/log/events?limit=ten", token);
  EXPECT_TRUE(contains(message, "query parameter 'limit' must be a whole number")) << message;

  // The events say who did what: anonymous callers and bidders are refused, before any
  // parameter is looked at; the checkpoint, the key and the proofs stay public.
  const pair unauthorized{"HTTP/1.1 401 Unauthorized", "auth.required"};
  const pair forbidden{"HTTP/1.1 403 Forbidden", "auth.forbidden"};
  EXPECT_EQ(status_and_code(raw_get(d.port(), "/api/v1/log/events")), unauthorized);
  EXPECT_EQ(status_and_code(raw_get(d.port(), "/api/v1/log/events?from=abc")), unauthorized);
  EXPECT_EQ(status_and_code(raw_get(d.port(), "/api/v1/log/events/0")), unauthorized);
  c.create_org("bidco", "bidder", "Bidder Co");
  c.create_user("bidco", "bob", "Bob", {"bidder"});
  const auto bob_key = tender::crypto::private_key::generate(tender::crypto::key_type::ed25519);
  c.add_key("bob", bob_key.public_part().to_pem());
  auto bob = client_for(d);
  const auto bob_token =
      bob.login("bob", bob_key.public_part().fingerprint(), signer_of(bob_key)).token;
  EXPECT_EQ(status_and_code(raw_get(d.port(), "/api/v1/log/events", bob_token)), forbidden);
  EXPECT_EQ(status_and_code(raw_get(d.port(), "/api/v1/log/events/0", bob_token)), forbidden);
  EXPECT_EQ(status_and_code(raw_get(d.port(), "/api/v1/log/events", "not-a-token")),
            pair("HTTP/1.1 401 Unauthorized", "auth.invalid_token"));
  EXPECT_TRUE(contains(raw_get(d.port(), "/api/v1/log/events/0", token), "200 OK"));
  try {
    bob.log_event(0);
    ADD_FAILURE() << "a bidder read an audit event";
  } catch (const tender::client::error& e) {
    EXPECT_EQ(e.code(), "auth.forbidden");
  }
  auto anonymous = client_for(d);
  EXPECT_NO_THROW(anonymous.log_checkpoint());
  EXPECT_EQ(anonymous.log_key(), vkey);
  EXPECT_NO_THROW(anonymous.log_inclusion_proof(0, 1));
  EXPECT_NO_THROW(anonymous.log_consistency_proof(1, 1));
  EXPECT_TRUE(contains(raw_get(d.port(), "/api/v1/log/proof/inclusion?index=0&size=1"), "200 OK"));
  // The CLI without a token: the verdict names the refusal.
  const auto no_token =
      run_command({TENDER_CLI_PATH, "--server", d.url(), "audit", "verify", "--key", vkey,
                   "--token-file", tender::test::make_temp_dir("notoken") + "/none"});
  EXPECT_NE(no_token.exit_code, 0) << no_token.output;

  // A large limit is capped, not refused; proofs come back in the documented shape.
  const auto page = c.log_events(0, 5000);
  EXPECT_GE(page.events.size(), 1u);
  EXPECT_EQ(page.from, 0u);
  const auto proof = c.log_inclusion_proof(0, 1);
  EXPECT_EQ(proof.leaf_hash_hex, c.log_event(0).leaf_hash_hex);
  EXPECT_TRUE(proof.proof_hex.empty());
  EXPECT_TRUE(c.log_consistency_proof(1, 1).proof_hex.empty());
}

TEST(audit_e2e, production_needs_a_signing_key_and_development_warns) {
  fresh_database db("e2e_audit_key");
  const auto r = run_command({TENDER_TENDERD_PATH}, {{"TENDERD_MODE", "production"},
                                                     {"TENDERD_LISTEN_PORT", "0"},
                                                     {"TENDERD_DATABASE_CONNINFO", db.conninfo()}});
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_TRUE(contains(r.output, "mode = production needs audit.signing_key_file")) << r.output;

  const std::string dir = tender::test::make_temp_dir("badkey");
  { std::ofstream(dir + "/bad.key") << "PRIVATE+KEY+not-a-key\n"; }
  const auto bad =
      run_command({TENDER_TENDERD_PATH}, {{"TENDERD_AUDIT_SIGNING_KEY_FILE", dir + "/bad.key"},
                                          {"TENDERD_LISTEN_PORT", "0"},
                                          {"TENDERD_DATABASE_CONNINFO", db.conninfo()}});
  EXPECT_EQ(bad.exit_code, 2) << bad.output;
  EXPECT_TRUE(contains(bad.output, "is not a signed-note signer key")) << bad.output;
  EXPECT_FALSE(contains(bad.output, "not-a-key")) << "key material must not be echoed";
  const auto missing =
      run_command({TENDER_TENDERD_PATH}, {{"TENDERD_AUDIT_SIGNING_KEY_FILE", dir + "/none.key"}});
  EXPECT_EQ(missing.exit_code, 2) << missing.output;
  EXPECT_TRUE(contains(missing.output, "cannot be read")) << missing.output;
  // keygen never replaces an existing key.
  const auto again = run_command({TENDER_TENDERD_PATH, "keygen", "--out", dir + "/bad.key"});
  EXPECT_EQ(again.exit_code, 1) << again.output;

  // Development without a key: a throwaway key, a warning, and a log that still verifies.
  tenderd_process d(db.conninfo(), {{"TENDERD_AUDIT_CHECKPOINT_INTERVAL_SECONDS", "1"}});
  const auto admin = signed_in_admin(db, d);
  auto c = client_for(d);
  c.set_token(admin.token);
  const std::string served_key = c.log_key();
  ASSERT_GE(wait_checkpoint(c, served_key, 1), 1u) << d.log();
  EXPECT_TRUE(contains(d.log(), "generated a throwaway audit signing key")) << d.log();
  const auto tofu = verify(d, admin, {});
  EXPECT_EQ(tofu.exit_code, 0) << tofu.output;
  EXPECT_TRUE(contains(tofu.output, "trusting the key the server presents")) << tofu.output;
}

// The checkpoint and the inclusion proofs are public; the events (who did what) are not. Under
// leaf v1 that secrecy was hollow: every field of a download event is guessable, so anyone could
// hash "bidder b1 downloaded tender T's document" and match it against the public proof. Here the
// guesser is given every field exactly (the strongest guess there is: the event as a supervisor
// reads it, payload digest recomputed from public facts), everything but the salt.
TEST(audit_e2e, public_proofs_do_not_confirm_who_downloaded_but_auditors_still_verify) {
  tender::crypto::init();
  const auto [key_file, vkey] = make_key();
  tender::test::world w("audit_salt", audit_env(key_file));
  auto& host = w.user("host", "city-works", "tenderer", {"tenderer"});
  auto& b1 = w.user("b1", "acme", "bidder", {"bidder"});
  auto& sup = w.user("sup", "watch", "supervision", {"supervisor"});
  const std::string t = "t-00000000000000a1";
  w.db().exec(
      "INSERT INTO tenders (id, project_code, title, kind, rule_pack, owner_org, created_by, "
      "state, published_at, deadline_at) VALUES ('" +
      t +
      "', 'P-a1', 'Road a1', 'works', 'engineering', 'city-works', 'host', 'published', "
      "now(), now() + interval '1 day')");
  w.db().exec(
      "INSERT INTO lots (tender_id, lot_no, title, estimated_price, summary_fields) VALUES ('" + t +
      "', 1, 'Lot 1', 100000000, '[{\"key\":\"price\",\"label\":\"price\",\"type\":"
      "\"money\"}]')");
  const auto doc = tender::client::documents::upload(*host.api, t, "tender.pdf", "the documents\n");
  tender::client::documents::download(*b1.api, t, doc.document_id);

  // The download's event, as a supervisor reads it.
  const auto page = sup.api->log_events(0, 1000);
  std::optional<tender::protocol::audit::event_record> rec;
  for (const auto& r : page.events) {
    if (r.fields.action == "document.downloaded") rec = r;
  }
  ASSERT_TRUE(rec.has_value());
  EXPECT_EQ(rec->fields.actor, "b1");
  EXPECT_EQ(rec->fields.subject, t);
  const std::string salt = rec->fields.salt.value_or("");
  EXPECT_EQ(salt.size(), 64u) << "a new event carries its salt, for auditors";
  // The payload is guessable from public facts: the tender, the document and its digest.
  const boost::json::object payload{{"tender_id", t},
                                    {"document_id", doc.document_id},
                                    {"version", doc.version},
                                    {"sha256", doc.sha256}};
  EXPECT_EQ(
      rec->fields.payload_digest,
      tender::crypto::to_hex(tender::crypto::sha256(tender::crypto::canonical_json(payload))));

  // What anyone sees: the leaf hash at that index, from the public proof endpoint.
  auto anonymous = w.anonymous();
  const auto proof = anonymous->log_inclusion_proof(rec->fields.seq, page.log_size);
  auto guess = rec->fields;
  guess.salt.reset();
  const auto leaf_of = [](const tender::protocol::audit::event& e) {
    return hex(merkle::leaf_hash(tender::crypto::as_bytes(tender::protocol::audit::leaf_data(e))));
  };
  EXPECT_NE(leaf_of(guess), proof.leaf_hash_hex)
      << "the public proof confirms a download from guessable fields alone";
  guess.salt = std::string(64, '0');  // any salt but the real one
  EXPECT_NE(leaf_of(guess), proof.leaf_hash_hex);
  // With the salt (auditors only), the leaf is recomputed exactly.
  EXPECT_EQ(leaf_of(rec->fields), proof.leaf_hash_hex);
  EXPECT_EQ(rec->leaf_hash_hex, proof.leaf_hash_hex);
  // The public answers never carry it.
  const auto raw_proof = raw_get(
      w.server().port(), "/api/v1/log/proof/inclusion?index=" + std::to_string(rec->fields.seq) +
                             "&size=" + std::to_string(page.log_size));
  EXPECT_TRUE(contains(raw_proof, "200 OK")) << raw_proof;
  if (!salt.empty()) {
    EXPECT_FALSE(contains(raw_proof, salt)) << raw_proof;
    EXPECT_FALSE(contains(anonymous->log_checkpoint(), salt));
  }
  try {
    b1.api->log_event(rec->fields.seq);
    ADD_FAILURE() << "a bidder read an audit event (and its salt)";
  } catch (const tender::client::error& e) {
    EXPECT_EQ(e.code(), "auth.forbidden");
  }

  // A supervisor's `tender audit verify` still recomputes every leaf, salted or not.
  const std::string token_file = tender::test::make_temp_dir("auditsup") + "/token";
  { std::ofstream(token_file) << sup.token << "\n"; }
  const auto covered = sup.api->log_events(0, 1000).log_size;
  auto c = client_for(w.server());
  ASSERT_GE(wait_checkpoint(c, vkey, covered), covered) << w.server().log();
  const auto ok = run_command({TENDER_CLI_PATH, "--server", w.url(), "audit", "verify",
                               "--token-file", token_file, "--key", vkey});
  EXPECT_EQ(ok.exit_code, 0) << ok.output;
  EXPECT_TRUE(contains(ok.output, "audit log VALID")) << ok.output;

  // Dropping or swapping the salt in the table is tampering like any other column.
  const std::string seq = std::to_string(rec->fields.seq);
  w.db().exec("UPDATE audit_events SET salt = NULL WHERE seq = " + seq);
  auto bad = run_command({TENDER_CLI_PATH, "--server", w.url(), "audit", "verify", "--token-file",
                          token_file, "--key", vkey});
  EXPECT_EQ(bad.exit_code, 1) << bad.output;
  EXPECT_TRUE(contains(bad.output, "[audit.event_mismatch]")) << bad.output;
  w.db().exec("UPDATE audit_events SET salt = decode(repeat('ab', 32), 'hex') WHERE seq = " + seq);
  bad = run_command({TENDER_CLI_PATH, "--server", w.url(), "audit", "verify", "--token-file",
                     token_file, "--key", vkey});
  EXPECT_EQ(bad.exit_code, 1) << bad.output;
  EXPECT_TRUE(contains(bad.output, "[audit.event_mismatch]")) << bad.output;
}

// A database upgraded from before salts: its events are v1 leaves under checkpoints already
// signed, and stay so; events appended afterwards are v2. `tender audit verify` accepts the mix.
// The upgrade is simulated by rewriting a fresh log's events as v1 (in one transaction, under
// the head's lock, as an old tenderd would have written them) and dropping its checkpoints.
TEST(audit_e2e, a_log_of_v1_events_then_v2_events_verifies) {
  tender::crypto::init();
  fresh_database db("e2e_audit_mixed");
  const auto [key_file, vkey] = make_key();
  tenderd_process d(db.conninfo(), audit_env(key_file));
  const auto admin = signed_in_admin(db, d);
  auto c = client_for(d);
  c.set_token(admin.token);
  const auto before = log_size(db);
  ASSERT_GE(wait_checkpoint(c, vkey, before), before) << d.log();

  std::string sql = "BEGIN; SELECT size FROM audit_head FOR UPDATE; ";
  merkle::frontier f;
  for (auto rec : c.log_events(0, 1000).events) {
    rec.fields.salt.reset();
    const std::string data = tender::protocol::audit::leaf_data(rec.fields);
    const auto leaf = merkle::leaf_hash(tender::crypto::as_bytes(data));
    sql += "UPDATE audit_events SET salt = NULL, leaf_data = decode('" +
           tender::crypto::hex_encode(tender::crypto::as_bytes(data)) +
           "', 'hex'), leaf_hash = decode('" + hex(leaf) +
           "', 'hex') WHERE seq = " + std::to_string(rec.fields.seq) + "; ";
    f.append(leaf, [&](merkle::node_id id, const merkle::hash& h) {
      sql += "UPDATE audit_nodes SET hash = decode('" + hex(h) +
             "', 'hex') WHERE level = " + std::to_string(id.level) +
             " AND index = " + std::to_string(id.index) + "; ";
    });
  }
  ASSERT_EQ(f.size(), before);
  std::string frontier;
  for (const auto& h : f.nodes())
    frontier += hex(h);
  sql += "UPDATE audit_head SET frontier = decode('" + frontier + "', 'hex'); ";
  sql += "DELETE FROM audit_checkpoints; COMMIT;";
  db.exec(sql);
  EXPECT_EQ(db.query_value("SELECT count(*) FROM audit_events WHERE salt IS NULL"),
            std::to_string(before));

  // New events after the "upgrade": salted.
  c.create_org("bidco", "bidder", "Bidder Co");
  c.create_user("bidco", "bob", "Bob", {"bidder"});
  const auto after = log_size(db);
  ASSERT_GT(after, before);
  EXPECT_EQ(db.query_value("SELECT count(*) FROM audit_events WHERE salt IS NOT NULL"),
            std::to_string(after - before));
  const auto first_leaf = tender::crypto::base64_decode(c.log_event(0).leaf_data_base64);
  const auto last_leaf = tender::crypto::base64_decode(c.log_event(after - 1).leaf_data_base64);
  const auto tag_of = [](const tender::crypto::bytes& leaf) {
    return std::string(leaf.begin() + 4, leaf.begin() + 4 + 25);
  };
  EXPECT_EQ(tag_of(first_leaf), "tenderhall/audit-event/v1");
  EXPECT_EQ(tag_of(last_leaf), "tenderhall/audit-event/v2");
  ASSERT_GE(wait_checkpoint(c, vkey, after), after) << d.log();
  const auto ok = verify(d, admin, {"--key", vkey});
  EXPECT_EQ(ok.exit_code, 0) << ok.output;
  EXPECT_TRUE(contains(ok.output, "audit log VALID")) << ok.output;
}
