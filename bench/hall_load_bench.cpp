// Hall fan-out load (docs/BENCHMARKS.md, "Opening hall fan-out"): many viewers of one or more
// halls on one process, each a WebSocket session that joins with `hello` (public viewers: no
// token), then every event pushed to them is timed from its `at` (the server's clock when the
// event was written) to its receipt here (same machine, same clock). Run by bench/hall_bench.sh
// against tenderd and against the Node.js baseline (bench/hall_baseline.js), or by hand:
//
//   hall_load_bench --ws ws://127.0.0.1:PORT --tenders t-1,t-2 --clients N
//                   (--inject-http URL | --inject-sql CONNINFO) [--events E] [--bytes B]
//                   [--interval-ms I] [--server-pid PID] [--threads T]
//
// Injection: --inject-http POSTs URL/broadcast?hall=..&count=E&bytes=B&interval_ms=I (the
// baseline); --inject-sql commits each event the way the hall's writers do (one transaction:
// halls.last_seq + 1, INSERT INTO hall_events, NOTIFY tenderhall_hall '<tender_id> <seq>'), so
// tenderd's hubs read and fan it out exactly as they do an action's event. Reported: join time of
// all sessions, fan-out latency p50/p99/max over every (event, viewer), events missed, and the
// server's CPU time and peak RSS during the fan-out (from /proc/PID).
#include "bench_util.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/json.hpp>
#include <pqxx/pqxx>

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace json = boost::json;
using tcp = asio::ip::tcp;
using clock_type = std::chrono::system_clock;

namespace {

struct options {
  std::string host = "127.0.0.1";
  std::string port;
  std::vector<std::string> tenders;
  int clients = 100;  // per hall
  int events = 20;
  int bytes = 300;
  int interval_ms = 50;
  std::string inject_http;
  std::string inject_sql;
  int server_pid = 0;
  int threads = 1;
};

struct stats {
  std::mutex m;
  std::vector<double> latency_ms;
  std::atomic<int> joined{0};
  std::atomic<int> failed{0};
  std::atomic<long> received{0};
  std::atomic<long> other{0};  // events the server wrote itself (outages...), not injected
};

// One viewer: connect, upgrade, hello, then read forever.
class viewer : public std::enable_shared_from_this<viewer> {
public:
  viewer(asio::io_context& ioc, const options& o, std::string tender, stats& s)
      : ws_(asio::make_strand(ioc)),
        o_(o),
        tender_(std::move(tender)),
        s_(s),
        resolver_(ws_.get_executor()) {}

  void start() {
    resolver_.async_resolve(o_.host, o_.port, [self = shared_from_this()](auto ec, auto results) {
      if (ec) return self->fail();
      beast::get_lowest_layer(self->ws_).async_connect(results, [self](auto ec2, auto) {
        if (ec2) return self->fail();
        self->ws_.async_handshake(self->o_.host + ":" + self->o_.port, "/ws/halls/" + self->tender_,
                                  [self](auto ec3) {
                                    if (ec3) return self->fail();
                                    self->hello();
                                  });
      });
    });
  }

private:
  void fail() { ++s_.failed; }

  void hello() {
    ws_.text(true);
    auto msg = std::make_shared<std::string>(R"({"type":"hello","token":null,"after":null})");
    ws_.async_write(asio::buffer(*msg), [self = shared_from_this(), msg](auto ec, auto) {
      if (ec) return self->fail();
      self->read();
    });
  }

  void read() {
    ws_.async_read(buf_, [self = shared_from_this()](auto ec, auto) {
      if (ec) {
        if (!self->closed_) self->fail();
        return;
      }
      const auto received = bench::now_micros();
      const auto text = beast::buffers_to_string(self->buf_.data());
      self->buf_.consume(self->buf_.size());
      self->on_message(text, received);
      self->read();
    });
  }

  void on_message(const std::string& text, std::int64_t received) {
    // Cheap field reads: the load client must not be the bottleneck.
    if (text.find(R"("type":"snapshot")") != std::string::npos) {
      ++s_.joined;
      return;
    }
    if (text.find(R"("type":"event")") == std::string::npos) return;
    // The data object is PostgreSQL's jsonb text ("key": value, with a space): match the value.
    if (text.find(R"("o-bench")") == std::string::npos) {
      // An event the hall wrote itself (not one of ours): counted apart, the first few shown.
      if (s_.other++ < 5)
        std::cerr << "hall_load_bench: other event " << text.substr(0, 200) << "\n";
      return;
    }
    const auto at = text.find(R"("at":")");
    if (at == std::string::npos) return;
    const auto us = bench::micros_of(std::string_view(text).substr(at + 6, 27));
    ++s_.received;
    std::lock_guard lock(s_.m);
    s_.latency_ms.push_back(static_cast<double>(received - us) / 1000.0);
  }

  websocket::stream<beast::tcp_stream> ws_;
  const options& o_;
  std::string tender_;
  stats& s_;
  tcp::resolver resolver_;
  beast::flat_buffer buf_;
  bool closed_ = false;
};

void http_post(const std::string& url) {
  // url: http://host:port/path?query
  const auto rest = url.substr(7);
  const auto slash = rest.find('/');
  const auto hostport = rest.substr(0, slash);
  const auto colon = hostport.find(':');
  asio::io_context ioc;
  tcp::resolver r(ioc);
  beast::tcp_stream s(ioc);
  s.connect(r.resolve(hostport.substr(0, colon), hostport.substr(colon + 1)));
  beast::http::request<beast::http::string_body> req{beast::http::verb::post, rest.substr(slash),
                                                     11};
  req.set(beast::http::field::host, hostport);
  req.prepare_payload();
  beast::http::write(s, req);
  beast::flat_buffer b;
  beast::http::response<beast::http::string_body> res;
  beast::http::read(s, b, res);
}

// Commits one event per hall the way db::hall's writers do (halls.last_seq, INSERT, NOTIFY).
void inject_sql(const options& o) {
  pqxx::connection c(o.inject_sql);
  const std::string pad(static_cast<std::size_t>(std::max(0, o.bytes - 220)), 'x');
  for (int i = 0; i < o.events; ++i) {
    for (const auto& t : o.tenders) {
      pqxx::work tx(c);
      const auto seq = tx.exec_params1(
                             "UPDATE halls SET last_seq = last_seq + 1 "
                             "WHERE tender_id = $1 RETURNING last_seq",
                             t)[0]
                           .as<std::int64_t>();
      json::object data{{"lot", 1},        {"org_id", "o-bench"},  {"status", "done"},
                        {"attempts", 1},   {"via", "bidder"},      {"cause", nullptr},
                        {"side", nullptr}, {"treatment", nullptr}, {"message", nullptr},
                        {"pad", pad}};
      tx.exec_params(
          "INSERT INTO hall_events (tender_id, seq, kind, data) "
          "VALUES ($1, $2, 'decryption_status', $3::jsonb)",
          t, seq, json::serialize(data));
      tx.exec_params("SELECT pg_notify('tenderhall_hall', $1)", t + " " + std::to_string(seq));
      tx.commit();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(o.interval_ms));
  }
}

double quantile(std::vector<double>& v, double q) {
  if (v.empty()) return 0;
  const auto i =
      std::min(v.size() - 1, static_cast<std::size_t>(q * static_cast<double>(v.size())));
  return v[i];
}

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  for (std::string x; std::getline(in, x, ',');)
    if (!x.empty()) out.push_back(x);
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  options o;
  std::string ws_url;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--ws")
      ws_url = v;
    else if (k == "--tenders")
      o.tenders = split(v);
    else if (k == "--clients")
      o.clients = std::stoi(v);
    else if (k == "--events")
      o.events = std::stoi(v);
    else if (k == "--bytes")
      o.bytes = std::stoi(v);
    else if (k == "--interval-ms")
      o.interval_ms = std::stoi(v);
    else if (k == "--inject-http")
      o.inject_http = v;
    else if (k == "--inject-sql")
      o.inject_sql = v;
    else if (k == "--server-pid")
      o.server_pid = std::stoi(v);
    else if (k == "--threads")
      o.threads = std::stoi(v);
    else {
      std::cerr << "unknown option " << k << "\n";
      return 2;
    }
  }
  if (ws_url.rfind("ws://", 0) != 0 || o.tenders.empty() ||
      (o.inject_http.empty() == o.inject_sql.empty())) {
    std::cerr << "usage: hall_load_bench --ws ws://HOST:PORT --tenders T1,T2 --clients N "
                 "(--inject-http URL | --inject-sql CONNINFO) [--events E] [--bytes B] "
                 "[--interval-ms I] [--server-pid PID] [--threads T]\n";
    return 2;
  }
  const auto hp = ws_url.substr(5);
  o.host = hp.substr(0, hp.find(':'));
  o.port = hp.substr(hp.find(':') + 1);

  asio::io_context ioc;
  auto guard = asio::make_work_guard(ioc);
  stats s;
  std::vector<std::thread> threads;
  for (int i = 0; i < o.threads; ++i)
    threads.emplace_back([&] { ioc.run(); });

  const int total = o.clients * static_cast<int>(o.tenders.size());
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<std::shared_ptr<viewer>> viewers;
  // Join in waves so the listen backlog is not overrun.
  for (int i = 0; i < total; ++i) {
    auto v = std::make_shared<viewer>(ioc, o,
                                      o.tenders[static_cast<std::size_t>(i) % o.tenders.size()], s);
    viewers.push_back(v);
    v->start();
    if (i % 200 == 199) {
      while (s.joined + s.failed < i - 400)
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
  while (s.joined + s.failed < total &&
         std::chrono::steady_clock::now() - t0 < std::chrono::seconds(300))
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  const double join_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::cerr << "joined " << s.joined << " of " << total << " (" << s.failed << " failed) in "
            << join_s << " s\n";

  const auto before = bench::sample(o.server_pid);
  bench::reset_hwm(o.server_pid);
  const auto t1 = std::chrono::steady_clock::now();
  if (!o.inject_http.empty()) {
    http_post(o.inject_http + "/broadcast?count=" + std::to_string(o.events) + "&bytes=" +
              std::to_string(o.bytes) + "&interval_ms=" + std::to_string(o.interval_ms));
  } else {
    inject_sql(o);
  }
  const long expected = static_cast<long>(s.joined) * o.events;
  while (s.received < expected && std::chrono::steady_clock::now() - t1 < std::chrono::seconds(120))
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  const double fanout_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count();
  const auto after = bench::sample(o.server_pid);

  std::vector<double> lat;
  {
    std::lock_guard lock(s.m);
    lat = s.latency_ms;
  }
  std::sort(lat.begin(), lat.end());
  json::object out{{"halls", o.tenders.size()},
                   {"clients_per_hall", o.clients},
                   {"joined", s.joined.load()},
                   {"join_failed", s.failed.load()},
                   {"join_s", join_s},
                   {"events_per_hall", o.events},
                   {"event_bytes", o.bytes},
                   {"deliveries_expected", expected},
                   {"deliveries", s.received.load()},
                   {"other_events", s.other.load()},
                   {"fanout_s", fanout_s},
                   {"latency_p50_ms", quantile(lat, 0.50)},
                   {"latency_p99_ms", quantile(lat, 0.99)},
                   {"latency_max_ms", lat.empty() ? 0.0 : lat.back()},
                   {"server_cpu_s", after.cpu_s - before.cpu_s},
                   {"server_peak_rss_mib",
                    static_cast<double>(std::max(after.hwm_kib, before.rss_kib)) / 1024.0}};
  std::cout << json::serialize(out) << std::endl;
  std::_Exit(0);  // thousands of sockets: let the kernel close them
}
