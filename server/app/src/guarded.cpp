#include "guarded.hpp"

#include <tender/core/log.hpp>
#include <tender/db/database.hpp>

namespace tender::app {
namespace {

net::response unavailable(const std::string& message) {
  auto res = net::response::error(protocol::errc::not_ready, message);
  res.headers.emplace_back("Retry-After", "1");
  return res;
}

}  // namespace

net::handler guarded(db::database& database, std::string what, db_error_map map, body_fn body) {
  return [&database, what = std::move(what), map = std::move(map),
          body = std::move(body)](net::request& req) -> boost::asio::awaitable<net::response> {
    const auto ready = database.readiness();
    if (!ready.ready) co_return unavailable("the database is not ready: " + ready.reason);
    try {
      co_return co_await body(req);
    } catch (const rejected_request& e) {
      co_return net::response::error(e.code, e.message);
    } catch (const db::error& e) {
      if (auto mapped = map ? map(e) : std::nullopt) co_return std::move(*mapped);
      // A lower layer may raise a public code by its name (tender.not_found...): answer it as is.
      if (auto c = protocol::errc_from_name(e.code());
          c && !e.code().starts_with("service.") && !e.code().starts_with("db.")) {
        co_return net::response::error(*c, e.what());
      }
      if (e.code() == "db.unreachable" || e.code() == "db.stopped") {
        co_return unavailable(std::string("database: ") + e.what());
      }
      core::log::error(what + " failed",
                       {{"path", req.path}, {"code", e.code()}, {"error", e.what()}});
      co_return net::response::error(protocol::errc::internal,
                                     "the request failed [" + e.code() + "]");
    }
  };
}

}  // namespace tender::app
