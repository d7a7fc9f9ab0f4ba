#include "pool.hpp"

#include <tender/db/error.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <pqxx/pqxx>

namespace net = boost::asio;

// libpq/libpqxx 6.4 leak the PGresult of a query that fails because the connection broke. It is
// theirs and small; keep LeakSanitizer builds quiet about it (and only it).
extern "C" const char* __lsan_default_suppressions() {
  return "leak:PQmakeEmptyPGresult\n";
}

namespace tender::db {

std::string one_line(std::string text) {
  for (char& ch : text) {
    if (ch == '\n' || ch == '\r' || ch == '\t') ch = ' ';
  }
  while (!text.empty() && text.back() == ' ')
    text.pop_back();
  return text;
}

void translate_exceptions(const std::function<void()>& f) {
  try {
    f();
  } catch (const db::error&) {
    throw;
  } catch (const pqxx::broken_connection& e) {
    throw error("db.unreachable", "database unreachable: " + one_line(e.what()));
  } catch (const pqxx::serialization_failure& e) {
    throw error("db.serialization", one_line(e.what()));
  } catch (const pqxx::sql_error& e) {
    throw error("db.query_failed", one_line(e.what()));
  } catch (const pqxx::failure& e) {
    throw error("db.unreachable", "database failure: " + one_line(e.what()));
  } catch (const pqxx::usage_error& e) {
    throw error("db.usage", "database layer misuse: " + one_line(e.what()));
  }
}

void connection_deleter::operator()(pqxx::connection_base* c) const {
  delete static_cast<pqxx::connection*>(c);
}

pool::pool(std::string conninfo, unsigned size)
    : conninfo_(std::move(conninfo)), size_(size == 0 ? 1 : size), workers_(size_) {}

pool::~pool() {
  stop();
}

net::awaitable<void> pool::run(job j) {
  // co_spawn keeps the callable (and so the job) alive in the spawned frame until it finishes.
  // GCC 12 may destroy temporaries of a co_await expression twice: keep them in named locals.
  auto work = [this, j = std::move(j)]() -> net::awaitable<void> {
    execute(j);
    co_return;
  };
  co_await net::co_spawn(workers_.get_executor(), std::move(work), net::use_awaitable);
}

void pool::run_blocking(const job& j) {
  execute(j);
}

void pool::execute(const job& j) {
  auto conn = acquire();
  bool broken = false;
  try {
    translate_exceptions([&] { j(*conn); });
  } catch (const error& e) {
    broken = e.code() == "db.unreachable" || !conn->is_open();
    if (broken) conn.reset();
    release(std::move(conn));
    throw;
  }
  release(std::move(conn));
}

connection_ptr pool::acquire() {
  std::unique_lock lock(mutex_);
  for (;;) {
    if (stopped_) throw error("db.stopped", "the database pool is shutting down");
    if (!idle_.empty()) {
      auto c = std::move(idle_.back());
      idle_.pop_back();
      return c;
    }
    if (open_ < size_) {
      ++open_;
      lock.unlock();
      try {
        connection_ptr c;
        translate_exceptions([&] { c = connection_ptr(new pqxx::connection(conninfo_)); });
        return c;
      } catch (...) {
        lock.lock();
        --open_;
        available_.notify_one();
        throw;
      }
    }
    available_.wait(lock);
  }
}

void pool::release(connection_ptr c) {
  std::lock_guard lock(mutex_);
  if (c && !stopped_) {
    idle_.push_back(std::move(c));
  } else {
    --open_;
  }
  available_.notify_one();
}

void pool::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopped_) return;
    stopped_ = true;
    available_.notify_all();
  }
  workers_.join();
  std::lock_guard lock(mutex_);
  open_ -= static_cast<unsigned>(idle_.size());
  idle_.clear();
}

}  // namespace tender::db
