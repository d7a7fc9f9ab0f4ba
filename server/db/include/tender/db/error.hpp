#pragma once

#include <tender/protocol/coded_error.hpp>

namespace tender::db {

// Database failures, translated from libpqxx inside this layer. code() is stable:
//   db.unreachable         connecting failed or the connection broke
//   db.query_failed        PostgreSQL rejected a statement
//   db.migration_failed    a migration's SQL failed (its transaction was rolled back)
//   db.checksum_mismatch   an applied migration's text differs from this binary's
//   db.schema_too_new      the database has migrations this binary does not know
//   db.serialization       a serializable transaction lost a race and retries ran out
//   db.stopped             the pool is shutting down
//   db.usage               this layer used libpqxx wrongly (a bug)
class error : public protocol::coded_error {
public:
  using coded_error::coded_error;
};

}  // namespace tender::db
