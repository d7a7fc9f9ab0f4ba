#pragma once

#include <tender/protocol/health.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <memory>
#include <string>

namespace tender::db {

class pool;

// The server's handle on PostgreSQL. start() launches a background task on the I/O executor that
// connects, migrates, registers this node and then keeps checking the connection; readiness()
// reports the outcome without touching the database, so /readyz is cheap and never blocks. When
// PostgreSQL is unreachable the task keeps retrying and the node recovers without a restart.
class database {
public:
  struct options {
    std::string conninfo;
    unsigned pool_size = 4;
    unsigned priority_pool_size = 0;  // priority(): 0 means the main pool
    std::chrono::milliseconds retry_interval{1000};
    std::chrono::milliseconds check_interval{2000};
    std::string node_id;
    std::string version;
  };

  database(boost::asio::any_io_executor io, options opts);
  ~database();
  database(const database&) = delete;
  database& operator=(const database&) = delete;

  void start();
  // Stops the background task, marks the node stopped (best effort) and closes every connection,
  // waiting at most until `deadline`. Must not be called from an I/O thread.
  void stop(std::chrono::steady_clock::time_point deadline);

  protocol::readiness readiness() const;

  // The connection pool, for the repositories of this layer.
  db::pool& connections();
  // A second, small pool for short jobs that must not queue behind the main pool's backlog (the
  // hall's fan-out reads and heartbeats); connections() when priority_pool_size is 0.
  db::pool& priority();

private:
  struct impl;
  std::shared_ptr<impl> impl_;
};

}  // namespace tender::db
