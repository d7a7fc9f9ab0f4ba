// guarantee-sim: a guarantee issuer (bank, insurer, guarantee company) simulator speaking the
// protocol of protocol/docs/guarantee-api.md, for tests and demonstrations. A small server on the
// same stack as tenderd (tender::net), with its own signing key, its state in memory and
// optionally in a JSON file.

#include <tender/client/client.hpp>
#include <tender/crypto/bytes.hpp>
#include <tender/crypto/guarantee.hpp>
#include <tender/crypto/init.hpp>
#include <tender/crypto/keys.hpp>
#include <tender/net/http.hpp>
#include <tender/net/server.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>
#include <boost/program_options.hpp>

#include <pthread.h>
#include <signal.h>
#include <atomic>
#include <chrono>
#include <csignal>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <sstream>
#include <thread>

namespace json = boost::json;
namespace asio = boost::asio;
namespace po = boost::program_options;
namespace g = tender::crypto::guarantee;
using tender::net::request;
using tender::net::response;

namespace {

constexpr const char* help_text =
    R"(guarantee-sim — a guarantee issuer simulator (电子保函 issuer) for tenderhall

It plays a bank, insurer or guarantee company: it signs electronic guarantees with its own key,
answers the platform's live status queries with signed answers, takes applications of the
integrated flow and pushes the issued guarantee to the platform, and sends signed status
callbacks (revoked, claimed, released) when you tell it to. The protocol is
protocol/docs/guarantee-api.md; docs/GUARANTEES.md shows a whole session.

Usage:
  guarantee-sim --issuer ORG_ID [--platform URL] [--key FILE] [--state FILE]
                [--address 127.0.0.1] [--port 8090] [--port-file FILE]
                [--write-public-key FILE] [--kind bank|insurance|guarantee_company]

Setting it up with a platform (tenderd):
  1. On the platform an admin creates an organisation of kind `issuer` and a user with role
     `issuer`, and registers the simulator's public key for that user:
       guarantee-sim --issuer bank-a --write-public-key bank-a.pub.pem ...   (or GET /v1/key)
       tender admin key add --user bank-a-ops --public-key bank-a.pub.pem
  2. The admin registers the issuer's service (base URL and key fingerprint):
       tender guarantee issuer-register --org bank-a --url http://127.0.0.1:8090 \
           --fingerprint <fingerprint printed at start>
  3. Bidders then use `tender guarantee apply` (integrated flow) or attach a file from
     POST /admin/guarantees (open flow) with `tender guarantee attach`.

Endpoints (the platform's side, see the protocol document):
  GET  /healthz                          liveness
  GET  /v1/key                           {"issuer","fingerprint","algorithm","public_key"}
  GET  /v1/guarantees/{number}/status?nonce=HEX
                                         signed live status (valid|revoked|claimed|released)
  POST /v1/applications                  integrated flow: 202, then the signed guarantee is
                                         pushed to {platform}/api/v1/guarantee-pushes
Admin endpoints (no authentication: run the simulator on loopback only):
  POST /admin/guarantees                 issue a guarantee, answer the signed file (open flow).
       {"applicant","beneficiary","tender_code","lot","amount", optional "valid_until",
        "valid_from","issued_at","number","kind","currency"}; times "YYYY-MM-DDTHH:MM:SSZ",
        amount in fen; defaults: valid now, for 180 days, issued now.
  GET  /admin/guarantees                 every guarantee with its status
  POST /admin/guarantees/{number}/revoke|claim|release
                                         change the status and send the signed callback to
                                         {platform}/api/v1/guarantee-callbacks; with the body
                                         {"notify": false} no callback is sent (the platform
                                         then learns it from its next live status query)
  POST /admin/status-mode                {"mode": "hang"}: from now on status queries are
                                         accepted and never answered (the connection stays open,
                                         as with a dead issuer behind a load balancer), until
                                         {"mode": "answer"} (the default), when the waiting ones
                                         are answered late; also --hang-status at start
  GET  /admin/status-mode                {"mode", "waiting"}: status queries being held
Options:
)";

std::string now_utc(std::int64_t offset_s = 0) {
  const std::time_t t = std::time(nullptr) + offset_s;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string random_hex(std::size_t bytes) {
  std::random_device rd;
  tender::crypto::bytes b(bytes);
  for (auto& x : b)
    x = static_cast<std::uint8_t>(rd());
  return tender::crypto::hex_encode(b);
}

response error(unsigned status, const std::string& code, const std::string& message) {
  return response::error(status, code, message);
}

response ok(unsigned status, const json::value& v) {
  return response::json(status, json::serialize(v));
}

// The issuer: key, guarantees and their statuses, used application codes.
struct issuer_state {
  std::string org_id;
  std::string kind = "bank";
  std::string platform;
  tender::crypto::private_key key;
  std::string state_file;

  std::mutex mutex;
  std::map<std::string, json::object> guarantees;  // number → {"signed","status"}
  std::set<std::string> used_codes;
  std::uint64_t counter = 0;
  std::uint64_t events = 0;
  std::string prefix = "G" + random_hex(3);
  // Status queries are held unanswered while set (a dead issuer, for timeout tests).
  std::atomic<bool> hang{false};
  std::atomic<int> waiting{0};

  void load() {
    if (state_file.empty() || !std::filesystem::exists(state_file)) return;
    std::ifstream in(state_file);
    std::stringstream ss;
    ss << in.rdbuf();
    const auto v = json::parse(ss.str()).as_object();
    for (const auto& [k, e] : v.at("guarantees").as_object())
      guarantees[std::string(k)] = e.as_object();
    for (const auto& c : v.at("used_codes").as_array())
      used_codes.insert(std::string(c.as_string()));
    counter = v.at("counter").as_int64();
    events = v.at("events").as_int64();
    prefix = std::string(v.at("prefix").as_string());
  }

  // Called with the mutex held.
  void save() {
    if (state_file.empty()) return;
    json::object gs;
    for (const auto& [k, e] : guarantees)
      gs[k] = e;
    json::array codes;
    for (const auto& c : used_codes)
      codes.push_back(json::value(c));
    json::object o{{"guarantees", gs},
                   {"used_codes", codes},
                   {"counter", counter},
                   {"events", events},
                   {"prefix", prefix}};
    const auto tmp = state_file + ".tmp";
    {
      std::ofstream out(tmp, std::ios::trunc);
      out << json::serialize(o);
    }
    std::filesystem::rename(tmp, state_file);
  }

  json::object issue(g::document d) {
    std::lock_guard lock(mutex);
    if (d.number.empty()) d.number = prefix + "-" + std::to_string(++counter);
    const auto signed_doc = g::sign_document(d, key);
    guarantees[d.number] = json::object{{"signed", signed_doc}, {"status", "valid"}};
    save();
    return signed_doc;
  }

  // POST to the platform (blocking).
  json::object post_platform(const std::string& path, const std::string& body) {
    if (platform.empty()) return {{"sent", false}, {"error", "no --platform given"}};
    try {
      tender::client::options o;
      o.server = platform;
      tender::client::client c(o);
      const auto r = c.request("POST", path, body);
      json::value answer;
      boost::system::error_code ec;
      answer = json::parse(r.body, ec);
      if (ec) answer = r.body;
      return {{"sent", true}, {"http_status", r.status}, {"answer", answer}};
    } catch (const std::exception& e) {
      return {{"sent", false}, {"error", e.what()}};
    }
  }
};

std::string string_or(const json::object& o, const char* k, std::string fallback) {
  if (const auto* v = o.if_contains(k); v != nullptr && v->is_string()) {
    return std::string(v->get_string());
  }
  return fallback;
}

std::int64_t int_of(const json::object& o, const char* k) {
  const auto* v = o.if_contains(k);
  if (v == nullptr || !v->is_int64())
    throw std::invalid_argument(std::string("field '") + k + "' must be an integer");
  return v->get_int64();
}

std::string text_of(const json::object& o, const char* k) {
  const auto* v = o.if_contains(k);
  if (v == nullptr || !v->is_string())
    throw std::invalid_argument(std::string("field '") + k + "' must be a string");
  return std::string(v->get_string());
}

std::string query_param(const std::string& query, const std::string& name) {
  std::stringstream ss(query);
  std::string part;
  while (std::getline(ss, part, '&')) {
    const auto eq = part.find('=');
    if (eq != std::string::npos && part.substr(0, eq) == name) return part.substr(eq + 1);
  }
  return {};
}

std::shared_ptr<tender::net::router> routes(std::shared_ptr<issuer_state> st,
                                            std::shared_ptr<asio::thread_pool> workers) {
  auto r = std::make_shared<tender::net::router>();
  r->add("GET", "/healthz", [st](request&) -> asio::awaitable<response> {
    co_return ok(200, json::object{{"status", "ok"}, {"service", "guarantee-sim"}});
  });

  r->add("GET", "/v1/key", [st](request&) -> asio::awaitable<response> {
    const auto pub = st->key.public_part();
    co_return ok(200, json::object{{"issuer", st->org_id},
                                   {"fingerprint", pub.fingerprint()},
                                   {"algorithm", tender::crypto::key_type_name(pub.type())},
                                   {"public_key", pub.to_pem()}});
  });

  r->add("GET", "/v1/guarantees/{number}/status", [st](request& req) -> asio::awaitable<response> {
    const auto nonce = query_param(req.query, "nonce");
    if (nonce.empty() || nonce.size() > 64) {
      co_return error(400, "status.bad_nonce", "query parameter 'nonce' (hex) is required");
    }
    if (st->hang) {
      // Hold the query: no thread is blocked, the connection just gets no answer. At most an hour
      // (the platform gives up long before).
      ++st->waiting;
      asio::steady_timer t(co_await asio::this_coro::executor);
      for (int i = 0; i < 36000 && st->hang; ++i) {
        t.expires_after(std::chrono::milliseconds(100));
        boost::system::error_code ec;
        co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      }
      --st->waiting;
    }
    std::lock_guard lock(st->mutex);
    const auto it = st->guarantees.find(req.params.at("number"));
    if (it == st->guarantees.end()) {
      co_return error(404, "guarantee.not_found", "no such guarantee");
    }
    g::status_answer a;
    a.issuer = st->org_id;
    a.number = it->first;
    a.status = std::string(it->second.at("status").as_string());
    a.as_of = now_utc();
    a.nonce = nonce;
    co_return ok(200, g::sign_status(a, st->key));
  });

  r->add("POST", "/v1/applications", [st, workers](request& req) -> asio::awaitable<response> {
    g::document d;
    std::string app_id;
    try {
      const auto o = json::parse(req.body).as_object();
      app_id = text_of(o, "application_id");
      const auto code = text_of(o, "application_code");
      {
        std::lock_guard lock(st->mutex);
        if (!st->used_codes.insert(code).second) {
          co_return error(409, "application.code_used",
                          "application code '" + code + "' was already used");
        }
        st->save();
      }
      d.kind = st->kind;
      d.issuer = st->org_id;
      d.applicant = text_of(o, "applicant");
      d.beneficiary = text_of(o, "beneficiary");
      d.tender_code = text_of(o, "tender_code");
      d.lot = static_cast<int>(int_of(o, "lot"));
      d.amount = int_of(o, "amount");
      d.currency = text_of(o, "currency");
      d.valid_from = now_utc();
      d.valid_until = text_of(o, "valid_until");
      d.issued_at = now_utc();
      d.application_code = code;
    } catch (const std::exception& e) {
      co_return error(400, "application.bad_request", e.what());
    }
    // Issue and push after answering, as a real issuer does once the premium is paid.
    asio::post(*workers, [st, d, app_id] {
      const auto signed_doc = st->issue(d);
      const auto body =
          json::serialize(json::object{{"application_id", app_id}, {"guarantee", signed_doc}});
      const auto result = st->post_platform("/api/v1/guarantee-pushes", body);
      std::cerr << "guarantee-sim: pushed " << d.number << " for " << app_id << ": "
                << json::serialize(result) << "\n";
    });
    co_return ok(202, json::object{{"application_id", app_id}, {"state", "accepted"}});
  });

  r->add("POST", "/admin/guarantees", [st](request& req) -> asio::awaitable<response> {
    g::document d;
    try {
      const auto o = json::parse(req.body).as_object();
      d.number = string_or(o, "number", "");
      d.kind = string_or(o, "kind", st->kind);
      d.issuer = st->org_id;
      d.applicant = text_of(o, "applicant");
      d.beneficiary = text_of(o, "beneficiary");
      d.tender_code = text_of(o, "tender_code");
      d.lot = static_cast<int>(int_of(o, "lot"));
      d.amount = int_of(o, "amount");
      d.currency = string_or(o, "currency", "CNY");
      d.valid_from = string_or(o, "valid_from", now_utc());
      d.valid_until = string_or(o, "valid_until", now_utc(180 * 86400));
      d.issued_at = string_or(o, "issued_at", now_utc());
      // The same checks the platform makes on the document's shape.
      auto check = d;
      if (check.number.empty()) check.number = "check";
      g::parse_document(g::to_json(check));
    } catch (const std::exception& e) {
      co_return error(400, "guarantee.bad_request", e.what());
    }
    co_return ok(201, st->issue(d));
  });

  r->add("GET", "/admin/status-mode", [st](request&) -> asio::awaitable<response> {
    co_return ok(
        200, json::object{{"mode", st->hang ? "hang" : "answer"}, {"waiting", st->waiting.load()}});
  });

  r->add("POST", "/admin/status-mode", [st](request& req) -> asio::awaitable<response> {
    boost::system::error_code ec;
    const auto v = json::parse(req.body, ec);
    const auto* mode = !ec && v.is_object() ? v.get_object().if_contains("mode") : nullptr;
    if (mode == nullptr || !mode->is_string() ||
        (mode->get_string() != "hang" && mode->get_string() != "answer")) {
      co_return error(400, "request.bad_json", R"(the body must be {"mode": "hang" | "answer"})");
    }
    st->hang = mode->get_string() == "hang";
    co_return ok(
        200, json::object{{"mode", st->hang ? "hang" : "answer"}, {"waiting", st->waiting.load()}});
  });

  r->add("GET", "/admin/guarantees", [st](request&) -> asio::awaitable<response> {
    std::lock_guard lock(st->mutex);
    json::array list;
    for (const auto& [number, e] : st->guarantees) {
      list.push_back(json::object{{"number", number},
                                  {"status", e.at("status")},
                                  {"document", e.at("signed").at("document")}});
    }
    co_return ok(200, json::object{{"guarantees", list}});
  });

  r->add("POST", "/admin/guarantees/{number}/{action}",
         [st, workers](request& req) -> asio::awaitable<response> {
           const auto& action = req.params.at("action");
           const std::string status = action == "revoke"    ? "revoked"
                                      : action == "claim"   ? "claimed"
                                      : action == "release" ? "released"
                                                            : "";
           if (status.empty()) {
             co_return error(404, "route.not_found", "actions are revoke, claim and release");
           }
           // {"notify": false}: change the status without telling the platform (the platform
           // then learns it from its next live status query, e.g. before the opening).
           bool notify = true;
           if (!req.body.empty()) {
             boost::system::error_code ec;
             const auto v = json::parse(req.body, ec);
             if (ec || !v.is_object()) {
               co_return error(400, "request.bad_json", "the body must be a JSON object or empty");
             }
             if (const auto* n = v.get_object().if_contains("notify"); n != nullptr) {
               if (!n->is_bool()) {
                 co_return error(400, "request.bad_json", "'notify' must be a boolean");
               }
               notify = n->get_bool();
             }
           }
           g::event ev;
           {
             std::lock_guard lock(st->mutex);
             const auto it = st->guarantees.find(req.params.at("number"));
             if (it == st->guarantees.end()) {
               co_return error(404, "guarantee.not_found", "no such guarantee");
             }
             it->second["status"] = status;
             ev.event_id = st->prefix + "-e" + std::to_string(++st->events);
             st->save();
             ev.number = it->first;
           }
           ev.issuer = st->org_id;
           ev.status = status;
           ev.occurred_at = now_utc();
           const auto body = json::serialize(g::sign_event(ev, st->key));
           // The callback is a blocking HTTP call: on a worker, never on an I/O thread.
           json::object callback{{"sent", false}, {"error", "not notified (notify: false)"}};
           if (!notify) {
             co_return ok(200, json::object{{"number", ev.number},
                                            {"status", status},
                                            {"event_id", ev.event_id},
                                            {"callback", callback}});
           }
           auto send = [st, body, &callback]() -> asio::awaitable<void> {
             callback = st->post_platform("/api/v1/guarantee-callbacks", body);
             co_return;
           };
           co_await asio::co_spawn(workers->get_executor(), std::move(send), asio::use_awaitable);
           co_return ok(200, json::object{{"number", ev.number},
                                          {"status", status},
                                          {"event_id", ev.event_id},
                                          {"callback", callback}});
         });
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  tender::crypto::init();
  auto st = std::make_shared<issuer_state>();
  std::string key_file, public_key_out, address = "127.0.0.1", port_file;
  unsigned port = 8090;
  po::options_description opts;
  opts.add_options()("help,h", "this help")(
      "issuer", po::value(&st->org_id), "the issuer's organisation id on the platform (required)")(
      "platform", po::value(&st->platform),
      "tenderd base URL for pushes and callbacks, e.g. http://127.0.0.1:8080")(
      "key", po::value(&key_file),
      "PKCS#8 PEM private key (Ed25519 or SM2); default: a fresh Ed25519 key")(
      "write-public-key", po::value(&public_key_out), "write the public key (PEM) to this file")(
      "state", po::value(&st->state_file), "JSON state file, loaded at start and kept up to date")(
      "kind", po::value(&st->kind), "bank (default), insurance or guarantee_company")(
      "address", po::value(&address), "listen address (default 127.0.0.1)")(
      "port", po::value(&port), "listen port (default 8090; 0: any free port)")(
      "port-file", po::value(&port_file), "write the listening port to this file once bound")(
      "hang-status", "hold every status query unanswered (see POST /admin/status-mode)");
  po::variables_map vm;
  try {
    po::store(po::parse_command_line(argc, argv, opts), vm);
    po::notify(vm);
  } catch (const std::exception& e) {
    std::cerr << "guarantee-sim: " << e.what() << "\n(see guarantee-sim --help)\n";
    return 2;
  }
  if (vm.count("help") != 0U) {
    std::cout << help_text << opts << "\n";
    return 0;
  }
  st->hang = vm.count("hang-status") != 0U;
  if (st->org_id.empty()) {
    std::cerr << "guarantee-sim: --issuer ORG_ID is required (see --help)\n";
    return 2;
  }
  if (!g::valid_kind(st->kind)) {
    std::cerr << "guarantee-sim: --kind must be bank, insurance or guarantee_company\n";
    return 2;
  }
  try {
    if (key_file.empty()) {
      st->key = tender::crypto::private_key::generate(tender::crypto::key_type::ed25519);
    } else {
      std::ifstream in(key_file);
      std::stringstream ss;
      ss << in.rdbuf();
      st->key = tender::crypto::private_key::from_pem(ss.str());
    }
    if (!public_key_out.empty()) {
      std::ofstream out(public_key_out, std::ios::trunc);
      out << st->key.public_part().to_pem();
    }
    st->load();
  } catch (const std::exception& e) {
    std::cerr << "guarantee-sim: " << e.what() << "\n";
    return 1;
  }
  while (!st->platform.empty() && st->platform.back() == '/')
    st->platform.pop_back();

  asio::io_context ioc(4);
  auto workers = std::make_shared<asio::thread_pool>(2);
  tender::net::server_options so;
  so.address = address;
  so.port = static_cast<std::uint16_t>(port);
  so.server_name = "guarantee-sim";
  tender::net::http_server server(ioc, so, routes(st, workers));
  try {
    server.start();
  } catch (const std::exception& e) {
    std::cerr << "guarantee-sim: cannot listen: " << e.what() << "\n";
    return 1;
  }
  std::cerr << "guarantee-sim: issuer " << st->org_id << " listening on " << address << ":"
            << server.port() << ", key " << st->key.public_part().fingerprint() << "\n";
  if (!port_file.empty()) {
    const auto tmp = port_file + ".tmp";
    {
      std::ofstream out(tmp, std::ios::trunc);
      out << server.port() << "\n";
    }
    std::filesystem::rename(tmp, port_file);
  }
  // The I/O threads never see SIGINT/SIGTERM: the main thread waits for them and stops.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i)
    threads.emplace_back([&ioc] { ioc.run(); });
  int sig = 0;
  sigwait(&stop_signals, &sig);
  server.stop(std::chrono::steady_clock::now() + std::chrono::seconds(2));
  ioc.stop();
  for (auto& t : threads)
    t.join();
  workers->join();
  return 0;
}
