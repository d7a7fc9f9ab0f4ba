#include <test_support.hpp>

#include <tender/db/database.hpp>
#include <tender/db/error.hpp>

#include "../../server/db/src/pool.hpp"

#include <gtest/gtest.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <pqxx/pqxx>

#include <thread>

namespace asio = boost::asio;
using tender::test::fresh_database;

namespace {

// Runs `body` as a coroutine on an io_context driven by this thread; returns its result.
template <class T>
T run_on_io(asio::io_context& ioc, asio::awaitable<T> body) {
  auto f = asio::co_spawn(ioc, std::move(body), asio::use_future);
  ioc.restart();
  ioc.run();
  return f.get();
}

asio::awaitable<std::thread::id> query_thread(tender::db::pool& p, std::string* out) {
  std::thread::id seen;
  tender::db::pool::job job = [&](pqxx::connection_base& c) {
    seen = std::this_thread::get_id();
    pqxx::work tx(c);
    *out = tx.exec1("SELECT current_database()")[0].as<std::string>();
  };
  co_await p.run(std::move(job));
  co_return seen;
}

asio::awaitable<std::string> failing_query(tender::db::pool& p, std::string sql) {
  tender::db::pool::job job = [sql](pqxx::connection_base& c) {
    pqxx::work tx(c);
    tx.exec(sql);
  };
  try {
    co_await p.run(std::move(job));
  } catch (const tender::db::error& e) {
    co_return e.code();
  }
  co_return "";
}

}  // namespace

TEST(pool, queries_run_off_the_io_thread) {
  fresh_database db("pool");
  tender::db::pool p(db.conninfo(), 2);
  asio::io_context ioc;
  std::string name;
  const auto worker = run_on_io(ioc, query_thread(p, &name));
  EXPECT_NE(worker, std::this_thread::get_id());
  EXPECT_EQ(name, db.name());
}

TEST(pool, sql_errors_are_translated_and_the_connection_stays_usable) {
  fresh_database db("poolerr");
  tender::db::pool p(db.conninfo(), 1);
  asio::io_context ioc;
  EXPECT_EQ(run_on_io(ioc, failing_query(p, "SELECT * FROM no_such_table")), "db.query_failed");
  std::string name;
  run_on_io(ioc, query_thread(p, &name));
  EXPECT_EQ(name, db.name());
}

TEST(pool, a_killed_connection_is_replaced) {
  fresh_database db("poolkill");
  tender::db::pool p(db.conninfo(), 1);
  asio::io_context ioc;
  std::string name;
  run_on_io(ioc, query_thread(p, &name));
  // Terminate every session of this database from outside, as a DBA or a restart would.
  db.exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '" + db.name() +
          "' AND pid <> pg_backend_pid()");
  EXPECT_EQ(run_on_io(ioc, failing_query(p, "SELECT 1")), "db.unreachable");
  name.clear();
  run_on_io(ioc, query_thread(p, &name));
  EXPECT_EQ(name, db.name());
}

TEST(database, becomes_ready_and_registers_the_node) {
  fresh_database db("ready", false);
  asio::io_context ioc;
  auto work = asio::make_work_guard(ioc);
  std::thread io([&] { ioc.run(); });
  tender::db::database::options o;
  o.conninfo = db.conninfo();
  o.node_id = "node-under-test";
  o.version = "test";
  o.retry_interval = std::chrono::milliseconds(100);
  tender::db::database d(ioc.get_executor(), o);
  EXPECT_FALSE(d.readiness().ready);
  d.start();
  EXPECT_TRUE(
      tender::test::wait_until([&] { return d.readiness().ready; }, std::chrono::seconds(20)))
      << d.readiness().reason;
  EXPECT_EQ(d.readiness().schema_version, d.readiness().expected_schema_version);
  EXPECT_EQ(db.query_value("SELECT version FROM tenderd_nodes WHERE node_id = 'node-under-test'"),
            "test");
  d.stop(std::chrono::steady_clock::now() + std::chrono::seconds(5));
  EXPECT_NE(
      db.query_value("SELECT stopped_at FROM tenderd_nodes WHERE node_id = 'node-under-test'"), "");
  work.reset();
  io.join();
}

TEST(database, unreachable_database_is_reported_not_ready_with_the_reason) {
  asio::io_context ioc;
  auto work = asio::make_work_guard(ioc);
  std::thread io([&] { ioc.run(); });
  tender::db::database::options o;
  o.conninfo = "host=/nonexistent-dir port=1 dbname=x connect_timeout=1";
  o.node_id = "n";
  o.retry_interval = std::chrono::milliseconds(100);
  tender::db::database d(ioc.get_executor(), o);
  d.start();
  EXPECT_TRUE(tender::test::wait_until([&] { return d.readiness().attempts >= 2; },
                                       std::chrono::seconds(20)));
  const auto r = d.readiness();
  EXPECT_FALSE(r.ready);
  EXPECT_EQ(r.database, "down");
  EXPECT_NE(r.reason.find("database unreachable"), std::string::npos) << r.reason;
  d.stop(std::chrono::steady_clock::now() + std::chrono::seconds(5));
  work.reset();
  io.join();
}
