// A deadline surge (issue 5, acceptance 5): many bidders upload sealed files at once over tus,
// against a running tenderd, next to nginx accepting the same request bodies to disk with the
// same concurrency. Run through bench/upload_surge.sh, which starts both servers, or by hand:
//
//   upload_surge_bench --server URL --admin-key PEM [--nginx URL] [--tenderd-pid PID]
//                      [--files N] [--mib S] [--big-gib G] [--concurrency C] [--piece-mib P]
//                      [--dir DIR] [--keep]
//
// Setup (not timed): as the administrator, a tenderer organisation and a sandbox tender with one
// lot (deadline in two days, published), then N bidder organisations, each with a user, an
// Ed25519 key and a session; then each bidder's sealed file (sodium suite, the bidder's signature,
// S MiB of body) under DIR. With --big-gib one more bidder seals one file of G GiB.
//
// Measured, first against nginx (when given), then against tenderd: N uploads with at most C in
// flight, each sent as requests of P MiB streamed from the file (tenderd: tus creation, then
// PATCHes with Upload-Offset; nginx: the same bodies as POSTs to a location that stores them and
// answers 204). Reported: ingest MiB/s (all file bytes / wall time), the time from the last byte
// of each upload's final request to its answer (tenderd: the final PATCH's 204, which comes once
// the file is verified, the bid recorded and the receipt signed), p50/p99/max, failures, and the
// peak RSS of tenderd during the run (VmHWM, reset before each run through clear_refs).
#include <tender/client/client.hpp>
#include <tender/client/tenders.hpp>
#include <tender/crypto/init.hpp>
#include <tender/crypto/keys.hpp>
#include <tender/crypto/sealed_bid.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <optional>
#include <random>
#include <sstream>
#include <streambuf>
#include <string>
#include <thread>
#include <vector>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;
namespace fs = std::filesystem;
using asio::ip::tcp;
using clock_type = std::chrono::steady_clock;

namespace {

struct config {
  std::string server;
  std::string nginx;
  std::string admin_user = "root";
  std::string admin_key;
  int tenderd_pid = 0;
  int files = 500;
  std::uint64_t mib = 20;
  std::uint64_t big_gib = 0;
  int concurrency = 0;  // 0: all at once
  std::uint64_t piece_mib = 8;
  std::string dir = "/tmp/upload-surge";
  bool keep = false;
};

[[noreturn]] void usage(const char* why) {
  std::fprintf(stderr,
               "upload_surge_bench: %s\n"
               "usage: upload_surge_bench --server URL --admin-key PEM [--admin-user ID] [--nginx "
               "URL]\n"
               "       [--tenderd-pid PID] [--files N] [--mib S] [--big-gib G] [--concurrency C]\n"
               "       [--piece-mib P] [--dir DIR] [--keep]\n",
               why);
  std::exit(2);
}

config parse_args(int argc, char** argv) {
  config c;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage(("missing value for " + a).c_str());
      return argv[++i];
    };
    if (a == "--server") {
      c.server = value();
    } else if (a == "--nginx") {
      c.nginx = value();
    } else if (a == "--admin-user") {
      c.admin_user = value();
    } else if (a == "--admin-key") {
      c.admin_key = value();
    } else if (a == "--tenderd-pid") {
      c.tenderd_pid = std::stoi(value());
    } else if (a == "--files") {
      c.files = std::stoi(value());
    } else if (a == "--mib") {
      c.mib = std::stoull(value());
    } else if (a == "--big-gib") {
      c.big_gib = std::stoull(value());
    } else if (a == "--concurrency") {
      c.concurrency = std::stoi(value());
    } else if (a == "--piece-mib") {
      c.piece_mib = std::stoull(value());
    } else if (a == "--dir") {
      c.dir = value();
    } else if (a == "--keep") {
      c.keep = true;
    } else {
      usage(("unknown argument " + a).c_str());
    }
  }
  if (c.server.empty() || c.admin_key.empty()) usage("--server and --admin-key are required");
  if (c.files < 0 || c.piece_mib == 0) usage("bad --files or --piece-mib");
  return c;
}

// "http://127.0.0.1:8080" -> host, port.
std::pair<std::string, std::string> host_port(const std::string& url) {
  auto rest = url.substr(url.find("://") + 3);
  if (const auto slash = rest.find('/'); slash != std::string::npos) rest.resize(slash);
  const auto colon = rest.rfind(':');
  return {rest.substr(0, colon), rest.substr(colon + 1)};
}

std::string unix_time_text(std::int64_t offset_s) {
  const auto t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now()) + offset_s;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// Pseudo-random bytes generated on the fly: a body of any size without holding it.
class generated_body : public std::streambuf {
public:
  generated_body(std::uint64_t size, std::uint64_t seed) : left_(size), state_(seed | 1) {}

protected:
  int_type underflow() override {
    if (left_ == 0) return traits_type::eof();
    const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(left_, buf_.size()));
    for (std::size_t i = 0; i + 8 <= n; i += 8) {
      state_ ^= state_ << 13;
      state_ ^= state_ >> 7;
      state_ ^= state_ << 17;
      std::memcpy(buf_.data() + i, &state_, 8);
    }
    for (std::size_t i = n & ~std::size_t{7}; i < n; ++i)
      buf_[i] = static_cast<char>(i);
    left_ -= n;
    setg(buf_.data(), buf_.data(), buf_.data() + n);
    return traits_type::to_int_type(buf_[0]);
  }

private:
  std::array<char, 1 << 16> buf_{};
  std::uint64_t left_;
  std::uint64_t state_;
};

struct bidder {
  std::string org;
  std::string user;
  tender::crypto::private_key key;
  std::string token;
  fs::path file;
  std::uint64_t size = 0;
};

tender::client::login_signer signer_of(const tender::crypto::private_key& key) {
  return [&key](std::string_view message) {
    const auto sig = tender::crypto::sign_message(key, tender::crypto::as_bytes(message));
    return std::string(sig.begin(), sig.end());
  };
}

std::unique_ptr<tender::client::client> client_for(const config& cfg) {
  tender::client::options o;
  o.server = cfg.server;
  o.timeout = std::chrono::seconds(120);
  return std::make_unique<tender::client::client>(o);
}

// The tender the bidders upload to: sandbox rules, one lot, published. Returns its id.
std::string make_tender(const config& cfg, tender::client::client& admin, const std::string& run) {
  const auto host_key = tender::crypto::private_key::generate(tender::crypto::key_type::ed25519);
  const std::string org = "surge-host-" + run;
  admin.create_org(org, "tenderer", "Surge host " + run);
  admin.create_user(org, org, "Surge host", {"tenderer"});
  admin.add_key(org, host_key.public_part().to_pem());
  auto host = client_for(cfg);
  host->login(org, host_key.public_part().fingerprint(), signer_of(host_key));
  const json::object doc{
      {"project_code", "SURGE-" + run},
      {"title", "Deadline surge " + run},
      {"kind", "works"},
      {"rule_pack", "sandbox"},
      {"deadline_at", unix_time_text(2 * 86400)},
      {"opening_at", unix_time_text(2 * 86400 + 3600)},
      {"lots",
       json::array{json::object{
           {"lot_no", 1},
           {"title", "Lot 1"},
           {"estimated_price", 1'000'000'000},
           {"bond_amount", 10'000'000},
           {"summary_fields", json::array{json::object{
                                  {"key", "price"}, {"label", "投标报价"}, {"type", "money"}}}}}}}};
  const auto created = tender::client::create_tender(*host, json::serialize(doc));
  const auto published = tender::client::publish_tender(*host, created.id, created.etag);
  if (published.state != "published") throw std::runtime_error("tender not published");
  return created.id;
}

std::vector<bidder> make_bidders(const config& cfg, tender::client::client& admin,
                                 const std::string& run, int count, const std::string& prefix) {
  std::vector<bidder> out;
  out.reserve(static_cast<std::size_t>(count));
  for (int i = 0; i < count; ++i) {
    bidder b;
    b.org = prefix + "-" + run + "-" + std::to_string(i);
    b.user = b.org;
    b.key = tender::crypto::private_key::generate(tender::crypto::key_type::ed25519);
    admin.create_org(b.org, "bidder", "Bidder " + b.org);
    admin.create_user(b.org, b.user, "Bidder user", {"bidder"});
    admin.add_key(b.user, b.key.public_part().to_pem());
    auto c = client_for(cfg);
    b.token = c->login(b.user, b.key.public_part().fingerprint(), signer_of(b.key)).token;
    out.push_back(std::move(b));
  }
  return out;
}

// Seals each bidder's file (on `threads` threads).
void seal_files(std::vector<bidder>& bidders, const std::string& subject, std::uint64_t body_size,
                const fs::path& dir, int threads) {
  const auto encryption = tender::crypto::private_key::generate(tender::crypto::key_type::x25519);
  std::atomic<std::size_t> next{0};
  std::mutex failure_mutex;
  std::string failure;
  auto work = [&] {
    for (std::size_t i = next++; i < bidders.size(); i = next++) {
      auto& b = bidders[i];
      try {
        tender::crypto::sealed::seal_params p;
        p.suite = tender::crypto::suite_id::sodium;
        p.policy = tender::crypto::sealed::key_policy::bidder;
        p.tender_id = subject;
        p.bidder_id = b.org;
        p.bidder_keys = {encryption.public_part()};
        p.signing_key = b.key;
        p.parallel_hashing = false;
        b.file = dir / (b.org + ".thsb");
        generated_body gen(body_size, 0x9e3779b97f4a7c15ull * (i + 1));
        std::istream in(&gen);
        std::ofstream out(b.file, std::ios::binary | std::ios::trunc);
        const auto r = tender::crypto::sealed::seal(p, R"({"price":100})", in, out);
        out.close();
        if (!out) throw std::runtime_error("cannot write " + b.file.string());
        b.size = r.file_size;
      } catch (const std::exception& e) {
        std::lock_guard lock(failure_mutex);
        failure = e.what();
      }
    }
  };
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t)
    pool.emplace_back(work);
  for (auto& t : pool)
    t.join();
  if (!failure.empty()) throw std::runtime_error("sealing failed: " + failure);
}

// ---- The uploads --------------------------------------------------------------------------------

struct upload_job {
  const bidder* who = nullptr;
  std::size_t index = 0;
  bool ok = false;
  std::string error;
  double tail_seconds = -1;  // last byte of the final request -> its answer
  std::string receipt;
};

struct run_target {
  bool tus = false;  // tenderd (tus) or nginx (plain POSTs)
  std::string host;
  std::string port;
  std::string tender_id;
  std::uint64_t piece = 8u << 20;
};

std::string header_text(const run_target& t, const upload_job& j, const std::string& path,
                        std::uint64_t offset, std::uint64_t n) {
  std::string h = (t.tus ? "PATCH " : "POST ") + path + " HTTP/1.1\r\nHost: " + t.host + ":" +
                  t.port + "\r\nContent-Length: " + std::to_string(n) + "\r\n";
  if (t.tus) {
    h += "Authorization: Bearer " + j.who->token +
         "\r\nTus-Resumable: 1.0.0\r\nContent-Type: application/offset+octet-stream\r\n"
         "Upload-Offset: " +
         std::to_string(offset) + "\r\nTender-Client: upload-surge-bench/1\r\n";
  } else {
    h += "Content-Type: application/octet-stream\r\n";
  }
  return h + "\r\n";
}

asio::awaitable<void> upload_one(const run_target& t, upload_job& j) {
  auto ex = co_await asio::this_coro::executor;
  tcp::resolver resolver(ex);
  const auto endpoints = co_await resolver.async_resolve(t.host, t.port, asio::use_awaitable);
  beast::tcp_stream stream(ex);
  co_await stream.async_connect(endpoints, asio::use_awaitable);
  beast::flat_buffer buffer;
  std::string path;
  const auto size = j.who->size;
  if (t.tus) {
    http::request<http::string_body> req{http::verb::post,
                                         "/api/v1/tenders/" + t.tender_id + "/lots/1/uploads", 11};
    req.set(http::field::host, t.host);
    req.set(http::field::authorization, "Bearer " + j.who->token);
    req.set("Tus-Resumable", "1.0.0");
    req.set("Upload-Length", std::to_string(size));
    req.set("Tender-Client", "upload-surge-bench/1");
    req.prepare_payload();
    co_await http::async_write(stream, req, asio::use_awaitable);
    http::response<http::string_body> res;
    co_await http::async_read(stream, buffer, res, asio::use_awaitable);
    if (res.result_int() != 201) {
      j.error = "creation answered " + std::to_string(res.result_int()) + ": " + res.body();
      co_return;
    }
    path = std::string(res[http::field::location]);
  } else {
    path = "/upload/" + std::to_string(j.index);
  }
  const int fd = ::open(j.who->file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    j.error = "cannot open " + j.who->file.string();
    co_return;
  }
  std::vector<char> chunk(256 * 1024);
  std::uint64_t offset = 0;
  try {
    while (offset < size) {
      const auto n = std::min<std::uint64_t>(t.piece, size - offset);
      const auto head = header_text(t, j, path, offset, n);
      const auto head_buffer = asio::buffer(head);
      co_await asio::async_write(stream, head_buffer, asio::use_awaitable);
      std::uint64_t sent = 0;
      while (sent < n) {
        const auto want = static_cast<std::size_t>(std::min<std::uint64_t>(chunk.size(), n - sent));
        const auto got = ::pread(fd, chunk.data(), want, static_cast<off_t>(offset + sent));
        if (got <= 0) throw std::runtime_error("cannot read " + j.who->file.string());
        const auto piece = asio::buffer(chunk.data(), static_cast<std::size_t>(got));
        co_await asio::async_write(stream, piece, asio::use_awaitable);
        sent += static_cast<std::uint64_t>(got);
      }
      const auto last_byte = clock_type::now();
      http::response<http::string_body> res;
      co_await http::async_read(stream, buffer, res, asio::use_awaitable);
      const auto answered = clock_type::now();
      if (res.result_int() != 204 && res.result_int() != 201 && res.result_int() != 200) {
        j.error = "request at offset " + std::to_string(offset) + " answered " +
                  std::to_string(res.result_int()) + ": " + res.body();
        break;
      }
      offset += n;
      if (offset == size) {
        j.tail_seconds = std::chrono::duration<double>(answered - last_byte).count();
        if (t.tus) {
          j.receipt = std::string(res["Tender-Bid-Receipt"]);
          if (j.receipt.empty()) {
            j.error = "final PATCH answered without Tender-Bid-Receipt";
            break;
          }
        }
        j.ok = true;
      }
    }
  } catch (const std::exception& e) {
    j.error = e.what();
  }
  ::close(fd);
  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
}

asio::awaitable<void> worker(const run_target& t, std::vector<upload_job>& jobs,
                             std::atomic<std::size_t>& next) {
  for (auto i = next++; i < jobs.size(); i = next++) {
    try {
      co_await upload_one(t, jobs[i]);
    } catch (const std::exception& e) {
      jobs[i].error = e.what();
    }
  }
}

std::uint64_t peak_rss_kib(int pid) {
  if (pid <= 0) return 0;
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stoull(line.substr(6));
  }
  return 0;
}

void reset_peak_rss(int pid) {
  if (pid <= 0) return;
  std::ofstream out("/proc/" + std::to_string(pid) + "/clear_refs");
  out << "5";  // resets VmHWM to the current RSS
}

struct run_result {
  std::string name;
  std::size_t uploads = 0;
  std::size_t failed = 0;
  std::uint64_t bytes = 0;
  double seconds = 0;
  double p50 = 0, p99 = 0, max = 0;
  std::uint64_t peak_rss_kib = 0;
  std::string first_error;
};

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const auto idx = static_cast<std::size_t>(std::ceil(p * static_cast<double>(v.size()))) - 1;
  return v[std::min(idx, v.size() - 1)];
}

run_result run_uploads(const std::string& name, const run_target& t,
                       const std::vector<bidder>& bidders, int concurrency, int pid) {
  std::vector<upload_job> jobs(bidders.size());
  for (std::size_t i = 0; i < bidders.size(); ++i) {
    jobs[i].who = &bidders[i];
    jobs[i].index = i;
  }
  reset_peak_rss(pid);
  asio::io_context ioc(1);
  std::atomic<std::size_t> next{0};
  const int workers = concurrency > 0 ? concurrency : static_cast<int>(jobs.size());
  const auto start = clock_type::now();
  for (int w = 0; w < workers; ++w)
    asio::co_spawn(ioc, worker(t, jobs, next), asio::detached);
  ioc.run();
  const auto elapsed = std::chrono::duration<double>(clock_type::now() - start).count();
  run_result r;
  r.name = name;
  r.uploads = jobs.size();
  r.seconds = elapsed;
  r.peak_rss_kib = peak_rss_kib(pid);
  std::vector<double> tails;
  for (const auto& j : jobs) {
    if (j.ok) {
      r.bytes += j.who->size;
      tails.push_back(j.tail_seconds);
    } else {
      ++r.failed;
      if (r.first_error.empty()) r.first_error = j.error;
    }
  }
  r.p50 = percentile(tails, 0.50);
  r.p99 = percentile(tails, 0.99);
  r.max = tails.empty() ? 0 : *std::max_element(tails.begin(), tails.end());
  return r;
}

void print(const run_result& r, double baseline_mib_s) {
  const double mib_s = r.seconds > 0 ? static_cast<double>(r.bytes) / (1 << 20) / r.seconds : 0;
  std::printf(
      "| %s | %zu | %.1f s | %.1f MiB/s | %s | %.0f ms | %.0f ms | %.0f ms | %s | %zu |\n",
      r.name.c_str(), r.uploads, r.seconds, mib_s,
      baseline_mib_s > 0 ? (std::to_string(mib_s / baseline_mib_s).substr(0, 5)).c_str() : "1.000",
      r.p50 * 1000, r.p99 * 1000, r.max * 1000,
      r.peak_rss_kib ? (std::to_string(r.peak_rss_kib / 1024) + " MiB").c_str() : "—", r.failed);
  if (!r.first_error.empty())
    std::fprintf(stderr, "%s: first failure: %s\n", r.name.c_str(), r.first_error.c_str());
}

double mib_per_s(const run_result& r) {
  return r.seconds > 0 ? static_cast<double>(r.bytes) / (1 << 20) / r.seconds : 0;
}

std::string random_run_id() {
  std::random_device rd;
  std::ostringstream s;
  s << std::hex << (rd() & 0xffffff);
  return s.str();
}

}  // namespace

int main(int argc, char** argv) {
  const auto cfg = parse_args(argc, argv);
  tender::crypto::init();
  const auto run = random_run_id();
  fs::create_directories(cfg.dir);

  std::ifstream key_in(cfg.admin_key);
  std::stringstream key_text;
  key_text << key_in.rdbuf();
  const auto admin_key = tender::crypto::private_key::from_pem(key_text.str());
  auto admin = client_for(cfg);
  admin->login(cfg.admin_user, admin_key.public_part().fingerprint(), signer_of(admin_key));

  auto t0 = clock_type::now();
  const auto tender_id = make_tender(cfg, *admin, run);
  const auto subject = tender_id + "/1";
  auto surge = make_bidders(cfg, *admin, run, cfg.files, "surge");
  std::vector<bidder> big;
  if (cfg.big_gib > 0) big = make_bidders(cfg, *admin, run, 1, "big");
  std::fprintf(stderr, "setup: tender %s, %zu bidders in %.1f s\n", tender_id.c_str(),
               surge.size() + big.size(),
               std::chrono::duration<double>(clock_type::now() - t0).count());

  t0 = clock_type::now();
  const int threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  seal_files(surge, subject, cfg.mib << 20, cfg.dir, threads);
  if (!big.empty()) seal_files(big, subject, cfg.big_gib << 30, cfg.dir, 1);
  std::fprintf(stderr, "sealed %zu files in %.1f s\n", surge.size() + big.size(),
               std::chrono::duration<double>(clock_type::now() - t0).count());

  run_target tenderd;
  tenderd.tus = true;
  std::tie(tenderd.host, tenderd.port) = host_port(cfg.server);
  tenderd.tender_id = tender_id;
  tenderd.piece = cfg.piece_mib << 20;
  std::optional<run_target> nginx;
  if (!cfg.nginx.empty()) {
    nginx.emplace();
    std::tie(nginx->host, nginx->port) = host_port(cfg.nginx);
    nginx->piece = tenderd.piece;
  }

  std::printf(
      "| run | uploads | wall time | ingest | ratio to nginx | last byte → answer p50 | p99 | max "
      "| peak RSS of tenderd | failed |\n|---|---|---|---|---|---|---|---|---|---|\n");
  std::vector<std::pair<std::string, std::vector<bidder>*>> sets{
      {std::to_string(surge.size()) + " × " + std::to_string(cfg.mib) + " MiB", &surge}};
  if (!big.empty()) sets.emplace_back("1 × " + std::to_string(cfg.big_gib) + " GiB", &big);
  int exit_code = 0;
  for (auto& [label, set] : sets) {
    if (set->empty()) continue;
    double base = 0;
    if (nginx) {
      const auto r = run_uploads("nginx, " + label, *nginx, *set, cfg.concurrency, 0);
      base = mib_per_s(r);
      print(r, 0);
      if (r.failed) exit_code = 1;
    }
    const auto r =
        run_uploads("tenderd, " + label, tenderd, *set, cfg.concurrency, cfg.tenderd_pid);
    print(r, base);
    if (r.failed) exit_code = 1;
    std::fflush(stdout);
  }
  if (!cfg.keep) {
    for (auto* set : {&surge, &big})
      for (const auto& b : *set) {
        std::error_code ec;
        fs::remove(b.file, ec);
      }
  }
  return exit_code;
}
