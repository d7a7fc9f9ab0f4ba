// The opening hall in the SDK: an asynchronous, reconnecting WebSocket session per hall, the
// signed actions of hall-protocol.md §8, local key unwrapping and escrow shares, and the HTTP
// calls of §13.

#include <tender/client/hall.hpp>

#include <tender/crypto/bytes.hpp>
#include <tender/crypto/digest.hpp>
#include <tender/crypto/escrow.hpp>
#include <tender/crypto/keys.hpp>
#include <tender/crypto/sealed_bid.hpp>
#include <tender/crypto/suite.hpp>
#include <tender/protocol/uri.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <boost/json.hpp>
#include <boost/url/parse.hpp>

#include <openssl/ssl.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <fstream>
#include <future>
#include <map>
#include <mutex>
#include <random>
#include <sstream>
#include <thread>

namespace tender::client::hall {
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

json::object parse_object(std::string_view text, std::string_view what) {
  boost::system::error_code ec;
  auto v = json::parse(text, ec);
  if (ec || !v.is_object()) bad_shape(what, "not a JSON object");
  return std::move(v.get_object());
}

json::object params_object(const std::string& params_json) {
  if (params_json.empty()) return {};
  boost::system::error_code ec;
  auto v = json::parse(params_json, ec);
  if (ec || !v.is_object()) {
    throw error("client.bad_request", "act parameters must be a JSON object: " + params_json);
  }
  return std::move(v.get_object());
}

std::string str_or(const json::object& o, std::string_view key, std::string fallback = {}) {
  const auto* v = o.if_contains(key);
  if (v == nullptr || !v->is_string()) return fallback;
  return std::string(v->get_string());
}

std::optional<std::int64_t> int_of(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  if (v == nullptr) return std::nullopt;
  if (v->is_int64()) return v->get_int64();
  if (v->is_uint64()) return static_cast<std::int64_t>(v->get_uint64());
  return std::nullopt;
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

std::unique_ptr<ssl::context> make_tls(const options& o) {
  auto tls = std::make_unique<ssl::context>(ssl::context::tls_client);
  tls->set_options(ssl::context::no_sslv2 | ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                   ssl::context::no_tlsv1_1);
  if (o.insecure) {
    tls->set_verify_mode(ssl::verify_none);
    return tls;
  }
  tls->set_verify_mode(ssl::verify_peer);
  beast::error_code ec;
  if (o.ca_file.empty()) {
    tls->set_default_verify_paths(ec);
  } else {
    tls->load_verify_file(o.ca_file, ec);
  }
  if (ec)
    throw error("client.tls_failed", "cannot load CA file '" + o.ca_file + "': " + ec.message());
  return tls;
}

// One WebSocket connection: a queue of outgoing texts with one write in flight. Lives on the
// session's strand.
struct conn_base {
  virtual ~conn_base() = default;
  virtual void send(std::string text) = 0;
  virtual void shut() = 0;
};

template <class Ws>
struct connection final : conn_base, std::enable_shared_from_this<connection<Ws>> {
  Ws ws;
  std::deque<std::string> out;
  bool writing = false;
  bool closing = false;

  template <class... A>
  explicit connection(A&&... a) : ws(std::forward<A>(a)...) {}

  void send(std::string text) override {
    if (closing) return;
    out.push_back(std::move(text));
    if (!writing) write_next();
  }

  void write_next() {
    writing = true;
    ws.text(true);
    ws.async_write(asio::buffer(out.front()),
                   [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                     self->out.pop_front();
                     if (ec) {
                       self->writing = false;
                       self->out.clear();
                       return;
                     }
                     if (self->out.empty()) {
                       self->writing = false;
                     } else {
                       self->write_next();
                     }
                   });
  }

  void shut() override {
    if (closing) return;
    closing = true;
    beast::error_code ec;
    beast::get_lowest_layer(ws).socket().shutdown(tcp::socket::shutdown_both, ec);
    beast::get_lowest_layer(ws).close();
  }
};

bool fatal_code(std::string_view code) {
  return code.rfind("auth.", 0) == 0 || code == "hall.bad_cursor" ||
         code == "hall.hello_required" || code == "hall.already_joined" ||
         code == "hall.not_public_yet" || code == "tender.not_found";
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// session

struct session::impl : std::enable_shared_from_this<impl> {
  using strand_type = asio::strand<asio::io_context::executor_type>;

  struct pending_act {
    std::string text;
    std::function<void(act_result)> done;
    bool sent = false;
  };

  strand_type strand;
  session_options o;
  ws_endpoint where;
  std::unique_ptr<ssl::context> tls;
  asio::steady_timer retry_timer;
  asio::steady_timer ping_timer;
  std::minstd_rand jitter;

  // Strand state.
  std::shared_ptr<conn_base> conn;
  bool welcomed = false;
  bool closed = false;
  bool have_cursor = false;
  std::uint64_t generation = 0;
  std::uint64_t next_id = 1;
  unsigned failures = 0;
  std::map<std::string, pending_act> pending;
  std::vector<std::string> order;  // ids in the order act() was called, for sending after welcome

  // Readable from any thread.
  std::atomic<std::int64_t> last{0};
  std::atomic<bool> is_connected{false};
  mutable std::mutex viewer_mu;
  std::optional<hall::viewer> who;

  impl(asio::io_context& ioc, session_options opts)
      : strand(asio::make_strand(ioc)),
        o(std::move(opts)),
        where(parse_server(o.server.server)),
        retry_timer(strand),
        ping_timer(strand),
        jitter(static_cast<std::minstd_rand::result_type>(
            std::hash<const void*>{}(this) ^
            static_cast<std::size_t>(
                std::chrono::steady_clock::now().time_since_epoch().count()))) {
    if (where.tls) tls = make_tls(o.server);
    if (o.after) {
      have_cursor = true;
      last = *o.after;
    }
  }

  void fail_sent(const std::string& code, const std::string& message) {
    std::vector<std::function<void(act_result)>> to_call;
    for (auto it = pending.begin(); it != pending.end();) {
      if (it->second.sent || code == "client.closed") {
        to_call.push_back(std::move(it->second.done));
        it = pending.erase(it);
      } else {
        ++it;
      }
    }
    std::erase_if(order, [this](const std::string& id) { return pending.count(id) == 0; });
    for (auto& done : to_call) {
      act_result r;
      r.code = code;
      r.message = message;
      if (done) done(std::move(r));
    }
  }

  void schedule_reconnect() {
    if (closed || !o.reconnect) return;
    const unsigned shift = std::min(failures, 3u);
    auto delay = o.reconnect_delay * (1u << shift);
    const auto spread = std::max<std::int64_t>(1, delay.count() / 2);
    delay += std::chrono::milliseconds(static_cast<std::int64_t>(jitter() % spread));
    retry_timer.expires_after(delay);
    retry_timer.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (ec || self->closed) return;
      self->connect();
    });
  }

  void connect() {
    if (closed) return;
    const auto gen = ++generation;
    asio::co_spawn(strand, run(gen), [self = shared_from_this(), gen](std::exception_ptr ep) {
      self->ended(gen, ep);
    });
  }

  void ended(std::uint64_t gen, std::exception_ptr ep) {
    if (gen != generation) return;
    conn.reset();
    welcomed = false;
    is_connected = false;
    ping_timer.cancel();
    bool fatal = false;
    std::optional<error> why;
    if (ep) {
      try {
        std::rethrow_exception(ep);
      } catch (const error& e) {
        fatal = fatal_code(e.code());
        why = e;
      } catch (const std::exception& e) {
        why = error("client.connect_failed", e.what());
      }
    }
    if (!why) why = error("client.connect_failed", "the hall connection ended");
    fail_sent("client.disconnected",
              "the connection dropped before the answer (the action may have been applied): " +
                  std::string(why->what()));
    if (closed) return;
    if (fatal) {
      closed = true;
      if (o.on_fatal) o.on_fatal(*why);
      fail_sent("client.closed", "the session ended: " + std::string(why->what()));
      return;
    }
    ++failures;
    if (o.on_disconnect) o.on_disconnect(*why);
    schedule_reconnect();
  }

  error transport(const std::string& step, const beast::error_code& ec) const {
    if (ec == beast::error::timeout) {
      return error("client.timeout", "no answer from " + o.server.server + " (" + step + ")");
    }
    return error("client.connect_failed", "hall connection to " + o.server.server + " failed (" +
                                              step + "): " + ec.message());
  }

  std::string hello_text() const {
    json::object h;
    h["type"] = "hello";
    if (o.token) {
      h["token"] = *o.token;
    } else {
      h["token"] = nullptr;
    }
    if (o.view != "full") h["view"] = o.view;
    if (have_cursor) {
      h["after"] = last.load();
    } else {
      h["after"] = nullptr;
    }
    return json::serialize(h);
  }

  asio::awaitable<void> pinger(std::uint64_t gen) {
    auto self = shared_from_this();
    while (!closed && gen == generation) {
      ping_timer.expires_after(o.ping_interval);
      auto [ec] = co_await ping_timer.async_wait(use_tuple);
      if (closed || gen != generation) co_return;
      if (!ec && conn && welcomed) conn->send(R"({"type":"ping"})");
    }
  }

  template <class Ws>
  asio::awaitable<void> talk(std::shared_ptr<connection<Ws>> c, std::uint64_t gen) {
    auto& ws = c->ws;
    websocket::stream_base::timeout t{};
    t.handshake_timeout = o.server.timeout;
    t.idle_timeout = std::chrono::seconds(60);
    t.keep_alive_pings = true;
    ws.set_option(t);
    ws.set_option(websocket::stream_base::decorator([](websocket::request_type& req) {
      req.set(beast::http::field::user_agent, "tender-client-sdk");
    }));
    ws.read_message_max(16 * 1024 * 1024);
    const std::string host = where.host + ":" + where.port;
    const std::string path = where.base_path + "/ws/halls/" + protocol::percent_encode(o.tender_id);
    auto [hec] = co_await ws.async_handshake(host, path, use_tuple);
    if (hec) throw transport("the WebSocket handshake", hec);
    if (closed || gen != generation) co_return;
    conn = c;
    c->send(hello_text());
    asio::co_spawn(strand, pinger(gen), asio::detached);
    beast::flat_buffer buffer;
    for (;;) {
      buffer.clear();
      auto [rec, n] = co_await ws.async_read(buffer, use_tuple);
      if (rec) {
        if (rec == websocket::error::closed) {
          const auto& reason = ws.reason();
          throw error("client.connect_failed",
                      "the server closed the hall connection (" +
                          std::to_string(static_cast<int>(reason.code)) +
                          (reason.reason.empty()
                               ? std::string()
                               : " " + std::string(reason.reason.data(), reason.reason.size())) +
                          ")");
        }
        throw transport("reading", rec);
      }
      if (closed || gen != generation) co_return;
      const std::string text = beast::buffers_to_string(buffer.data());
      if (!handle(text)) {
        c->shut();
        co_return;
      }
    }
  }

  asio::awaitable<void> run(std::uint64_t gen) {
    auto self = shared_from_this();
    tcp::resolver resolver(strand);
    auto [rec, results] = co_await resolver.async_resolve(where.host, where.port, use_tuple);
    if (rec) {
      throw error("client.connect_failed", "cannot resolve '" + where.host + "': " + rec.message());
    }
    beast::tcp_stream stream(strand);
    stream.expires_after(o.server.timeout);
    auto [cec, ep] = co_await stream.async_connect(results, use_tuple);
    if (cec) throw transport("connecting", cec);
    stream.expires_never();
    if (!where.tls) {
      auto c =
          std::make_shared<connection<websocket::stream<beast::tcp_stream>>>(std::move(stream));
      co_await talk(c, gen);
      co_return;
    }
    using tls_ws = websocket::stream<beast::ssl_stream<beast::tcp_stream>>;
    auto c = std::make_shared<connection<tls_ws>>(std::move(stream), *tls);
    auto& tls_stream = c->ws.next_layer();
    if (!SSL_set_tlsext_host_name(tls_stream.native_handle(), where.host.c_str())) {
      throw error("client.tls_failed", "cannot set TLS server name '" + where.host + "'");
    }
    if (!o.server.insecure) tls_stream.set_verify_callback(ssl::host_name_verification(where.host));
    beast::get_lowest_layer(c->ws).expires_after(o.server.timeout);
    auto [hec] = co_await tls_stream.async_handshake(ssl::stream_base::client, use_tuple);
    if (hec) {
      throw error("client.tls_failed",
                  "TLS with " + o.server.server + " failed during the handshake: " + hec.message());
    }
    beast::get_lowest_layer(c->ws).expires_never();
    co_await talk(c, gen);
  }

  void flush() {
    if (!conn || !welcomed) return;
    for (const auto& id : order) {
      auto it = pending.find(id);
      if (it == pending.end() || it->second.sent) continue;
      it->second.sent = true;
      conn->send(it->second.text);
    }
    order.clear();
  }

  // One server message. Returns false to drop the connection and resume (a gap).
  bool handle(const std::string& text) {
    const auto msg = parse_object(text, "/ws/halls");
    const std::string type = str_or(msg, "type");
    if (type == "event") {
      const auto seq = int_of(msg, "seq");
      if (!seq) bad_shape("/ws/halls", "an event without 'seq'");
      if (have_cursor && *seq <= last) return true;  // already delivered
      if (have_cursor && *seq != last + 1) {
        if (o.on_disconnect) {
          o.on_disconnect(error(
              "client.gap", "events " + std::to_string(last + 1) + ".." + std::to_string(*seq - 1) +
                                " are missing; resuming from " + std::to_string(last)));
        }
        return false;
      }
      event e;
      e.seq = *seq;
      e.kind = str_or(msg, "kind");
      e.at = str_or(msg, "at");
      if (const auto* a = msg.if_contains("actor")) e.actor_json = json::serialize(*a);
      if (e.actor_json.empty()) e.actor_json = "null";
      if (const auto* d = msg.if_contains("data")) e.data_json = json::serialize(*d);
      if (e.data_json.empty()) e.data_json = "{}";
      e.json = text;
      have_cursor = true;
      last = *seq;
      if (o.on_event) o.on_event(e);
      return true;
    }
    // Events from..to are not for this (summary) view; the cursor moves past them. A skip comes
    // alone or inside a progress message. False on a gap (the session resumes).
    auto skip = [&](const json::object& range) {
      const auto from = int_of(range, "from");
      const auto to = int_of(range, "to");
      if (!from || !to || *to < *from) bad_shape("/ws/halls", "a skip without 'from' <= 'to'");
      if (have_cursor && *to <= last) return true;  // already past
      if (have_cursor && *from > last + 1) {
        if (o.on_disconnect) {
          o.on_disconnect(error("client.gap", "events " + std::to_string(last + 1) + ".." +
                                                  std::to_string(*from - 1) +
                                                  " are missing; resuming from " +
                                                  std::to_string(last)));
        }
        return false;
      }
      have_cursor = true;
      last = *to;
      if (o.on_skip) o.on_skip(*from, *to);
      return true;
    };
    if (type == "skip") return skip(msg);
    if (type == "progress") {
      if (const auto* range = msg.if_contains("skip")) {
        if (!range->is_object()) bad_shape("/ws/halls", "a progress whose 'skip' is no object");
        if (!skip(range->get_object())) return false;
      }
      if (o.on_progress) {
        const auto* h = msg.if_contains("hall");
        o.on_progress(h != nullptr ? json::serialize(*h) : std::string("{}"));
      }
      return true;
    }
    if (type == "ack" ||
        (type == "error" && msg.if_contains("id") != nullptr && msg.at("id").is_string())) {
      const std::string id = str_or(msg, "id");
      auto it = pending.find(id);
      if (it == pending.end()) return true;
      auto done = std::move(it->second.done);
      pending.erase(it);
      act_result r;
      if (type == "ack") {
        r.ok = true;
        r.seq = int_of(msg, "seq");
        if (const auto* res = msg.if_contains("result"); res != nullptr && res->is_object())
          r.result_json = json::serialize(*res);
      } else if (const auto* e = msg.if_contains("error"); e != nullptr && e->is_object()) {
        r.code = str_or(e->get_object(), "code", "client.bad_response");
        r.message = str_or(e->get_object(), "message");
      }
      if (done) done(std::move(r));
      return true;
    }
    if (type == "error") {
      std::string code = "client.bad_response";
      std::string message = "the hall refused the connection";
      if (const auto* e = msg.if_contains("error"); e != nullptr && e->is_object()) {
        code = str_or(e->get_object(), "code", code);
        message = str_or(e->get_object(), "message", message);
      }
      if (!welcomed || fatal_code(code)) throw error(code, message, 400);
      return true;  // a notice about a message we sent without an id; nothing to do
    }
    if (type == "welcome") {
      welcome w;
      w.tender_id = str_or(msg, "tender_id");
      if (const auto* v = msg.if_contains("viewer"); v != nullptr && v->is_object()) {
        const auto& vo = v->get_object();
        w.viewer = {str_or(vo, "role"), str_or(vo, "user_id"), str_or(vo, "org_id")};
      }
      w.head = int_of(msg, "head").value_or(0);
      w.server_time = str_or(msg, "server_time");
      {
        std::lock_guard lock(viewer_mu);
        who = w.viewer;
      }
      welcomed = true;
      is_connected = true;
      failures = 0;
      if (o.on_welcome) o.on_welcome(w);
      flush();
      return true;
    }
    if (type == "snapshot") {
      snapshot s;
      s.seq = int_of(msg, "seq").value_or(0);
      if (const auto* h = msg.if_contains("hall")) s.hall_json = json::serialize(*h);
      have_cursor = true;
      last = s.seq;
      if (o.on_snapshot) o.on_snapshot(s);
      return true;
    }
    return true;  // pong and anything newer
  }

  void act(std::string action, std::string params_json, std::function<void(act_result)> done) {
    if (closed) {
      act_result r;
      r.code = "client.closed";
      r.message = "the hall session is closed";
      if (done) done(std::move(r));
      return;
    }
    json::object m;
    try {
      m = params_object(params_json);
    } catch (const error& e) {
      act_result r;
      r.code = e.code();
      r.message = e.what();
      if (done) done(std::move(r));
      return;
    }
    const std::string id = "a" + std::to_string(next_id++);
    m["type"] = "act";
    m["id"] = id;
    m["action"] = action;
    pending[id] = pending_act{json::serialize(m), std::move(done), false};
    order.push_back(id);
    flush();
  }

  void close() {
    if (closed) return;
    closed = true;
    ++generation;
    retry_timer.cancel();
    ping_timer.cancel();
    if (conn) conn->shut();
    conn.reset();
    is_connected = false;
    fail_sent("client.closed", "the hall session was closed");
    o.on_welcome = nullptr;
    o.on_snapshot = nullptr;
    o.on_event = nullptr;
    o.on_fatal = nullptr;
    o.on_disconnect = nullptr;
  }
};

session::session(asio::io_context& ioc, session_options o)
    : impl_(std::make_shared<impl>(ioc, std::move(o))) {}

session::~session() {
  close();
}

void session::start() {
  asio::post(impl_->strand, [self = impl_] { self->connect(); });
}

void session::act(std::string action, std::string params_json,
                  std::function<void(act_result)> done) {
  asio::post(impl_->strand, [self = impl_, action = std::move(action),
                             params = std::move(params_json), done = std::move(done)]() mutable {
    self->act(std::move(action), std::move(params), std::move(done));
  });
}

void session::close() {
  if (!impl_) return;
  asio::post(impl_->strand, [self = impl_] { self->close(); });
}

std::int64_t session::last_seq() const {
  return impl_->last.load();
}

std::optional<hall::viewer> session::viewer() const {
  std::lock_guard lock(impl_->viewer_mu);
  return impl_->who;
}

bool session::connected() const {
  return impl_->is_connected.load();
}

// ---------------------------------------------------------------------------------------------
// Signed actions

std::string signed_message(std::string_view tender_id, std::string_view action,
                           std::string_view challenge_id, std::string_view challenge_b64,
                           std::string_view payload) {
  std::string m = "tenderhall-hall-v1\n";
  m.append(tender_id).append("\n");
  m.append(action).append("\n");
  m.append(challenge_id).append("\n");
  m.append(challenge_b64).append("\n");
  m.append(payload);
  return m;
}

std::string commitment_of(std::string_view nonce_raw) {
  return crypto::to_hex(crypto::sha256(nonce_raw));
}

std::string decrypt_payload(int lot, std::string_view file, std::string_view key_material) {
  return std::to_string(lot) + "\n" + std::string(file) + "\n" + commitment_of(key_material);
}

nonce_commitment make_nonce() {
  std::array<std::uint8_t, 32> raw{};
  crypto::system_random().fill(raw);
  nonce_commitment n;
  n.nonce.assign(reinterpret_cast<const char*>(raw.data()), raw.size());
  n.nonce_hex = crypto::hex_encode(raw);
  n.commitment = commitment_of(n.nonce);
  crypto::secure_wipe(raw.data(), raw.size());
  return n;
}

signer signer_from_pem(std::string_view pem, std::optional<std::string_view> passphrase) {
  auto key = crypto::private_key::from_pem(pem, passphrase);
  signer s;
  s.fingerprint = key.public_part().fingerprint();
  s.sign = [key](std::string_view message) {
    const auto sig = crypto::sign_message(key, crypto::as_bytes(message));
    return std::string(sig.begin(), sig.end());
  };
  return s;
}

void signed_act(session& s, const std::string& tender_id, const std::string& action,
                std::string params_json, std::string payload, const signer& who,
                std::function<void(act_result)> done) {
  s.act("challenge", "{}",
        [&s, tender_id, action, params = std::move(params_json), payload = std::move(payload), who,
         done = std::move(done)](act_result r) mutable {
          if (!r.ok) {
            done(std::move(r));
            return;
          }
          json::object p;
          std::string message;
          try {
            const auto res = parse_object(r.result_json, "challenge");
            const std::string challenge_id = str_or(res, "challenge_id");
            const std::string challenge = str_or(res, "challenge");
            message = signed_message(tender_id, action, challenge_id, challenge, payload);
            p = params_object(params);
            p["challenge_id"] = challenge_id;
            p["key"] = who.fingerprint;
            p["signature"] = crypto::base64_encode(crypto::as_bytes(who.sign(message)));
          } catch (const std::exception& e) {
            act_result bad;
            bad.code = "client.sign_failed";
            bad.message = e.what();
            done(std::move(bad));
            return;
          }
          s.act(action, json::serialize(p), std::move(done));
        });
}

std::string sign_in_params(std::string_view commitment) {
  json::object p;
  p["commitment"] = commitment;
  return json::serialize(p);
}

std::string decrypt_params(int lot, std::string_view file, std::string_view key_material) {
  json::object p;
  p["lot"] = lot;
  p["file"] = file;
  p["key_material"] = crypto::base64_encode(crypto::as_bytes(key_material));
  return json::serialize(p);
}

std::string confirm_params(std::string_view digest) {
  json::object p;
  p["digest"] = digest;
  return json::serialize(p);
}

// ---------------------------------------------------------------------------------------------
// Keys and remedies

namespace {
file_key unwrap(const crypto::sealed::header& h, std::string_view enc_key_pem,
                std::optional<std::string_view> passphrase) {
  const auto key = crypto::private_key::from_pem(enc_key_pem, passphrase);
  const auto u = crypto::sealed::unwrap_bidder(h, key);
  file_key k;
  k.bidder_part = u.kind == crypto::sealed::key_kind::bidder_part;
  k.key.assign(reinterpret_cast<const char*>(u.key.data()), u.key.size());
  return k;
}
}  // namespace

file_key unwrap_key_from_header(std::string_view header_bytes, std::string_view enc_key_pem,
                                std::optional<std::string_view> passphrase) {
  return unwrap(crypto::sealed::parse_header(crypto::as_bytes(header_bytes)), enc_key_pem,
                passphrase);
}

file_key unwrap_key_from_file(const std::filesystem::path& sealed_or_backup_file,
                              std::string_view enc_key_pem,
                              std::optional<std::string_view> passphrase) {
  std::ifstream in(sealed_or_backup_file, std::ios::binary);
  if (!in) {
    throw error("client.file_unreadable", "cannot open " + sealed_or_backup_file.string());
  }
  const auto layout = crypto::sealed::inspect(in);
  return unwrap(layout.hdr, enc_key_pem, passphrase);
}

std::string share_context(std::string_view tender_id, int lot, std::string_view org_id) {
  return std::string(tender_id) + "/lot/" + std::to_string(lot) + "/" + std::string(org_id);
}

std::string make_share(std::string_view setup_json, std::string_view custodian_share_json,
                       std::string_view escrow_r_b64, std::string_view tender_id, int lot,
                       std::string_view org_id) {
  const auto setup = crypto::escrow::setup_from_json(setup_json);
  const auto share = crypto::escrow::share_from_json(custodian_share_json);
  const auto r = crypto::base64_decode(escrow_r_b64);
  const auto context = share_context(tender_id, lot, org_id);
  const auto d = crypto::escrow::make_decryption_share(setup, share, r, crypto::as_bytes(context));
  return crypto::escrow::decryption_share_to_json(d);
}

std::string share_params(int lot, std::string_view org_id, std::string_view share_json) {
  json::object p;
  p["lot"] = lot;
  p["org_id"] = org_id;
  p["share"] = json::parse(share_json);
  return json::serialize(p);
}

// ---------------------------------------------------------------------------------------------
// HTTP

namespace {
std::string hall_path(const std::string& tender_id) {
  return "/api/v1/tenders/" + protocol::percent_encode(tender_id);
}
}  // namespace

backup_receipt upload_backup(client& c, const std::string& tender_id, int lot,
                             const std::filesystem::path& backup_file) {
  constexpr std::string_view what = "PUT /api/v1/tenders/{id}/lots/{lot}/hall/backup";
  std::ifstream in(backup_file, std::ios::binary);
  if (!in) throw error("client.file_unreadable", "cannot open " + backup_file.string());
  std::ostringstream body;
  body << in.rdbuf();
  const auto r =
      c.request("PUT", hall_path(tender_id) + "/lots/" + std::to_string(lot) + "/hall/backup",
                body.str(), "application/octet-stream");
  expect_status(r, 200);
  const auto o = parse_object(r.body, what);
  backup_receipt b;
  b.lot = static_cast<int>(int_of(o, "lot").value_or(lot));
  b.org_id = str_or(o, "org_id");
  b.size = static_cast<std::uint64_t>(int_of(o, "size").value_or(0));
  b.commitment = str_or(o, "commitment");
  return b;
}

std::string state(client& c, const std::string& tender_id) {
  const auto r = c.request("GET", hall_path(tender_id) + "/hall");
  expect_status(r, 200);
  return r.body;
}

std::string events_page(client& c, const std::string& tender_id, std::int64_t after,
                        std::size_t limit) {
  const auto r =
      c.request("GET", hall_path(tender_id) + "/hall/events?after=" + std::to_string(after) +
                           "&limit=" + std::to_string(limit));
  expect_status(r, 200);
  return r.body;
}

std::string opening_record(client& c, const std::string& tender_id) {
  const auto r = c.request("GET", hall_path(tender_id) + "/opening-record");
  expect_status(r, 200);
  return r.body;
}

std::string expect_ok(const act_result& result) {
  if (!result.ok) {
    throw error(result.code.empty() ? "client.bad_response" : result.code,
                result.message.empty() ? result.code : result.message);
  }
  return result.result_json;
}

// ---------------------------------------------------------------------------------------------
// blocking_session

struct blocking_session::impl {
  asio::io_context ioc;
  asio::executor_work_guard<asio::io_context::executor_type> guard{ioc.get_executor()};
  std::thread thread;
  std::string tender_id;
  std::unique_ptr<session> s;

  mutable std::mutex mu;
  std::condition_variable cv;
  std::vector<event> events;
  std::optional<snapshot> first;
  std::optional<welcome> last_welcome;
  std::optional<error> fatal;

  ~impl() {
    if (s) s->close();
    guard.reset();
    // Let the close run, then stop whatever is still pending (timers, reads).
    asio::post(ioc, [this] { ioc.stop(); });
    if (thread.joinable()) thread.join();
    s.reset();
  }
};

blocking_session::blocking_session(session_options o) : impl_(std::make_unique<impl>()) {
  auto& d = *impl_;
  d.tender_id = o.tender_id;
  const auto timeout = o.server.timeout;
  const bool want_snapshot = !o.after.has_value();
  auto user_event = std::move(o.on_event);
  auto user_welcome = std::move(o.on_welcome);
  o.on_welcome = [&d, user_welcome](const welcome& w) {
    {
      std::lock_guard lock(d.mu);
      d.last_welcome = w;
    }
    d.cv.notify_all();
    if (user_welcome) user_welcome(w);
  };
  o.on_snapshot = [&d](const snapshot& s) {
    {
      std::lock_guard lock(d.mu);
      if (!d.first) d.first = s;
    }
    d.cv.notify_all();
  };
  o.on_event = [&d, user_event](const event& e) {
    {
      std::lock_guard lock(d.mu);
      d.events.push_back(e);
    }
    d.cv.notify_all();
    if (user_event) user_event(e);
  };
  o.on_fatal = [&d](const error& e) {
    {
      std::lock_guard lock(d.mu);
      d.fatal = e;
    }
    d.cv.notify_all();
  };
  d.s = std::make_unique<session>(d.ioc, std::move(o));
  d.thread = std::thread([&d] { d.ioc.run(); });
  d.s->start();
  std::unique_lock lock(d.mu);
  const bool ok = d.cv.wait_for(lock, timeout, [&] {
    return d.fatal.has_value() || (d.last_welcome.has_value() && (!want_snapshot || d.first));
  });
  if (d.fatal) throw *d.fatal;
  if (!ok) throw error("client.timeout", "no welcome from the hall of " + d.tender_id);
}

blocking_session::~blocking_session() = default;

act_result blocking_session::act(const std::string& action, const std::string& params_json,
                                 std::chrono::milliseconds timeout) {
  auto p = std::make_shared<std::promise<act_result>>();
  auto f = p->get_future();
  impl_->s->act(action, params_json, [p](act_result r) { p->set_value(std::move(r)); });
  if (f.wait_for(timeout) != std::future_status::ready) {
    throw error("client.timeout", "no answer to '" + action + "' from the hall");
  }
  return f.get();
}

act_result blocking_session::signed_act(const std::string& action, const std::string& params_json,
                                        const std::string& payload, const signer& who,
                                        std::chrono::milliseconds timeout) {
  auto p = std::make_shared<std::promise<act_result>>();
  auto f = p->get_future();
  hall::signed_act(*impl_->s, impl_->tender_id, action, params_json, payload, who,
                   [p](act_result r) { p->set_value(std::move(r)); });
  if (f.wait_for(timeout) != std::future_status::ready) {
    throw error("client.timeout", "no answer to '" + action + "' from the hall");
  }
  return f.get();
}

event blocking_session::wait_for(const std::function<bool(const event&)>& pred,
                                 std::chrono::milliseconds timeout) {
  auto& d = *impl_;
  std::unique_lock lock(d.mu);
  std::size_t checked = 0;
  std::optional<event> found;
  d.cv.wait_for(lock, timeout, [&] {
    for (; checked < d.events.size(); ++checked) {
      if (pred(d.events[checked])) {
        found = d.events[checked];
        return true;
      }
    }
    return d.fatal.has_value();
  });
  if (found) return *found;
  if (d.fatal) throw *d.fatal;
  throw error("client.timeout", "the awaited hall event did not come within " +
                                    std::to_string(timeout.count()) + " ms");
}

event blocking_session::wait_for_kind(const std::string& kind, std::chrono::milliseconds timeout) {
  try {
    return wait_for([&](const event& e) { return e.kind == kind; }, timeout);
  } catch (const error& e) {
    if (e.code() != "client.timeout") throw;
    throw error("client.timeout", "no '" + kind + "' hall event came within " +
                                      std::to_string(timeout.count()) + " ms (last seq " +
                                      std::to_string(last_seq()) + ")");
  }
}

std::vector<event> blocking_session::events() const {
  std::lock_guard lock(impl_->mu);
  return impl_->events;
}

std::optional<snapshot> blocking_session::first_snapshot() const {
  std::lock_guard lock(impl_->mu);
  return impl_->first;
}

welcome blocking_session::last_welcome() const {
  std::lock_guard lock(impl_->mu);
  return impl_->last_welcome.value_or(welcome{});
}

std::int64_t blocking_session::last_seq() const {
  return impl_->s->last_seq();
}

const std::string& blocking_session::tender_id() const {
  return impl_->tender_id;
}

}  // namespace tender::client::hall
