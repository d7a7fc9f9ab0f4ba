#pragma once

// The path and query readers of tender::api as the routes call them, on a whole request.

#include <tender/api/queries.hpp>
#include <tender/net/http.hpp>

namespace tender::app {

// An endpoint that takes no query string (request.bad_query otherwise).
inline void no_query(const net::request& req) {
  api::no_query(req.query);
}

// The route's {lot} segment, 1..999 (tender.not_found otherwise).
inline int lot_param(const net::request& req) {
  return api::lot_number(req.params.at("lot"));
}

}  // namespace tender::app
