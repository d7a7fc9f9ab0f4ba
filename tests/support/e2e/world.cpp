#include "world.hpp"

#include <tender/crypto/init.hpp>

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include <chrono>
#include <csignal>
#include <fstream>
#include <stdexcept>
#include <thread>

namespace tender::test {

namespace {

void write_text(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
}

// tenderd binds its port before the database is connected and migrated: wait for /readyz.
void wait_until_ready(client::client& c) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (true) {
    const auto r = c.readiness();
    if (r.ready) return;
    if (std::chrono::steady_clock::now() > deadline) {
      throw std::runtime_error("tenderd not ready after 60 s: " + r.reason);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

client::login_signer signer_of(const crypto::private_key& key) {
  return [&key](std::string_view message) {
    const auto sig = crypto::sign_message(key, crypto::as_bytes(message));
    return std::string(sig.begin(), sig.end());
  };
}

}  // namespace

world::world(const std::string& hint, std::map<std::string, std::string> tenderd_env,
             const std::string& cluster)
    : conformance_(std::make_shared<api_conformance>(openapi_validator::project())),
      env_(std::move(tenderd_env)) {
  crypto::init();
  dir_ = make_temp_dir(hint);
  db_ = std::make_unique<fresh_database>(hint, true, cluster);
  admin_ = std::make_unique<actor>();
  admin_->user_id = "root";
  admin_->org_id = "platform";
  admin_->roles = {"admin"};
  admin_->key = crypto::private_key::generate(crypto::key_type::ed25519);
  write_text(dir_ + "/admin.pub.pem", admin_->key.public_part().to_pem());
  const auto created = run_command(
      {TENDER_TENDERD_PATH, "admin", "create-admin", "--org-name", "Tenderhall", "--user-id",
       "root", "--name", "Root Admin", "--public-key", dir_ + "/admin.pub.pem"},
      {{"TENDERD_DATABASE_CONNINFO", db_->conninfo()}});
  if (created.exit_code != 0) throw std::runtime_error("create-admin failed: " + created.output);
  admin_->org_id = db_->query_value("SELECT org_id FROM users WHERE id = 'root'");
  server_ = std::make_unique<tenderd_process>(db_->conninfo(), env_);
  wait_until_ready(*anonymous());
  admin_->api = login(*admin_, &admin_->token);
}

world::~world() {
  check_api_conformance();
}

void world::check_api_conformance() {
  const auto problems = conformance_->violations();
  conformance_->clear();
  if (problems.empty()) return;
  std::string list;
  for (const auto& p : problems)
    list += "\n  " + p;
  ADD_FAILURE() << problems.size()
                << " response(s) do not conform to protocol/openapi.yaml:" << list;
}

std::unique_ptr<client::client> world::anonymous() const {
  client::options o;
  o.server = server_->url();
  o.on_response = api_conformance::observer(conformance_);
  return std::make_unique<client::client>(o);
}

std::unique_ptr<client::client> world::login(const actor& a, std::string* token) const {
  auto c = anonymous();
  // tenderd answers as soon as it listens, but 503 until its database is migrated and ready.
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!c->readiness().ready && std::chrono::steady_clock::now() < give_up)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  const auto s = c->login(a.user_id, a.key.public_part().fingerprint(), signer_of(a.key));
  if (token != nullptr) *token = s.token;
  return c;
}

std::unique_ptr<client::client> world::session_of(const actor& a) const {
  return login(a, nullptr);
}

actor& world::user(const std::string& user_id, const std::string& org_id,
                   const std::string& org_kind, const std::vector<std::string>& roles, bool sm2) {
  if (auto it = users_.find(user_id); it != users_.end()) return *it->second;
  auto& admin_api = *admin_->api;
  if (!orgs_.contains(org_id)) {
    admin_api.create_org(org_id, org_kind, org_id + " " + org_kind);
    orgs_[org_id] = true;
  }
  auto a = std::make_unique<actor>();
  a->user_id = user_id;
  a->org_id = org_id;
  a->roles = roles;
  a->key = crypto::private_key::generate(sm2 ? crypto::key_type::sm2 : crypto::key_type::ed25519);
  admin_api.create_user(org_id, user_id, user_id + " (test)", roles);
  admin_api.add_key(user_id, a->key.public_part().to_pem());
  a->api = login(*a, &a->token);
  auto& out = *a;
  users_[user_id] = std::move(a);
  return out;
}

void world::restart_server() {
  server_->stop();
  server_ = std::make_unique<tenderd_process>(db_->conninfo(), env_);
  wait_until_ready(*anonymous());
  for (auto& [id, a] : users_)
    a->api = login(*a, &a->token);
  admin_->api = login(*admin_, &admin_->token);
}

void world::kill_and_restart_server(std::chrono::milliseconds down) {
  kill_and_restart_server([down] { std::this_thread::sleep_for(down); });
}

void world::kill_and_restart_server(const std::function<void()>& while_down) {
  server_->process().send_signal(SIGKILL);
  server_->process().wait(std::chrono::seconds(10));
  while_down();
  server_ = std::make_unique<tenderd_process>(db_->conninfo(), env_);
  wait_until_ready(*anonymous());
  for (auto& [id, a] : users_)
    a->api = login(*a, &a->token);
  admin_->api = login(*admin_, &admin_->token);
}

long long world::rows(const std::string& table) const {
  return std::stoll(db_->query_value("SELECT count(*) FROM " + table));
}

std::string error_code_of(const client::http_response& r) {
  // HEAD answers have no body; every error answer names its code in a header too.
  if (r.body.empty()) return r.header("Tender-Error-Code");
  boost::system::error_code ec;
  const auto v = boost::json::parse(r.body, ec);
  if (ec || !v.is_object()) return "";
  const auto* e = v.get_object().if_contains("error");
  if (e == nullptr || !e->is_object()) return "";
  const auto* code = e->get_object().if_contains("code");
  return code != nullptr && code->is_string() ? std::string(code->get_string()) : "";
}

void add_bid_rows(world& w, const std::string& tender_id) {
  auto& db = w.db();
  for (int i = 1; i <= 3; ++i) {
    const std::string n = std::to_string(i);
    const std::string org = "bidder-" + n;
    const std::string upload = "u-" + tender_id.substr(tender_id.size() - 2) + "0000000000000" + n;
    db.exec("INSERT INTO organisations (id, kind, name) VALUES ('" + org + "', 'bidder', 'Bidder " +
            n + "') ON CONFLICT DO NOTHING");
    db.exec("INSERT INTO users (id, org_id, name, roles) VALUES ('" + org + "-user', '" + org +
            "', 'User " + n + "', '{bidder}') ON CONFLICT DO NOTHING");
    db.exec(
        "INSERT INTO uploads (id, tender_id, lot_no, bidder_org, user_id, length, \"offset\", "
        "state, source_ip) VALUES ('" +
        upload + "', '" + tender_id + "', 1, '" + org + "', '" + org +
        "-user', 100, 100, 'complete', '127.0.0.1')");
    db.exec(
        "INSERT INTO bids (tender_id, lot_no, bidder_org, upload_id, blob_digest, "
        "ciphertext_digest, header_digest, size, suite, policy, signer_fingerprint, "
        "rehearsal_public_key, header, received_at, log_index, source_ip) VALUES ('" +
        tender_id + "', 1, '" + org + "', '" + upload + "', md5('" + upload + "') || md5('" +
        upload + "'), md5('c" + upload + "') || md5('d" + upload + "'), 'aa', 100, 'sodium', " +
        "'bidder', 'x', '\\x00', '\\x00', clock_timestamp(), 0, '127.0.0.1')");
  }
}

}  // namespace tender::test
