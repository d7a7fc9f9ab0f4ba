#include "routes.hpp"

#include "audit_service.hpp"

#include <tender/db/database.hpp>
#include <tender/protocol/health.hpp>
#include <tender/protocol/version.hpp>

#include <boost/json.hpp>

namespace tender::app {
namespace json = boost::json;

namespace {

// GET /healthz: the process is up and serving. Never touches the database.
net::handler healthz(service_info info) {
  return [info](net::request&) -> boost::asio::awaitable<net::response> {
    protocol::health h;
    h.status = "ok";
    h.service = "tenderd";
    h.version = info.version;
    h.node_id = info.node_id;
    h.uptime_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - info.started).count();
    co_return net::response::json(200, protocol::to_json(h));
  };
}

// GET /readyz: 200 when the database is reachable and migrated and this node's start is in the
// audit log, 503 with the reason otherwise.
net::handler readyz(db::database& database, audit_service& audit) {
  return [&database, &audit](net::request&) -> boost::asio::awaitable<net::response> {
    auto r = database.readiness();
    if (r.ready && !audit.start_recorded()) {
      r.ready = false;
      r.reason = "recording this node's start in the audit log";
    }
    auto res = net::response::json(r.ready ? 200 : 503, protocol::to_json(r));
    if (!r.ready) res.headers.emplace_back("Retry-After", "1");
    co_return res;
  };
}

// /ws: a minimal WebSocket endpoint that greets and answers pings, so clients and operators can
// check the WebSocket path end to end (through proxies and TLS) before a hall opens.
net::ws_handler ws_echo(service_info info) {
  net::ws_handler h;
  h.on_open = [info](const std::shared_ptr<net::ws_connection>& c) {
    c->send(json::serialize(json::object{{"type", "hello"},
                                         {"service", "tenderd"},
                                         {"version", info.version},
                                         {"node_id", info.node_id}}));
  };
  h.on_message = [](const std::shared_ptr<net::ws_connection>& c,
                    std::string text) -> boost::asio::awaitable<void> {
    boost::system::error_code ec;
    const auto v = json::parse(text, ec);
    const json::object* o = (!ec && v.is_object()) ? &v.get_object() : nullptr;
    const json::value* type = o != nullptr ? o->if_contains("type") : nullptr;
    if (type == nullptr || !type->is_string()) {
      c->send(json::serialize(
          json::object{{"type", "error"},
                       {"error",
                        {{"code", "websocket.bad_message"},
                         {"message", "expected a JSON object with a string field 'type'"}}}}));
      co_return;
    }
    if (type->get_string() == "ping") {
      json::object pong{{"type", "pong"}};
      if (const auto* id = o->if_contains("id")) pong["id"] = *id;
      c->send(json::serialize(pong));
      co_return;
    }
    c->send(json::serialize(json::object{
        {"type", "error"},
        {"error",
         {{"code", "websocket.bad_message"},
          {"message", "unknown message type '" + std::string(type->get_string()) + "'"}}}}));
  };
  return h;
}

}  // namespace

std::shared_ptr<net::router> make_routes(
    const service_info& info, db::database& database, audit_service& audit, feed_service& feed,
    std::size_t default_body_limit, std::shared_ptr<const crypto::x509::trust_store> ca_roots,
    const bid_settings& bids, std::chrono::milliseconds guarantee_status_timeout,
    hall_service* hall, unsigned challenges_per_minute, db::revocation_source revocations) {
  auto r = std::make_shared<net::router>(net::router::options{default_body_limit});
  r->add("GET", "/healthz", healthz(info));
  r->add("GET", "/readyz", readyz(database, audit));
  r->add_websocket("/ws", ws_echo(info));
  add_log_routes(*r, database, audit);
  add_identity_routes(*r, database, std::move(ca_roots), challenges_per_minute, revocations);
  add_document_routes(*r, database);
  add_tender_routes(*r, database, audit);
  add_escrow_routes(*r, database);
  add_feed_routes(*r, database, feed);
  bid_settings with_crls = bids;
  with_crls.revocations = std::move(revocations);
  add_bid_routes(*r, database, audit, with_crls);
  add_guarantee_routes(*r, database, guarantee_status_timeout);
  if (hall != nullptr) add_hall_routes(*r, database, *hall, bids);
  add_web_routes(*r);
  return r;
}

}  // namespace tender::app
