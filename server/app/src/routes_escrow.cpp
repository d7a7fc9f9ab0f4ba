// /api/v1/tenders/{id}/escrow/ceremony: the custodians' escrow key ceremony (threshold-escrow.md
// §6.1, docs/TENDERS.md). Bodies are read strictly (api/escrow_ceremony.hpp); the repository
// checks who sends what in which round and the message's cryptography, in one transaction.

#include "auth.hpp"
#include "routes.hpp"

#include <tender/api/escrow_ceremony.hpp>
#include <tender/db/database.hpp>
#include <tender/db/escrow_ceremonies.hpp>
#include <tender/db/tenders.hpp>

#include <boost/json.hpp>

#include <memory>

namespace tender::app {
namespace json = boost::json;
namespace cer = core::ceremony;
using protocol::errc;

namespace {

constexpr std::size_t message_limit = 64 * 1024;

db::ceremony_actor actor_of(const db::principal& p, std::string role) {
  return {p.who.id, p.org.id, std::move(role),
          p.who.has_role("supervisor") || p.who.has_role("admin")};
}

}  // namespace

void add_escrow_routes(net::router& r, db::database& database) {
  auto ids = std::make_shared<db::identity>(database.connections(), db::identity::options{});
  auto repo = std::make_shared<db::escrow_ceremonies>(database.connections());

  r.add("POST", "/api/v1/tenders/{id}/escrow/ceremony",
        authorized(
            database, ids, {"tenderer"}, rule_violation_error,
            [repo](net::request& req,
                   const db::principal& p) -> boost::asio::awaitable<net::response> {
              auto group = api::read_ceremony_start(req.body);
              auto view = co_await repo->start(actor_of(p, "tenderer"), req.params.at("id"),
                                               std::move(group));
              co_return net::response::json(201, json::serialize(view));
            },
            "ceremony request"),
        16 * 1024);

  r.add("GET", "/api/v1/tenders/{id}/escrow/ceremony",
        authorized(
            database, ids, {}, rule_violation_error,
            [repo](net::request& req,
                   const db::principal& p) -> boost::asio::awaitable<net::response> {
              auto view = co_await repo->view(actor_of(p, "viewer"), req.params.at("id"));
              co_return net::response::json(200, json::serialize(view));
            },
            "ceremony request"));

  // One handler per custodian message; each route is registered literally (the authorization
  // matrix test reads them from this file).
  const auto message = [&database, ids, repo](cer::message kind) {
    return authorized(
        database, ids, {}, rule_violation_error,
        [repo, kind](net::request& req,
                     const db::principal& p) -> boost::asio::awaitable<net::response> {
          auto body = api::read_ceremony_message(kind, req.body);
          auto view = co_await repo->send(actor_of(p, "custodian"), req.params.at("id"), kind,
                                          std::move(body));
          co_return net::response::json(200, json::serialize(view));
        },
        "ceremony request");
  };
  r.add("POST", "/api/v1/tenders/{id}/escrow/ceremony/keys", message(cer::message::key),
        message_limit);
  r.add("POST", "/api/v1/tenders/{id}/escrow/ceremony/dealings", message(cer::message::dealing),
        message_limit);
  r.add("POST", "/api/v1/tenders/{id}/escrow/ceremony/confirmations",
        message(cer::message::confirmation), message_limit);
  r.add("POST", "/api/v1/tenders/{id}/escrow/ceremony/complaints", message(cer::message::complaint),
        message_limit);
}

}  // namespace tender::app
