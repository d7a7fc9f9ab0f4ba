#include <tender/db/error.hpp>
#include <tender/db/migrations.hpp>

#include "embedded_migrations.hpp"
#include "pool.hpp"

#include <tender/crypto/digest.hpp>

#include <pqxx/pqxx>

#include <algorithm>
#include <cstdio>

namespace tender::db {
namespace {

// Any fixed number shared by every tenderd: serialises migration runs across nodes.
constexpr long long migration_lock_key = 0x74656e6465726d;  // "tenderm"

constexpr const char* create_migrations_table = R"sql(
CREATE TABLE IF NOT EXISTS schema_migrations (
    version     bigint      PRIMARY KEY,
    name        text        NOT NULL,
    checksum    text        NOT NULL,
    applied_at  timestamptz NOT NULL DEFAULT now()
))sql";

std::string label(const migration& m) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04lld", static_cast<long long>(m.version));
  return std::string(buf) + "_" + m.name;
}

std::vector<migration> load() {
  std::vector<migration> out;
  for (std::size_t i = 0; i < detail::embedded_migration_count; ++i) {
    const auto& e = detail::embedded_migrations[i];
    migration m{e.version, e.name, e.sql, {}};
    m.checksum = crypto::to_hex(crypto::sha256(m.sql));
    out.push_back(std::move(m));
  }
  std::sort(out.begin(), out.end(), [](auto& a, auto& b) { return a.version < b.version; });
  return out;
}

}  // namespace

const std::vector<migration>& migrations() {
  static const std::vector<migration> all = load();
  return all;
}

std::int64_t latest_schema_version() {
  const auto& all = migrations();
  return all.empty() ? 0 : all.back().version;
}

// Applies pending migrations on an open connection. Declared in database.cpp's use as well.
migrate_result migrate_connection(pqxx::connection_base& c) {
  // One short statement outside any transaction (the lock is held by the session, not by a
  // transaction, so it spans the per-migration transactions below).
  auto exec_alone = [&c](const std::string& sql) {
    pqxx::nontransaction session(c);
    return session.exec(sql);
  };
  // Lock first: two sessions racing through CREATE TABLE IF NOT EXISTS can still collide.
  exec_alone("SELECT pg_advisory_lock(" + std::to_string(migration_lock_key) + ")");
  migrate_result result;
  try {
    exec_alone(create_migrations_table);
    const auto rows =
        exec_alone("SELECT version, checksum FROM schema_migrations ORDER BY version");
    std::vector<std::pair<std::int64_t, std::string>> applied;
    for (const auto& row : rows) {
      applied.emplace_back(row[0].as<std::int64_t>(), row[1].as<std::string>());
    }
    result.from_version = applied.empty() ? 0 : applied.back().first;
    const auto& known = migrations();
    for (const auto& [version, checksum] : applied) {
      const auto it = std::find_if(known.begin(), known.end(),
                                   [v = version](const migration& m) { return m.version == v; });
      if (it == known.end()) {
        throw error("db.schema_too_new",
                    "database has schema migration " + std::to_string(version) +
                        " which this tenderd does not know (it knows up to " +
                        std::to_string(latest_schema_version()) + "): upgrade tenderd");
      }
      if (it->checksum != checksum) {
        throw error("db.checksum_mismatch", "applied migration " + label(*it) +
                                                " differs from this tenderd's copy (checksum " +
                                                checksum + " in the database)");
      }
    }
    for (const auto& m : known) {
      const bool done = std::any_of(applied.begin(), applied.end(),
                                    [&](const auto& a) { return a.first == m.version; });
      if (done) continue;
      try {
        pqxx::work tx(c);
        tx.exec(m.sql);
        tx.exec_params(
            "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
            m.version, m.name, m.checksum);
        tx.commit();
      } catch (const pqxx::broken_connection&) {
        throw;
      } catch (const pqxx::sql_error& e) {
        throw error("db.migration_failed",
                    "migration " + label(m) + " failed and was rolled back: " + one_line(e.what()));
      }
      result.applied.push_back(label(m));
    }
    result.to_version = latest_schema_version();
  } catch (...) {
    if (c.is_open()) {
      try {
        exec_alone("SELECT pg_advisory_unlock(" + std::to_string(migration_lock_key) + ")");
      } catch (...) {
        // The connection is going away anyway; the lock goes with it.
      }
    }
    throw;
  }
  exec_alone("SELECT pg_advisory_unlock(" + std::to_string(migration_lock_key) + ")");
  return result;
}

migrate_result migrate(const std::string& conninfo) {
  migrate_result result;
  translate_exceptions([&] {
    pqxx::connection c(conninfo);
    result = migrate_connection(c);
  });
  return result;
}

}  // namespace tender::db
