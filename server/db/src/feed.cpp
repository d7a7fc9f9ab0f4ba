#include <tender/db/feed.hpp>

#include <tender/db/error.hpp>

#include "channel_listener.hpp"
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

// "<seq>" → seq; anything else is not ours to interpret: nullopt ("look again").
std::optional<std::int64_t> parse_seq(const std::string& payload) {
  std::int64_t seq = 0;
  const auto [end, ec] = std::from_chars(payload.data(), payload.data() + payload.size(), seq);
  if (ec != std::errc() || end != payload.data() + payload.size()) return std::nullopt;
  return seq;
}

}  // namespace

struct feed_listener::impl {
  impl(options o, callback cb)
      : listener({std::move(o.conninfo), feed_tx::notify_channel, "feed listener", o.retry_interval,
                  o.poll_interval},
                 [cb = std::move(cb)](const std::optional<std::string>& payload) {
                   cb(payload ? parse_seq(*payload) : std::nullopt);
                 }) {}
  channel_listener listener;
};

feed_listener::feed_listener(options opts, callback on_event)
    : impl_(std::make_shared<impl>(std::move(opts), std::move(on_event))) {}

feed_listener::~feed_listener() {
  stop();
}

void feed_listener::start() {
  impl_->listener.start();
}

void feed_listener::stop() {
  impl_->listener.stop();
}

bool feed_listener::connected() const {
  return impl_->listener.connected();
}

}  // namespace tender::db
