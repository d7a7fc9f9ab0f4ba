// GET /hall/{id} — the opening hall's web page (server/app/web, embedded at build time by
// cmake/EmbedWeb.cmake). The page is the same for everyone and carries no data: it reads the
// tender id from its own address and talks to /ws/halls/{id} (protocol/docs/hall-protocol.md).

#include "routes.hpp"

#include <string>
#include <string_view>

namespace tender::app {
namespace web {
extern const std::string_view hall_page;
}

namespace {

net::response hall_page() {
  net::response res;
  res.status = 200;
  res.content_type = "text/html; charset=utf-8";
  res.body = std::string(web::hall_page);
  // Inline script and style only; connections to this origin only (the hall's WebSocket).
  res.headers.emplace_back("Content-Security-Policy",
                           "default-src 'none'; script-src 'unsafe-inline'; style-src "
                           "'unsafe-inline'; connect-src 'self'; img-src 'self' data:; base-uri "
                           "'none'; form-action 'none'; frame-ancestors 'none'");
  res.headers.emplace_back("X-Content-Type-Options", "nosniff");
  res.headers.emplace_back("Referrer-Policy", "no-referrer");  // the fragment may hold a token
  res.headers.emplace_back("Cache-Control", "no-cache");
  return res;
}

}  // namespace

void add_web_routes(net::router& r) {
  r.add("GET", "/hall/{id}",
        [](net::request&) -> boost::asio::awaitable<net::response> { co_return hall_page(); });
}

}  // namespace tender::app
