// Electronic guarantees (电子保函) and cash bonds (投标保证金): issuer registration, the open
// flow (attach a guarantee file), the integrated flow (apply; the issuer pushes the guarantee),
// signed status callbacks, views, and the live status query to issuers (docs/GUARANTEES.md,
// protocol/docs/guarantee-api.md). The checks of a guarantee live here because they need the
// issuer; what is recorded and who may see it is db::guarantees.

#include "auth.hpp"
#include "body.hpp"
#include "params.hpp"
#include "routes.hpp"

#include <tender/api/guarantees.hpp>
#include <tender/client/client.hpp>
#include <tender/core/log.hpp>
#include <tender/core/tender_rules.hpp>
#include <tender/crypto/bytes.hpp>
#include <tender/crypto/error.hpp>
#include <tender/crypto/guarantee.hpp>
#include <tender/db/database.hpp>
#include <tender/db/guarantees.hpp>
#include <tender/protocol/uri.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>

#include <charconv>
#include <memory>
#include <random>

namespace tender::app {
namespace json = boost::json;
namespace asio = boost::asio;
namespace g = crypto::guarantee;
using protocol::errc;

namespace {

constexpr std::size_t guarantee_body_limit = 64 * 1024;

[[noreturn]] void refuse(const char* code, const std::string& message) {
  throw db::error(code, message);
}

// Blocking work (signatures, HTTP calls to issuers) runs here, never on an I/O thread.
struct workers {
  explicit workers(std::size_t threads = 4) : pool(threads) {}
  asio::thread_pool pool;
  std::chrono::milliseconds status_timeout{5000};
  ~workers() { pool.join(); }
};

template <class F>
asio::awaitable<void> off_io(workers& w, F f) {
  auto work = [f = std::move(f)]() mutable -> asio::awaitable<void> {
    f();
    co_return;
  };
  co_await asio::co_spawn(w.pool.get_executor(), std::move(work), asio::use_awaitable);
}

std::string random_nonce() {
  std::random_device rd;
  crypto::bytes b(16);
  for (auto& x : b)
    x = static_cast<std::uint8_t>(rd());
  return crypto::hex_encode(b);
}

crypto::public_key issuer_key(const db::guarantee_issuer& is) {
  if (is.public_key_der.empty()) {
    refuse("guarantee.unknown_issuer", "the registered key of issuer '" + is.org_id +
                                           "' is no longer an active key of that organisation");
  }
  return crypto::public_key::from_der(crypto::as_bytes(is.public_key_der));
}

// Converts crypto's guarantee.* failures into the API's.
template <class F>
auto checked(F f) {
  try {
    return f();
  } catch (const crypto::error& e) {
    throw db::error(e.code(), e.what());
  }
}

// The live status of `number` from its issuer: GET {base_url}/v1/guarantees/{number}/status with
// a fresh nonce; the signed answer must verify with the registered key and echo the nonce.
std::string query_status(const db::guarantee_issuer& is, const std::string& number,
                         std::chrono::milliseconds timeout) {
  const auto key = issuer_key(is);
  client::options o;
  o.server = is.base_url;
  o.timeout = timeout;
  const auto nonce = random_nonce();
  client::http_response r;
  try {
    client::client c(o);
    r = c.request("GET",
                  "/v1/guarantees/" + protocol::percent_encode(number) + "/status?nonce=" + nonce);
  } catch (const std::exception& e) {
    refuse("guarantee.issuer_unreachable",
           "the status service of issuer '" + is.org_id + "' did not answer: " + e.what());
  }
  if (r.status == 404) {
    refuse("guarantee.not_found", "issuer '" + is.org_id + "' does not know guarantee " + number);
  }
  if (r.status != 200) {
    refuse("guarantee.issuer_unreachable", "the status service of issuer '" + is.org_id +
                                               "' answered HTTP " + std::to_string(r.status));
  }
  boost::system::error_code ec;
  const auto v = json::parse(r.body, ec);
  if (ec) refuse("guarantee.issuer_unreachable", "the issuer's status answer is not JSON");
  return checked([&] {
    const auto env = g::open(v, "status");
    g::verify(env, g::status_domain, key);
    const auto s = g::parse_status(env.inner);
    if (s.number != number || s.issuer != is.org_id || s.nonce != nonce) {
      refuse("guarantee.bad_signature",
             "the issuer's status answer is about another guarantee or another query");
    }
    return s.status;
  });
}

std::int64_t epoch(const std::string& t) {
  const auto v = core::parse_rfc3339(t);
  if (!v) refuse("guarantee.malformed", "bad time '" + t + "'");
  return *v;
}

// Every check of a guarantee for `ctx` and the applicant `bidder_org`; the signature and the live
// status on the workers. Throws db::error with the guarantee.* code of the first failure.
asio::awaitable<db::verified_guarantee> verify_guarantee(workers& w, db::guarantees& repo,
                                                         const json::value& signed_doc,
                                                         const db::guarantee_context& ctx,
                                                         const std::string& bidder_org,
                                                         const std::string* application_code) {
  const auto env = checked([&] { return g::open(signed_doc, "document"); });
  const auto doc = checked([&] { return g::parse_document(env.inner); });
  const std::string issuer_org = doc.issuer;
  const auto issuer = co_await repo.issuer(issuer_org);
  if (!issuer) {
    refuse("guarantee.unknown_issuer", "'" + doc.issuer + "' is not a registered guarantee issuer");
  }
  auto verify_signature = [&] {
    checked([&] {
      const auto key = issuer_key(*issuer);
      g::verify(env, g::document_domain, key);
      return 0;
    });
  };
  co_await off_io(w, verify_signature);
  if (doc.tender_code != ctx.project_code || doc.lot != ctx.lot_no) {
    refuse("guarantee.wrong_tender", "the guarantee is for tender " + doc.tender_code + " lot " +
                                         std::to_string(doc.lot) + ", not " + ctx.project_code +
                                         " lot " + std::to_string(ctx.lot_no));
  }
  if (doc.beneficiary != ctx.owner_org) {
    refuse("guarantee.wrong_beneficiary", "the beneficiary is '" + doc.beneficiary +
                                              "', not the tenderer '" + ctx.owner_org + "'");
  }
  if (doc.applicant != bidder_org) {
    refuse("guarantee.wrong_applicant",
           "the applicant is '" + doc.applicant + "', not '" + bidder_org + "'");
  }
  if (application_code != nullptr &&
      (!doc.application_code || *doc.application_code != *application_code)) {
    refuse("guarantee.wrong_applicant",
           "the guarantee does not carry the application code of the application");
  }
  if (doc.currency != "CNY") {
    refuse("guarantee.under_amount", "the guarantee is in " + doc.currency + ", bonds are in CNY");
  }
  if (doc.amount < ctx.bond_amount) {
    refuse("guarantee.under_amount", "the guarantee covers " + std::to_string(doc.amount) +
                                         " fen; the lot requires a bond of " +
                                         std::to_string(ctx.bond_amount) + " fen");
  }
  if (epoch(doc.issued_at) > ctx.deadline_at) {
    refuse("guarantee.issued_late", "issued at " + doc.issued_at + ", after the deadline " +
                                        core::format_utc(ctx.deadline_at));
  }
  const auto until = epoch(doc.valid_until);
  const auto needed = ctx.deadline_at + ctx.bid_validity_days * 86400;
  if (until < ctx.now) refuse("guarantee.expired", "the guarantee expired at " + doc.valid_until);
  if (until < needed) {
    refuse("guarantee.expired", "valid until " + doc.valid_until +
                                    "; the bid validity needs at least " +
                                    core::format_utc(needed) + " (deadline + " +
                                    std::to_string(ctx.bid_validity_days) + " days)");
  }
  if (epoch(doc.valid_from) > ctx.deadline_at) {
    refuse("guarantee.expired", "valid only from " + doc.valid_from + ", after the deadline");
  }
  std::string status;
  auto live = [&] { status = query_status(*issuer, doc.number, w.status_timeout); };
  co_await off_io(w, live);
  if (status != "valid") {
    refuse("guarantee.revoked",
           "issuer '" + doc.issuer + "' reports guarantee " + doc.number + " as " + status);
  }
  db::verified_guarantee out;
  out.issuer_org = doc.issuer;
  out.number = doc.number;
  out.kind = doc.kind;
  out.amount = doc.amount;
  out.currency = doc.currency;
  out.valid_from = doc.valid_from;
  out.valid_until = doc.valid_until;
  out.issued_at = doc.issued_at;
  out.status = status;
  out.signed_json = json::serialize(signed_doc);
  co_return out;
}

net::response json_ok(unsigned status, const json::object& o) {
  return net::response::json(status, json::serialize(o));
}

// The body of the integrated flow's call to the issuer (protocol/docs/guarantee-api.md).
json::object application_request(const json::object& app, const db::guarantee_context& ctx) {
  return {{"application_id", app.at("application_id")},
          {"application_code", app.at("application_code")},
          {"applicant", app.at("bidder")},
          {"beneficiary", ctx.owner_org},
          {"tender_code", ctx.project_code},
          {"lot", ctx.lot_no},
          {"amount", ctx.bond_amount},
          {"currency", "CNY"},
          {"valid_until", core::format_utc(ctx.deadline_at + ctx.bid_validity_days * 86400)}};
}

}  // namespace

db::guarantee_status_query make_guarantee_status_query(std::chrono::milliseconds timeout) {
  return [timeout](const db::guarantee_issuer& is, const std::string& number) {
    return query_status(is, number, timeout);
  };
}

db::guarantee_lookup make_guarantee_lookup(std::chrono::milliseconds timeout) {
  // The gateway's own threads: a slow issuer occupies one of these, never a database connection,
  // an I/O thread or the scheduler. Two checks at once (the opening's re-check and a host's
  // check) each get one.
  auto w = std::make_shared<workers>(2);
  w->status_timeout = timeout;
  return [w](std::vector<db::held_guarantee> held) -> asio::awaitable<db::live_statuses> {
    db::live_statuses out;
    // Each issuer that does not answer costs at most one timeout and is then not asked again;
    // the whole check at most three, whatever the number of issuers.
    const auto deadline = std::chrono::steady_clock::now() + 3 * w->status_timeout;
    auto ask = [&] {
      out = db::ask_issuers(held, make_guarantee_status_query(w->status_timeout), deadline);
    };
    co_await off_io(*w, ask);
    co_return out;
  };
}

void add_guarantee_routes(net::router& r, db::database& database,
                          std::chrono::milliseconds status_timeout) {
  auto ids = std::make_shared<db::identity>(database.connections(), db::identity::options{});
  auto repo = std::make_shared<db::guarantees>(database.connections());
  auto w = std::make_shared<workers>();
  w->status_timeout = status_timeout;
  const auto route = [&](std::vector<std::string> roles, principal_body_fn body) {
    return authorized(database, ids, std::move(roles), nullptr, std::move(body),
                      "guarantees request");
  };
  const auto open_route = [&](body_fn body) {
    return guarded(database, "guarantee callback", nullptr, std::move(body));
  };

  // Issuer services (admin registers; every signed-in user may list them to apply).
  r.add("POST", "/api/v1/issuers",
        route({"admin"},
              [repo](net::request& req, const db::principal& p) -> asio::awaitable<net::response> {
                no_query(req);
                const auto [org, url, fp] = api::read_issuer_registration(req.body);
                const auto out = co_await repo->register_issuer(p, org, url, fp);
                co_return json_ok(200, out);
              }),
        guarantee_body_limit);

  r.add(
      "GET", "/api/v1/issuers",
      route({}, [repo](net::request& req, const db::principal&) -> asio::awaitable<net::response> {
        no_query(req);
        const auto out = co_await repo->list_issuers();
        co_return json_ok(200, out);
      }));

  // Open flow: the bidder attaches a guarantee file obtained from its issuer.
  r.add(
      "POST", "/api/v1/tenders/{id}/lots/{lot}/guarantees",
      route({"bidder"},
            [repo, w](net::request& req, const db::principal& p) -> asio::awaitable<net::response> {
              no_query(req);
              const json::value signed_doc = api::read_guarantee_attachment(req.body);
              const std::string tender_id = req.params.at("id");
              const int lot = lot_param(req);
              const std::optional<db::principal> who = p;
              const auto ctx = co_await repo->context(who, tender_id, lot);
              const std::string bidder = p.org.id;
              auto g = co_await verify_guarantee(*w, *repo, signed_doc, ctx, bidder, nullptr);
              const std::optional<std::string> no_application;
              const auto out = co_await repo->attach(tender_id, lot, bidder, p.who.id, std::move(g),
                                                     no_application);
              const bool replayed = out.at("replayed").as_bool();
              co_return json_ok(replayed ? 200 : 201, out);
            }),
      guarantee_body_limit);

  r.add("GET", "/api/v1/tenders/{id}/lots/{lot}/guarantees",
        route({},
              [repo](net::request& req, const db::principal& p) -> asio::awaitable<net::response> {
                no_query(req);
                const std::string tender_id = req.params.at("id");
                const int lot = lot_param(req);
                const auto out = co_await repo->list(p, tender_id, lot);
                co_return json_ok(200, out);
              }));

  // Integrated flow: the bidder applies with the issuer's application code; the platform asks
  // the issuer, which pushes the guarantee to /api/v1/guarantee-pushes.
  r.add(
      "POST", "/api/v1/tenders/{id}/lots/{lot}/guarantee-applications",
      route({"bidder"},
            [repo, w](net::request& req, const db::principal& p) -> asio::awaitable<net::response> {
              no_query(req);
              const auto [issuer_org, code] = api::read_guarantee_application(req.body);
              const std::string tender_id = req.params.at("id");
              const int lot = lot_param(req);
              const std::optional<db::principal> who = p;
              const auto ctx = co_await repo->context(who, tender_id, lot);
              const auto issuer = co_await repo->issuer(issuer_org);
              if (!issuer) {
                refuse("guarantee.unknown_issuer",
                       "'" + issuer_org + "' is not a registered guarantee issuer");
              }
              auto app = co_await repo->create_application(p, tender_id, lot, issuer_org, code);
              const auto payload = json::serialize(application_request(app, ctx));
              const auto app_id = std::string(app.at("application_id").as_string());
              std::string failure_code;
              std::string failure;
              auto call = [&] {
                client::options o;
                o.server = issuer->base_url;
                o.timeout = w->status_timeout;
                try {
                  client::client c(o);
                  const auto res = c.request("POST", "/v1/applications", payload);
                  if (res.status == 202 || res.status == 200) return;
                  failure_code = res.status == 400 || res.status == 404 || res.status == 409
                                     ? "guarantee.not_found"
                                     : "guarantee.issuer_unreachable";
                  failure = "issuer '" + issuer_org + "' refused the application (HTTP " +
                            std::to_string(res.status) + "): " + res.body.substr(0, 300);
                } catch (const std::exception& e) {
                  failure_code = "guarantee.issuer_unreachable";
                  failure = "issuer '" + issuer_org + "' did not answer: " + e.what();
                }
              };
              co_await off_io(*w, call);
              if (!failure_code.empty()) {
                co_await repo->refuse_application(app_id, failure_code, failure);
                refuse(failure_code.c_str(), failure);
              }
              const auto view = co_await repo->application_view(p, app_id);
              co_return json_ok(202, view);
            }),
      guarantee_body_limit);

  r.add("GET", "/api/v1/guarantee-applications/{app}",
        route({"bidder"},
              [repo](net::request& req, const db::principal& p) -> asio::awaitable<net::response> {
                no_query(req);
                const std::string id = req.params.at("app");
                const auto out = co_await repo->application_view(p, id);
                co_return json_ok(200, out);
              }));

  // The issuer pushes an issued guarantee (integrated flow). Authenticated by the signature.
  r.add("POST", "/api/v1/guarantee-pushes",
        open_route([repo, w](net::request& req) -> asio::awaitable<net::response> {
          no_query(req);
          const auto [app_id, signed_doc] = api::read_guarantee_push(req.body);
          const auto app = co_await repo->find_application(app_id);
          if (!app || app->state != "pending") {
            refuse("guarantee.not_found", "no pending guarantee application '" + app_id + "'");
          }
          // Anyone can call this route: nothing may change (the application stays pending) until
          // the document is known to come from the issuer the application was made to. Only a
          // signed document that fails a check refuses the application.
          {
            const auto env = checked([&] { return g::open(signed_doc, "document"); });
            const auto doc = checked([&] { return g::parse_document(env.inner); });
            if (doc.issuer != app->issuer_org) {
              refuse("guarantee.unknown_issuer",
                     "the application was made to '" + app->issuer_org + "'");
            }
            const auto issuer = co_await repo->issuer(app->issuer_org);
            if (!issuer) {
              refuse("guarantee.unknown_issuer",
                     "'" + app->issuer_org + "' is no longer a registered guarantee issuer");
            }
            co_await off_io(*w, [&] {
              checked([&] {
                g::verify(env, g::document_domain, issuer_key(*issuer));
                return 0;
              });
            });
          }
          const std::optional<db::principal> nobody;
          const auto ctx = co_await repo->context(nobody, app->tender_id, app->lot_no);
          std::optional<db::verified_guarantee> g;
          std::string failure_code;
          std::string failure;
          try {
            g = co_await verify_guarantee(*w, *repo, signed_doc, ctx, app->bidder_org,
                                          &app->application_code);
            if (g->issuer_org != app->issuer_org) {
              refuse("guarantee.unknown_issuer",
                     "the application was made to '" + app->issuer_org + "'");
            }
          } catch (const db::error& e) {
            failure_code = e.code();
            failure = e.what();
          }
          if (!failure_code.empty()) {
            co_await repo->refuse_application(app_id, failure_code, failure);
            refuse(failure_code.c_str(), failure);
          }
          const std::optional<std::string> application = app_id;
          const std::string no_user;
          const auto out = co_await repo->attach(app->tender_id, app->lot_no, app->bidder_org,
                                                 no_user, std::move(*g), application);
          co_return json_ok(201, out);
        }),
        guarantee_body_limit);

  // Signed status callbacks from issuers: revoked, claimed, released.
  r.add("POST", "/api/v1/guarantee-callbacks",
        open_route([repo, w](net::request& req) -> asio::awaitable<net::response> {
          no_query(req);
          const auto v = api::read_guarantee_callback(req.body);
          const auto env = checked([&] { return g::open(v, "event"); });
          const auto ev = checked([&] { return g::parse_event(env.inner); });
          const std::string issuer_org = ev.issuer;
          const auto issuer = co_await repo->issuer(issuer_org);
          if (!issuer) {
            refuse("guarantee.unknown_issuer", "'" + ev.issuer + "' is not a registered issuer");
          }
          auto verify = [&] {
            checked([&] {
              g::verify(env, g::event_domain, issuer_key(*issuer));
              return 0;
            });
          };
          co_await off_io(*w, verify);
          const std::string signed_json = json::serialize(v);
          const auto out = co_await repo->apply_event(ev.issuer, ev.event_id, ev.number, ev.status,
                                                      ev.occurred_at, signed_json);
          co_return json_ok(200, out);
        }),
        guarantee_body_limit);

  // Cash bonds (投标保证金).
  r.add("POST", "/api/v1/tenders/{id}/lots/{lot}/bonds",
        route({"center_staff"},
              [repo](net::request& req, const db::principal& p) -> asio::awaitable<net::response> {
                no_query(req);
                auto in = api::read_bond_record(req.body);
                db::guarantees::bond_request b;
                b.bidder_org = std::move(in.bidder);
                b.amount = in.amount;
                b.payer_account = std::move(in.payer_account);
                b.payer_name = std::move(in.payer_name);
                b.paid_at = std::move(in.paid_at);
                const std::string tender_id = req.params.at("id");
                const int lot = lot_param(req);
                const auto out = co_await repo->record_bond(p, tender_id, lot, std::move(b));
                co_return json_ok(201, out);
              }),
        guarantee_body_limit);

  r.add("GET", "/api/v1/tenders/{id}/lots/{lot}/bonds",
        route({},
              [repo](net::request& req, const db::principal& p) -> asio::awaitable<net::response> {
                no_query(req);
                const std::string tender_id = req.params.at("id");
                const int lot = lot_param(req);
                const auto out = co_await repo->list_bonds(p, tender_id, lot);
                co_return json_ok(200, out);
              }));
}

}  // namespace tender::app
