#pragma once

#include <tender/net/http.hpp>

#include <chrono>
#include <memory>
#include <string>

namespace tender::db {
class database;
}

namespace tender::app {

struct service_info {
  std::string node_id;
  std::string version;
  std::chrono::steady_clock::time_point started;
};

// Every HTTP and WebSocket endpoint of tenderd, registered on one router.
std::shared_ptr<net::router> make_routes(const service_info& info, db::database& database,
                                         std::size_t default_body_limit);

}  // namespace tender::app
