#pragma once

#include <cstddef>

namespace tender::db::detail {

struct embedded_migration {
  long version;
  const char* name;
  const char* sql;
};

extern const embedded_migration embedded_migrations[];
extern const std::size_t embedded_migration_count;

}  // namespace tender::db::detail
