#pragma once

#include <stdexcept>
#include <string>

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
class error : public std::runtime_error {
public:
  error(std::string code, const std::string& message)
      : std::runtime_error(message), code_(std::move(code)) {}
  const std::string& code() const noexcept { return code_; }

private:
  std::string code_;
};

}  // namespace tender::db
