// The network layer on real sockets, in process: limits, malformed input, timeouts, and that a
// bad request never stops the server from serving the next one.
#include <test_support.hpp>

#include <tender/net/server.hpp>

#include <gtest/gtest.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/json.hpp>

#include <thread>

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

class net_fixture : public ::testing::Test {
protected:
  void SetUp() override {
    auto routes = std::make_shared<tender::net::router>(tender::net::router::options{1024});
    routes->add(
        "POST", "/echo", [](tender::net::request& r) -> asio::awaitable<tender::net::response> {
          co_return tender::net::response::json(
              200, boost::json::serialize(
                       boost::json::object{{"length", r.body.size()}, {"id", r.params.size()}}));
        });
    routes->add("GET", "/ok", [](tender::net::request&) -> asio::awaitable<tender::net::response> {
      co_return tender::net::response::json(200, R"({"ok":true})");
    });
    routes->add("GET", "/throws",
                [](tender::net::request&) -> asio::awaitable<tender::net::response> {
                  throw std::runtime_error("handler bug");
                  co_return tender::net::response::json(200, "{}");
                });
    tender::net::server_options o;
    o.port = 0;
    o.header_limit = 2048;
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

  // Sends raw bytes on a new connection and returns everything the server answers until it
  // closes the connection.
  std::string exchange(const std::string& raw) {
    asio::io_context ioc;
    tcp::socket s(ioc);
    s.connect({asio::ip::make_address("127.0.0.1"), server_->port()});
    asio::write(s, asio::buffer(raw));
    std::string answer;
    boost::system::error_code ec;
    asio::read(s, asio::dynamic_buffer(answer), ec);
    return answer;
  }

  static std::string code_of(const std::string& answer) {
    const auto body = answer.substr(answer.find("\r\n\r\n") + 4);
    return std::string(boost::json::parse(body).at("error").at("code").as_string());
  }

  asio::io_context ioc_;
  asio::executor_work_guard<asio::io_context::executor_type> work_ = asio::make_work_guard(ioc_);
  std::unique_ptr<tender::net::http_server> server_;
  std::thread io_;
};

}  // namespace

TEST_F(net_fixture, serves_a_request) {
  const auto a = exchange("GET /ok HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(a.rfind("HTTP/1.1 200 OK", 0), 0u) << a;
  EXPECT_NE(a.find(R"({"ok":true})"), std::string::npos);
}

TEST_F(net_fixture, malformed_request_gets_400_json_and_the_server_goes_on) {
  for (const std::string bad :
       {"GARBAGE\r\n\r\n", "GET /ok HTTP/9.9\r\n\r\n", "GET /ok HTTP/1.1\r\nBad Header\r\n\r\n",
        "POST /echo HTTP/1.1\r\nContent-Length: abc\r\n\r\n"}) {
    const auto a = exchange(bad);
    EXPECT_EQ(a.rfind("HTTP/1.1 400 Bad Request", 0), 0u) << bad << " -> " << a;
    EXPECT_EQ(code_of(a), "http.bad_request");
  }
  EXPECT_EQ(exchange("GET /ok HTTP/1.1\r\nConnection: close\r\n\r\n").rfind("HTTP/1.1 200", 0), 0u);
}

TEST_F(net_fixture, oversized_header_gets_431) {
  const auto a = exchange("GET /ok HTTP/1.1\r\nX-Big: " + std::string(4096, 'a') + "\r\n\r\n");
  EXPECT_EQ(a.rfind("HTTP/1.1 431", 0), 0u) << a;
  EXPECT_EQ(code_of(a), "http.header_too_large");
  EXPECT_EQ(exchange("GET /ok HTTP/1.1\r\nConnection: close\r\n\r\n").rfind("HTTP/1.1 200", 0), 0u);
}

TEST_F(net_fixture, oversized_body_gets_413_by_length_and_by_chunks) {
  auto a = exchange("POST /echo HTTP/1.1\r\nContent-Length: 5000\r\n\r\n" + std::string(5000, 'x'));
  EXPECT_EQ(a.rfind("HTTP/1.1 413", 0), 0u) << a;
  EXPECT_EQ(code_of(a), "http.body_too_large");
  std::string chunked = "POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 3; ++i)
    chunked += "200\r\n" + std::string(512, 'y') + "\r\n";
  chunked += "0\r\n\r\n";
  a = exchange(chunked);
  EXPECT_EQ(a.rfind("HTTP/1.1 413", 0), 0u) << a;
  a = exchange("POST /echo HTTP/1.1\r\nContent-Length: 10\r\nConnection: close\r\n\r\n0123456789");
  EXPECT_EQ(a.rfind("HTTP/1.1 200", 0), 0u) << a;
  EXPECT_NE(a.find(R"("length":10)"), std::string::npos);
}

TEST_F(net_fixture, unknown_route_and_wrong_method) {
  auto a = exchange("GET /nowhere HTTP/1.1\r\n\r\n");
  EXPECT_EQ(a.rfind("HTTP/1.1 404", 0), 0u);
  EXPECT_EQ(code_of(a), "route.not_found");
  a = exchange("DELETE /ok HTTP/1.1\r\n\r\n");
  EXPECT_EQ(a.rfind("HTTP/1.1 405", 0), 0u);
  EXPECT_EQ(code_of(a), "route.method_not_allowed");
  EXPECT_NE(a.find("Allow: GET"), std::string::npos);
}

TEST_F(net_fixture, handler_exception_is_a_500_not_a_crash) {
  const auto a = exchange("GET /throws HTTP/1.1\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(a.rfind("HTTP/1.1 500", 0), 0u);
  EXPECT_EQ(code_of(a), "service.internal");
  EXPECT_EQ(exchange("GET /ok HTTP/1.1\r\nConnection: close\r\n\r\n").rfind("HTTP/1.1 200", 0), 0u);
}

TEST_F(net_fixture, keep_alive_serves_several_requests_on_one_connection) {
  const auto a = exchange(
      "GET /ok HTTP/1.1\r\n\r\nPOST /echo HTTP/1.1\r\nContent-Length: 3\r\n\r\nabcGET /ok "
      "HTTP/1.1\r\n"
      "Connection: close\r\n\r\n");
  std::size_t count = 0;
  for (auto pos = a.find("HTTP/1.1 200"); pos != std::string::npos;
       pos = a.find("HTTP/1.1 200", pos + 1)) {
    ++count;
  }
  EXPECT_EQ(count, 3u) << a;
}

TEST_F(net_fixture, a_stalled_request_loses_its_connection_and_others_are_served) {
  // Half a header, then silence: the read timeout (1 s here) closes the connection. exchange()
  // returns only once the server has closed it.
  const auto a = exchange("GET /ok HTTP/1.1\r\nX-Partial: ");
  EXPECT_TRUE(a.empty()) << a;
  EXPECT_EQ(exchange("GET /ok HTTP/1.1\r\nConnection: close\r\n\r\n").rfind("HTTP/1.1 200", 0), 0u);
}
