#pragma once

#include <tender/protocol/errors.hpp>

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tender::net {

// A request as handlers see it: already read whole, within the route's body limit.
struct request {
  std::string method;  // "GET", "POST", ...
  std::string target;  // as sent: path and query
  std::string path;    // percent-decoding is the handler's business
  std::string query;   // without '?'
  std::vector<std::pair<std::string, std::string>> headers;
  std::map<std::string, std::string> params;  // from "{name}" segments of the route
  std::string body;
  std::string remote_address;

  // Case-insensitive header lookup; the first match.
  std::optional<std::string_view> header(std::string_view name) const;
};

struct response {
  unsigned status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;

  static response json(unsigned status, std::string body);
  // A web page: text/html with page_security_policy, no-referrer and no-cache. Every HTML answer
  // is made here, so all carry the same policy (the session adds it to any other HTML answer).
  static response html(unsigned status, std::string body);
  static response error(protocol::errc code, std::string_view message);
  static response error(unsigned status, std::string_view code, std::string_view message);
};

// The Content-Security-Policy of every HTML answer: inline script and style only (the pages are
// single files), connections to this origin only, no frames, forms or base changes. Every answer
// also carries X-Content-Type-Options: nosniff (added by the session).
inline constexpr std::string_view page_security_policy =
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src "
    "'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

using handler = std::function<boost::asio::awaitable<response>(request&)>;

// A streamed request body (large uploads): the route gets the request without its body, decides,
// and then receives the body piece by piece as it arrives, so memory stays bounded whatever the
// size. The read timeout applies to each piece (inactivity), not to the whole body.
class body_sink {
public:
  virtual ~body_sink() = default;
  // Each piece of the body, in order (at most 64 KiB at a time). Runs on the connection's
  // executor; keep it short (a write to an open file). Throwing a net::coded_refusal (below) or
  // any exception stops the read: finish() is not called, the error is answered and the
  // connection closed.
  virtual void write(const char* data, std::size_t size) = 0;
  // Called once after the last piece. `complete`: the whole body arrived (Content-Length reached
  // or the last chunk read); false when the client went away or stalled mid-body: the response
  // is then discarded, but the sink can still keep what it received (tus resumes from there).
  virtual boost::asio::awaitable<response> finish(bool complete) = 0;
};

// Refusal from body_sink::write with a stable code (e.g. upload.too_large).
struct coded_refusal : std::runtime_error {
  coded_refusal(protocol::errc c, const std::string& message)
      : std::runtime_error(message), code(c) {}
  protocol::errc code;
};

// What a streaming route returns once it has seen the header: a response to send at once (the
// body is then not read and the connection is closed if a body was announced), or a sink.
struct stream_start {
  std::optional<response> immediate;
  std::shared_ptr<body_sink> sink;
};
using stream_handler = std::function<boost::asio::awaitable<stream_start>(request&)>;

class ws_connection;

// A WebSocket endpoint. on_open runs once after the handshake, on_message for each text
// message, one at a time per connection and in order; on_close once when the connection ends.
// Callbacks run on the connection's strand.
struct ws_handler {
  std::function<void(const std::shared_ptr<ws_connection>&)> on_open;
  std::function<boost::asio::awaitable<void>(const std::shared_ptr<ws_connection>&, std::string)>
      on_message;
  std::function<void(const std::shared_ptr<ws_connection>&)> on_close;
};

// What a WebSocket endpoint holds of one client. send() may be called from any thread: the
// message joins a bounded queue drained by the connection's single writer; when the queue is full
// the client is too slow and is disconnected (it can reconnect and resume).
class ws_connection {
public:
  virtual ~ws_connection() = default;
  virtual void send(std::string text) = 0;
  // Closes with 1001 (going away) and `reason`.
  virtual void close(std::string_view reason) = 0;
  // Closes with a status code of RFC 6455 §7.4 (1008 policy, 1013 try again later, ...).
  virtual void close(std::uint16_t code, std::string_view reason) = 0;
  // Closes the connection with `code` and `reason` when `after` has passed, unless
  // cancel_deadline() comes first (the hall's deadline for `hello`). A new deadline replaces the
  // previous one. Thread-safe.
  virtual void set_deadline(std::chrono::milliseconds after, std::uint16_t code,
                            std::string reason) = 0;
  virtual void cancel_deadline() = 0;
  virtual const request& upgrade_request() const = 0;
  virtual std::uint64_t id() const = 0;
  // Messages accepted by send() and not written yet (approximate, readable from any thread): a
  // producer that sends many messages (a replay) paces itself below the queue limit with it.
  virtual std::size_t queued() const { return 0; }
  // The same in bytes: a producer paces itself below the byte limit too.
  virtual std::size_t queued_bytes() const { return 0; }
};

// Maps method + path to handlers. Paths are literal segments or "{name}" captures:
//   add("GET", "/api/v1/tenders/{id}", h)
class router {
public:
  struct options {
    std::size_t default_body_limit = 1024 * 1024;
  };

  router();
  explicit router(options o);

  void add(std::string method, std::string path, handler h,
           std::optional<std::size_t> body_limit = {});
  void add_websocket(std::string path, ws_handler h);
  // A route whose body is streamed to a body_sink instead of being read whole; `body_limit` caps
  // the streamed body (checked against Content-Length at once and against the bytes as they
  // arrive).
  void add_stream(std::string method, std::string path, stream_handler h, std::size_t body_limit);

  struct match_result {
    const handler* target = nullptr;
    const ws_handler* websocket = nullptr;
    const stream_handler* stream = nullptr;  // set instead of target for streaming routes
    std::size_t body_limit = 0;
    std::map<std::string, std::string> params;
    // When no handler matched: route.not_found or route.method_not_allowed, and Allow for 405.
    std::optional<protocol::errc> error;
    std::string allow;
  };
  match_result match(std::string_view method, std::string_view path) const;
  match_result match_websocket(std::string_view path) const;

private:
  struct route {
    std::string method;
    std::vector<std::string> segments;
    handler target;
    ws_handler websocket;
    stream_handler stream;
    bool is_websocket = false;
    std::size_t body_limit = 0;
  };
  static bool match_segments(const route& r, const std::vector<std::string_view>& parts,
                             std::map<std::string, std::string>& params);

  options opts_;
  std::vector<route> routes_;
};

}  // namespace tender::net
