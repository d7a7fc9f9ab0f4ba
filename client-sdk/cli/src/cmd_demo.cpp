// tender demo: the whole story of a remote bid opening (不见面开标) on a running tenderd, through
// the real API only — what README command 1 (deploy/run.sh) shows. docs/HALL.md "Demo".

#include "command.hpp"
#include "io.hpp"

#include <tender/client/bids.hpp>
#include <tender/client/guarantees.hpp>
#include <tender/client/hall.hpp>
#include <tender/client/tenders.hpp>
#include <tender/crypto/bytes.hpp>
#include <tender/crypto/init.hpp>
#include <tender/crypto/keys.hpp>
#include <tender/crypto/opening_record.hpp>
#include <tender/crypto/sealed_bid.hpp>
#include <tender/crypto/signed_note.hpp>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <future>
#include <iomanip>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <sstream>
#include <thread>

namespace tender::cli {
namespace po = boost::program_options;
namespace json = boost::json;
namespace fs = std::filesystem;
namespace hall = client::hall;
using namespace std::chrono_literals;

namespace {

constexpr const char* usage = R"(Usage: tender demo --admin-key FILE --guarantee-sim URL [options]

Plays a whole remote bid opening (不见面开标) on the server given by --server, through the real
API only, and prints one line per step — what README command 1 (deploy/run.sh) shows:

  1. The administrator (--admin-user, signing in with --admin-key) creates the parties of this
     run: a trading center with its host, a supervision office, a tenderer and the bidders, each
     with a fresh Ed25519 login key; it registers the guarantee issuer played by guarantee-sim
     (its organisation, user, key and service, taken from GET <URL>/v1/key).
  2. The tenderer publishes a sandbox tender (deadline --deadline-in seconds ahead; the sandbox
     rule pack needs at least 60) with one lot, a bid bond and discount candidates.
     The hall's URL is printed now: open it in a browser to watch live.
  3. Each bidder seals its bid locally (the first also makes a backup file), uploads it, gets an
     electronic guarantee from the issuer and attaches it. The last bidder has no guarantee; the
     issuer revokes the guarantee of the one before it.
  4. The opening: the host commits to its draw nonce, the bidders sign in, the deadline seals
     the bids, the guarantees are checked and the list published (the two bidders without a
     valid guarantee are not listed), then after --pause seconds the window opens. Bidders
     decrypt: bidder 02 sends a wrong key first and retries, bidder 01 opens its backup file,
     bidder 03 makes no attempt (a bidder-side failure: revoked). The window closes on the
     server's clock; the host and the drawn representative reveal their nonces and the discount
     is drawn; bidder 05 objects and the host answers; the announcement; every listed bidder
     but bidder 04 confirms; the confirmation window closes on the clock and the record is made.
  5. The signed opening record (JSON and HTML) is saved under --out and verified with the audit
     log's key; its path is the last line.

The ids of this run's organisations and users carry a run tag (--run, default random), so the
demo can run again on the same database.

Example (deploy/run.sh does this):
  tender keygen --suite sodium --name admin --out-dir var/demo/admin
  tenderd admin create-admin --org-name Tenderhall --user-id root --name Admin \
      --public-key var/demo/admin/admin-signing.pub.pem
  guarantee-sim --issuer demo-bank --platform http://127.0.0.1:8080 --port 8090 &
  tender --server http://127.0.0.1:8080 demo --admin-key var/demo/admin/admin-signing.pem \
      --guarantee-sim http://127.0.0.1:8090 --bidders 30 --out var/demo

Exit codes: 0 the story ran and the record verifies; 1 a step failed (the message says which);
2 bad usage.)";

constexpr std::int64_t bond_amount = 1000000;  // fen: 10 000 yuan

std::string as_string(const crypto::secure_bytes& b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

std::string two(int i) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%02d", i);
  return buf;
}

std::string utc(std::chrono::system_clock::time_point t) {
  const std::time_t tt = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string random_tag() {
  std::random_device rd;
  static constexpr char digits[] = "0123456789abcdefghijklmnopqrstuvwxyz";
  std::string s;
  for (int i = 0; i < 6; ++i)
    s += digits[rd() % 36];
  return s;
}

// One signed-in user of this run.
struct party {
  std::string user_id;
  std::string org_id;
  std::string name;
  crypto::private_key key = crypto::private_key::generate(crypto::key_type::ed25519);
  std::unique_ptr<client::client> api;
  std::string token;

  hall::signer signer() const {
    hall::signer s;
    s.fingerprint = key.public_part().fingerprint();
    auto k = key;
    s.sign = [k](std::string_view m) {
      const auto sig = crypto::sign_message(k, crypto::as_bytes(m));
      return std::string(sig.begin(), sig.end());
    };
    return s;
  }
};

struct bidder {
  int n = 0;  // 1-based, as printed
  party who;
  crypto::private_key enc = crypto::private_key::generate(crypto::key_type::x25519);
  std::string sealed;
  std::string backup;
  std::string header;
  std::string backup_header;
  bool listed = true;
  std::optional<hall::nonce_commitment> nonce;
  std::unique_ptr<hall::session> session;

  std::string enc_pem() const { return as_string(enc.to_pem()); }
  std::string file_key(const std::string& hdr) const {
    return hall::unwrap_key_from_header(hdr, enc_pem()).key;
  }
};

std::future<hall::act_result> act_f(hall::session& s, const std::string& action,
                                    const std::string& params) {
  auto p = std::make_shared<std::promise<hall::act_result>>();
  auto f = p->get_future();
  s.act(action, params, [p](hall::act_result r) { p->set_value(std::move(r)); });
  return f;
}

std::future<hall::act_result> signed_f(hall::session& s, const std::string& tender_id,
                                       const std::string& action, const std::string& params,
                                       const std::string& payload, const hall::signer& who) {
  auto p = std::make_shared<std::promise<hall::act_result>>();
  auto f = p->get_future();
  hall::signed_act(s, tender_id, action, params, payload, who,
                   [p](hall::act_result r) { p->set_value(std::move(r)); });
  return f;
}

hall::act_result get(std::future<hall::act_result>& f, const std::string& what) {
  if (f.wait_for(60s) != std::future_status::ready)
    throw error(codes::bad_input, what + ": the hall gave no answer in 60 s");
  auto r = f.get();
  if (!r.ok) throw client::error(r.code, what + ": " + r.message);
  return r;
}

json::object data_of(const hall::event& e) {
  return json::parse(e.data_json).as_object();
}

std::string str(const json::value& v) {
  return v.is_string() ? std::string(v.get_string()) : json::serialize(v);
}

struct settings {
  std::string admin_user;
  fs::path admin_key;
  std::string sim_url;
  int bidders = 30;
  fs::path out;
  int pause_s = 10;
  int window_s = 30;
  int confirm_s = 20;
  int deadline_in_s = 65;
  std::string run;
};

class story {
public:
  story(context& ctx, settings s) : ctx_(ctx), s_(std::move(s)) {}

  int run();

private:
  void step(const std::string& text) {
    const auto dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_);
    ctx_.out << "[" << std::fixed << std::setprecision(1) << std::setw(6) << dt.count() << "s] "
             << text << std::endl;
  }
  client::options server_options() const {
    client::options o;
    o.server = ctx_.server;
    o.ca_file = ctx_.ca_file;
    o.insecure = ctx_.insecure;
    o.timeout = 30s;
    return o;
  }
  std::string id(const std::string& what) const { return "demo-" + s_.run + "-" + what; }
  void login(party& p) {
    p.api = std::make_unique<client::client>(server_options());
    const auto sig = p.signer();
    p.token = p.api->login(p.user_id, sig.fingerprint, sig.sign).token;
  }
  // Creates an organisation, its user with a fresh key, and signs the user in.
  void make_party(party& p, const std::string& org_kind, const std::string& org_name,
                  const std::vector<std::string>& roles) {
    admin_->create_org(p.org_id, org_kind, org_name);
    admin_->create_user(p.org_id, p.user_id, p.name, roles);
    admin_->add_key(p.user_id, p.key.public_part().to_pem());
    login(p);
  }
  template <class F>
  static void tolerate_exists(F&& f) {
    try {
      f();
    } catch (const client::error& e) {
      if (e.code() != "identity.exists") throw;
    }
  }
  void setup_issuer();
  void make_tender();
  void prepare_bidder(bidder& b);
  void join_bidders();
  void wait_for_deadline();
  void decrypt_all();
  void save_record();
  hall::session_options session_for(const std::string& token) const {
    hall::session_options o;
    o.server = server_options();
    o.tender_id = tender_id_;
    o.token = token;
    return o;
  }

  context& ctx_;
  settings s_;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  std::unique_ptr<client::client> admin_;
  std::unique_ptr<client::client> sim_;
  std::string issuer_;
  party host_, supervisor_, tenderer_;
  std::string tender_id_;
  std::string project_code_;
  std::chrono::system_clock::time_point deadline_;
  // Before the sessions, which must go first.
  boost::asio::io_context ioc_;
  std::vector<std::unique_ptr<bidder>> b_;
  std::unique_ptr<hall::blocking_session> host_s_;
  std::string digest_;
  fs::path dir_;
};

void story::setup_issuer() {
  sim_ = std::make_unique<client::client>([&] {
    client::options o;
    o.server = s_.sim_url;
    return o;
  }());
  const auto r = sim_->request("GET", "/v1/key");
  client::expect_status(r, 200);
  const auto k = json::parse(r.body).as_object();
  issuer_ = str(k.at("issuer"));
  const std::string fp = str(k.at("fingerprint"));
  const std::string pem = str(k.at("public_key"));
  tolerate_exists([&] { admin_->create_org(issuer_, "issuer", "演示银行 Demo Bank"); });
  tolerate_exists(
      [&] { admin_->create_user(issuer_, issuer_ + "-ops", "Demo Bank guarantees", {"issuer"}); });
  tolerate_exists([&] { admin_->add_key(issuer_ + "-ops", pem); });
  client::guarantees::register_issuer(*admin_, issuer_, s_.sim_url, fp);
  step("issuer " + issuer_ + " (guarantee-sim at " + s_.sim_url + ") registered, key " +
       fp.substr(0, 16) + "…");
}

void story::make_tender() {
  project_code_ = "DEMO-" + s_.run;
  deadline_ = std::chrono::system_clock::now() + std::chrono::seconds(s_.deadline_in_s);
  const json::object lot{
      {"lot_no", 1},
      {"title", "主体工程 Main works"},
      {"estimated_price", 100000000},
      {"ceiling_price", 120000000},
      {"bond_amount", bond_amount},
      {"summary_fields",
       json::array{json::object{{"key", "price"}, {"label", "投标报价"}, {"type", "money"}}}},
      {"discount_candidates", json::array{"0.05", "0.08", "0.10"}}};
  const json::object body{{"project_code", project_code_},
                          {"title", "演示工程：第 " + s_.run + " 号开标 (demo opening)"},
                          {"kind", "works"},
                          {"rule_pack", "sandbox"},
                          {"deadline_at", utc(deadline_)},
                          {"opening_at", utc(deadline_)},
                          {"decryption_window_s", s_.window_s},
                          {"confirmation_window_s", s_.confirm_s},
                          {"lots", json::array{lot}}};
  const auto created = client::create_tender(*tenderer_.api, json::serialize(body));
  tender_id_ = created.id;
  client::publish_tender(*tenderer_.api, tender_id_, created.etag);
  step("tender " + tender_id_ + " (" + project_code_ + ") published by " + tenderer_.org_id +
       ": sandbox rules, deadline and opening at " + utc(deadline_) + ", decryption window " +
       std::to_string(s_.window_s) + " s, confirmation window " + std::to_string(s_.confirm_s) +
       " s");
}

void story::prepare_bidder(bidder& b) {
  namespace ts = crypto::sealed;
  make_party(b.who, "bidder", b.who.name, {"bidder"});
  ts::seal_params p;
  p.suite = crypto::suite_id::sodium;
  p.policy = ts::key_policy::bidder;
  p.tender_id = client::bids::subject(tender_id_, 1);
  p.bidder_id = b.who.org_id;
  p.bidder_keys = {b.enc.public_part()};
  p.signing_key = b.who.key;
  p.tool_version = "tender-demo/1";
  const std::int64_t price = 95000000 + static_cast<std::int64_t>(b.n) * 37000;
  const std::string summary = R"({"price":")" + std::to_string(price) + R"("})";
  std::string body = "Bid of " + b.who.name + " for " + project_code_ + "\n";
  while (body.size() < 4096)
    body += "Technical proposal, schedule and priced bill of quantities. ";
  std::istringstream in(body);
  std::ostringstream primary;
  std::string what = "sealed";
  if (b.n == 1) {
    std::ostringstream copy;
    const auto r = ts::seal_with_backup(p, p, summary, in, primary, copy);
    b.backup = copy.str();
    b.header.assign(r.primary.hdr.encoded.begin(), r.primary.hdr.encoded.end());
    b.backup_header.assign(r.backup.hdr.encoded.begin(), r.backup.hdr.encoded.end());
    what = "sealed with a backup file";
  } else {
    const auto r = ts::seal(p, summary, in, primary);
    b.header.assign(r.hdr.encoded.begin(), r.hdr.encoded.end());
  }
  b.sealed = primary.str();
  const auto up = client::bids::create_upload(*b.who.api, tender_id_, 1, b.sealed.size(),
                                              "bid.thsb", "tender-demo/1");
  client::bids::patch(*b.who.api, up.upload_id, 0, b.sealed);
  what += " (" + std::to_string(b.sealed.size()) + " bytes, price " + std::to_string(price) +
          " fen), uploaded";
  if (b.n == s_.bidders) {
    b.listed = false;
    step("bidder " + two(b.n) + " " + b.who.org_id + ": " + what + ", no guarantee");
    return;
  }
  const json::object req{{"applicant", b.who.org_id},
                         {"beneficiary", tenderer_.org_id},
                         {"tender_code", project_code_},
                         {"lot", 1},
                         {"amount", bond_amount}};
  const auto r = sim_->request("POST", "/admin/guarantees", json::serialize(req));
  client::expect_status(r, 201);
  const auto file = json::parse(r.body);
  client::guarantees::attach(*b.who.api, tender_id_, 1, file);
  const std::string number = str(file.at("document").at("number"));
  what += ", guarantee " + number + " attached";
  if (b.n == s_.bidders - 1) {
    const auto rv = sim_->request("POST", "/admin/guarantees/" + number + "/revoke", "{}");
    client::expect_status(rv, 200);
    b.listed = false;
    what += ", then revoked by the issuer";
  }
  step("bidder " + two(b.n) + " " + b.who.org_id + ": " + what);
}

void story::join_bidders() {
  std::vector<std::future<void>> joined;
  for (auto& b : b_) {
    auto o = session_for(b->who.token);
    auto p = std::make_shared<std::promise<void>>();
    joined.push_back(p->get_future());
    auto once = std::make_shared<bool>(false);
    o.on_snapshot = [p, once](const hall::snapshot&) {
      if (!*once) {
        *once = true;
        p->set_value();
      }
    };
    b->session = std::make_unique<hall::session>(ioc_, std::move(o));
    b->session->start();
  }
  for (auto& f : joined) {
    if (f.wait_for(60s) != std::future_status::ready)
      throw error(codes::bad_input, "a bidder's hall session did not connect in 60 s");
  }
  std::vector<std::future<hall::act_result>> fs;
  for (auto& b : b_) {
    b->nonce = hall::make_nonce();
    fs.push_back(signed_f(*b->session, tender_id_, "sign_in",
                          hall::sign_in_params(b->nonce->commitment), b->nonce->commitment,
                          b->who.signer()));
  }
  for (auto& f : fs)
    get(f, "sign_in");
  step("2. the " + std::to_string(b_.size()) +
       " bidders joined the hall and signed in, each committing to its draw nonce");
}

void story::wait_for_deadline() {
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::seconds>(
                          deadline_ - std::chrono::system_clock::now())
                          .count();
    if (left <= 0) break;
    step("   deadline in " + std::to_string(left) + " s");
    std::this_thread::sleep_for(std::chrono::seconds(std::min<long long>(left, 10)));
  }
  const auto sealed = data_of(host_s_->wait_for_kind("bids_sealed", 120s));
  std::int64_t count = 0;
  for (const auto& l : sealed.at("lots").as_array())
    count += l.at("count").to_number<std::int64_t>();
  step("3. the deadline passed: the server's clock sealed " + std::to_string(count) + " bids");

  // The host is told how many bids have each guarantee status, not whose: who bid is secret until
  // the list (hall-protocol.md §2.1). The names come with the list and the record.
  const auto checked = json::parse(hall::expect_ok(host_s_->act("check_guarantees"))).as_object();
  std::map<std::string, std::int64_t> by;
  for (const auto& c : checked.at("counts").as_array())
    by[str(c.at("guarantee"))] += c.at("count").to_number<std::int64_t>();
  std::string counts;
  for (const auto& [k, v] : by)
    counts += (counts.empty() ? "" : ", ") + std::to_string(v) + " " + k;
  step("4. guarantees checked live with the issuer: " + counts);
  const auto list = json::parse(hall::expect_ok(host_s_->act("publish_list"))).as_object();
  if (list.at("failed").as_bool())
    throw error(codes::bad_input, "the tender failed (流标): too few valid bids");
  step("   the bidder list is published: " +
       std::to_string(list.at("lots").as_array()[0].at("valid").to_number<std::int64_t>()) +
       " valid bids; the hall is public now");
}

void story::decrypt_all() {
  const std::string wrong(32, '\x5a');
  std::vector<std::pair<std::string, std::future<hall::act_result>>> fs;
  int normal = 0;
  for (auto& b : b_) {
    if (!b->listed || b->n == 1 || b->n == 3) continue;
    const std::string key = b->n == 2 ? wrong : b->file_key(b->header);
    fs.emplace_back(
        b->who.org_id,
        signed_f(*b->session, tender_id_, "decrypt", hall::decrypt_params(1, "primary", key),
                 hall::decrypt_payload(1, "primary", key), b->who.signer()));
    if (b->n != 2) ++normal;
  }
  for (auto& [org, f] : fs)
    get(f, "decrypt of " + org);
  step("6. " + std::to_string(normal) +
       " bidders sent the key of their sealed file; bidder 02 sent a wrong key");

  auto& b2 = *b_[1];
  const auto failed = host_s_->wait_for(
      [&](const hall::event& e) {
        if (e.kind != "decryption_status") return false;
        const auto d = data_of(e);
        return str(d.at("org_id")) == b2.who.org_id && str(d.at("status")) == "failed";
      },
      60s);
  step("   bidder 02's attempt failed (" + str(data_of(failed).at("cause")) +
       "); it retries with the right key");
  {
    const auto key = b2.file_key(b2.header);
    auto f = signed_f(*b2.session, tender_id_, "decrypt", hall::decrypt_params(1, "primary", key),
                      hall::decrypt_payload(1, "primary", key), b2.who.signer());
    get(f, "decrypt retry of bidder 02");
  }

  auto& b1 = *b_[0];
  {
    auto hf = act_f(*b1.session, "help", R"({"lot":1,"text":"我方主文件损坏，使用备用文件解密"})");
    get(hf, "help of bidder 01");
    const auto path = dir_ / ("backup-" + b1.who.org_id + ".thsb");
    write_file(path, std::string_view(b1.backup), write_mode{true, false});
    const auto receipt = hall::upload_backup(*b1.who.api, tender_id_, 1, path);
    const auto key = b1.file_key(b1.backup_header);
    auto f = signed_f(*b1.session, tender_id_, "decrypt", hall::decrypt_params(1, "backup", key),
                      hall::decrypt_payload(1, "backup", key), b1.who.signer());
    get(f, "backup decrypt of bidder 01");
    step("   bidder 01 asked for help, uploaded its backup file (" + std::to_string(receipt.size) +
         " bytes) and sent its key");
  }
  step("   bidder 03 makes no attempt");

  std::size_t expected = 0;
  for (auto& b : b_)
    expected += b->listed && b->n != 3 ? 1 : 0;
  std::set<std::string> done;
  host_s_->wait_for(
      [&](const hall::event& e) {
        if (e.kind != "decryption_status") return false;
        const auto d = data_of(e);
        if (str(d.at("status")) == "done") done.insert(str(d.at("org_id")));
        return done.size() == expected;
      },
      std::chrono::seconds(s_.window_s + 60));
  step("   " + std::to_string(done.size()) +
       " bids are open (bidder 01 through its backup); waiting for the window to close on the "
       "server's clock");
  const auto closed =
      data_of(host_s_->wait_for_kind("window_closed", std::chrono::seconds(s_.window_s + 60)));
  step("7. the window closed: " + str(closed.at("done")) + " done, " + str(closed.at("failed")) +
       " failed");
}

void story::save_record() {
  client::client anon(server_options());
  const auto record = hall::opening_record(anon, tender_id_);
  const auto html = anon.request("GET", "/api/v1/tenders/" + tender_id_ + "/opening-record.html");
  client::expect_status(html, 200);
  const auto json_path = dir_ / "opening-record.json";
  const auto html_path = dir_ / "opening-record.html";
  write_file(json_path, std::string_view(record), write_mode{true, false});
  write_file(html_path, std::string_view(html.body), write_mode{true, false});
  const auto key = crypto::note::parse_verifier_key(anon.log_key());
  const auto check = crypto::verify_record_file(record, key);
  step("   the record verifies with the audit log's key " + check.signed_by + ": digest " +
       check.digest.substr(0, 16) + "…, log index " + std::to_string(check.log_index) + ", " +
       std::to_string(check.confirmations_verified) + " confirmation signatures checked");
  const auto rec = json::parse(record).at("record").as_object();
  if (const auto* d = rec.if_contains("decryption"); d != nullptr && d->is_array()) {
    for (const auto& row : d->get_array()) {
      const auto& r = row.as_object();
      const auto* listed = r.if_contains("listed");
      if (listed != nullptr && listed->is_bool() && !listed->get_bool()) {
        step("   in the record: " + str(r.at("org_id")) + " not listed (guarantee " +
             str(r.at("guarantee")) + ")");
        continue;
      }
      if (str(r.at("status")) != "failed") continue;
      step("   in the record: " + str(r.at("org_id")) + " failed (" + str(r.at("cause")) + ", " +
           str(r.at("side")) + " side, treated as " + str(r.at("treatment")) + ")");
    }
  }
  if (const auto* sl = rec.if_contains("silent"); sl != nullptr && sl->is_array()) {
    for (const auto& x : sl->get_array())
      step("   in the record: " + str(x) + " stayed silent (did not confirm)");
  }
  ctx_.out << "\nopening record: " << fs::absolute(json_path).string() << "\n"
           << "printable:      " << fs::absolute(html_path).string() << "\n";
}

int story::run() {
  step("the story of a remote bid opening on " + ctx_.server + " (run " + s_.run + ", " +
       std::to_string(s_.bidders) + " bidders)");
  // The administrator.
  {
    const auto pem = read_secret_file(s_.admin_key, 64 * 1024);
    const auto sig = hall::signer_from_pem(as_string(pem));
    admin_ = std::make_unique<client::client>(server_options());
    admin_->login(s_.admin_user, sig.fingerprint, sig.sign);
  }
  setup_issuer();
  host_ = {id("host"), id("center"), "开标主持人 Host"};
  supervisor_ = {id("supervisor"), id("supervision"), "监督人 Supervisor"};
  tenderer_ = {id("owner"), id("owner-org"), "招标人 Tenderer"};
  make_party(host_, "center", "公共资源交易中心 Trading Center " + s_.run, {"center_staff"});
  make_party(supervisor_, "supervision", "监督办 Supervision " + s_.run, {"supervisor"});
  make_party(tenderer_, "tenderer", "市建设局 City Works " + s_.run, {"tenderer"});
  step("parties created: host " + host_.user_id + ", supervisor " + supervisor_.user_id +
       ", tenderer " + tenderer_.user_id);
  make_tender();
  dir_ = s_.out / tender_id_;
  fs::create_directories(dir_);

  const std::string base = ctx_.server + "/hall/" + tender_id_;
  ctx_.out << "\n  Watch the opening live — open this in a browser now:\n"
           << "    hall URL:  " << base << "\n"
           << "    as the supervisor (sees everything as it happens):\n"
           << "               " << base << "#token=" << supervisor_.token << "\n"
           << "  (the public page fills in once the bidder list is published)\n\n"
           << std::flush;

  host_s_ = std::make_unique<hall::blocking_session>(session_for(host_.token));
  const auto host_nonce = hall::make_nonce();
  hall::expect_ok(
      host_s_->act("commit_host", R"({"commitment":")" + host_nonce.commitment + "\"}"));
  step("1. the host committed to its draw nonce");

  for (int i = 1; i <= s_.bidders; ++i) {
    auto b = std::make_unique<bidder>();
    b->n = i;
    b->who.user_id = id("b" + two(i));
    b->who.org_id = id("bidder" + two(i));
    b->who.name = "投标人 " + two(i) + " Builder " + two(i) + " Co.";
    prepare_bidder(*b);
    b_.push_back(std::move(b));
  }
  if (std::chrono::system_clock::now() >= deadline_) {
    throw error(codes::bad_input,
                "the deadline passed before every bidder was ready; use a larger --deadline-in");
  }

  auto guard = boost::asio::make_work_guard(ioc_);
  std::thread io1([&] { ioc_.run(); });
  std::thread io2([&] { ioc_.run(); });
  struct stopper {
    story& s;
    std::thread& a;
    std::thread& b;
    ~stopper() {
      for (auto& x : s.b_)
        if (x->session) x->session->close();
      s.ioc_.stop();
      a.join();
      b.join();
    }
  } stop{*this, io1, io2};

  join_bidders();
  wait_for_deadline();

  if (s_.pause_s > 0) {
    step("   the window opens in " + std::to_string(s_.pause_s) + " s: watch at " + base);
    std::this_thread::sleep_for(std::chrono::seconds(s_.pause_s));
  }
  json::object window;
  for (int tries = 0;; ++tries) {
    const auto r = host_s_->act("open_window");
    if (r.ok) {
      window = json::parse(r.result_json).as_object();
      break;
    }
    if (r.code != "hall.too_early" || tries >= 20) hall::expect_ok(r);
    std::this_thread::sleep_for(500ms);
  }
  step("5. the host opened the decryption window until " + str(window.at("window_closes_at")));
  decrypt_all();

  // 8. The draws.
  hall::expect_ok(host_s_->act("reveal_host", R"({"nonce":")" + host_nonce.nonce_hex + "\"}"));
  const auto rep = data_of(host_s_->wait_for_kind("representative_drawn"));
  // Only organisations signed in before the deadline can be drawn (hall-protocol.md §11); on a
  // machine slow enough for every sign-in to land after it there is no representative, and the
  // host draws at once.
  if (rep.at("representative").is_null()) {
    step(
        "8. the host revealed its nonce; nobody signed in before the deadline, so no "
        "representative is drawn");
  } else {
    const std::string rep_org = str(rep.at("representative"));
    bidder* rb = nullptr;
    for (auto& b : b_)
      if (b->who.org_id == rep_org) rb = b.get();
    if (rb == nullptr)
      throw error(codes::bad_input, "the drawn representative is not a bidder here");
    step("8. the host revealed its nonce; the representative drawn is " + rep_org);
    auto f = act_f(*rb->session, "reveal_representative",
                   R"({"nonce":")" + rb->nonce->nonce_hex + "\"}");
    get(f, "reveal_representative");
  }
  hall::expect_ok(host_s_->act("draw"));
  const auto drawn = data_of(host_s_->wait_for_kind("parameters_drawn"));
  for (const auto& d : drawn.at("draws").as_array()) {
    const auto& draw = d.at("draw").as_object();
    step("   the discount drawn for lot " + str(d.at("lot")) + " is " +
         str(draw.at("selected").as_array().at(0)) + " (seed " +
         str(draw.at("seed")).substr(0, 16) + "…, last input: the log's checkpoint " +
         str(d.at("checkpoint").at("size")) + " signed in the draw)");
  }

  // 9. An objection, answered.
  {
    auto& b5 = *b_[4];
    auto f = act_f(*b5.session, "object", R"({"lot":1,"text":"请复核我方报价的唱读"})");
    const auto o = json::parse(get(f, "object").result_json).as_object();
    const json::object answer{
        {"objection_id", o.at("objection_id")},
        {"text", "已复核：报价唱读无误 — checked: the price was read correctly"}};
    hall::expect_ok(host_s_->act("answer", json::serialize(answer)));
    step("9. bidder 05 objected to the reading of its price; the host answered");
  }

  // 10. The announcement, the confirmations (bidder 04 stays silent), the record.
  const auto announced = json::parse(hall::expect_ok(host_s_->act("announce"))).as_object();
  digest_ = str(announced.at("record_digest"));
  step("10. the announcement (唱标): record digest " + digest_.substr(0, 16) +
       "…, confirmations until " + str(announced.at("confirm_closes_at")));
  {
    std::vector<std::future<hall::act_result>> fs;
    int n = 0;
    for (auto& b : b_) {
      if (!b->listed || b->n == 4) continue;
      fs.push_back(signed_f(*b->session, tender_id_, "confirm", hall::confirm_params(digest_),
                            digest_, b->who.signer()));
      ++n;
    }
    for (auto& f : fs)
      get(f, "confirm");
    step("    " + std::to_string(n) +
         " bidders signed the record digest; bidder 04 stays silent; waiting for the "
         "confirmation window to close on the server's clock");
  }
  const auto closing = data_of(
      host_s_->wait_for_kind("confirmation_closed", std::chrono::seconds(s_.confirm_s + 60)));
  step("    the confirmation window closed: " +
       std::to_string(closing.at("silent").as_array().size()) + " silent");
  host_s_->wait_for_kind("recorded", 60s);
  step("    the signed opening record is published");
  save_record();
  return exit_ok;
}

int run_demo(context& ctx, const std::vector<std::string>& args) {
  po::options_description opts("Options");
  settings s;
  opts.add_options()                                                                        //
      ("admin-user", po::value(&s.admin_user)->default_value("root")->value_name("ID"),     //
       "the administrator's user id")                                                       //
      ("admin-key", po::value<std::string>()->required()->value_name("FILE"),               //
       "the administrator's private signing key (PKCS#8 PEM, unencrypted)")                 //
      ("guarantee-sim", po::value(&s.sim_url)->required()->value_name("URL"),               //
       "base URL of a running guarantee-sim (the issuer of the bidders' guarantees)")       //
      ("bidders", po::value(&s.bidders)->default_value(30)->value_name("N"),                //
       "number of bidders, 7..200")                                                         //
      ("out", po::value<std::string>()->default_value("var/demo")->value_name("DIR"),       //
       "where the record (DIR/<tender id>/opening-record.json and .html) is saved")         //
      ("pause", po::value(&s.pause_s)->default_value(10)->value_name("S"),                  //
       "seconds between the published list and the window, to open the hall in a browser")  //
      ("window", po::value(&s.window_s)->default_value(30)->value_name("S"),                //
       "the tender's decryption window in seconds")                                         //
      ("confirm-window", po::value(&s.confirm_s)->default_value(20)->value_name("S"),       //
       "the tender's confirmation window in seconds")                                       //
      ("deadline-in", po::value(&s.deadline_in_s)->default_value(65)->value_name("S"),      //
       "seconds from publication to the deadline (the sandbox rule pack needs >= 60)")      //
      ("run", po::value(&s.run)->value_name("TAG"),                                         //
       "run tag in every id of this run ([a-z0-9], default random)");
  int code = 0;
  auto vm = parse_command_args(ctx, args, usage, opts, {}, code);
  if (!vm) return code;
  s.admin_key = (*vm)["admin-key"].as<std::string>();
  s.out = (*vm)["out"].as<std::string>();
  if (s.bidders < 7 || s.bidders > 200) return usage_error(ctx, "--bidders must be 7..200");
  if (s.pause_s < 0 || s.pause_s > 3600) return usage_error(ctx, "--pause must be 0..3600");
  if (s.window_s < 5 || s.window_s > 3600) return usage_error(ctx, "--window must be 5..3600");
  if (s.confirm_s < 3 || s.confirm_s > 3600)
    return usage_error(ctx, "--confirm-window must be 3..3600");
  if (s.deadline_in_s < 1 || s.deadline_in_s > 86400)
    return usage_error(ctx, "--deadline-in must be 1..86400");
  if (s.run.empty()) s.run = random_tag();
  for (const char c : s.run) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) || s.run.size() > 20)
      return usage_error(ctx, "--run must be 1..20 characters [a-z0-9]");
  }
  crypto::init();
  story st(ctx, std::move(s));
  return st.run();
}

}  // namespace

void add_demo_commands(std::vector<command>& out) {
  out.push_back({"demo", "play a whole remote bid opening with simulated bidders", run_demo});
}

}  // namespace tender::cli
