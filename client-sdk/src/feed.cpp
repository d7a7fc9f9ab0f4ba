// The public change feed in the SDK: pages over HTTP and a reconnecting WebSocket follower.

#include <tender/client/feed.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <boost/json.hpp>
#include <boost/url/parse.hpp>

#include <openssl/ssl.h>

#include <thread>

namespace tender::client {
namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace asio = boost::asio;
namespace ssl = asio::ssl;
namespace json = boost::json;
using tcp = asio::ip::tcp;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

[[noreturn]] void bad_shape(std::string_view what, std::string_view detail) {
  throw error("client.bad_response",
              "unexpected answer from " + std::string(what) + ": " + std::string(detail));
}

std::int64_t integer(const json::object& o, std::string_view key, std::string_view what) {
  const auto* v = o.if_contains(key);
  if (v == nullptr || !v->is_int64()) bad_shape(what, "'" + std::string(key) + "' is not a number");
  return v->get_int64();
}

feed_event event_of(const json::object& o, std::string_view what) {
  feed_event e;
  e.seq = integer(o, "seq", what);
  const auto* t = o.if_contains("tender_id");
  if (t == nullptr || !(t->is_null() || t->is_string())) bad_shape(what, "bad 'tender_id'");
  if (t->is_string()) e.tender_id = std::string(t->get_string());
  const auto* k = o.if_contains("kind");
  if (k == nullptr || !k->is_string()) bad_shape(what, "bad 'kind'");
  e.kind = std::string(k->get_string());
  const auto* p = o.if_contains("payload");
  if (p == nullptr || !p->is_object()) bad_shape(what, "bad 'payload'");
  e.payload_json = json::serialize(*p);
  const auto* c = o.if_contains("created_at");
  if (c == nullptr || !c->is_string()) bad_shape(what, "bad 'created_at'");
  e.created_at = std::string(c->get_string());
  e.json = json::serialize(o);
  return e;
}

struct ws_endpoint {
  bool tls = false;
  std::string host;
  std::string port;
  std::string base_path;
};

ws_endpoint parse_server(const std::string& server) {
  auto parsed = boost::urls::parse_uri(server);
  if (!parsed) {
    throw error("client.bad_url",
                "server URL '" + server + "' is not a valid URL (expected http://host:port)");
  }
  ws_endpoint e;
  const std::string scheme(parsed->scheme());
  if (scheme == "https" || scheme == "wss") {
    e.tls = true;
  } else if (scheme != "http" && scheme != "ws") {
    throw error("client.bad_url",
                "server URL '" + server + "' must start with http://, https://, ws:// or wss://");
  }
  e.host = std::string(parsed->host_address());
  if (e.host.empty()) throw error("client.bad_url", "server URL '" + server + "' has no host");
  e.port = parsed->has_port() ? std::string(parsed->port()) : (e.tls ? "443" : "80");
  e.base_path = std::string(parsed->encoded_path());
  while (!e.base_path.empty() && e.base_path.back() == '/')
    e.base_path.pop_back();
  return e;
}

// A refusal by the server ({"type":"error"} message): following cannot go on.
struct refused {
  error e;
};

// One connection: delivers events after `cursor` until the callback says stop (returns true) or
// the connection ends (throws error). `connected` is set after the handshake.
struct session {
  const options& o;
  const ws_endpoint& where;
  const follow_options& f;
  const feed_callback& callback;
  ssl::context* tls;
  std::int64_t& cursor;
  bool& connected;

  error transport(const std::string& step, const beast::error_code& ec) const {
    if (ec == beast::error::timeout) {
      return error("client.timeout", "no answer from " + o.server + " (" + step + ")");
    }
    return error("client.connect_failed",
                 "feed connection to " + o.server + " failed (" + step + "): " + ec.message());
  }

  std::string target() const {
    std::string t = where.base_path + "/ws/feed?after=" + std::to_string(cursor);
    if (f.tender) t += "&tender=" + *f.tender;
    return t;
  }

  template <class Ws>
  asio::awaitable<bool> follow(Ws& ws) {
    websocket::stream_base::timeout t{};
    t.handshake_timeout = o.timeout;
    t.idle_timeout = std::chrono::seconds(30);
    t.keep_alive_pings = true;
    ws.set_option(t);
    ws.set_option(websocket::stream_base::decorator([](websocket::request_type& req) {
      req.set(beast::http::field::user_agent, "tender-client-sdk");
    }));
    ws.read_message_max(16 * 1024 * 1024);
    const std::string host = where.host + ":" + where.port;
    const std::string path = target();
    auto [hec] = co_await ws.async_handshake(host, path, use_tuple);
    if (hec) throw transport("the WebSocket handshake", hec);
    connected = true;
    beast::flat_buffer buffer;
    for (;;) {
      buffer.clear();
      auto [rec, n] = co_await ws.async_read(buffer, use_tuple);
      if (rec) throw transport("reading", rec);
      const std::string text = beast::buffers_to_string(buffer.data());
      boost::system::error_code pec;
      auto v = json::parse(text, pec);
      if (pec || !v.is_object()) bad_shape("/ws/feed", "a message is not a JSON object");
      const auto& obj = v.get_object();
      if (const auto* type = obj.if_contains("type")) {
        if (type->is_string() && type->get_string() == "error") {
          std::string code = "client.bad_response";
          std::string message = "the server refused the feed";
          if (const auto* e = obj.if_contains("error"); e != nullptr && e->is_object()) {
            if (const auto* c = e->get_object().if_contains("code"); c && c->is_string())
              code = std::string(c->get_string());
            if (const auto* m = e->get_object().if_contains("message"); m && m->is_string())
              message = std::string(m->get_string());
          }
          throw refused{error(code, message, 400)};
        }
        continue;  // pong and other notices
      }
      const auto event = event_of(obj, "/ws/feed");
      if (event.seq <= cursor) continue;  // never deliver twice
      cursor = event.seq;
      if (!callback(event)) {
        websocket::close_reason reason(websocket::close_code::normal);
        auto [cec] = co_await ws.async_close(reason, use_tuple);
        (void)cec;
        co_return true;
      }
    }
  }

  asio::awaitable<bool> run() {
    auto ex = co_await asio::this_coro::executor;
    tcp::resolver resolver(ex);
    auto [rec, results] = co_await resolver.async_resolve(where.host, where.port, use_tuple);
    if (rec)
      throw error("client.connect_failed", "cannot resolve '" + where.host + "': " + rec.message());
    beast::tcp_stream stream(ex);
    stream.expires_after(o.timeout);
    auto [cec, ep] = co_await stream.async_connect(results, use_tuple);
    if (cec) throw transport("connecting", cec);
    stream.expires_never();  // the WebSocket's own timeouts take over
    if (!where.tls) {
      websocket::stream<beast::tcp_stream> ws(std::move(stream));
      co_return co_await follow(ws);
    }
    websocket::stream<beast::ssl_stream<beast::tcp_stream>> ws(std::move(stream), *tls);
    auto& tls_stream = ws.next_layer();
    if (!SSL_set_tlsext_host_name(tls_stream.native_handle(), where.host.c_str())) {
      throw error("client.tls_failed", "cannot set TLS server name '" + where.host + "'");
    }
    if (!o.insecure) tls_stream.set_verify_callback(ssl::host_name_verification(where.host));
    beast::get_lowest_layer(ws).expires_after(o.timeout);
    auto [hec] = co_await tls_stream.async_handshake(ssl::stream_base::client, use_tuple);
    if (hec) {
      throw error("client.tls_failed",
                  "TLS with " + o.server + " failed during the handshake: " + hec.message());
    }
    beast::get_lowest_layer(ws).expires_never();
    co_return co_await follow(ws);
  }
};

}  // namespace

feed_event parse_feed_event(const std::string& json_text) {
  boost::system::error_code ec;
  auto v = json::parse(json_text, ec);
  if (ec || !v.is_object()) bad_shape("the feed", "an event is not a JSON object");
  return event_of(v.get_object(), "the feed");
}

feed_events_page feed_page(client& c, std::int64_t after, std::size_t limit,
                           const std::optional<std::string>& tender) {
  constexpr std::string_view what = "GET /api/v1/feed";
  std::string target =
      "/api/v1/feed?after=" + std::to_string(after) + "&limit=" + std::to_string(limit);
  if (tender) target += "&tender=" + *tender;
  const auto r = c.request("GET", target);
  expect_status(r, 200);
  boost::system::error_code ec;
  auto v = json::parse(r.body, ec);
  if (ec || !v.is_object()) bad_shape(what, "not a JSON object");
  const auto& o = v.get_object();
  feed_events_page page;
  page.next = integer(o, "next", what);
  page.head = integer(o, "head", what);
  const auto* events = o.if_contains("events");
  if (events == nullptr || !events->is_array()) bad_shape(what, "'events' is not an array");
  for (const auto& e : events->get_array()) {
    if (!e.is_object()) bad_shape(what, "an event is not an object");
    page.events.push_back(event_of(e.get_object(), what));
  }
  return page;
}

std::int64_t follow_feed(const options& o, std::int64_t after, const feed_callback& callback,
                         const follow_options& f) {
  const auto where = parse_server(o.server);
  std::optional<ssl::context> tls;
  if (where.tls) {
    tls.emplace(ssl::context::tls_client);
    tls->set_options(ssl::context::no_sslv2 | ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                     ssl::context::no_tlsv1_1);
    if (o.insecure) {
      tls->set_verify_mode(ssl::verify_none);
    } else {
      tls->set_verify_mode(ssl::verify_peer);
      beast::error_code ec;
      if (o.ca_file.empty()) {
        tls->set_default_verify_paths(ec);
      } else {
        tls->load_verify_file(o.ca_file, ec);
      }
      if (ec) {
        throw error("client.tls_failed",
                    "cannot load CA file '" + o.ca_file + "': " + ec.message());
      }
    }
  }
  std::int64_t cursor = after;
  unsigned failures = 0;
  for (;;) {
    bool connected = false;
    const std::int64_t before = cursor;
    session s{o, where, f, callback, tls ? &*tls : nullptr, cursor, connected};
    try {
      asio::io_context ioc;
      auto done = asio::co_spawn(ioc, s.run(), asio::use_future);
      ioc.run();
      if (done.get()) return cursor;
    } catch (const refused& r) {
      throw r.e;
    } catch (const error& e) {
      // A connection that got through the handshake resets the count of failed attempts.
      if (connected || cursor != before) {
        failures = 0;
      } else {
        ++failures;
      }
      if (f.on_disconnect) f.on_disconnect(e);
      if (f.max_attempts != 0 && failures >= f.max_attempts) throw;
    }
    std::this_thread::sleep_for(f.reconnect_delay);
  }
}

}  // namespace tender::client
