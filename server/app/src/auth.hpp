#pragma once

#include "guarded.hpp"

// Who is calling: resolves `Authorization: Bearer <token>` to a principal for the endpoints that
// need one, and the small JSON-body helpers the identity endpoints share.

#include <tender/db/identity.hpp>
#include <tender/net/http.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>

#include <functional>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace tender::app {

// The caller's principal, or the response to send instead: 401 auth.required without a Bearer
// token, 401 auth.invalid_token for an unknown, expired or revoked one.
boost::asio::awaitable<std::variant<db::principal, net::response>> authenticate(
    db::identity& ids, const net::request& req);

using principal_body_fn =
    std::function<boost::asio::awaitable<net::response>(net::request&, const db::principal&)>;

// guarded() plus authentication and a role check: 401 without a live token, 403 unless the
// principal holds one of `roles` (empty: any signed-in user). Relation checks (own tender, own
// bid) belong in the body, next to the data.
net::handler authorized(db::database& database, std::shared_ptr<db::identity> ids,
                        std::vector<std::string> roles, db_error_map map, principal_body_fn body,
                        std::string what = "request");

// The bearer token of a request, empty when there is none.
std::string bearer_token(const net::request& req);

using api::bad_json;

}  // namespace tender::app
