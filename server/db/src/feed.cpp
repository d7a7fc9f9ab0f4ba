#include <tender/db/feed.hpp>

#include <tender/db/error.hpp>

#include "feed_tx.hpp"
#include "pool.hpp"

#include <tender/core/log.hpp>

#include <pqxx/pqxx>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <utility>

namespace net = boost::asio;

namespace tender::db {

namespace {

constexpr const char* head_sql = "SELECT next_seq - 1 FROM feed_head";

#define TENDER_FEED_COLUMNS               \
  "seq, tender_id, kind, payload::text, " \
  "to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"

constexpr const char* page_sql =
    "SELECT " TENDER_FEED_COLUMNS " FROM feed_events WHERE seq > $1 ORDER BY seq LIMIT $2";
constexpr const char* tender_page_sql =
    "SELECT " TENDER_FEED_COLUMNS
    " FROM feed_events WHERE tender_id = $1 AND seq > $2 ORDER BY seq LIMIT $3";

feed_event event_of(const pqxx::row& r) {
  feed_event e;
  e.seq = r[0].as<std::int64_t>();
  if (!r[1].is_null()) e.tender_id = r[1].as<std::string>();
  e.kind = r[2].as<std::string>();
  e.payload = r[3].as<std::string>();
  e.created_at = r[4].as<std::string>();
  return e;
}

}  // namespace

feed::feed(pool& connections) : pool_(connections) {}

net::awaitable<feed_page> feed::page(std::int64_t after, std::size_t limit,
                                     std::optional<std::string> tender) {
  feed_page out;
  const auto n = static_cast<std::int64_t>(std::clamp<std::size_t>(limit, 1, max_page));
  pool::job job = [&](pqxx::connection_base& c) {
    pqxx::read_transaction tx(c);
    out.head = tx.exec1(head_sql)[0].as<std::int64_t>();
    if (after < 0 || after > out.head) {
      throw error(feed_codes::bad_cursor,
                  "cursor " + std::to_string(after) + " is beyond the feed head " +
                      std::to_string(out.head) + " (a cursor is the seq of the last event seen)");
    }
    const auto rows = tender ? tx.exec_params(tender_page_sql, *tender, after, n)
                             : tx.exec_params(page_sql, after, n);
    out.events.reserve(rows.size());
    for (const auto& r : rows)
      out.events.push_back(event_of(r));
    // Each statement has its own snapshot: events committed after the head was read may appear.
    if (!out.events.empty()) out.head = std::max(out.head, out.events.back().seq);
  };
  co_await pool_.run(std::move(job));
  co_return out;
}

net::awaitable<std::int64_t> feed::head() {
  std::int64_t out = 0;
  pool::job job = [&out](pqxx::connection_base& c) {
    pqxx::read_transaction tx(c);
    out = tx.exec1(head_sql)[0].as<std::int64_t>();
  };
  co_await pool_.run(std::move(job));
  co_return out;
}

// ---------------------------------------------------------------------------------------------

namespace {

class receiver final : public pqxx::notification_receiver {
public:
  receiver(pqxx::connection_base& c, const feed_listener::callback& cb)
      : pqxx::notification_receiver(c, feed_tx::notify_channel), cb_(cb) {}

  void operator()(const std::string& payload, int /*backend_pid*/) override {
    std::int64_t seq = 0;
    const auto [end, ec] = std::from_chars(payload.data(), payload.data() + payload.size(), seq);
    if (ec != std::errc() || end != payload.data() + payload.size()) {
      cb_(std::nullopt);  // not ours to interpret: treat as "look again"
      return;
    }
    cb_(seq);
  }

private:
  const feed_listener::callback& cb_;
};

}  // namespace

struct feed_listener::impl {
  options opts;
  callback cb;
  std::thread thread;
  std::mutex mutex;
  std::condition_variable wake;
  std::atomic<bool> stopping{false};
  std::atomic<bool> up{false};

  // Sleeps up to `d` unless stop() is called meanwhile; false when stopping.
  bool pause(std::chrono::milliseconds d) {
    std::unique_lock lock(mutex);
    wake.wait_for(lock, d, [this] { return stopping.load(); });
    return !stopping;
  }

  void run() {
    bool logged_down = false;
    while (!stopping) {
      try {
        pqxx::connection c(opts.conninfo);
        receiver r(c, cb);
        // LISTEN is sent by the receiver's constructor; from now on nothing is missed, but
        // anything committed while we were not listening must be re-read by the followers.
        up = true;
        if (logged_down) core::log::info("feed listener reconnected");
        logged_down = false;
        cb(std::nullopt);
        const auto poll = opts.poll_interval.count();
        while (!stopping) {
          c.await_notification(static_cast<long>(poll / 1000),
                               static_cast<long>(poll % 1000) * 1000);
          // libpq may just mark the connection bad instead of making libpqxx throw.
          if (!c.is_open()) throw std::runtime_error("the LISTEN connection was closed");
        }
        up = false;
        return;
      } catch (const std::exception& e) {
        up = false;
        if (!logged_down) {
          core::log::warn("feed listener lost its connection; retrying",
                          {{"error", one_line(e.what())}});
          logged_down = true;
        }
      }
      if (!pause(opts.retry_interval)) return;
    }
  }
};

feed_listener::feed_listener(options opts, callback on_event) : impl_(std::make_shared<impl>()) {
  impl_->opts = std::move(opts);
  impl_->cb = std::move(on_event);
}

feed_listener::~feed_listener() {
  stop();
}

void feed_listener::start() {
  if (impl_->thread.joinable()) return;
  impl_->stopping = false;
  impl_->thread = std::thread([i = impl_] { i->run(); });
}

void feed_listener::stop() {
  {
    std::lock_guard lock(impl_->mutex);
    impl_->stopping = true;
  }
  impl_->wake.notify_all();
  if (impl_->thread.joinable()) impl_->thread.join();
}

bool feed_listener::connected() const {
  return impl_->up;
}

}  // namespace tender::db
