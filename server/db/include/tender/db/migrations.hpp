#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tender::db {

// The schema is a list of ordered, versioned SQL migrations (server/db/migrations/NNNN_name.sql),
// compiled into the binary. Applied migrations are recorded in the table schema_migrations with
// a checksum of their text, so a database whose history differs from the binary's is refused.
struct migration {
  std::int64_t version;
  std::string name;
  std::string sql;
  std::string checksum;  // SHA-256 hex of sql
};

const std::vector<migration>& migrations();
std::int64_t latest_schema_version();

struct migrate_result {
  std::int64_t from_version = 0;
  std::int64_t to_version = 0;
  std::vector<std::string> applied;  // "0001_nodes", ...
};

// Connects to `conninfo` and applies pending migrations, each in its own transaction, under an
// advisory lock so that several nodes starting together apply each migration once. Throws
// db::error.
migrate_result migrate(const std::string& conninfo);

}  // namespace tender::db
