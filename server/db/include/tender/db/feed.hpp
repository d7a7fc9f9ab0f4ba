#pragma once

// The public change feed in PostgreSQL (tables feed_head and feed_events, migration 0004).
//
// Events are appended by other repositories inside their own transactions (src/feed_tx.hpp):
// seq comes from feed_head locked in the writing transaction, so the committed feed is 1..head
// with no gaps and seq order is commit order. Readers page through it with a cursor (the last seq
// they have seen). feed_listener wakes followers when an event commits; followers always read the
// rows from the table, so a lost notification loses nothing.

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace tender::db {

class pool;

// Codes of db::error raised here, besides the db.* ones of error.hpp.
namespace feed_codes {
inline constexpr const char* bad_cursor = "feed.bad_cursor";  // a cursor beyond the feed head
}  // namespace feed_codes

struct feed_event {
  std::int64_t seq = 0;
  std::optional<std::string> tender_id;
  std::string kind;
  std::string payload;     // a JSON object, as stored (jsonb text form)
  std::string created_at;  // RFC 3339 UTC with microseconds
};

struct feed_page {
  std::vector<feed_event> events;
  std::int64_t head = 0;  // the last committed seq when the page was read (0: empty feed)
};

class feed {
public:
  // Most events one page() returns, whatever the caller asks.
  static constexpr std::size_t max_page = 1000;

  explicit feed(pool& connections);

  // Events with seq > after (and of `tender` when given), in seq order, at most
  // min(limit, max_page). Throws db::error feed.bad_cursor when `after` exceeds the head: such a
  // cursor never came from this feed.
  boost::asio::awaitable<feed_page> page(std::int64_t after, std::size_t limit,
                                         std::optional<std::string> tender);
  // The last committed seq (0 while the feed is empty).
  boost::asio::awaitable<std::int64_t> head();

private:
  pool& pool_;
};

// Listens for the feed's NOTIFY on a dedicated connection and thread. For each notification it
// calls on_event(seq); after (re)connecting it calls on_event(nullopt), meaning "something may
// have been missed, re-read from your cursor". Reconnects after PostgreSQL restarts. Callbacks run
// on the listener's thread and must be quick (post work elsewhere).
class feed_listener {
public:
  using callback = std::function<void(std::optional<std::int64_t> seq)>;

  struct options {
    std::string conninfo;
    std::chrono::milliseconds retry_interval{1000};
    // How long one wait for a notification lasts before the thread checks whether to stop.
    std::chrono::milliseconds poll_interval{500};
  };

  feed_listener(options opts, callback on_event);
  ~feed_listener();  // stops
  feed_listener(const feed_listener&) = delete;
  feed_listener& operator=(const feed_listener&) = delete;

  void start();
  // Ends the thread; returns once it has (within about poll_interval).
  void stop();
  // True while the LISTEN connection is up.
  bool connected() const;

private:
  struct impl;
  std::shared_ptr<impl> impl_;
};

}  // namespace tender::db
