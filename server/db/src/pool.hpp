#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/thread_pool.hpp>

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace pqxx {
class connection_base;
}

namespace tender::db {

// libpqxx 6.4's connection_base has no virtual destructor: delete through the concrete type.
struct connection_deleter {
  void operator()(pqxx::connection_base* c) const;
};
using connection_ptr = std::unique_ptr<pqxx::connection_base, connection_deleter>;

// A small set of PostgreSQL connections, each used by one thread at a time, and as many worker
// threads. Jobs run on the workers; the awaiting coroutine resumes on its own executor. A broken
// connection is dropped and replaced by a fresh one on the next job.
class pool {
public:
  using job = std::function<void(pqxx::connection_base&)>;

  pool(std::string conninfo, unsigned size);
  ~pool();
  pool(const pool&) = delete;
  pool& operator=(const pool&) = delete;

  // Runs `j` on a worker thread with a connection. libpqxx exceptions are translated to
  // db::error. Never blocks the calling thread.
  boost::asio::awaitable<void> run(job j);

  // Runs `j` on the calling thread, blocking it: for startup, shutdown and tools only.
  void run_blocking(const job& j);

  // Waits for running jobs, closes every connection; later jobs fail with db.stopped.
  void stop();

  unsigned size() const { return size_; }

private:
  void execute(const job& j);
  connection_ptr acquire();
  void release(connection_ptr c);

  const std::string conninfo_;
  const unsigned size_;
  boost::asio::thread_pool workers_;
  std::mutex mutex_;
  std::condition_variable available_;
  std::vector<connection_ptr> idle_;
  unsigned open_ = 0;
  bool stopped_ = false;
};

// Runs f, turning libpqxx and standard exceptions into db::error with a stable code.
void translate_exceptions(const std::function<void()>& f);

// One line, no trailing newline: libpq messages carry newlines and hints.
std::string one_line(std::string text);

}  // namespace tender::db
