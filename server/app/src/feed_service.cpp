#include "feed_service.hpp"

#include <tender/core/log.hpp>
#include <tender/db/database.hpp>
#include <tender/db/error.hpp>
#include <tender/protocol/errors.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>

#include <atomic>
#include <map>
#include <mutex>

namespace tender::app {
namespace asio = boost::asio;
namespace json = boost::json;

namespace {

// "{"error":{...}}" as a WebSocket message: {"type":"error","error":{...}}.
std::string ws_error(protocol::errc code, std::string_view message) {
  const std::string body = protocol::error_body(code, message);
  return "{\"type\":\"error\"," + body.substr(1);
}

}  // namespace

std::string feed_service::event_json(const db::feed_event& e) {
  json::object o;
  o["seq"] = e.seq;
  if (e.tender_id) {
    o["tender_id"] = *e.tender_id;
  } else {
    o["tender_id"] = nullptr;
  }
  o["kind"] = e.kind;
  boost::system::error_code ec;
  auto payload = json::parse(e.payload, ec);
  if (ec) payload = json::object{};  // cannot happen: the column is jsonb
  o["payload"] = std::move(payload);
  o["created_at"] = e.created_at;
  return json::serialize(o);
}

// One WebSocket client following the feed. Everything it does runs on its strand.
struct follower : std::enable_shared_from_this<follower> {
  follower(asio::any_io_executor io, std::shared_ptr<net::ws_connection> c, std::int64_t after,
           std::optional<std::string> t)
      : strand(asio::make_strand(io)),
        timer(strand),
        conn(std::move(c)),
        cursor(after),
        tender(std::move(t)) {}

  // From any thread: something may have committed (force: re-read even if the head says no).
  void wake(bool force) {
    asio::post(strand, [self = shared_from_this(), force] {
      self->pending = true;
      self->forced = self->forced || force;
      self->timer.cancel();
    });
  }
  void end() {
    asio::post(strand, [self = shared_from_this()] {
      self->closed = true;
      self->timer.cancel();
    });
  }

  asio::strand<asio::any_io_executor> strand;
  asio::steady_timer timer;
  std::shared_ptr<net::ws_connection> conn;
  std::int64_t cursor;
  std::optional<std::string> tender;
  bool pending = true;
  bool forced = true;
  bool closed = false;
};

struct feed_service::impl : std::enable_shared_from_this<impl> {
  impl(asio::any_io_executor io_, db::database& database_, options o)
      : io(std::move(io_)),
        database(database_),
        opts(std::move(o)),
        reader(database.connections()),
        listener({opts.conninfo, opts.retry_interval, std::chrono::milliseconds(500)},
                 [this](std::optional<std::int64_t> seq) { notified(seq); }) {}

  void notified(std::optional<std::int64_t> seq) {
    if (seq) {
      auto known = head.load();
      while (*seq > known && !head.compare_exchange_weak(known, *seq)) {
      }
    }
    std::lock_guard lock(mutex);
    for (auto& [id, f] : followers)
      f->wake(!seq.has_value());
  }

  asio::awaitable<void> wait(follower& f, std::chrono::milliseconds d) {
    f.timer.expires_after(d);
    boost::system::error_code ec;
    co_await f.timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }

  asio::awaitable<void> run(std::shared_ptr<impl> self, std::shared_ptr<follower> f) {
    (void)self;  // keeps this alive while the follower runs
    const std::size_t page_size = opts.page_size;
    const std::chrono::milliseconds pace{20};
    const std::chrono::milliseconds safety_poll = opts.safety_poll;
    const std::chrono::milliseconds retry = opts.retry_interval;
    while (!f->closed) {
      if (!f->pending) {
        co_await wait(*f, safety_poll);
        if (f->closed) break;
        if (!f->pending) f->forced = true;  // the safety poll: read regardless
      }
      const bool force = f->forced;
      f->pending = false;
      f->forced = false;
      // An unfiltered follower already past every notified seq has nothing to read.
      if (!force && !f->tender && f->cursor >= head.load()) continue;
      bool database_away = false;
      try {
        for (;;) {
          if (f->closed) break;
          const std::int64_t after = f->cursor;
          const auto tender = f->tender;
          const auto page = co_await reader.page(after, page_size, tender);
          for (const auto& e : page.events) {
            // Pace a replay below the connection's queue limit (a slow client is dropped there).
            while (f->conn->queued() >= opts.queue_high_water && !f->closed)
              co_await wait(*f, pace);
            if (f->closed) break;
            f->conn->send(event_json(e));
            f->cursor = e.seq;
          }
          if (page.events.size() < page_size) break;
        }
      } catch (const db::error& e) {
        if (e.code() == std::string(db::feed_codes::bad_cursor)) {
          f->conn->send(ws_error(protocol::errc::feed_bad_cursor, e.what()));
          f->conn->close("bad cursor");
          break;
        }
        database_away = true;
      }
      if (database_away) {
        // The database is away: try again shortly from the same cursor.
        f->pending = true;
        f->forced = true;
        if (!f->closed) co_await wait(*f, retry);
      }
    }
    std::lock_guard lock(mutex);
    const auto it = followers.find(f->conn->id());
    if (it != followers.end() && it->second == f) followers.erase(it);
  }

  asio::any_io_executor io;
  db::database& database;
  options opts;
  db::feed reader;
  db::feed_listener listener;
  std::atomic<std::int64_t> head{0};  // the highest seq notified so far
  std::mutex mutex;
  std::map<std::uint64_t, std::shared_ptr<follower>> followers;
  bool stopped = false;
};

feed_service::feed_service(asio::any_io_executor io, db::database& database, options opts)
    : impl_(std::make_shared<impl>(std::move(io), database, std::move(opts))) {}

feed_service::~feed_service() {
  impl_->listener.stop();
}

void feed_service::start() {
  impl_->listener.start();
}

void feed_service::stop(std::chrono::steady_clock::time_point /*deadline*/) {
  impl_->listener.stop();
  std::lock_guard lock(impl_->mutex);
  impl_->stopped = true;
  for (auto& [id, f] : impl_->followers)
    f->end();
  impl_->followers.clear();
}

db::feed& feed_service::feed() {
  return impl_->reader;
}

void feed_service::follow(const std::shared_ptr<net::ws_connection>& c, std::int64_t after,
                          std::optional<std::string> tender) {
  auto f = std::make_shared<follower>(impl_->io, c, after, std::move(tender));
  {
    std::lock_guard lock(impl_->mutex);
    if (impl_->stopped) {
      c->close("server shutting down");
      return;
    }
    impl_->followers[c->id()] = f;
  }
  asio::co_spawn(f->strand, impl_->run(impl_, f), asio::detached);
}

void feed_service::unfollow(std::uint64_t connection_id) {
  std::lock_guard lock(impl_->mutex);
  const auto it = impl_->followers.find(connection_id);
  if (it == impl_->followers.end()) return;
  it->second->end();
  impl_->followers.erase(it);
}

}  // namespace tender::app
