// The opening hall (protocol/docs/hall-protocol.md): the WebSocket /ws/halls/{tender_id} (§4)
// and the HTTP endpoints of §13 except the page itself: the snapshot, event pages, the backup
// file upload and the published opening record.

#include "auth.hpp"
#include "guarded.hpp"
#include "hall_service.hpp"
#include "params.hpp"
#include "routes.hpp"

#include <tender/core/hall_params.hpp>
#include <tender/core/log.hpp>
#include <tender/crypto/bytes.hpp>
#include <tender/crypto/digest.hpp>
#include <tender/crypto/error.hpp>
#include <tender/crypto/sealed_bid.hpp>
#include <tender/db/database.hpp>
#include <tender/db/hall.hpp>
#include <tender/db/identity.hpp>
#include <tender/protocol/hall_messages.hpp>
#include <tender/storage/blob_store.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <variant>

namespace tender::app {
namespace json = boost::json;
namespace asio = boost::asio;
using protocol::errc;

namespace {

// WebSocket close codes of the hall (hall-protocol.md §1): a policy the client broke (no hello in
// time), and a limit it met that may free up (too many connections of one user).
constexpr std::uint16_t close_policy = 1008;
constexpr std::uint16_t close_try_later = 1013;
constexpr std::size_t max_event_page = 1000;
constexpr std::size_t default_event_page = 100;

[[noreturn]] void refuse(errc code, std::string message) {
  throw rejected_request{code, std::move(message)};
}

// The server's clock, UTC with microseconds (the hall's times are the database's; this is for
// the client's countdown offset only).
std::string utc_now() {
  const auto now = std::chrono::system_clock::now();
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch());
  const std::time_t secs = static_cast<std::time_t>(us.count() / 1000000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<long long>(us.count() % 1000000));
  return buf;
}

// {"type":"error","id":...,"error":{"code","message"}}
std::string ws_error(const json::value& id, std::string_view code, std::string_view message) {
  json::object o;
  o["type"] = "error";
  o["id"] = id;
  o["error"] = json::object{{"code", code}, {"message", message}};
  return json::serialize(o);
}
std::string ws_error(const json::value& id, errc code, std::string_view message) {
  return ws_error(id, protocol::error_code_name(code), message);
}

// The public code and message of an exception raised while serving the hall.
std::pair<std::string, std::string> public_error(const std::exception_ptr& p) {
  try {
    std::rethrow_exception(p);
  } catch (const rejected_request& e) {
    return {std::string(protocol::error_code_name(e.code)), e.message};
  } catch (const db::error& e) {
    if (auto c = protocol::errc_from_name(e.code());
        c && !e.code().starts_with("service.") && !e.code().starts_with("db.")) {
      return {e.code(), e.what()};
    }
    if (e.code() == "db.unreachable" || e.code() == "db.stopped") {
      return {std::string(protocol::error_code_name(errc::not_ready)),
              std::string("database: ") + e.what()};
    }
    core::log::error("hall request failed", {{"code", e.code()}, {"error", e.what()}});
    return {std::string(protocol::error_code_name(errc::internal)),
            "the request failed [" + e.code() + "]"};
  } catch (const std::exception& e) {
    core::log::error("hall request failed", {{"error", e.what()}});
    return {std::string(protocol::error_code_name(errc::internal)), "the request failed"};
  }
}

net::response error_response(const std::exception_ptr& p) {
  auto [code, message] = public_error(p);
  auto res = net::response::error(*protocol::errc_from_name(code), message);
  if (code == protocol::error_code_name(errc::not_ready)) {
    res.headers.emplace_back("Retry-After", "1");
  }
  return res;
}

// What one WebSocket connection has said so far. on_message runs one at a time per connection,
// so only the map needs the lock.
struct connection_state {
  bool joined = false;
  std::string tender_id;
  db::hall_viewer viewer;
  std::optional<std::string> token;  // the session the connection joined with, if any
  std::set<std::string, std::less<>> ids;
  std::string counted_user;     // the user whose connection count this connection holds
  bool counted_public = false;  // holds one of the public's connections
  // The act rate limit: a token bucket refilled at act_rate per second up to act_burst.
  double tokens = -1;  // -1: full (set on the first act)
  std::chrono::steady_clock::time_point refilled{};
};

struct hall_state {
  hall_state(db::database& d, hall_service& s, const bid_settings& b)
      : database(d),
        service(s),
        ids(std::make_shared<db::identity>(d.connections(), db::identity::options{})),
        settings(b) {}

  db::database& database;
  hall_service& service;
  std::shared_ptr<db::identity> ids;
  bid_settings settings;
  std::mutex mutex;
  std::map<std::uint64_t, std::shared_ptr<connection_state>> connections;
  // The connections that joined with a token, for the periodic session re-check.
  struct held_session {
    std::weak_ptr<net::ws_connection> connection;
    std::string token;
  };
  std::map<std::uint64_t, held_session> sessions;

  void hold_session(const std::shared_ptr<net::ws_connection>& c, std::string token) {
    std::lock_guard lock(mutex);
    sessions[c->id()] = held_session{c, std::move(token)};
  }
  std::vector<held_session> held_sessions() {
    std::lock_guard lock(mutex);
    std::vector<held_session> out;
    out.reserve(sessions.size());
    for (const auto& [id, h] : sessions)
      out.push_back(h);
    return out;
  }
  std::map<std::string, std::size_t> per_user;  // joined connections per user id
  std::size_t public_count = 0;                 // joined connections of public viewers

  std::shared_ptr<connection_state> state_of(std::uint64_t id) {
    std::lock_guard lock(mutex);
    auto& s = connections[id];
    if (!s) s = std::make_shared<connection_state>();
    return s;
  }
  void forget(std::uint64_t id) {
    std::lock_guard lock(mutex);
    sessions.erase(id);
    const auto it = connections.find(id);
    if (it == connections.end()) return;
    if (it->second->counted_public) --public_count;
    if (const auto& u = it->second->counted_user; !u.empty()) {
      if (const auto n = per_user.find(u); n != per_user.end() && --n->second == 0)
        per_user.erase(n);
    }
    connections.erase(it);
  }

  // Counts one more connection of `user_id` unless it already holds connections_per_user.
  bool count_user(connection_state& st, const std::string& user_id) {
    std::lock_guard lock(mutex);
    auto& n = per_user[user_id];
    if (n >= service.settings().connections_per_user) {
      if (n == 0) per_user.erase(user_id);
      return false;
    }
    ++n;
    st.counted_user = user_id;
    return true;
  }

  // Counts one more public viewer unless the public holds its share of the connections already.
  bool count_public(connection_state& st) {
    std::lock_guard lock(mutex);
    if (public_count >= service.settings().public_connections) return false;
    ++public_count;
    st.counted_public = true;
    return true;
  }

  // Takes one act from the connection's bucket; false when it is empty.
  bool take_act(connection_state& st) {
    const auto& o = service.settings();
    const auto now = std::chrono::steady_clock::now();
    const double burst = o.act_burst;
    if (st.tokens < 0) {
      st.tokens = burst;
    } else {
      const std::chrono::duration<double> since = now - st.refilled;
      st.tokens = std::min(burst, st.tokens + since.count() * o.act_rate);
    }
    st.refilled = now;
    if (st.tokens < 1) return false;
    st.tokens -= 1;
    return true;
  }

  // The viewer of an HTTP request: the token is optional, but a token that is sent must be live.
  asio::awaitable<db::hall_viewer> http_viewer(const net::request& req, std::string tender_id) {
    std::optional<db::principal> who;
    const std::string token = bearer_token(req);
    if (!token.empty()) {
      who = co_await ids->resolve(token);
      if (!who) refuse(errc::auth_invalid_token, "the bearer token is unknown, expired or revoked");
    } else if (req.header("Authorization")) {
      refuse(errc::auth_invalid_token, "the Authorization header is not 'Bearer <token>'");
    }
    co_return co_await service.hall().viewer(std::move(tender_id), std::move(who));
  }
};

// ---- WebSocket --------------------------------------------------------------------------------

// A connection whose session is no longer live: the error (with the act's id, or null from the
// periodic re-check), then the close. The client logs in again and reconnects.
void end_session(const std::shared_ptr<net::ws_connection>& c, const json::value& id) {
  c->send(ws_error(id, errc::auth_invalid_token,
                   "the session this connection joined with has ended (logged out, revoked or "
                   "expired); log in again"));
  c->close("session ended");
}

// Every `every`, the tokens of all joined connections are checked in one query; connections of
// sessions that ended are closed as above. Ends with the hall routes (or the I/O context).
asio::awaitable<void> recheck_sessions(std::weak_ptr<hall_state> weak,
                                       std::chrono::milliseconds every) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  for (;;) {
    timer.expires_after(every);
    const auto [ec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    if (ec) co_return;
    const auto s = weak.lock();
    if (!s) co_return;
    auto held = s->held_sessions();
    if (held.empty()) continue;
    std::set<std::string> distinct;
    for (const auto& h : held)
      distinct.insert(h.token);
    std::set<std::string> live;
    try {
      live = co_await s->ids->live_tokens({distinct.begin(), distinct.end()});
    } catch (const std::exception& e) {
      // The database is away: nothing is known, nobody is closed; the next round tries again.
      core::log::warn("hall session re-check failed", {{"error", e.what()}});
      continue;
    }
    const json::value null_id;
    for (const auto& h : held) {
      if (live.contains(h.token)) continue;
      if (auto c = h.connection.lock()) end_session(c, null_id);
    }
  }
}

asio::awaitable<void> on_hello(hall_state& s, const std::shared_ptr<net::ws_connection>& c,
                               connection_state& st, const protocol::hall_hello& hello) {
  const json::value null_id;
  if (st.joined) {
    c->send(ws_error(null_id, errc::hall_already_joined, "hello was already sent"));
    co_return;
  }
  const auto& token = hello.token;
  const auto& after = hello.after;
  const bool summary = hello.summary;
  if (!s.database.readiness().ready) {
    c->send(ws_error(null_id, errc::not_ready, "the database is not ready; try again shortly"));
    c->close("not ready");
    co_return;
  }
  const std::string tender_id = c->upgrade_request().params.at("tender_id");
  try {
    std::optional<db::principal> who;
    if (token && !token->empty()) {
      const std::string t = *token;
      who = co_await s.ids->resolve(t);
      if (!who) {
        c->send(ws_error(null_id, errc::auth_invalid_token,
                         "the token is unknown, expired or revoked; log in again"));
        c->close("invalid token");
        co_return;
      }
    }
    auto viewer = co_await s.service.hall().viewer(tender_id, who);
    if (!viewer.user_id.empty() && !s.count_user(st, viewer.user_id)) {
      c->send(ws_error(null_id, errc::hall_too_many_connections,
                       "this user already has " +
                           std::to_string(s.service.settings().connections_per_user) +
                           " hall connections open on this server; close one first"));
      c->close(close_try_later, "hall.too_many_connections");
      co_return;
    }
    if (viewer.role == "public" && !s.count_public(st)) {
      c->send(ws_error(null_id, errc::hall_viewers_full,
                       "the hall has no room for more public viewers on this server (the rest is "
                       "kept for the participants); try again later"));
      c->close(close_try_later, "hall.viewers_full");
      co_return;
    }
    std::int64_t cursor = 0;
    std::optional<db::hall_snapshot> snap;
    std::int64_t head = 0;
    if (after) {
      head = co_await s.service.hall().head(tender_id);
      if (*after > head) {
        c->send(ws_error(null_id, errc::hall_bad_cursor,
                         "after " + std::to_string(*after) + " is beyond the hall's last event " +
                             std::to_string(head)));
        c->close("bad cursor");
        co_return;
      }
      cursor = *after;
    } else {
      snap = co_await s.service.hall().snapshot(tender_id, viewer);
      head = snap->seq;
      cursor = snap->seq;
    }
    json::object who_json{{"role", viewer.role}};
    who_json["user_id"] =
        viewer.user_id.empty() ? json::value(nullptr) : json::value(viewer.user_id);
    who_json["org_id"] = viewer.org_id.empty() ? json::value(nullptr) : json::value(viewer.org_id);
    json::object welcome{{"type", "welcome"},
                         {"tender_id", tender_id},
                         {"viewer", std::move(who_json)},
                         {"head", head},
                         {"server_time", utc_now()}};
    c->send(json::serialize(welcome));
    if (snap) {
      if (summary && !viewer.is_staff()) hall_service::cut_snapshot(snap->hall, viewer.org_id);
      json::object m{{"type", "snapshot"}, {"seq", snap->seq}, {"hall", std::move(snap->hall)}};
      c->send(json::serialize(m));
    }
    st.joined = true;
    c->cancel_deadline();
    st.tender_id = tender_id;
    st.viewer = viewer;
    if (who) st.viewer.session_hash = crypto::to_hex(crypto::sha256(std::string_view(*token)));
    if (who) {
      st.token = *token;
      s.hold_session(c, *token);
    }
    s.service.subscribe(c, tender_id, std::move(viewer), cursor, summary);
  } catch (...) {
    auto [code, message] = public_error(std::current_exception());
    c->send(ws_error(null_id, code, message));
    c->close(code);
  }
}

asio::awaitable<void> on_act(hall_state& s, const std::shared_ptr<net::ws_connection>& c,
                             connection_state& st, protocol::hall_act act) {
  const json::value id(act.id);
  const std::string& id_text = act.id;
  if (!st.joined) {
    c->send(ws_error(id, errc::hall_hello_required, "send hello first"));
    co_return;
  }
  if (!s.take_act(st)) {
    const auto& lim = s.service.settings();
    c->send(ws_error(id, errc::hall_rate_limited,
                     "more than " + std::to_string(lim.act_rate) + " actions a second (bursts of " +
                         std::to_string(lim.act_burst) + ") on one connection; slow down"));
    co_return;
  }
  if (st.ids.contains(id_text)) {
    c->send(ws_error(id, errc::hall_duplicate_id,
                     "the id '" + id_text + "' was already used on this connection"));
    co_return;
  }
  if (st.ids.size() >= s.service.settings().ids_per_connection) {
    c->send(ws_error(id, errc::hall_too_many_ids,
                     "this connection has used " + std::to_string(st.ids.size()) +
                         " action ids, its limit; reconnect (with hello after) to go on"));
    co_return;
  }
  st.ids.insert(id_text);
  if (!act.action) {
    c->send(ws_error(id, errc::hall_bad_message, "'action' must be a string"));
    co_return;
  }
  const std::string action = std::move(*act.action);
  if (!core::hall_action_params(action)) {
    c->send(ws_error(id, errc::hall_bad_message, "unknown action '" + action.substr(0, 64) + "'"));
    co_return;
  }
  json::object params = std::move(act.params);
  try {
    // The session the connection joined with must still be live for every act: a logout, a
    // revocation or the token's expiry ends what the socket may do (issue 15 §4). The act's own
    // transaction checks it (viewer.session_hash).
    const auto tid = st.tender_id;
    const auto who = st.viewer;
    auto r = co_await s.service.hall().act(tid, who, action, std::move(params));
    json::object ack{{"type", "ack"}, {"id", id}};
    ack["seq"] = r.seq ? json::value(*r.seq) : json::value(nullptr);
    ack["result"] = std::move(r.result);
    c->send(json::serialize(ack));
    if (r.work) s.service.submit(std::move(*r.work));
  } catch (...) {
    auto [code, message] = public_error(std::current_exception());
    // The act's transaction found the connection's session ended: the connection ends too.
    if (code == "auth.invalid_token") {
      end_session(c, id);
      co_return;
    }
    c->send(ws_error(id, code, message));
  }
}

net::ws_handler hall_websocket(std::shared_ptr<hall_state> s) {
  net::ws_handler h;
  h.on_open = [s](const std::shared_ptr<net::ws_connection>& c) {
    (void)s->state_of(c->id());
    // A socket that never says hello must not hold its slot for ever.
    c->set_deadline(s->service.settings().hello_timeout, close_policy, "hall.hello_timeout");
  };
  h.on_message = [s](const std::shared_ptr<net::ws_connection>& c,
                     std::string text) -> asio::awaitable<void> {
    auto m = protocol::decode_hall_message(text);
    auto st = s->state_of(c->id());
    if (auto* bad = std::get_if<protocol::hall_message_error>(&m)) {
      const json::value id = bad->id ? json::value(*bad->id) : json::value(nullptr);
      c->send(ws_error(id, bad->code, bad->message));
    } else if (std::holds_alternative<protocol::hall_ping>(m)) {
      c->send("{\"type\":\"pong\"}");
    } else if (auto* hello = std::get_if<protocol::hall_hello>(&m)) {
      co_await on_hello(*s, c, *st, *hello);
    } else {
      co_await on_act(*s, c, *st, std::move(std::get<protocol::hall_act>(m)));
    }
  };
  h.on_close = [s](const std::shared_ptr<net::ws_connection>& c) {
    s->service.unsubscribe(c->id());
    s->forget(c->id());
  };
  return h;
}

// ---- HTTP ------------------------------------------------------------------------------------

std::string random_name() {
  std::random_device rd;
  char buf[33];
  std::snprintf(buf, sizeof buf, "%08x%08x%08x%08x", rd(), rd(), rd(), rd());
  return buf;
}

// The streamed backup file: written to a staging file, then checked against the sealed file on
// the workers, stored in the blob store and recorded.
class backup_sink final : public net::body_sink {
public:
  backup_sink(std::shared_ptr<hall_state> s, db::hall_viewer who, std::string tender_id, int lot,
              std::string primary, std::filesystem::path path)
      : s_(std::move(s)),
        who_(std::move(who)),
        tender_id_(std::move(tender_id)),
        lot_(lot),
        primary_(std::move(primary)),
        path_(std::move(path)),
        out_(path_, std::ios::binary | std::ios::trunc) {
    if (!out_) throw std::runtime_error("cannot create the staging file " + path_.string());
  }
  ~backup_sink() override {
    std::error_code ec;
    std::filesystem::remove(path_, ec);
  }

  void write(const char* data, std::size_t size) override {
    out_.write(data, static_cast<std::streamsize>(size));
    size_ += size;
  }

  asio::awaitable<net::response> finish(bool complete) override {
    try {
      co_return co_await finish_impl(complete);
    } catch (...) {
      co_return error_response(std::current_exception());
    }
  }

private:
  asio::awaitable<net::response> finish_impl(bool complete) {
    out_.close();
    if (!complete) refuse(errc::upload_bad_request, "the backup file did not arrive whole");
    if (!out_) throw std::runtime_error("writing the staging file failed");
    auto* blobs = &s_->service.blobs();
    const auto path = path_;
    const auto primary = primary_;
    std::string digest;
    std::string commitment;
    bool mismatch = false;
    std::string why;
    co_await s_->service.on_workers([&] {
      auto sealed = blobs->open(primary);
      if (!sealed) throw std::runtime_error("the sealed file " + primary + " is missing");
      std::ifstream backup(path, std::ios::binary);
      try {
        const auto r = crypto::sealed::backup_check(*sealed, backup);
        commitment = crypto::hex_encode(r.commitment);
      } catch (const crypto::error& e) {
        mismatch = true;
        why = std::string(e.what()) + " [" + e.code() + "]";
        return;
      }
      std::ifstream again(path, std::ios::binary);
      digest = blobs->put(again);
    });
    if (mismatch) {
      refuse(errc::hall_backup_mismatch,
             "the backup file was not sealed together with the sealed bid: " + why);
    }
    db::hall_backup_request req;
    req.tender_id = tender_id_;
    req.lot = lot_;
    req.blob_digest = digest;
    req.size = size_;
    req.commitment_hex = commitment;
    const auto who = who_;
    auto body = co_await s_->service.hall().store_backup(who, std::move(req));
    co_return net::response::json(200, json::serialize(body));
  }

  std::shared_ptr<hall_state> s_;
  db::hall_viewer who_;
  std::string tender_id_;
  int lot_;
  std::string primary_;
  std::filesystem::path path_;
  std::ofstream out_;
  std::uint64_t size_ = 0;
};

}  // namespace

void add_hall_routes(net::router& r, db::database& database, hall_service& service,
                     const bid_settings& settings) {
  auto s = std::make_shared<hall_state>(database, service, settings);
  if (settings.io) {
    asio::co_spawn(*settings.io, recheck_sessions(s, settings.session_recheck), asio::detached);
  }

  r.add_websocket("/ws/halls/{tender_id}", hall_websocket(s));

  // GET /api/v1/tenders/{id}/hall → {"seq","hall"}
  r.add("GET", "/api/v1/tenders/{id}/hall",
        guarded(database, "hall snapshot", nullptr,
                [s](net::request& req) -> asio::awaitable<net::response> {
                  no_query(req);
                  const auto tid = req.params.at("id");
                  auto v = co_await s->http_viewer(req, tid);
                  auto snap = co_await s->service.hall().snapshot(tid, std::move(v));
                  json::object o{{"seq", snap.seq}, {"hall", std::move(snap.hall)}};
                  co_return net::response::json(200, json::serialize(o));
                }));

  // GET /api/v1/tenders/{id}/hall/events?after=&limit= → {"events":[…],"head"}
  r.add("GET", "/api/v1/tenders/{id}/hall/events",
        guarded(database, "hall events", nullptr,
                [s](net::request& req) -> asio::awaitable<net::response> {
                  const auto q =
                      api::read_events_query(req.query, default_event_page, max_event_page);
                  const auto tid = req.params.at("id");
                  auto v = co_await s->http_viewer(req, tid);
                  const auto head = co_await s->service.hall().head(tid);
                  if (q.after > head) {
                    refuse(errc::hall_bad_cursor, "after " + std::to_string(q.after) +
                                                      " is beyond the hall's last event " +
                                                      std::to_string(head));
                  }
                  const auto events = co_await s->service.hall().events(tid, q.after, q.limit);
                  std::string body = "{\"events\":[";
                  for (std::size_t i = 0; i < events.size(); ++i) {
                    if (i != 0) body += ',';
                    body += db::hall_event_message(events[i], v);
                  }
                  body += "],\"head\":" + std::to_string(std::max(head, q.after)) + "}";
                  co_return net::response::json(200, std::move(body));
                }));

  // PUT /api/v1/tenders/{id}/lots/{lot}/hall/backup (body: the backup file)
  net::stream_handler backup = [s](net::request& req) -> asio::awaitable<net::stream_start> {
    net::stream_start out;
    std::exception_ptr failure;
    try {
      no_query(req);
      const auto ready = s->database.readiness();
      if (!ready.ready) refuse(errc::not_ready, "the database is not ready: " + ready.reason);
      const std::string token = bearer_token(req);
      if (token.empty()) {
        refuse(errc::auth_required, "uploading a backup file needs 'Authorization: Bearer'");
      }
      auto p = co_await s->ids->resolve(token);
      if (!p) refuse(errc::auth_invalid_token, "the bearer token is unknown, expired or revoked");
      if (!p->who.has_role("bidder")) {
        refuse(errc::auth_forbidden, "uploading a backup file needs the 'bidder' role");
      }
      const auto tid = req.params.at("id");
      const int lot = lot_param(req);
      auto v = co_await s->service.hall().viewer(tid, *p);
      if (v.role != "bidder") {
        refuse(errc::hall_forbidden, "only a bidder of this tender uploads a backup file");
      }
      const auto primary = co_await s->service.hall().primary_blob(tid, v, lot);
      const auto dir = std::filesystem::path(s->settings.data_dir) / "hall-backups";
      std::filesystem::create_directories(dir);
      out.sink = std::make_shared<backup_sink>(s, std::move(v), tid, lot, primary,
                                               dir / (random_name() + ".part"));
      co_return out;
    } catch (...) {
      failure = std::current_exception();
    }
    out.immediate = error_response(failure);
    co_return out;
  };
  r.add_stream("PUT", "/api/v1/tenders/{id}/lots/{lot}/hall/backup", std::move(backup),
               static_cast<std::size_t>(settings.max_upload_bytes));

  // GET /api/v1/tenders/{id}/opening-record → the record file (§12)
  r.add("GET", "/api/v1/tenders/{id}/opening-record",
        guarded(database, "opening record", nullptr,
                [s](net::request& req) -> asio::awaitable<net::response> {
                  no_query(req);
                  const auto tid = req.params.at("id");
                  auto body = co_await s->service.hall().record_json(tid);
                  co_return net::response::json(200, std::move(body));
                }));

  // GET /api/v1/tenders/{id}/opening-record.html → the printable page
  r.add("GET", "/api/v1/tenders/{id}/opening-record.html",
        guarded(database, "opening record page", nullptr,
                [s](net::request& req) -> asio::awaitable<net::response> {
                  no_query(req);
                  const auto tid = req.params.at("id");
                  co_return net::response::html(200, co_await s->service.hall().record_html(tid));
                }));
}

}  // namespace tender::app
