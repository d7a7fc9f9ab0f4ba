#include <tender/db/database.hpp>
#include <tender/db/error.hpp>
#include <tender/db/migrations.hpp>

#include "pool.hpp"

#include <tender/core/log.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <pqxx/pqxx>

#include <unistd.h>

#include <atomic>
#include <future>
#include <mutex>

namespace net = boost::asio;

namespace tender::db {

migrate_result migrate_connection(pqxx::connection_base& c);  // migrations.cpp

namespace {

constexpr const char* register_node_sql = R"sql(
INSERT INTO tenderd_nodes (node_id, version, hostname, pid)
VALUES ($1, $2, $3, $4)
ON CONFLICT (node_id) DO UPDATE SET last_seen = now(), stopped_at = NULL)sql";

constexpr const char* heartbeat_sql = R"sql(
UPDATE tenderd_nodes SET last_seen = now() WHERE node_id = $1
RETURNING (SELECT coalesce(max(version), 0) FROM schema_migrations))sql";

constexpr const char* node_stopped_sql =
    "UPDATE tenderd_nodes SET stopped_at = now(), last_seen = now() WHERE node_id = $1";

std::string host_name() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0) return "unknown";
  return buf;
}

}  // namespace

struct database::impl : std::enable_shared_from_this<impl> {
  impl(net::any_io_executor io, options o)
      : io_(std::move(io)),
        opts_(std::move(o)),
        pool_(opts_.conninfo, opts_.pool_size),
        priority_(opts_.priority_pool_size > 0
                      ? std::make_unique<pool>(opts_.conninfo, opts_.priority_pool_size)
                      : nullptr),
        timer_(io_) {
    state_.database = "down";
    state_.reason = "not yet connected to the database";
    state_.expected_schema_version = latest_schema_version();
  }

  net::awaitable<void> watch() {
    bool registered = false;
    while (!stopping_.load()) {
      bool ok = false;
      try {
        std::int64_t version = 0;
        // A named job, not a temporary: GCC 12 mishandles temporaries in co_await expressions.
        pool::job step = [&](pqxx::connection_base& c) {
          if (!registered) {
            set_state(false, "migrating", "applying database migrations", 0);
            const auto r = migrate_connection(c);
            if (!r.applied.empty()) {
              core::log::info("database migrated",
                              {{"from", r.from_version}, {"to", r.to_version}});
            }
            pqxx::work tx(c);
            tx.exec_params(register_node_sql, opts_.node_id, opts_.version, host_name(),
                           static_cast<int>(getpid()));
            tx.commit();
            registered = true;
          }
          pqxx::work tx(c);
          const auto row = tx.exec_params1(heartbeat_sql, opts_.node_id);
          version = row[0].as<std::int64_t>();
          tx.commit();
        };
        co_await pool_.run(std::move(step));
        if (version != latest_schema_version()) {
          set_state(false, "up",
                    "database schema version " + std::to_string(version) +
                        " but this tenderd needs " + std::to_string(latest_schema_version()),
                    version);
        } else {
          ok = true;
          set_state(true, "up", "", version);
        }
      } catch (const error& e) {
        set_state(false, e.code() == "db.unreachable" ? "down" : "up", e.what(), -1);
        if (e.code() == "db.unreachable") registered = false;
      } catch (const std::exception& e) {
        // A bug rather than an outage; keep reporting it instead of dying.
        set_state(false, "up", std::string("internal error: ") + e.what(), -1);
      }
      timer_.expires_after(ok ? opts_.check_interval : opts_.retry_interval);
      boost::system::error_code ec;
      co_await timer_.async_wait(net::redirect_error(net::use_awaitable, ec));
    }
  }

  void set_state(bool ready, std::string database, std::string reason, std::int64_t version) {
    std::lock_guard lock(mutex_);
    ++state_.attempts;
    if (state_.ready != ready || state_.reason != reason) {
      if (ready) {
        core::log::info("database ready", {{"schema_version", version}});
      } else {
        core::log::warn("database not ready", {{"reason", reason}, {"attempt", state_.attempts}});
      }
    }
    state_.ready = ready;
    state_.database = std::move(database);
    state_.reason = std::move(reason);
    if (version >= 0) state_.schema_version = version;
  }

  net::any_io_executor io_;
  options opts_;
  pool pool_;
  std::unique_ptr<pool> priority_;
  net::steady_timer timer_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> started_{false};
  std::promise<void> watch_done_;
  mutable std::mutex mutex_;
  protocol::readiness state_;
};

database::database(net::any_io_executor io, options opts)
    : impl_(std::make_shared<impl>(std::move(io), std::move(opts))) {}

database::~database() = default;

void database::start() {
  auto self = impl_;
  if (self->started_.exchange(true)) return;
  net::co_spawn(self->io_, self->watch(), [self](const std::exception_ptr& e) {
    if (e) {
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        core::log::error("database watcher failed", {{"error", ex.what()}});
      }
    }
    self->watch_done_.set_value();
  });
}

void database::stop(std::chrono::steady_clock::time_point deadline) {
  auto self = impl_;
  if (self->stopping_.exchange(true)) return;
  net::post(self->io_, [self] { self->timer_.cancel(); });
  if (self->started_.load() &&
      self->watch_done_.get_future().wait_until(deadline) != std::future_status::ready) {
    core::log::warn("database watcher did not stop in time");
  }
  try {
    self->pool_.run_blocking([&](pqxx::connection_base& c) {
      pqxx::work tx(c);
      tx.exec_params(node_stopped_sql, self->opts_.node_id);
      tx.commit();
    });
  } catch (const error&) {
    // Best effort: the database may be the reason we are stopping.
  }
  if (self->priority_) self->priority_->stop();
  self->pool_.stop();
}

protocol::readiness database::readiness() const {
  std::lock_guard lock(impl_->mutex_);
  return impl_->state_;
}

db::pool& database::connections() {
  return impl_->pool_;
}

db::pool& database::priority() {
  return impl_->priority_ ? *impl_->priority_ : impl_->pool_;
}

}  // namespace tender::db
