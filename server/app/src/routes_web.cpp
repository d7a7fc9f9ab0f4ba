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
  return net::response::html(200, std::string(web::hall_page));
}

}  // namespace

void add_web_routes(net::router& r) {
  r.add("GET", "/hall/{id}",
        [](net::request&) -> boost::asio::awaitable<net::response> { co_return hall_page(); });
}

}  // namespace tender::app
