#pragma once

// Private to tender::net: the HTTP and WebSocket session templates. Included only by
// session_plain.cpp and session_tls.cpp, each instantiating them for one stream type.

#include "server_impl.hpp"

#include <tender/core/log.hpp>
#include <tender/net/request_head.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include <deque>

namespace tender::net::detail {
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;

inline constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
using plain_stream = beast::tcp_stream;
using tls_stream = beast::ssl_stream<beast::tcp_stream>;

inline http::response<http::string_body> make_response(const response& r, unsigned version,
                                                       bool keep_alive,
                                                       const std::string& server_name) {
  http::response<http::string_body> res{static_cast<http::status>(r.status), version};
  res.set(http::field::server, server_name);
  if (!r.body.empty() || r.status >= 200) res.set(http::field::content_type, r.content_type);
  for (const auto& [k, v] : r.headers)
    res.insert(k, v);
  // Never let a browser guess a type; an HTML answer made without response::html still gets the
  // page policy.
  if (res.find("X-Content-Type-Options") == res.end()) res.set("X-Content-Type-Options", "nosniff");
  if (r.content_type.rfind("text/html", 0) == 0 &&
      res.find("Content-Security-Policy") == res.end()) {
    res.set("Content-Security-Policy", page_security_policy);
  }
  res.body() = r.body;
  res.keep_alive(keep_alive);
  res.prepare_payload();
  return res;
}

inline bool is_disconnect(const beast::error_code& ec) {
  return ec == http::error::end_of_stream || ec == asio::error::eof ||
         ec == asio::error::connection_reset || ec == asio::error::operation_aborted ||
         ec == asio::error::bad_descriptor || ec == asio::error::broken_pipe ||
         ec == ssl::error::stream_truncated;
}

// One WebSocket connection: a reader loop that hands text messages to the endpoint in order, and

template <class Stream>
class ws_session final : public session_base,
                         public ws_connection,
                         public std::enable_shared_from_this<ws_session<Stream>> {
public:
  ws_session(Stream&& stream, std::shared_ptr<http_server::impl> server, const ws_handler& endpoint,
             request upgrade)
      : ws_(std::move(stream)),
        server_(std::move(server)),
        endpoint_(endpoint),
        upgrade_(std::move(upgrade)),
        close_deadline_(ws_.get_executor()),
        deadline_(ws_.get_executor()) {
    static std::atomic<std::uint64_t> next{0};
    id_ = ++next;
  }

  asio::awaitable<void> run(http::request<http::string_body> req) {
    // Not registered with the server itself: the http_session that upgraded stays registered
    // (so the connection is counted once) and forwards shutdown() here.
    auto self = this->shared_from_this();
    beast::get_lowest_layer(ws_).expires_never();
    ws_.set_option(websocket::stream_base::timeout::suggested(beast::role_type::server));
    ws_.set_option(websocket::stream_base::decorator(
        [name = server_->opts_.server_name](websocket::response_type& res) {
          res.set(http::field::server, name);
        }));
    ws_.read_message_max(server_->opts_.websocket_message_limit);
    auto [ec] = co_await ws_.async_accept(req, use_tuple);
    if (ec) co_return;
    open_ = true;
    if (endpoint_.on_open) endpoint_.on_open(self);
    beast::flat_buffer buffer;
    for (;;) {
      buffer.clear();
      auto [rec, n] = co_await ws_.async_read(buffer, use_tuple);
      if (rec) {
        if (rec == websocket::error::message_too_big) {
          core::log::info("websocket message too large", {{"connection", id_}});
        }
        break;
      }
      if (!ws_.got_text()) {
        send(protocol_error(protocol::errc::ws_bad_message, "binary messages are not accepted"));
        continue;
      }
      if (!endpoint_.on_message) continue;
      try {
        std::string text = beast::buffers_to_string(buffer.data());
        co_await endpoint_.on_message(self, std::move(text));
      } catch (const std::exception& e) {
        core::log::error("websocket handler failed", {{"connection", id_}, {"error", e.what()}});
        send(protocol_error(protocol::errc::internal, "internal error"));
      }
    }
    open_ = false;
    queue_.clear();
    queued_ = 0;
    held_bytes_ = 0;
    queued_bytes_ = 0;
    close_deadline_.cancel();
    deadline_.cancel();
    if (endpoint_.on_close) endpoint_.on_close(self);
  }

  void send(std::string text) override {
    const std::size_t size = text.size();
    ++queued_;
    queued_bytes_ += size;
    asio::post(ws_.get_executor(), [self = this->shared_from_this(), text = std::move(text),
                                    size]() mutable {
      if (!self->open_ || self->closing_) {
        self->unqueue(size);
        return;
      }
      const auto& o = self->server_->opts_;
      // One message larger than the byte limit still goes out alone.
      const bool too_many_bytes =
          self->held_bytes_ > 0 && self->held_bytes_ + size > o.websocket_queue_bytes;
      if (self->queue_.size() >= o.websocket_queue_limit || too_many_bytes) {
        // Too slow to keep up: drop it rather than buffer without bound. What is queued is
        // dropped and the close frame (1008, "slow consumer") goes out after the write in
        // flight; the client resumes from its last sequence number. A client that reads
        // nothing at all cannot get even that frame: its socket is closed after a grace.
        core::log::warn("websocket client too slow, disconnected", {{"connection", self->id_}});
        self->queue_.clear();
        self->queued_ = 0;
        self->queued_bytes_ = 0;
        self->held_bytes_ = self->writing_ ? self->current_.size() : 0;
        self->closing_ = true;
        self->close_code_ = websocket::close_code::policy_error;
        self->close_reason_ = "slow consumer";
        self->kick();
        self->close_deadline_.expires_after(std::chrono::seconds(10));
        self->close_deadline_.async_wait([self](beast::error_code ec) {
          if (ec || !self->open_) return;
          beast::error_code ignored;
          beast::get_lowest_layer(self->ws_).socket().close(ignored);
        });
        return;
      }
      self->held_bytes_ += size;
      self->queue_.push_back(std::move(text));
      self->kick();
    });
  }

  void close(std::string_view reason) override {
    close(static_cast<std::uint16_t>(websocket::close_code::going_away), reason);
  }

  void close(std::uint16_t code, std::string_view reason) override {
    asio::post(ws_.get_executor(),
               [self = this->shared_from_this(), code, r = std::string(reason)] {
                 if (self->closing_) return;  // the first reason given is the one the client hears
                 self->closing_ = true;
                 self->close_code_ = static_cast<websocket::close_code>(code);
                 self->close_reason_ = r;
                 self->kick();
               });
  }

  void set_deadline(std::chrono::milliseconds after, std::uint16_t code,
                    std::string reason) override {
    asio::post(ws_.get_executor(),
               [self = this->shared_from_this(), after, code, r = std::move(reason)]() mutable {
                 if (!self->open_) return;
                 self->deadline_.expires_after(after);
                 self->deadline_.async_wait([self, code, r](beast::error_code ec) {
                   if (ec || !self->open_) return;
                   self->close(code, r);
                 });
               });
  }

  void cancel_deadline() override {
    asio::post(ws_.get_executor(), [self = this->shared_from_this()] { self->deadline_.cancel(); });
  }

  void shutdown() override { close("server shutting down"); }

  const request& upgrade_request() const override { return upgrade_; }
  std::uint64_t id() const override { return id_; }
  std::size_t queued() const override { return queued_.load(); }
  std::size_t queued_bytes() const override { return queued_bytes_.load(); }

private:
  // A message accepted by send() left the queue without being written.
  // Saturating: an overflow resets the counters while a write may still be in flight.
  void unqueue(std::size_t size) {
    if (queued_ > 0) --queued_;
    auto b = queued_bytes_.load();
    while (!queued_bytes_.compare_exchange_weak(b, b > size ? b - size : 0)) {
    }
  }

  static std::string protocol_error(protocol::errc code, std::string_view message) {
    std::string body = protocol::error_body(code, message);
    // {"error":{...}} -> {"type":"error","error":{...}}
    return "{\"type\":\"error\"," + body.substr(1);
  }

  // The one writer, on the connection's strand: starts the next write (or, once closing with an
  // empty queue, the close handshake) unless one is in flight. Completion handlers rather than a
  // coroutine and a wake-up timer: a broadcast to thousands of connections costs one post and
  // one write per connection and message, nothing more.
  void kick() {
    if (writing_ || !open_) return;
    if (!queue_.empty()) {
      writing_ = true;
      current_ = std::move(queue_.front());
      queue_.pop_front();
      ws_.text(true);
      ws_.async_write(asio::buffer(current_),
                      [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                        self->writing_ = false;
                        const auto size = self->current_.size();
                        self->unqueue(size);
                        self->held_bytes_ = self->held_bytes_ > size ? self->held_bytes_ - size : 0;
                        self->current_.clear();
                        self->current_.shrink_to_fit();
                        if (ec) return;  // the reader sees the connection end
                        self->kick();
                      });
      return;
    }
    if (closing_ && !close_sent_) {
      // A client that does not answer the close handshake must not hold up a shutdown.
      close_sent_ = true;
      writing_ = true;
      websocket::stream_base::timeout t{};
      ws_.get_option(t);
      t.handshake_timeout = std::chrono::seconds(2);
      ws_.set_option(t);
      websocket::close_reason reason(close_code_);
      reason.reason = close_reason_;
      ws_.async_close(reason, [self = this->shared_from_this()](beast::error_code) {});
    }
  }

  websocket::stream<Stream> ws_;
  std::shared_ptr<http_server::impl> server_;
  const ws_handler& endpoint_;
  request upgrade_;
  std::deque<std::string> queue_;
  std::string current_;  // the message being written
  bool writing_ = false;
  bool close_sent_ = false;
  std::atomic<std::size_t> queued_{0};
  std::atomic<std::size_t> queued_bytes_{0};
  std::size_t held_bytes_ = 0;  // bytes in queue_ and current_ (strand only)
  bool open_ = false;
  bool closing_ = false;
  websocket::close_code close_code_ = websocket::close_code::going_away;
  std::string close_reason_;
  asio::steady_timer close_deadline_;
  asio::steady_timer deadline_;  // set_deadline()
  std::uint64_t id_ = 0;
};

// One HTTP connection: reads requests one at a time, each bounded by the header limit, the
// route's body limit and the read timeout; hands WebSocket upgrades to ws_session.
template <class Stream>
class http_session final : public session_base,
                           public std::enable_shared_from_this<http_session<Stream>> {
public:
  http_session(Stream&& stream, std::shared_ptr<http_server::impl> server, std::string address)
      : stream_(std::move(stream)),
        executor_(stream_.get_executor()),
        server_(std::move(server)),
        address_(std::move(address)) {}

  ~http_session() override { server_->release(address_); }

  asio::awaitable<void> run() {
    auto self = this->shared_from_this();
    registry_id_ = server_->add_session(self);
    co_await serve();
    server_->remove_session(registry_id_);
  }

  void shutdown() override {
    // The executor was saved at construction: after a WebSocket upgrade stream_ is moved-from.
    asio::post(executor_, [self = this->shared_from_this()] {
      self->closing_ = true;
      if (self->upgraded_) {
        self->upgraded_->shutdown();
      } else if (self->idle_) {
        beast::error_code ignored;
        beast::get_lowest_layer(self->stream_).socket().cancel(ignored);
      }
    });
  }

private:
  const server_options& opts() const { return server_->opts_; }

  asio::awaitable<void> serve() {
    auto& lowest = beast::get_lowest_layer(stream_);
    beast::error_code ignored;
    const auto peer = lowest.socket().remote_endpoint(ignored);
    remote_ = peer.address().to_string();
    if constexpr (std::is_same_v<Stream, tls_stream>) {
      lowest.expires_after(opts().read_timeout);
      auto [ec] = co_await stream_.async_handshake(ssl::stream_base::server, use_tuple);
      if (ec) {
        core::log::debug("tls handshake failed", {{"remote", remote_}, {"error", ec.message()}});
        co_return;
      }
    }
    bool first = true;
    for (;;) {
      if (closing_) break;
      // The header first, with no body type: the route decides how the body is read (whole into
      // a string, or streamed piece by piece to a body_sink).
      auto parser = std::make_unique<http::request_parser<http::empty_body>>();
      parser->header_limit(static_cast<std::uint32_t>(opts().header_limit));
      // No limit until the route is known; then the route's limit applies (checked against
      // Content-Length at once, and against the bytes of a chunked body as they arrive).
      parser->body_limit(boost::none);
      idle_ = buffer_.size() == 0;
      lowest.expires_after(first ? opts().read_timeout : opts().idle_timeout);
      first = false;
      auto [ec, n] = co_await http::async_read_header(stream_, buffer_, *parser, use_tuple);
      idle_ = false;
      if (ec) {
        co_await on_read_error(ec, parser->got_some());
        break;
      }
      auto& header = parser->get();
      const unsigned version = header.version();
      request req = request_from_header(header, remote_);
      if (const auto why = target_refusal(req)) {
        {
          const response r = response::error(protocol::errc::bad_request, *why);
          co_await write(r, version, false);
        }
        break;
      }
      if (websocket::is_upgrade(header)) {
        auto m = server_->routes_->match_websocket(req.path);
        if (!m.websocket) {
          {
            const response r =
                response::error(protocol::errc::not_found, "no WebSocket endpoint at " + req.path);
            co_await write(r, version, false);
          }
          break;
        }
        if (closing_) {
          {
            const response r =
                response::error(protocol::errc::shutting_down, "server is shutting down");
            co_await write(r, version, false);
          }
          break;
        }
        req.params = std::move(m.params);
        auto ws = std::make_shared<ws_session<Stream>>(std::move(stream_), server_, *m.websocket,
                                                       std::move(req));
        upgraded_ = ws;
        http::request_parser<http::string_body> full(std::move(*parser));
        http::request<http::string_body> upgrade = full.release();
        co_await ws->run(std::move(upgrade));
        break;
      }
      auto m = server_->routes_->match(req.method, req.path);
      if (m.error) {
        auto res = response::error(*m.error, *m.error == protocol::errc::not_found
                                                 ? "no route for " + req.method + " " + req.path
                                                 : "method " + req.method + " is not allowed on " +
                                                       req.path + " (allowed: " + m.allow + ")");
        if (!m.allow.empty()) res.headers.emplace_back("Allow", m.allow);
        // The body, if any, is left unread: close rather than guess where the next request starts.
        co_await write(res, version, false);
        break;
      }
      if (const auto length = parser->content_length(); length && *length > m.body_limit) {
        {
          const response r = response::error(protocol::errc::body_too_large,
                                             "request body of " + std::to_string(*length) +
                                                 " bytes exceeds this route's limit of " +
                                                 std::to_string(m.body_limit) + " bytes");
          co_await write(r, version, false);
        }
        break;
      }
      req.params = std::move(m.params);
      if (m.stream) {
        const bool go_on = co_await serve_stream(*parser, req, *m.stream, m.body_limit);
        if (!go_on) break;
        continue;
      }
      auto body_parser =
          std::make_unique<http::request_parser<http::string_body>>(std::move(*parser));
      parser.reset();
      body_parser->body_limit(m.body_limit);
      if (!co_await continue_if_expected(req, body_parser->is_done(), version)) break;
      lowest.expires_after(opts().read_timeout);
      auto [bec, bn] = co_await http::async_read(stream_, buffer_, *body_parser, use_tuple);
      if (bec) {
        co_await on_read_error(bec, true);
        break;
      }
      req.body = std::move(body_parser->get().body());
      const bool keep_alive = body_parser->get().keep_alive();
      response res;
      try {
        res = co_await (*m.target)(req);
      } catch (const std::exception& e) {
        core::log::error("handler failed",
                         {{"method", req.method}, {"path", req.path}, {"error", e.what()}});
        res = response::error(protocol::errc::internal, "internal error");
      }
      const bool head = req.method == "HEAD";
      if (!co_await write(res, body_parser->get().version(), keep_alive && !closing_, head)) break;
      if (!keep_alive || closing_) break;
    }
    if (upgraded_) co_return;
    co_await close_gracefully();
  }

  // Sends "100 Continue" when the client asked for it and a body is still to come. False when the
  // connection failed.
  asio::awaitable<bool> continue_if_expected(const request& req, bool body_done, unsigned version) {
    const auto expect = req.header("Expect");
    if (!expect || !beast::iequals(*expect, "100-continue") || body_done) co_return true;
    http::response<http::empty_body> cont{http::status::continue_, version == 10 ? 10u : 11u};
    auto [ec, n] = co_await http::async_write(stream_, cont, use_tuple);
    co_return !ec;
  }

  // A streaming route: the handler sees the header, then its sink receives the body in pieces of
  // at most piece_size bytes, read with the read timeout applied to each piece. Returns true when
  // the connection can serve another request.
  asio::awaitable<bool> serve_stream(http::request_parser<http::empty_body>& header, request& req,
                                     const stream_handler& route, std::size_t body_limit) {
    const unsigned version = header.get().version();
    const bool keep_alive = header.get().keep_alive();
    const bool has_body = !header.is_done();
    stream_start start;
    try {
      start = co_await route(req);
    } catch (const std::exception& e) {
      core::log::error("stream handler failed",
                       {{"method", req.method}, {"path", req.path}, {"error", e.what()}});
      start = stream_start{};
      start.immediate = response::error(protocol::errc::internal, "internal error");
    }
    if (start.immediate || !start.sink) {
      if (!start.immediate) {
        core::log::error("stream handler returned neither a response nor a sink",
                         {{"method", req.method}, {"path", req.path}});
        start.immediate = response::error(protocol::errc::internal, "internal error");
      }
      // The body, if one was announced, is left unread: the connection cannot be reused.
      const bool reuse = keep_alive && !has_body && !closing_;
      const bool written = co_await write(*start.immediate, version, reuse);
      co_return written&& reuse;
    }
    auto sink = std::move(start.sink);
    http::request_parser<http::buffer_body> parser(std::move(header));
    parser.body_limit(body_limit);
    if (!co_await continue_if_expected(req, parser.is_done(), version)) {
      co_await finish_discarded(*sink, req);
      co_return false;
    }
    if (!piece_) piece_ = std::make_unique<char[]>(piece_size);
    auto& lowest = beast::get_lowest_layer(stream_);
    beast::error_code failure;
    std::optional<response> refusal;
    while (!parser.is_done()) {
      parser.get().body().data = piece_.get();
      parser.get().body().size = piece_size;
      lowest.expires_after(opts().read_timeout);
      auto [ec, n] = co_await http::async_read_some(stream_, buffer_, parser, use_tuple);
      if (ec == http::error::need_buffer) ec = {};
      const std::size_t got = piece_size - parser.get().body().size;
      if (got > 0) {
        try {
          sink->write(piece_.get(), got);
        } catch (const coded_refusal& e) {
          refusal = response::error(e.code, e.what());
        } catch (const std::exception& e) {
          core::log::error("body sink failed",
                           {{"method", req.method}, {"path", req.path}, {"error", e.what()}});
          refusal = response::error(protocol::errc::internal, "internal error");
        }
        if (refusal) break;
      }
      if (ec) {
        failure = ec;
        break;
      }
    }
    if (refusal) {
      // The sink gave up: answer its reason and close (the rest of the body is not read).
      co_await write(*refusal, version, false);
      co_return false;
    }
    if (failure) {
      // Disconnected, stalled, over the limit or malformed mid-body: the sink keeps what it got,
      // its response goes nowhere, and whoever is still there hears why.
      co_await finish_discarded(*sink, req);
      co_await on_read_error(failure, true);
      co_return false;
    }
    response res;
    try {
      res = co_await sink->finish(true);
    } catch (const coded_refusal& e) {
      res = response::error(e.code, e.what());
    } catch (const std::exception& e) {
      core::log::error("body sink failed to finish",
                       {{"method", req.method}, {"path", req.path}, {"error", e.what()}});
      res = response::error(protocol::errc::internal, "internal error");
    }
    const bool reuse = parser.get().keep_alive() && !closing_;
    const bool written = co_await write(res, version, reuse);
    co_return written&& reuse;
  }

  static asio::awaitable<void> finish_discarded(body_sink& sink, const request& req) {
    try {
      auto ignored = co_await sink.finish(false);
      (void)ignored;
    } catch (const std::exception& e) {
      core::log::error("body sink failed to finish an incomplete body",
                       {{"method", req.method}, {"path", req.path}, {"error", e.what()}});
    }
  }

  // Answers a failed read when there is someone to answer; a plain disconnect gets nothing.
  asio::awaitable<void> on_read_error(beast::error_code ec, bool got_some) {
    if (ec == http::error::header_limit) {
      {
        const response r = response::error(
            protocol::errc::header_too_large,
            "request header exceeds " + std::to_string(opts().header_limit) + " bytes");
        co_await write(r, 11, false);
      }
    } else if (ec == http::error::body_limit) {
      {
        const response r = response::error(protocol::errc::body_too_large,
                                           "request body exceeds this route's limit");
        co_await write(r, 11, false);
      }
    } else if (ec == beast::error::timeout) {
      // beast::tcp_stream closes the socket when its timer fires, so there is no one left to
      // answer: a stalled request just loses its connection.
      core::log::debug("request timed out", {{"remote", remote_}, {"partial", got_some}});
    } else if (is_disconnect(ec) || ec == http::error::partial_message) {
      // nothing to answer
    } else if (ec.category() == http::make_error_code(http::error::bad_method).category()) {
      {
        const response r =
            response::error(protocol::errc::bad_request, "malformed HTTP request: " + ec.message());
        co_await write(r, 11, false);
      }
    } else {
      core::log::debug("read failed", {{"remote", remote_}, {"error", ec.message()}});
    }
  }

  // `head`: the answer to a HEAD request: the headers of the full answer (Content-Length
  // included) and no body bytes.
  asio::awaitable<bool> write(const response& r, unsigned version, bool keep_alive,
                              bool head = false) {
    auto res = make_response(r, version == 10 ? 10 : 11, keep_alive, opts().server_name);
    if (head) {
      const auto length = res.body().size();
      res.body().clear();
      res.content_length(length);
    }
    beast::get_lowest_layer(stream_).expires_after(opts().read_timeout);
    auto [ec, n] = co_await http::async_write(stream_, res, use_tuple);
    co_return !ec;
  }

  asio::awaitable<void> close_gracefully() {
    auto& lowest = beast::get_lowest_layer(stream_);
    if constexpr (std::is_same_v<Stream, tls_stream>) {
      lowest.expires_after(std::chrono::seconds(2));
      auto [ec] = co_await stream_.async_shutdown(use_tuple);
      (void)ec;
    }
    beast::error_code ignored;
    lowest.socket().shutdown(tcp::socket::shutdown_send, ignored);
    lowest.close();
  }

  Stream stream_;
  asio::any_io_executor executor_;
  std::shared_ptr<http_server::impl> server_;
  std::string address_;  // admitted by the accept loop; released when the session ends
  beast::flat_buffer buffer_;
  std::string remote_;
  std::shared_ptr<session_base> upgraded_;
  static constexpr std::size_t piece_size = 64 * 1024;
  std::unique_ptr<char[]> piece_;  // a streamed body's current piece, allocated on first use
  bool idle_ = true;
  bool closing_ = false;
  std::uint64_t registry_id_ = 0;
};

template <class Stream>
void start_session(Stream stream, std::shared_ptr<http_server::impl> server, std::string address) {
  auto ex = stream.get_executor();
  auto s = std::make_shared<http_session<Stream>>(std::move(stream), std::move(server),
                                                  std::move(address));
  asio::co_spawn(ex, s->run(), [s](const std::exception_ptr& e) { log_exception(e); });
}

}  // namespace tender::net::detail
