#pragma once

// The opening hall's live service on one node (docs/design/hall-service.md):
//  - one LISTEN connection on tenderhall_hall for the whole process;
//  - one hub per hall with subscribers here: on a notification (or the safety poll) the hub reads
//    the new events once, keeps them in a ring, and pushes each subscriber its rendering, cached
//    per audience so a thousand viewers of one role cost one serialization;
//  - a subscriber behind the hub (a resume) is caught up from the ring, or page by page from the
//    database when its cursor is older than the ring, paced below its connection's queue;
//  - the decryption workers (hall.decrypt_threads), crash recovery of pending attempts at start,
//    and the heartbeat that records outages.

#include <tender/db/hall.hpp>
#include <tender/net/http.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/json/fwd.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>

namespace tender::db {
class database;
}
namespace tender::storage {
class blob_store;
}

namespace tender::app {

class hall_service {
public:
  struct options {
    std::string conninfo;
    std::string node_id;
    std::filesystem::path data_dir = "var/data";  // the blob store of sealed files
    std::chrono::milliseconds retry_interval{1000};
    // Catch-up pauses while a connection has this many messages, or bytes, queued (half the
    // server's limits).
    std::size_t queue_high_water = 512;
    std::size_t queue_high_water_bytes = 8 * 1024 * 1024;
    std::size_t page_size = 200;   // events per database read
    std::size_t ring_size = 2048;  // recent events kept per hub
    std::chrono::milliseconds safety_poll{5000};
    // A connection whose queue stays at the high water mark this long is no longer waited for:
    // its queue fills and it is dropped as a slow consumer.
    std::chrono::milliseconds slow_timeout{10000};
    std::chrono::milliseconds heartbeat{1000};
    // The summary view (hall-protocol.md §4.1): how often pending skipped ranges go out, and the
    // least time between two progress messages of a hall.
    std::chrono::milliseconds summary_tick{1000};
    std::chrono::milliseconds progress_interval{1000};
    unsigned decrypt_threads = 2;
    // A hub with no connection for this long is released (its loops end; logged at info).
    std::chrono::milliseconds hub_idle{60000};
    // What one client may take of the hall's WebSocket (hall-protocol.md §15): the time from
    // connecting to `hello`, connections of one user at once (on this node), act ids one
    // connection remembers, and acts per second per connection (a token bucket of `act_burst`).
    std::chrono::milliseconds hello_timeout{10000};
    std::size_t connections_per_user = 8;
    // Hall connections of the public (no token, or no part in the tender) on this node; the rest
    // of the server's connections stay for the participants (hall.reserved_connections).
    std::size_t public_connections = 18000;
    std::size_t ids_per_connection = 4096;
    unsigned act_rate = 10;
    unsigned act_burst = 40;
  };

  hall_service(boost::asio::any_io_executor io, db::database& database, db::hall& hall,
               options opts);
  ~hall_service();
  hall_service(const hall_service&) = delete;
  hall_service& operator=(const hall_service&) = delete;

  // Starts the listener, the heartbeat and the recovery of pending decryptions.
  void start();
  // Stops everything; must not be called from an I/O thread.
  void stop(std::chrono::steady_clock::time_point deadline);

  db::hall& hall();
  storage::blob_store& blobs();
  const options& settings() const;

  // Pushes every event after `after` of `tender_id` to `c`, rendered for `viewer`, then new ones
  // as they commit, until unsubscribe(c->id()) or the connection ends.
  // `summary`: the summary view of §4.1 (ignored for staff).
  void subscribe(const std::shared_ptr<net::ws_connection>& c, std::string tender_id,
                 db::hall_viewer viewer, std::int64_t after, bool summary = false);
  void unsubscribe(std::uint64_t connection_id);

  // The summary view's snapshot (hall-protocol.md §4.1): `attendance`, `bidders` and the
  // announcement's `lots[].rows` cut to `org_id`'s own entries, each with `<list>_total` beside it.
  static void cut_snapshot(boost::json::object& hall, const std::string& org_id);

  // Runs a decryption on the workers and reports it with db::hall::finish_decryption.
  void submit(db::hall_work work);

  // Runs `f` (blocking: file I/O, crypto) on the worker pool and resumes on the caller's
  // executor with its result or exception.
  boost::asio::awaitable<void> on_workers(std::function<void()> f);

  // The decryption itself (blocking; exposed for tests): key check, summary, whole body with its
  // commitment.
  static db::hall_work_outcome run_work(const db::hall_work& w, const storage::blob_store& blobs);

  // Counters for tests and logs.
  std::size_t hub_count() const;

  struct impl;

private:
  std::shared_ptr<impl> impl_;
};

}  // namespace tender::app
