// The real tenderd binary against the throwaway PostgreSQL, driven through the client SDK, the
// `tender` CLI and raw sockets.
#include <test_support.hpp>

#include <tender/client/client.hpp>

#include <gtest/gtest.h>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/json.hpp>

#include <csignal>
#include <filesystem>
#include <thread>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using asio::ip::tcp;
using tender::test::fresh_database;
using tender::test::tenderd_process;

namespace {

tender::client::client client_for(const tenderd_process& d, const std::string& ca = {}) {
  tender::client::options o;
  o.server = d.url();
  o.ca_file = ca;
  return tender::client::client(o);
}

bool wait_ready(tender::client::client& c,
                std::chrono::seconds timeout = std::chrono::seconds(30)) {
  return tender::test::wait_until([&] { return c.readiness().ready; }, timeout,
                                  std::chrono::milliseconds(100));
}

std::string raw_exchange(std::uint16_t port, const std::string& raw) {
  asio::io_context ioc;
  tcp::socket s(ioc);
  s.connect({asio::ip::make_address("127.0.0.1"), port});
  asio::write(s, asio::buffer(raw));
  std::string answer;
  boost::system::error_code ec;
  asio::read(s, asio::dynamic_buffer(answer), ec);
  return answer;
}

std::string error_code_in(const std::string& http_answer) {
  const auto body = http_answer.substr(http_answer.find("\r\n\r\n") + 4);
  return std::string(boost::json::parse(body).at("error").at("code").as_string());
}

}  // namespace

TEST(tenderd, starts_migrates_and_reports_ready_through_the_sdk_and_cli) {
  fresh_database db("e2e_ready", false);
  tenderd_process d(db.conninfo());
  auto c = client_for(d);
  const auto h = c.health();
  EXPECT_EQ(h.status, "ok");
  EXPECT_EQ(h.service, "tenderd");
  EXPECT_FALSE(h.version.empty());
  ASSERT_TRUE(wait_ready(c)) << d.log();
  const auto r = c.readiness();
  EXPECT_EQ(r.schema_version, r.expected_schema_version);
  EXPECT_EQ(
      db.query_value("SELECT count(*) FROM tenderd_nodes WHERE node_id = '" + h.node_id + "'"),
      "1");

  const auto cli = tender::test::run_command({TENDER_CLI_PATH, "--server", d.url(), "status"});
  EXPECT_EQ(cli.exit_code, 0) << cli.output;
  EXPECT_NE(cli.output.find("ready:    yes"), std::string::npos) << cli.output;
  EXPECT_NE(cli.output.find("tenderd " + h.version), std::string::npos) << cli.output;
  const auto json =
      tender::test::run_command({TENDER_CLI_PATH, "--server", d.url(), "--json", "status"});
  EXPECT_EQ(boost::json::parse(json.output).at("ready").as_bool(), true) << json.output;
}

TEST(tenderd, bad_requests_get_json_errors_and_the_server_keeps_serving) {
  fresh_database db("e2e_bad");
  tenderd_process d(db.conninfo(), {{"TENDERD_LIMITS_HEADER_BYTES", "4096"}});
  auto a = raw_exchange(d.port(), "NOT-HTTP\r\n\r\n");
  EXPECT_EQ(a.rfind("HTTP/1.1 400", 0), 0u) << a;
  EXPECT_EQ(error_code_in(a), "http.bad_request");
  a = raw_exchange(d.port(),
                   "GET /healthz HTTP/1.1\r\nX-Big: " + std::string(8000, 'z') + "\r\n\r\n");
  EXPECT_EQ(a.rfind("HTTP/1.1 431", 0), 0u) << a;
  EXPECT_EQ(error_code_in(a), "http.header_too_large");
  a = raw_exchange(d.port(), "GET /no/such/route HTTP/1.1\r\n\r\n");
  EXPECT_EQ(a.rfind("HTTP/1.1 404", 0), 0u) << a;
  EXPECT_EQ(error_code_in(a), "route.not_found");
  a = raw_exchange(d.port(), "POST /healthz HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}");
  EXPECT_EQ(error_code_in(a), "route.method_not_allowed");
  auto c = client_for(d);
  EXPECT_EQ(c.health().status, "ok");
  const auto nope = c.request("GET", "/nope");
  EXPECT_EQ(nope.status, 404u);
}

TEST(tenderd, websocket_greets_answers_pings_and_rejects_bad_messages) {
  fresh_database db("e2e_ws");
  tenderd_process d(db.conninfo());
  asio::io_context ioc;
  websocket::stream<beast::tcp_stream> ws(ioc);
  beast::get_lowest_layer(ws).connect({asio::ip::make_address("127.0.0.1"), d.port()});
  ws.handshake("127.0.0.1", "/ws");
  beast::flat_buffer buf;
  ws.read(buf);
  auto hello = boost::json::parse(beast::buffers_to_string(buf.data()));
  EXPECT_EQ(hello.at("type").as_string(), "hello");
  buf.clear();
  ws.write(asio::buffer(std::string(R"({"type":"ping","id":7})")));
  ws.read(buf);
  auto pong = boost::json::parse(beast::buffers_to_string(buf.data()));
  EXPECT_EQ(pong.at("type").as_string(), "pong");
  EXPECT_EQ(pong.at("id").as_int64(), 7);
  buf.clear();
  ws.write(asio::buffer(std::string("{not json")));
  ws.read(buf);
  auto err = boost::json::parse(beast::buffers_to_string(buf.data()));
  EXPECT_EQ(err.at("type").as_string(), "error");
  EXPECT_EQ(err.at("error").at("code").as_string(), "websocket.bad_message");
  buf.clear();
  ws.binary(true);
  ws.write(asio::buffer(std::string("\x01\x02", 2)));
  ws.read(buf);
  EXPECT_NE(beast::buffers_to_string(buf.data()).find("binary messages are not accepted"),
            std::string::npos);
  ws.close(websocket::close_code::normal);
}

TEST(tenderd, sigterm_stops_gracefully_in_reverse_order_and_closes_websockets) {
  fresh_database db("e2e_stop");
  tenderd_process d(db.conninfo());
  auto c = client_for(d);
  ASSERT_TRUE(wait_ready(c)) << d.log();
  asio::io_context ioc;
  websocket::stream<beast::tcp_stream> ws(ioc);
  beast::get_lowest_layer(ws).connect({asio::ip::make_address("127.0.0.1"), d.port()});
  ws.handshake("127.0.0.1", "/ws");
  beast::flat_buffer buf;
  ws.read(buf);  // hello
  // A well-behaved client keeps reading, so it sees the server's close frame and answers it.
  beast::error_code ec;
  std::thread reader([&] {
    buf.clear();
    ws.read(buf, ec);
  });
  const auto begin = std::chrono::steady_clock::now();
  const auto code = d.stop(std::chrono::seconds(15));
  reader.join();
  ASSERT_TRUE(code.has_value()) << "tenderd did not stop";
  EXPECT_EQ(*code, 0) << d.log();
  // Nothing was left hanging until the 10 s grace deadline.
  EXPECT_LT(std::chrono::steady_clock::now() - begin, std::chrono::seconds(8)) << d.log();
  // The WebSocket was closed by the server with "going away".
  EXPECT_EQ(ec, websocket::error::closed) << ec.message();
  EXPECT_EQ(ws.reason().code, websocket::close_code::going_away);
  const auto log = d.log();
  const auto http_stop = log.find(R"("msg":"stopped","component":"http")");
  const auto db_stop = log.find(R"("msg":"stopped","component":"database")");
  ASSERT_NE(http_stop, std::string::npos) << log;
  ASSERT_NE(db_stop, std::string::npos) << log;
  EXPECT_LT(http_stop, db_stop) << "components must stop in reverse start order";
  EXPECT_NE(db.query_value("SELECT count(*) FROM tenderd_nodes WHERE stopped_at IS NOT NULL"), "0");
}

TEST(tenderd, not_ready_without_database_then_recovers_when_postgres_comes_up) {
  // A cluster that does not exist yet, on a port and socket directory chosen now.
  const std::string dir = tender::test::make_temp_dir("pglate");
  const auto port = tender::test::free_port();
  const std::string conninfo = "host=" + dir + "/sock port=" + std::to_string(port) +
                               " user=postgres dbname=postgres connect_timeout=2";
  tenderd_process d(conninfo);
  auto c = client_for(d);
  ASSERT_TRUE(tender::test::wait_until([&] { return c.readiness().attempts >= 2; },
                                       std::chrono::seconds(20)));
  auto r = c.readiness();
  EXPECT_FALSE(r.ready);
  EXPECT_EQ(r.database, "down");
  EXPECT_NE(r.reason.find("database unreachable"), std::string::npos) << r.reason;
  const auto raw = c.request("GET", "/readyz");
  EXPECT_EQ(raw.status, 503u);

  const std::string pg = tender::test::repo_root() + "/deploy/pg.sh";
  const auto start = tender::test::run_command(
      {"/bin/bash", pg, "start", "--dir", dir, "--port", std::to_string(port), "--throwaway"});
  ASSERT_EQ(start.exit_code, 0) << start.output;
  const bool recovered = wait_ready(c, std::chrono::seconds(60));
  const auto stop = tender::test::run_command({"/bin/bash", pg, "stop", "--dir", dir, "--remove"});
  EXPECT_TRUE(recovered) << c.readiness().reason << "\n" << d.log();
  EXPECT_EQ(stop.exit_code, 0) << stop.output;
  // And it notices when the database goes away again.
  EXPECT_TRUE(
      tender::test::wait_until([&] { return !c.readiness().ready; }, std::chrono::seconds(30)));
}

TEST(tenderd, serves_tls_when_a_certificate_is_configured) {
  fresh_database db("e2e_tls");
  const std::string dir = tender::test::make_temp_dir("tls");
  const auto gen = tender::test::run_command(
      {"/usr/bin/openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
       "-nodes", "-keyout", dir + "/key.pem", "-out", dir + "/cert.pem", "-days", "2", "-subj",
       "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"});
  ASSERT_EQ(gen.exit_code, 0) << gen.output;
  tenderd_process d(db.conninfo(), {{"TENDERD_TLS_CERTIFICATE", dir + "/cert.pem"},
                                    {"TENDERD_TLS_PRIVATE_KEY", dir + "/key.pem"}});
  EXPECT_EQ(d.url().rfind("https://", 0), 0u);
  auto trusted = client_for(d, dir + "/cert.pem");
  EXPECT_EQ(trusted.health().status, "ok");
  ASSERT_TRUE(wait_ready(trusted)) << d.log();
  // Without the certificate in its trust store a client refuses the server.
  auto untrusting = client_for(d);
  try {
    untrusting.health();
    FAIL() << "self-signed certificate accepted";
  } catch (const tender::client::error& e) {
    EXPECT_EQ(e.code(), "client.tls_failed") << e.what();
  }
  // Plain HTTP to the TLS port gets no HTTP answer.
  const auto plain = raw_exchange(d.port(), "GET /healthz HTTP/1.1\r\n\r\n");
  EXPECT_EQ(plain.find("200 OK"), std::string::npos);
}

TEST(tenderd, bad_configuration_exits_2_with_a_clear_message) {
  const auto r =
      tender::test::run_command({TENDER_TENDERD_PATH}, {{"TENDERD_LISTEN_PORT", "99999"}});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("TENDERD_LISTEN_PORT"), std::string::npos) << r.output;
  const auto help = tender::test::run_command({TENDER_TENDERD_PATH, "--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.output.find("GET /readyz"), std::string::npos);
}

TEST(tender_cli, unreachable_server_is_exit_1_with_a_code) {
  const auto port = tender::test::free_port();
  const auto r = tender::test::run_command(
      {TENDER_CLI_PATH, "--server", "http://127.0.0.1:" + std::to_string(port), "status"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("client.connect_failed"), std::string::npos) << r.output;
}
