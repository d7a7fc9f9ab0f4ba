#pragma once

// An end-to-end world: a fresh database, the real tenderd on it, a bootstrapped administrator and
// any number of signed-in users of every role, each with a client SDK session of its own. Shared
// by the e2e tests so each one states only what it checks.
//
//   tender::test::world w("tenders");
//   auto& host = w.user("acme-host", "acme", "tenderer", {"tenderer"});
//   auto r = host.api->request("GET", "/api/v1/me");
//
// Every response any client of the world receives is checked against protocol/openapi.yaml; the
// problems fail the test when the world is destroyed (or at check_api_conformance()).

#include "openapi_validator.hpp"

#include <test_support.hpp>

#include <tender/client/client.hpp>
#include <tender/crypto/keys.hpp>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace tender::test {

struct actor {
  std::string user_id;
  std::string org_id;
  std::vector<std::string> roles;
  crypto::private_key key;
  std::unique_ptr<client::client> api;  // logged in: sends the bearer token
  std::string token;
};

class world {
public:
  // `tenderd_env`: extra environment for tenderd (TENDERD_* settings). `cluster`: the maintenance
  // conninfo of a PostgreSQL cluster of the test's own (default: the shared throwaway cluster).
  explicit world(const std::string& hint, std::map<std::string, std::string> tenderd_env = {},
                 const std::string& cluster = {});
  ~world();
  world(const world&) = delete;
  world& operator=(const world&) = delete;

  fresh_database& db() { return *db_; }
  tenderd_process& server() { return *server_; }
  std::string url() const { return server_->url(); }
  // The bootstrapped administrator ("root" of organisation "platform").
  actor& admin() { return *admin_; }

  // Creates the organisation (once per id; `org_kind` bidder|tenderer|agency|center|supervision|
  // issuer) and the user with an Ed25519 key (SM2 when `sm2`), then logs it in. Returns the same
  // actor on a second call with the same user id.
  actor& user(const std::string& user_id, const std::string& org_id, const std::string& org_kind,
              const std::vector<std::string>& roles, bool sm2 = false);

  // A client with no token (anonymous).
  std::unique_ptr<client::client> anonymous() const;
  // A fresh client logged in as `a` (a second session of the same user).
  std::unique_ptr<client::client> session_of(const actor& a) const;

  // Stops tenderd (SIGTERM) and starts it again on the same database (new port).
  void restart_server();
  // SIGKILL, then start again after `down` (a platform that stays down that long).
  void kill_and_restart_server(std::chrono::milliseconds down = std::chrono::milliseconds(0));
  // SIGKILL, run `while_down` (change what the next start finds), then start again.
  void kill_and_restart_server(const std::function<void()>& while_down);

  // Number of rows of a table, for "nothing changed" checks.
  long long rows(const std::string& table) const;

  // Fails the test (ADD_FAILURE) with every response so far that does not conform to the
  // OpenAPI description, then forgets them. The destructor calls it too.
  void check_api_conformance();
  // The conformance log of this world's clients (responses checked, violations so far).
  api_conformance& conformance() { return *conformance_; }

  // While one is alive, responses are not checked: for requests that leave the documented API on
  // purpose (unknown routes, raw protocol abuse).
  class unchecked_scope {
  public:
    explicit unchecked_scope(api_conformance& c) : c_(c) { c_.suspend(); }
    ~unchecked_scope() { c_.resume(); }
    unchecked_scope(const unchecked_scope&) = delete;
    unchecked_scope& operator=(const unchecked_scope&) = delete;

  private:
    api_conformance& c_;
  };
  [[nodiscard]] std::unique_ptr<unchecked_scope> unchecked() {
    return std::make_unique<unchecked_scope>(*conformance_);
  }

private:
  std::unique_ptr<client::client> login(const actor& a, std::string* token) const;

  std::shared_ptr<api_conformance> conformance_;
  std::string dir_;
  std::map<std::string, std::string> env_;
  std::unique_ptr<fresh_database> db_;
  std::unique_ptr<tenderd_process> server_;
  std::unique_ptr<actor> admin_;
  std::map<std::string, std::unique_ptr<actor>> users_;
  std::map<std::string, bool> orgs_;
};

// The stable error code of a JSON error body ("" when the body is not one).
std::string error_code_of(const client::http_response& r);

// Three current bids in lot 1 of `tender_id` (database rows only, no files), from organisations
// bidder-1..3: enough for the deadline to close the tender instead of failing it for too few bids
// (min_bids), in tests about what happens after the deadline rather than about bids.
void add_bid_rows(world& w, const std::string& tender_id);

}  // namespace tender::test
