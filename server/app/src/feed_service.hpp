#pragma once

// tenderd's public change feed: the page reader, one LISTEN per process, and the WebSocket
// followers it wakes. Each follower reads its next events from the table after its own cursor,
// so a notification that is lost or coalesced loses nothing (docs/FEED.md).

#include <tender/db/feed.hpp>
#include <tender/net/http.hpp>

#include <boost/asio/any_io_executor.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace tender::db {
class database;
}

namespace tender::app {

class feed_service {
public:
  struct options {
    std::string conninfo;
    std::chrono::milliseconds retry_interval{1000};
    // Replays pause while a client has this many messages queued (half the server's limit).
    std::size_t queue_high_water = 512;
    // Events per read of a follower.
    std::size_t page_size = 200;
    // A follower re-reads this often even without a notification (a safety net only).
    std::chrono::milliseconds safety_poll{30000};
  };

  feed_service(boost::asio::any_io_executor io, db::database& database, options opts);
  ~feed_service();
  feed_service(const feed_service&) = delete;
  feed_service& operator=(const feed_service&) = delete;

  void start();
  // Stops the listener and every follower. Must not be called from an I/O thread.
  void stop(std::chrono::steady_clock::time_point deadline);

  db::feed& feed();

  // Streams every event after `after` (of `tender` when given) to `c`, then new ones as they
  // commit, until unfollow(c->id()) or the connection ends.
  void follow(const std::shared_ptr<net::ws_connection>& c, std::int64_t after,
              std::optional<std::string> tender);
  void unfollow(std::uint64_t connection_id);

  // The JSON text of one event: {"seq","tender_id","kind","payload","created_at"}.
  static std::string event_json(const db::feed_event& e);

  struct impl;

private:
  std::shared_ptr<impl> impl_;
};

}  // namespace tender::app
