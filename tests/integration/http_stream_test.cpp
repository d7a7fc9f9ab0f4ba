// Streamed request bodies (router::add_stream) on real sockets, in process: a large body reaches
// the sink piece by piece and intact, chunked bodies, limits, a client that goes away mid-body, a
// sink that refuses, and a keep-alive connection that goes on after a streamed request.
#include <tender/net/server.hpp>

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>

#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

namespace asio = boost::asio;
namespace http = boost::beast::http;
using asio::ip::tcp;
using tender::net::body_sink;
using tender::net::response;

namespace {

class sha256 {
public:
  sha256() : ctx_(EVP_MD_CTX_new()) { EVP_DigestInit_ex(ctx_, EVP_sha256(), nullptr); }
  sha256(const sha256&) = delete;
  sha256& operator=(const sha256&) = delete;
  ~sha256() { EVP_MD_CTX_free(ctx_); }
  void update(const char* p, std::size_t n) { EVP_DigestUpdate(ctx_, p, n); }
  std::string hex() {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    EVP_DigestFinal_ex(ctx_, md, &len);
    std::string out;
    for (unsigned i = 0; i < len; ++i) {
      static constexpr char d[] = "0123456789abcdef";
      out += d[md[i] >> 4];
      out += d[md[i] & 15];
    }
    return out;
  }

private:
  EVP_MD_CTX* ctx_;
};

// What the sinks saw, shared with the test thread.
struct observed {
  std::mutex m;
  std::condition_variable cv;
  int started = 0;   // stream handler calls
  int finishes = 0;  // finish() calls
  bool complete = false;
  std::uint64_t bytes = 0;
  std::size_t pieces = 0;
  std::size_t max_piece = 0;
  std::string sha;

  bool wait_finished(int n) {
    std::unique_lock lock(m);
    return cv.wait_for(lock, std::chrono::seconds(20), [&] { return finishes >= n; });
  }
};

// Counts and hashes what it receives; keeps nothing of the body. `refuse_after`: throws once more
// than that many bytes have arrived (coded refusal, or a plain exception when `crash`).
class hashing_sink final : public body_sink {
public:
  hashing_sink(std::shared_ptr<observed> o, std::uint64_t refuse_after, bool crash)
      : o_(std::move(o)), refuse_after_(refuse_after), crash_(crash) {}

  void write(const char* data, std::size_t size) override {
    hash_.update(data, size);
    bytes_ += size;
    {
      std::lock_guard lock(o_->m);
      o_->bytes = bytes_;
      ++o_->pieces;
      o_->max_piece = std::max(o_->max_piece, size);
    }
    if (bytes_ > refuse_after_) {
      if (crash_) throw std::runtime_error("disk on fire");
      throw tender::net::coded_refusal(tender::protocol::errc::upload_too_large,
                                       "more bytes than declared");
    }
  }

  asio::awaitable<response> finish(bool complete) override {
    const auto digest = hash_.hex();
    {
      std::lock_guard lock(o_->m);
      ++o_->finishes;
      o_->complete = complete;
      o_->sha = digest;
    }
    o_->cv.notify_all();
    co_return response::json(
        200, boost::json::serialize(boost::json::object{{"bytes", bytes_}, {"sha256", digest}}));
  }

private:
  std::shared_ptr<observed> o_;
  sha256 hash_;
  std::uint64_t bytes_ = 0;
  std::uint64_t refuse_after_;
  bool crash_;
};

constexpr std::uint64_t big_limit = 64ull << 20;

class stream_fixture : public ::testing::Test {
protected:
  void SetUp() override {
    auto routes = std::make_shared<tender::net::router>(tender::net::router::options{1024});
    auto seen = seen_;
    const tender::net::stream_handler upload =
        [seen](tender::net::request& r) -> asio::awaitable<tender::net::stream_start> {
      {
        std::lock_guard lock(seen->m);
        ++seen->started;
      }
      tender::net::stream_start s;
      const auto mode = r.params.at("mode");
      if (mode == "busy") {
        s.immediate = response::error(409, "upload.offset_mismatch", "decided from the header");
      } else if (mode == "nothing") {
        // neither a response nor a sink: a handler bug
      } else {
        const std::uint64_t after = mode == "refuse" || mode == "crash" ? 100000 : UINT64_MAX;
        s.sink = std::make_shared<hashing_sink>(seen, after, mode == "crash");
      }
      co_return s;
    };
    routes->add_stream("POST", "/upload/{mode}", upload, big_limit);
    routes->add_stream("PATCH", "/small", upload_small(seen), 1000);
    routes->add("GET", "/ok", [](tender::net::request&) -> asio::awaitable<response> {
      co_return response::json(200, R"({"ok":true})");
    });
    routes->add("POST", "/echo", [](tender::net::request& r) -> asio::awaitable<response> {
      co_return response::json(
          200, boost::json::serialize(boost::json::object{{"length", r.body.size()}}));
    });
    tender::net::server_options o;
    o.port = 0;
    o.read_timeout = std::chrono::seconds(1);
    o.idle_timeout = std::chrono::seconds(1);
    server_ = std::make_unique<tender::net::http_server>(ioc_, o, routes);
    server_->start();
    io_ = std::thread([this] { ioc_.run(); });
  }
  void TearDown() override {
    server_->stop(std::chrono::steady_clock::now() + std::chrono::seconds(5));
    work_.reset();
    ioc_.stop();
    io_.join();
  }

  static tender::net::stream_handler upload_small(std::shared_ptr<observed> seen) {
    return [seen](tender::net::request&) -> asio::awaitable<tender::net::stream_start> {
      tender::net::stream_start s;
      s.sink = std::make_shared<hashing_sink>(seen, UINT64_MAX, false);
      co_return s;
    };
  }

  tcp::socket connect() {
    tcp::socket s(client_ioc_);
    s.connect({asio::ip::make_address("127.0.0.1"), server_->port()});
    return s;
  }

  // Reads one response from a connection (keep-alive aware).
  static http::response<http::string_body> read_response(tcp::socket& s,
                                                         boost::beast::flat_buffer& buffer) {
    http::response<http::string_body> res;
    http::read(s, buffer, res);
    return res;
  }

  // Everything the server sends until it closes the connection.
  static std::string read_to_close(tcp::socket& s) {
    std::string answer;
    boost::system::error_code ec;
    asio::read(s, asio::dynamic_buffer(answer), ec);
    return answer;
  }

  static std::string code_of(const std::string& body) {
    return std::string(boost::json::parse(body).at("error").at("code").as_string());
  }

  // Deterministic, non-repeating-looking bytes: piece `i` of the body.
  static std::string piece(std::size_t i, std::size_t size) {
    std::string p(size, '\0');
    fill_piece(p, i);
    return p;
  }
  static void fill_piece(std::string& p, std::size_t i) {
    std::uint64_t x = 0x9e3779b97f4a7c15ull * (i + 1);
    for (auto& c : p) {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      c = static_cast<char>(x);
    }
  }

  static std::uint64_t peak_rss_kib() {
    std::ifstream in("/proc/self/status");
    std::string line;
    while (std::getline(in, line)) {
      if (line.rfind("VmHWM:", 0) == 0) return std::stoull(line.substr(6));
    }
    return 0;
  }

  std::shared_ptr<observed> seen_ = std::make_shared<observed>();
  asio::io_context ioc_;
  asio::executor_work_guard<asio::io_context::executor_type> work_ = asio::make_work_guard(ioc_);
  std::unique_ptr<tender::net::http_server> server_;
  std::thread io_;
  asio::io_context client_ioc_;
};

}  // namespace

TEST_F(stream_fixture, a_50_mb_body_arrives_intact_in_bounded_pieces) {
  constexpr std::size_t piece_size = 1 << 20;
  constexpr std::size_t pieces = 50;
  const auto rss_before = peak_rss_kib();
  auto s = connect();
  const std::string head = "POST /upload/ok HTTP/1.1\r\nHost: x\r\nContent-Length: " +
                           std::to_string(piece_size * pieces) + "\r\n\r\n";
  asio::write(s, asio::buffer(head));
  sha256 sent;
  std::string p(piece_size, '\0');  // one client buffer, refilled: the client holds 1 MB too
  for (std::size_t i = 0; i < pieces; ++i) {
    fill_piece(p, i);
    sent.update(p.data(), p.size());
    asio::write(s, asio::buffer(p));
  }
  boost::beast::flat_buffer buffer;
  const auto res = read_response(s, buffer);
  ASSERT_EQ(res.result_int(), 200u) << res.body();
  const auto body = boost::json::parse(res.body());
  const auto digest = sent.hex();
  EXPECT_EQ(body.at("bytes").as_int64(), static_cast<std::int64_t>(piece_size * pieces));
  EXPECT_EQ(body.at("sha256").as_string(), digest);
  std::lock_guard lock(seen_->m);
  EXPECT_EQ(seen_->finishes, 1);
  EXPECT_TRUE(seen_->complete);
  EXPECT_EQ(seen_->sha, digest);
  // The body went through in pieces of at most 64 KiB: the server never held it whole. The
  // process's peak RSS (server and this client together) grew by far less than the body.
  EXPECT_LE(seen_->max_piece, 64u * 1024);
  EXPECT_GE(seen_->pieces, piece_size * pieces / (64 * 1024));
  const auto grown_kib = peak_rss_kib() - rss_before;
  std::printf("peak RSS grew by %llu KiB for a %zu MiB body\n",
              static_cast<unsigned long long>(grown_kib), pieces);
  EXPECT_LT(grown_kib, 25u * 1024) << "peak RSS grew by " << grown_kib << " KiB";
}

TEST_F(stream_fixture, a_chunked_body_arrives_intact) {
  auto s = connect();
  std::string req = "POST /upload/ok HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
  sha256 sent;
  std::uint64_t total = 0;
  for (std::size_t i = 0; i < 40; ++i) {
    const auto p = piece(i, 1 + (i * 7919) % 150000);  // 1 byte to ~150 KB, across piece limits
    sent.update(p.data(), p.size());
    total += p.size();
    std::ostringstream size;
    size << std::hex << p.size();
    req += size.str() + "\r\n" + p + "\r\n";
  }
  req += "0\r\n\r\n";
  asio::write(s, asio::buffer(req));
  boost::beast::flat_buffer buffer;
  const auto res = read_response(s, buffer);
  ASSERT_EQ(res.result_int(), 200u) << res.body();
  const auto body = boost::json::parse(res.body());
  EXPECT_EQ(body.at("bytes").as_int64(), static_cast<std::int64_t>(total));
  EXPECT_EQ(body.at("sha256").as_string(), sent.hex());
  std::lock_guard lock(seen_->m);
  EXPECT_LE(seen_->max_piece, 64u * 1024);
  EXPECT_EQ(seen_->finishes, 1);
  EXPECT_TRUE(seen_->complete);
}

TEST_F(stream_fixture, content_length_over_the_limit_is_refused_before_reading) {
  auto s = connect();
  const std::string req = "PATCH /small HTTP/1.1\r\nHost: x\r\nContent-Length: 1001\r\n\r\n";
  asio::write(s, asio::buffer(req));  // the body is never sent: the answer comes without it
  const auto a = read_to_close(s);
  EXPECT_EQ(a.rfind("HTTP/1.1 413", 0), 0u) << a;
  EXPECT_EQ(code_of(a.substr(a.find("\r\n\r\n") + 4)), "http.body_too_large");
  std::lock_guard lock(seen_->m);
  EXPECT_EQ(seen_->started, 0);  // the handler was not even asked
  EXPECT_EQ(seen_->bytes, 0u);
}

TEST_F(stream_fixture, a_chunked_body_over_the_limit_gets_413_and_an_incomplete_finish) {
  auto s = connect();
  std::string req = "PATCH /small HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 3; ++i)
    req += "200\r\n" + std::string(512, 'y') + "\r\n";
  req += "0\r\n\r\n";
  asio::write(s, asio::buffer(req));
  const auto a = read_to_close(s);
  EXPECT_EQ(a.rfind("HTTP/1.1 413", 0), 0u) << a;
  EXPECT_EQ(code_of(a.substr(a.find("\r\n\r\n") + 4)), "http.body_too_large");
  ASSERT_TRUE(seen_->wait_finished(1));
  std::lock_guard lock(seen_->m);
  EXPECT_FALSE(seen_->complete);
  EXPECT_LE(seen_->bytes, 1000u);
}

TEST_F(stream_fixture, a_client_gone_mid_body_gets_an_incomplete_finish_with_the_bytes_so_far) {
  {
    auto s = connect();
    const std::string head =
        "POST /upload/ok HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n";
    asio::write(s, asio::buffer(head));
    const auto p = piece(0, 300000);
    asio::write(s, asio::buffer(p));
    // Wait until the server has taken it all in, then hang up.
    for (int i = 0; i < 2000; ++i) {
      {
        std::lock_guard lock(seen_->m);
        if (seen_->bytes == 300000) break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    s.close();
  }
  ASSERT_TRUE(seen_->wait_finished(1));
  sha256 expected;
  const auto p = piece(0, 300000);
  expected.update(p.data(), p.size());
  std::lock_guard lock(seen_->m);
  EXPECT_FALSE(seen_->complete);
  EXPECT_EQ(seen_->bytes, 300000u);
  EXPECT_EQ(seen_->sha, expected.hex());
  EXPECT_EQ(seen_->finishes, 1);
}

TEST_F(stream_fixture, a_stalled_body_times_out_per_piece_with_an_incomplete_finish) {
  auto s = connect();
  const std::string head = "POST /upload/ok HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n";
  asio::write(s, asio::buffer(head));
  asio::write(s, asio::buffer(std::string(5000, 'a')));
  // Then silence: the read timeout (1 s) closes the connection without an answer.
  const auto a = read_to_close(s);
  EXPECT_TRUE(a.empty()) << a;
  ASSERT_TRUE(seen_->wait_finished(1));
  std::lock_guard lock(seen_->m);
  EXPECT_FALSE(seen_->complete);
  EXPECT_EQ(seen_->bytes, 5000u);
}

TEST_F(stream_fixture, a_sink_refusal_is_answered_with_its_code_and_the_connection_closed) {
  auto s = connect();
  const std::string head =
      "POST /upload/refuse HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(4 << 20) +
      "\r\n\r\n";
  asio::write(s, asio::buffer(head));
  boost::system::error_code ec;
  // The server stops reading at the refusal; a write may then fail: that is fine.
  for (std::size_t i = 0; i < 4 && !ec; ++i) {
    const auto p = piece(i, 1 << 20);
    asio::write(s, asio::buffer(p), ec);
  }
  const auto a = read_to_close(s);
  EXPECT_EQ(a.rfind("HTTP/1.1 413", 0), 0u) << a;
  EXPECT_EQ(code_of(a.substr(a.find("\r\n\r\n") + 4)), "upload.too_large");
  EXPECT_NE(a.find("Connection: close"), std::string::npos) << a;
  std::lock_guard lock(seen_->m);
  EXPECT_EQ(seen_->finishes, 0);  // a refusing sink is not asked to finish
  EXPECT_GT(seen_->bytes, 100000u);
}

TEST_F(stream_fixture, a_sink_that_throws_gets_500_and_the_server_goes_on) {
  {
    auto s = connect();
    const std::string head =
        "POST /upload/crash HTTP/1.1\r\nHost: x\r\nContent-Length: 200000\r\n\r\n";
    asio::write(s, asio::buffer(head));
    boost::system::error_code ec;
    const auto p = piece(1, 200000);
    asio::write(s, asio::buffer(p), ec);
    const auto a = read_to_close(s);
    EXPECT_EQ(a.rfind("HTTP/1.1 500", 0), 0u) << a;
    EXPECT_EQ(code_of(a.substr(a.find("\r\n\r\n") + 4)), "service.internal");
  }
  {
    auto s = connect();
    const std::string req =
        "POST /upload/nothing HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc";
    asio::write(s, asio::buffer(req));
    const auto a = read_to_close(s);
    EXPECT_EQ(a.rfind("HTTP/1.1 500", 0), 0u) << a;
  }
  auto s = connect();
  asio::write(s, asio::buffer(std::string("GET /ok HTTP/1.1\r\nConnection: close\r\n\r\n")));
  EXPECT_EQ(read_to_close(s).rfind("HTTP/1.1 200", 0), 0u);
}

TEST_F(stream_fixture, an_immediate_answer_skips_the_body_and_closes_only_when_one_was_announced) {
  {
    auto s = connect();
    const std::string req =
        "POST /upload/busy HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n0123456789";
    asio::write(s, asio::buffer(req));
    const auto a = read_to_close(s);  // returns: the server closed the connection
    EXPECT_EQ(a.rfind("HTTP/1.1 409", 0), 0u) << a;
    EXPECT_EQ(code_of(a.substr(a.find("\r\n\r\n") + 4)), "upload.offset_mismatch");
  }
  // No body: the connection stays open for the next request.
  auto s = connect();
  const std::string two =
      "POST /upload/busy HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"
      "GET /ok HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  asio::write(s, asio::buffer(two));
  boost::beast::flat_buffer buffer;
  EXPECT_EQ(read_response(s, buffer).result_int(), 409u);
  EXPECT_EQ(read_response(s, buffer).result_int(), 200u);
  std::lock_guard lock(seen_->m);
  EXPECT_EQ(seen_->bytes, 0u);
}

TEST_F(stream_fixture, keep_alive_goes_on_after_a_streamed_request_and_100_continue_is_sent) {
  auto s = connect();
  boost::beast::flat_buffer buffer;
  const auto p = piece(7, 200000);
  const std::string head =
      "POST /upload/ok HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: "
      "200000\r\n\r\n";
  asio::write(s, asio::buffer(head));
  {
    // "100 Continue" comes before the body is sent.
    http::response_parser<http::empty_body> cont;
    http::read_header(s, buffer, cont);
    EXPECT_EQ(cont.get().result_int(), 100u);
  }
  asio::write(s, asio::buffer(p));
  auto res = read_response(s, buffer);
  ASSERT_EQ(res.result_int(), 200u) << res.body();
  sha256 expected;
  expected.update(p.data(), p.size());
  EXPECT_EQ(boost::json::parse(res.body()).at("sha256").as_string(), expected.hex());
  EXPECT_TRUE(res.keep_alive());
  // The same connection: an ordinary route, an ordinary body, then another streamed body.
  const std::string more =
      "GET /ok HTTP/1.1\r\nHost: x\r\n\r\n"
      "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
      "POST /upload/ok HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nConnection: close\r\n\r\nxyz";
  asio::write(s, asio::buffer(more));
  res = read_response(s, buffer);
  EXPECT_EQ(res.result_int(), 200u);
  EXPECT_EQ(res.body(), R"({"ok":true})");
  res = read_response(s, buffer);
  EXPECT_EQ(res.result_int(), 200u);
  EXPECT_EQ(res.body(), R"({"length":5})");
  res = read_response(s, buffer);
  EXPECT_EQ(res.result_int(), 200u);
  EXPECT_EQ(boost::json::parse(res.body()).at("bytes").as_int64(), 3);
  EXPECT_FALSE(res.keep_alive());
  std::lock_guard lock(seen_->m);
  EXPECT_EQ(seen_->finishes, 2);
}

TEST_F(stream_fixture, ordinary_routes_keep_their_limits_and_100_continue) {
  auto s = connect();
  boost::beast::flat_buffer buffer;
  const std::string head =
      "POST /echo HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n";
  asio::write(s, asio::buffer(head));
  {
    http::response_parser<http::empty_body> cont;
    http::read_header(s, buffer, cont);
    EXPECT_EQ(cont.get().result_int(), 100u);
  }
  asio::write(s, asio::buffer(std::string("abcd")));
  auto res = read_response(s, buffer);
  EXPECT_EQ(res.body(), R"({"length":4})");
  const std::string big = "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1025\r\n\r\n";
  asio::write(s, asio::buffer(big));
  const auto a = read_to_close(s);
  EXPECT_NE(a.find("HTTP/1.1 413"), std::string::npos) << a;
}
