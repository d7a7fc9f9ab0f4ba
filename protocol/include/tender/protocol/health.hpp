#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace tender::protocol {

// GET /healthz — the process is up.
struct health {
  std::string status;   // "ok"
  std::string service;  // "tenderd"
  std::string version;
  std::string node_id;
  double uptime_seconds = 0;
};

// GET /readyz — the database is reachable and migrated. 200 when ready, 503 when not.
struct readiness {
  bool ready = false;
  std::string reason;    // empty when ready; otherwise why not, for humans
  std::string database;  // "up" | "down" | "migrating"
  std::int64_t schema_version = 0;
  std::int64_t expected_schema_version = 0;
  std::int64_t attempts = 0;  // connection attempts since start
};

std::string to_json(const health& h);
std::string to_json(const readiness& r);
// Throw std::invalid_argument with a precise message on a body that is not of the right shape.
health parse_health(std::string_view json);
readiness parse_readiness(std::string_view json);

}  // namespace tender::protocol
