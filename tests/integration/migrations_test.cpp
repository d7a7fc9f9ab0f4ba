#include <test_support.hpp>

#include <tender/db/error.hpp>
#include <tender/db/migrations.hpp>

#include <gtest/gtest.h>

#include <thread>

using tender::test::fresh_database;

TEST(migrations, fresh_database_is_migrated_and_recorded) {
  fresh_database db("migrate", false);
  const auto r = tender::db::migrate(db.conninfo());
  EXPECT_EQ(r.from_version, 0);
  EXPECT_EQ(r.to_version, tender::db::latest_schema_version());
  EXPECT_EQ(r.applied.size(), tender::db::migrations().size());
  EXPECT_EQ(r.applied.front(), "0001_nodes");
  EXPECT_EQ(db.query_value("SELECT count(*) FROM schema_migrations"),
            std::to_string(tender::db::migrations().size()));
  EXPECT_EQ(db.query_value("SELECT checksum FROM schema_migrations WHERE version = 1"),
            tender::db::migrations().front().checksum);
  EXPECT_EQ(db.query_value("SELECT to_regclass('tenderd_nodes')::text"), "tenderd_nodes");
}

TEST(migrations, running_again_applies_nothing) {
  fresh_database db("again");
  const auto r = tender::db::migrate(db.conninfo());
  EXPECT_TRUE(r.applied.empty());
  EXPECT_EQ(r.from_version, tender::db::latest_schema_version());
}

TEST(migrations, a_rewritten_history_is_refused) {
  fresh_database db("checksum");
  db.exec("UPDATE schema_migrations SET checksum = 'abc' WHERE version = 1");
  try {
    tender::db::migrate(db.conninfo());
    FAIL() << "changed checksum accepted";
  } catch (const tender::db::error& e) {
    EXPECT_EQ(e.code(), "db.checksum_mismatch");
    EXPECT_NE(std::string(e.what()).find("0001_nodes"), std::string::npos);
  }
}

TEST(migrations, a_newer_database_is_refused) {
  fresh_database db("newer");
  db.exec("INSERT INTO schema_migrations (version, name, checksum) VALUES (99999, 'future', 'x')");
  try {
    tender::db::migrate(db.conninfo());
    FAIL() << "unknown migration accepted";
  } catch (const tender::db::error& e) {
    EXPECT_EQ(e.code(), "db.schema_too_new");
  }
}

TEST(migrations, concurrent_nodes_apply_each_migration_once) {
  fresh_database db("concurrent", false);
  std::vector<std::thread> nodes;
  std::atomic<int> applied{0};
  std::atomic<int> failures{0};
  for (int i = 0; i < 4; ++i) {
    nodes.emplace_back([&] {
      try {
        applied += static_cast<int>(tender::db::migrate(db.conninfo()).applied.size());
      } catch (...) {
        ++failures;
      }
    });
  }
  for (auto& t : nodes)
    t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(applied.load(), static_cast<int>(tender::db::migrations().size()));
}

TEST(migrations, unreachable_database_is_a_clear_error) {
  try {
    tender::db::migrate("host=/nonexistent-dir port=1 dbname=x connect_timeout=1");
    FAIL() << "connected to nothing";
  } catch (const tender::db::error& e) {
    EXPECT_EQ(e.code(), "db.unreachable");
    EXPECT_NE(std::string(e.what()).find("database unreachable"), std::string::npos);
  }
}
