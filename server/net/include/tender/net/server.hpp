#pragma once

#include <tender/net/http.hpp>

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

namespace tender::net {

struct server_options {
  std::string address = "127.0.0.1";
  std::uint16_t port = 8080;         // 0: any free port, see http_server::port()
  std::string tls_certificate_file;  // both set: every connection is TLS
  std::string tls_private_key_file;
  std::size_t header_limit = 8 * 1024;
  std::size_t max_connections = 20000;
  // Connections from one remote address at once: one client cannot take every slot. A new one
  // beyond it is answered 429 service.too_many_connections and closed.
  std::size_t max_connections_per_address = 256;
  std::size_t websocket_message_limit = 64 * 1024;
  std::size_t websocket_queue_limit = 1024;
  // Bytes queued for one WebSocket client (besides the message count above): a few huge messages
  // must not hold memory without bound either. One message larger than this still goes out when
  // nothing else is queued.
  std::size_t websocket_queue_bytes = 16 * 1024 * 1024;
  std::chrono::seconds read_timeout{30};  // a request's header and body must arrive within this
  std::chrono::seconds idle_timeout{60};  // a kept-alive connection may wait this long for the next
  std::string server_name = "tenderd";
};

// Listens on one port for HTTP/1.1 and WebSocket (over TLS when configured), each connection on
// its own strand. Every read is bounded (header size, per-route body size, timeouts, WebSocket
// message size) and a request the server cannot accept gets a JSON error with a stable code.
class http_server {
public:
  http_server(boost::asio::io_context& ioc, server_options opts,
              std::shared_ptr<const router> routes);
  ~http_server();
  http_server(const http_server&) = delete;
  http_server& operator=(const http_server&) = delete;

  // Binds and starts accepting. Throws std::runtime_error with a clear message (address in use,
  // unreadable certificate, ...).
  void start();
  std::uint16_t port() const;

  // Stops accepting, closes idle connections, lets requests in flight finish (their responses
  // carry Connection: close) and closes WebSockets with "going away"; returns when every
  // connection has ended or at the deadline. Must not be called from an I/O thread.
  void stop(std::chrono::steady_clock::time_point deadline);

  std::size_t connections() const;

  struct impl;  // defined in server.cpp; public only so its session types can name it

private:
  std::shared_ptr<impl> impl_;
};

}  // namespace tender::net
