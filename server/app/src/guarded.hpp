#pragma once

// The wrapper every database-backed endpoint runs inside, so that readiness, refused input and
// database failures are answered the same way everywhere.

#include <tender/api/rejected.hpp>
#include <tender/db/error.hpp>
#include <tender/net/http.hpp>

#include <functional>
#include <optional>
#include <string>

namespace tender::db {
class database;
}

namespace tender::app {

using api::rejected_request;

// Maps an endpoint family's own db::error codes to responses; nullopt for codes it does not own.
using db_error_map = std::function<std::optional<net::response>(const db::error&)>;
using body_fn = std::function<boost::asio::awaitable<net::response>(net::request&)>;

// 503 with Retry-After while the database is not ready or when it drops mid-request;
// rejected_request → its code; other db::error through `map`; then a db::error whose code is a
// public protocol code name (tender.not_found...) is answered with that code; the rest is logged
// (as `what`) and answered 500 with its code.
net::handler guarded(db::database& database, std::string what, db_error_map map, body_fn body);

}  // namespace tender::app
