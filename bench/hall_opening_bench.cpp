// A whole remote opening under load, on the SDK (docs/BENCHMARKS.md, "Opening hall: a whole
// opening on the SDK"). One process holds every bidder: each an asynchronous
// tender::client::hall::session on one shared io_context, signing in and decrypting with its own
// keys. Run by bench/hall_bench.sh, or by hand against a tenderd whose database it may write:
//
//   hall_opening_bench --server http://127.0.0.1:PORT --conninfo CONNINFO --admin-key FILE
//                      [--halls H] [--bidders N] [--threads T] [--server-pid PID] [--prefix P]
//                      [--view summary|full]
//
// The bidders use the summary view (hall-protocol.md §4.1) unless --view full: with full, every
// bidder gets every other bidder's events and the fan-out grows as the square of the bidders.
//
// Setup (timed apart, not part of the figures): the admin (user `root`, key FILE) creates one
// organisation, user and Ed25519 key per bidder through the API and each bidder logs in; each
// hall's tender is a sandbox tender written by SQL (as tests/support/e2e/hall_world.hpp does: the
// publication rules would make the deadline a minute away); every bidder seals a 4 KiB bid
// locally (X25519 + Ed25519, libsodium suite) and uploads it with the tus API.
//
// The opening, per hall, all halls at once: every bidder joins (snapshot), the host commits, all
// bidders sign in (signed challenge), the deadline passes on the database clock and the scheduler
// seals the bids, the host checks the guarantees and publishes the list, the window opens and
// every bidder decrypts (unwraps its file key locally, submits it signed; the server opens and
// verifies every bid on its worker threads). When the host has seen every bid `done` the window's
// end is moved to now, the clock job closes it, and the host announces.
//
// Reported (JSON on stdout, progress on stderr): join, sign-in and decryption times; window open
// → all decrypted → window closed → announced; fan-out latency p50/p99/max over every event
// delivered to every bidder (event `at`, the server's clock when it was written, to its receipt
// here, same machine); events and deliveries; the server's CPU seconds and peak RSS over the
// opening (/proc/PID) and this process's own.
#include "bench_util.hpp"

#include <tender/client/bids.hpp>
#include <tender/client/client.hpp>
#include <tender/client/hall.hpp>
#include <tender/crypto/bytes.hpp>
#include <tender/crypto/init.hpp>
#include <tender/crypto/keys.hpp>
#include <tender/crypto/sealed_bid.hpp>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>
#include <pqxx/pqxx>

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <future>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

namespace asio = boost::asio;
namespace json = boost::json;
namespace hall = tender::client::hall;
namespace tc = tender::crypto;
using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

struct options {
  std::string server;
  std::string conninfo;
  std::string admin_key;
  int halls = 1;
  int bidders = 100;  // per hall
  int threads = 4;    // setup threads (API calls, sealing)
  int io_threads = 2;
  int server_pid = 0;
  std::string prefix = "ob";
  std::string view = "summary";  // the bidders' view (hall-protocol.md §4.1)
};

double seconds_since(steady::time_point t) {
  return std::chrono::duration<double>(steady::now() - t).count();
}

void progress(const std::string& s) {
  std::cerr << "hall_opening_bench: " << s << std::endl;
}

struct bidder {
  int hall = 0;
  int index = 0;  // global
  std::string org_id;
  std::string user_id;
  tc::private_key sign = tc::private_key::generate(tc::key_type::ed25519);
  tc::private_key enc = tc::private_key::generate(tc::key_type::x25519);
  std::string token;
  std::string header;  // the sealed header's bytes
  hall::nonce_commitment nonce;
  hall::signer signer() const {
    hall::signer s;
    s.fingerprint = sign.public_part().fingerprint();
    auto key = sign;
    s.sign = [key](std::string_view m) {
      const auto sig = tc::sign_message(key, tc::as_bytes(m));
      return std::string(sig.begin(), sig.end());
    };
    return s;
  }
};

tender::client::login_signer login_signer_of(const tc::private_key& key) {
  return [key](std::string_view m) {
    const auto sig = tc::sign_message(key, tc::as_bytes(m));
    return std::string(sig.begin(), sig.end());
  };
}

std::unique_ptr<tender::client::client> logged_in(const options& o, const std::string& user,
                                                  const tc::private_key& key,
                                                  std::string* token = nullptr) {
  tender::client::options co;
  co.server = o.server;
  auto c = std::make_unique<tender::client::client>(co);
  const auto s = c->login(user, key.public_part().fingerprint(), login_signer_of(key));
  if (token != nullptr) *token = s.token;
  return c;
}

// Runs f(i) for i in [0, n) on `threads` threads; f gets the thread's number too.
void parallel(int n, int threads, const std::function<void(int, int)>& f) {
  std::atomic<int> next{0};
  std::mutex m;
  std::exception_ptr first;
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t) {
    ts.emplace_back([&, t] {
      for (int i; (i = next++) < n;) {
        try {
          f(i, t);
        } catch (...) {
          std::lock_guard lock(m);
          if (!first) first = std::current_exception();
          next = n;
        }
      }
    });
  }
  for (auto& t : ts)
    t.join();
  if (first) std::rethrow_exception(first);
}

std::string tender_id_of(const options& o, int h) {
  // Six hex digits from the prefix, ten from the hall's number: runs with other prefixes on the
  // same database do not collide.
  char buf[32];
  const auto tag = static_cast<unsigned long long>(std::hash<std::string>{}(o.prefix) & 0xffffff);
  std::snprintf(buf, sizeof buf, "t-%06llx%010llx", tag, static_cast<unsigned long long>(h));
  return buf;
}

// The figures of one hall.
struct hall_figures {
  double join_s = 0, sign_in_s = 0, decrypt_acks_s = 0, all_done_s = 0, window_closed_s = 0,
         announced_s = 0;
  std::int64_t events = 0;
};

struct shared_state {
  bench::histogram latency;
  std::atomic<std::uint64_t> deliveries{0};
  std::atomic<std::uint64_t> redacted{0};
  std::atomic<std::uint64_t> skips{0};    // skip messages (summary view)
  std::atomic<std::uint64_t> skipped{0};  // events inside them
  std::atomic<std::uint64_t> progress{0};
  std::atomic<int> disconnects{0};
  std::atomic<int> fatals{0};
};

class opening {
public:
  opening(const options& o, int h, std::vector<bidder*> bs, const tc::private_key& host_key,
          asio::io_context& ioc, shared_state& st)
      : o_(o),
        h_(h),
        t_(tender_id_of(o, h)),
        b_(std::move(bs)),
        host_key_(host_key),
        ioc_(ioc),
        st_(st) {}

  hall_figures run() {
    hall_figures f;
    pqxx::connection db(o_.conninfo);
    auto exec = [&](const std::string& sql) {
      pqxx::work tx(db);
      tx.exec0(sql);
      tx.commit();
    };
    std::string host_token;
    logged_in(o_, o_.prefix + "-host", host_key_, &host_token);
    hall::session_options ho;
    ho.server.server = o_.server;
    ho.tender_id = t_;
    ho.token = host_token;
    hall::blocking_session host(ho);

    // Every bidder joins.
    auto t0 = steady::now();
    std::vector<std::promise<void>> joined(b_.size());
    std::vector<std::unique_ptr<hall::session>> s;
    for (std::size_t i = 0; i < b_.size(); ++i) {
      hall::session_options so;
      so.server.server = o_.server;
      so.tender_id = t_;
      so.token = b_[i]->token;
      so.ping_interval = std::chrono::seconds(60);
      so.view = o_.view;
      so.on_skip = [this](std::int64_t from, std::int64_t to) {
        st_.skips.fetch_add(1, std::memory_order_relaxed);
        st_.skipped.fetch_add(static_cast<std::uint64_t>(to - from + 1), std::memory_order_relaxed);
      };
      so.on_progress = [this](const std::string&) {
        st_.progress.fetch_add(1, std::memory_order_relaxed);
      };
      auto once = std::make_shared<std::atomic<bool>>(false);
      so.on_snapshot = [&joined, i, once](const hall::snapshot&) {
        if (!once->exchange(true)) joined[i].set_value();
      };
      so.on_event = [this](const hall::event& e) {
        st_.deliveries.fetch_add(1, std::memory_order_relaxed);
        if (e.kind == "redacted") {
          st_.redacted.fetch_add(1, std::memory_order_relaxed);
          return;
        }
        st_.latency.add_micros(bench::now_micros() - bench::micros_of(e.at));
      };
      so.on_disconnect = [this](const tender::client::error&) { ++st_.disconnects; };
      so.on_fatal = [this](const tender::client::error& e) {
        if (st_.fatals++ < 5) progress(std::string("session ended: ") + e.what());
      };
      s.push_back(std::make_unique<hall::session>(ioc_, std::move(so)));
    }
    // In waves, so the listen backlog is not flooded.
    const std::size_t wave = 500;
    for (std::size_t i = 0; i < s.size(); i += wave) {
      const auto end = std::min(s.size(), i + wave);
      for (std::size_t j = i; j < end; ++j)
        s[j]->start();
      for (std::size_t j = i; j < end; ++j) {
        if (joined[j].get_future().wait_for(120s) != std::future_status::ready) {
          throw std::runtime_error("bidder " + std::to_string(j) + " did not join in 120 s");
        }
      }
    }
    f.join_s = seconds_since(t0);
    if (h_ == 0) progress("hall 0: " + std::to_string(s.size()) + " bidders joined");

    const auto host_nonce = hall::make_nonce();
    hall::expect_ok(host.act("commit_host", R"({"commitment":")" + host_nonce.commitment + "\"}"));

    // Sign-in, all at once.
    t0 = steady::now();
    all_acts(s, [&](std::size_t i, auto done) {
      b_[i]->nonce = hall::make_nonce();
      hall::signed_act(*s[i], t_, "sign_in", hall::sign_in_params(b_[i]->nonce.commitment),
                       b_[i]->nonce.commitment, b_[i]->signer(), std::move(done));
    });
    f.sign_in_s = seconds_since(t0);
    if (h_ == 0) progress("hall 0: all signed in");

    // The deadline passes; the scheduler seals the bids.
    exec(
        "UPDATE tenders SET deadline_at = clock_timestamp() - interval '1 millisecond', "
        "opening_at = clock_timestamp() WHERE id = '" +
        t_ + "'");
    exec(
        "UPDATE scheduled_jobs SET due_at = clock_timestamp() WHERE kind = 'tender.deadline' AND "
        "subject = '" +
        t_ + "'");
    host.wait_for_kind("bids_sealed", 120s);
    hall::expect_ok(host.act("check_guarantees", "{}", 120s));
    hall::expect_ok(host.act("publish_list", "{}", 120s));
    hall::expect_ok(host.act("open_window", "{}", 120s));
    const auto window_open = steady::now();
    if (h_ == 0) progress("hall 0: window open");

    // Every bidder decrypts.
    const auto decrypt_from = host.last_seq();
    all_acts(s, [&](std::size_t i, auto done) {
      const auto key = hall::unwrap_key_from_header(b_[i]->header, pem(b_[i]->enc)).key;
      hall::signed_act(*s[i], t_, "decrypt", hall::decrypt_params(1, "primary", key),
                       hall::decrypt_payload(1, "primary", key), b_[i]->signer(), std::move(done));
    });
    f.decrypt_acks_s = seconds_since(window_open);
    std::set<std::string> done;
    host.wait_for(
        [&](const hall::event& e) {
          if (e.seq <= decrypt_from || e.kind != "decryption_status") return false;
          const auto d = json::parse(e.data_json).as_object();
          if (d.at("status").as_string() == "done")
            done.insert(std::string(d.at("org_id").as_string()));
          if (d.at("status").as_string() == "failed") {
            throw std::runtime_error("a bid failed to open: " + e.data_json);
          }
          return done.size() == b_.size();
        },
        600s);
    f.all_done_s = seconds_since(window_open);
    if (h_ == 0) progress("hall 0: all decrypted");

    // The window's end comes now; the clock job closes it; the host announces.
    exec("UPDATE halls SET window_closes_at = clock_timestamp() WHERE tender_id = '" + t_ + "'");
    exec(
        "UPDATE scheduled_jobs SET due_at = clock_timestamp() WHERE kind = 'hall.window_close' "
        "AND subject = '" +
        t_ + "' AND fired_at IS NULL");
    host.wait_for_kind("window_closed", 120s);
    f.window_closed_s = seconds_since(window_open);
    hall::expect_ok(host.act("announce", "{}", 120s));
    f.announced_s = seconds_since(window_open);
    // Every bidder has the announcement.
    const auto head = host.last_seq();
    const auto give_up = steady::now() + 300s;
    for (auto& x : s) {
      while (x->last_seq() < head && steady::now() < give_up)
        std::this_thread::sleep_for(20ms);
    }
    f.events = head;
    for (auto& x : s)
      x->close();
    return f;
  }

private:
  static std::string pem(const tc::private_key& k) {
    const auto p = k.to_pem();
    return {reinterpret_cast<const char*>(p.data()), p.size()};
  }

  // Starts one act per session (through `start`) and waits for all answers; throws on a refusal.
  void all_acts(
      std::vector<std::unique_ptr<hall::session>>& s,
      const std::function<void(std::size_t, std::function<void(hall::act_result)>)>& start) {
    std::mutex m;
    std::condition_variable cv;
    std::size_t answered = 0;
    std::optional<hall::act_result> refused;
    for (std::size_t i = 0; i < s.size(); ++i) {
      start(i, [&](hall::act_result r) {
        std::lock_guard lock(m);
        ++answered;
        if (!r.ok && !refused) refused = r;
        cv.notify_all();
      });
    }
    std::unique_lock lock(m);
    if (!cv.wait_for(lock, 600s, [&] { return answered == s.size(); })) {
      throw std::runtime_error("not every act was answered in 600 s");
    }
    if (refused) throw std::runtime_error("refused: " + refused->code + " " + refused->message);
  }

  const options& o_;
  int h_;
  std::string t_;
  std::vector<bidder*> b_;
  const tc::private_key& host_key_;
  asio::io_context& ioc_;
  shared_state& st_;
};

options parse(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) throw std::runtime_error(a + " needs a value");
      return argv[++i];
    };
    if (a == "--server")
      o.server = next();
    else if (a == "--conninfo")
      o.conninfo = next();
    else if (a == "--admin-key")
      o.admin_key = next();
    else if (a == "--halls")
      o.halls = std::stoi(next());
    else if (a == "--bidders")
      o.bidders = std::stoi(next());
    else if (a == "--threads")
      o.threads = std::stoi(next());
    else if (a == "--io-threads")
      o.io_threads = std::stoi(next());
    else if (a == "--server-pid")
      o.server_pid = std::stoi(next());
    else if (a == "--prefix")
      o.prefix = next();
    else if (a == "--view")
      o.view = next();
    else if (a == "-h" || a == "--help") {
      std::cout << "usage: hall_opening_bench --server URL --conninfo CONNINFO --admin-key FILE\n"
                   "       [--halls H] [--bidders N per hall] [--threads T] [--io-threads T]\n"
                   "       [--server-pid PID] [--prefix P] [--view summary|full]\n";
      std::exit(0);
    } else {
      throw std::runtime_error("unknown argument " + a);
    }
  }
  if (o.server.empty() || o.conninfo.empty() || o.admin_key.empty()) {
    throw std::runtime_error("--server, --conninfo and --admin-key are required (see --help)");
  }
  return o;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

int run(const options& o) {
  tc::init();
  const auto admin_key = tc::private_key::from_pem(read_file(o.admin_key));
  const int total = o.halls * o.bidders;
  const auto setup_start = steady::now();

  // The host (center staff) and the tenders.
  auto admin = logged_in(o, "root", admin_key);
  const auto host_key = tc::private_key::generate(tc::key_type::ed25519);
  admin->create_org(o.prefix + "-center", "center", "Bench center " + o.prefix);
  admin->create_user(o.prefix + "-center", o.prefix + "-host", "Bench host", {"center_staff"});
  admin->add_key(o.prefix + "-host", host_key.public_part().to_pem());
  {
    pqxx::connection db(o.conninfo);
    pqxx::work tx(db);
    for (int h = 0; h < o.halls; ++h) {
      const auto id = tender_id_of(o, h);
      tx.exec0(
          "INSERT INTO tenders (id, project_code, title, kind, rule_pack, owner_org, created_by, "
          "state, published_at, deadline_at, opening_at, key_policy, decryption_window_s, "
          "confirmation_window_s) VALUES ('" +
          id + "', 'BENCH-" + o.prefix + "-" + std::to_string(h) + "', 'Opening bench " +
          std::to_string(h) +
          "', 'works', 'sandbox', 'platform', 'root', 'published', now(), clock_timestamp() + "
          "interval '1 hour', clock_timestamp() + interval '1 hour', 'bidder_only', 3600, 3600)");
      tx.exec0(
          "INSERT INTO lots (tender_id, lot_no, title, estimated_price, ceiling_price, "
          "bond_amount, "
          "summary_fields) VALUES ('" +
          id +
          "', 1, 'Lot', 100000000, 120000000, 0, "
          "'[{\"key\":\"price\",\"label\":\"投标报价\",\"type\":\"money\"}]')");
      tx.exec0(
          "INSERT INTO scheduled_jobs (kind, subject, due_at) SELECT 'tender.deadline', id, "
          "deadline_at FROM tenders WHERE id = '" +
          id + "'");
    }
    tx.commit();
  }

  // Bidders: organisation, user, key, login, sealed bid, upload.
  std::vector<std::unique_ptr<bidder>> bidders(static_cast<std::size_t>(total));
  std::vector<std::unique_ptr<tender::client::client>> admins;
  for (int t = 0; t < o.threads; ++t)
    admins.push_back(logged_in(o, "root", admin_key));
  std::atomic<int> made{0};
  parallel(total, o.threads, [&](int i, int t) {
    auto b = std::make_unique<bidder>();
    b->hall = i / o.bidders;
    b->index = i;
    b->org_id = o.prefix + "-o" + std::to_string(i);
    b->user_id = o.prefix + "-u" + std::to_string(i);
    auto& a = *admins[static_cast<std::size_t>(t)];
    a.create_org(b->org_id, "bidder", "Bidder " + std::to_string(i));
    a.create_user(b->org_id, b->user_id, "Bidder " + std::to_string(i), {"bidder"});
    a.add_key(b->user_id, b->sign.public_part().to_pem());
    auto c = logged_in(o, b->user_id, b->sign, &b->token);

    namespace ts = tc::sealed;
    ts::seal_params p;
    p.suite = tc::suite_id::sodium;
    p.policy = ts::key_policy::bidder;
    p.tender_id = tender_id_of(o, b->hall) + "/1";
    p.bidder_id = b->org_id;
    p.bidder_keys = {b->enc.public_part()};
    p.signing_key = b->sign;
    p.parallel_hashing = false;
    std::string body(4096, static_cast<char>('a' + i % 26));
    std::istringstream in(body);
    std::ostringstream out;
    ts::seal(p, R"({"price":")" + std::to_string(90000000 + i) + R"("})", in, out);
    const auto sealed = out.str();
    std::istringstream file(sealed);
    const auto layout = ts::inspect(file);
    b->header.assign(layout.hdr.encoded.begin(), layout.hdr.encoded.end());
    namespace bids = tender::client::bids;
    const auto created = bids::create_upload(*c, tender_id_of(o, b->hall), 1, sealed.size(),
                                             "bid.thsb", "hall-opening-bench/1");
    bids::patch(*c, created.upload_id, 0, sealed);
    bidders[static_cast<std::size_t>(i)] = std::move(b);
    const int n = ++made;
    if (n % 1000 == 0 || n == total) progress(std::to_string(n) + " bidders set up");
  });
  const double setup_s = seconds_since(setup_start);

  // The opening: every hall at once, every bidder session on one io_context.
  asio::io_context ioc;
  auto guard = asio::make_work_guard(ioc);
  std::vector<std::thread> io;
  for (int t = 0; t < o.io_threads; ++t)
    io.emplace_back([&] { ioc.run(); });
  shared_state st;
  const auto before = bench::sample(o.server_pid);
  bench::reset_hwm(o.server_pid);
  const auto start = steady::now();
  std::vector<std::future<hall_figures>> fs;
  std::vector<std::unique_ptr<opening>> openings;
  for (int h = 0; h < o.halls; ++h) {
    std::vector<bidder*> bs;
    for (int i = h * o.bidders; i < (h + 1) * o.bidders; ++i)
      bs.push_back(bidders[static_cast<std::size_t>(i)].get());
    openings.push_back(std::make_unique<opening>(o, h, std::move(bs), host_key, ioc, st));
    fs.push_back(std::async(std::launch::async, [&op = *openings.back()] { return op.run(); }));
  }
  std::vector<hall_figures> figs;
  std::string failed;
  for (auto& f : fs) {
    try {
      figs.push_back(f.get());
    } catch (const std::exception& e) {
      if (failed.empty()) failed = e.what();
    }
  }
  const double total_s = seconds_since(start);
  const auto after = bench::sample(o.server_pid);
  const auto self = bench::sample(static_cast<int>(getpid()));
  guard.reset();
  ioc.stop();
  for (auto& t : io)
    t.join();
  if (!failed.empty()) throw std::runtime_error("an opening failed: " + failed);

  auto worst = [&](double hall_figures::*m) {
    double w = 0;
    for (const auto& f : figs)
      w = std::max(w, f.*m);
    return w;
  };
  std::int64_t events = 0;
  for (const auto& f : figs)
    events += f.events;
  json::object r{
      {"halls", o.halls},
      {"bidders_per_hall", o.bidders},
      {"setup_s", setup_s},
      {"opening_s", total_s},
      {"join_s", worst(&hall_figures::join_s)},
      {"sign_in_s", worst(&hall_figures::sign_in_s)},
      {"decrypt_acks_s", worst(&hall_figures::decrypt_acks_s)},
      {"window_open_to_all_decrypted_s", worst(&hall_figures::all_done_s)},
      {"window_open_to_closed_s", worst(&hall_figures::window_closed_s)},
      {"window_open_to_announced_s", worst(&hall_figures::announced_s)},
      {"events", events},
      {"deliveries", st.deliveries.load()},
      {"redacted_deliveries", st.redacted.load()},
      {"view", o.view},
      {"skip_ranges", st.skips.load()},  // alone or inside a progress message
      {"skipped_events", st.skipped.load()},
      {"progress_messages", st.progress.load()},
      {"latency_p50_ms", st.latency.quantile_ms(0.50)},
      {"latency_p99_ms", st.latency.quantile_ms(0.99)},
      {"latency_max_ms", st.latency.max_ms()},
      {"disconnects", st.disconnects.load()},
      {"server_cpu_s", after.cpu_s - before.cpu_s},
      {"server_peak_rss_mib", static_cast<double>(after.hwm_kib) / 1024.0},
      {"bench_cpu_s", self.cpu_s},
      {"bench_peak_rss_mib", static_cast<double>(self.hwm_kib) / 1024.0},
  };
  std::cout << json::serialize(r) << std::endl;
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(parse(argc, argv));
  } catch (const std::exception& e) {
    std::cerr << "hall_opening_bench: " << e.what() << std::endl;
    return 1;
  }
}
