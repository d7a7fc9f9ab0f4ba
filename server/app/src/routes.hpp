#pragma once

#include <tender/net/http.hpp>

#include <chrono>
#include <memory>
#include <string>

namespace tender::db {
class database;
}

namespace tender::app {

class audit_service;
class feed_service;

struct service_info {
  std::string node_id;
  std::string version;
  std::chrono::steady_clock::time_point started;
};

// Every HTTP and WebSocket endpoint of tenderd, registered on one router.
std::shared_ptr<net::router> make_routes(const service_info& info, db::database& database,
                                         audit_service& audit, feed_service& feed,
                                         std::size_t default_body_limit);

// /api/v1/log/*: the audit log's checkpoint, key, events and proofs (routes_log.cpp).
void add_log_routes(net::router& r, db::database& database, audit_service& audit);

// /api/v1/auth/*, /api/v1/me, and the admin identity endpoints (routes_auth.cpp).
void add_identity_routes(net::router& r, db::database& database);

// /api/v1/feed and /ws/feed: the public change feed (routes_feed.cpp).
void add_feed_routes(net::router& r, db::database& database, feed_service& feed);

}  // namespace tender::app
