// Fuzzes the HTTP request path as a session runs it, without sockets: Beast's request parser with
// the server's header limit, the step to the handlers' request (net::request_from_header), the
// router (routes shaped like the API's: literal segments, captures, WebSocket and streamed
// routes), the route's body limit, and the body reader the real route calls. Any input must be
// parsed, routed and read, or refused with a code — never crash or hang.

#include <tender/api/body.hpp>
#include <tender/api/guarantees.hpp>
#include <tender/api/identity.hpp>
#include <tender/api/queries.hpp>
#include <tender/api/rejected.hpp>
#include <tender/api/tenders.hpp>
#include <tender/api/uploads.hpp>
#include <tender/crypto/init.hpp>
#include <tender/net/request_head.hpp>
#include <tender/protocol/errors.hpp>

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/websocket/rfc6455.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

namespace api = tender::api;
namespace http = boost::beast::http;
namespace net = tender::net;
namespace protocol = tender::protocol;

namespace {

using reader = void (*)(const net::request&);

struct route {
  const char* method;
  const char* path;
  std::size_t body_limit;
  reader read;  // the tender::api reader the real route calls
};

using q = const net::request&;
const route api_routes[] = {
    {"POST", "/api/v1/tenders", 1024 * 1024, [](q r) { (void)api::tender_create(r.body); }},
    {"PATCH", "/api/v1/tenders/{id}", 1024 * 1024,
     [](q r) {
       (void)api::required_if_match(r);
       (void)api::tender_patch(r.body);
     }},
    {"GET", "/api/v1/tenders", 0, [](q r) { (void)api::read_tender_list_query(r.query); }},
    {"POST", "/api/v1/tenders/{id}/amend", 1024 * 1024,
     [](q r) { (void)api::read_tender_amendment(r.body); }},
    {"POST", "/api/v1/tenders/{id}/cancel", 16 * 1024, [](q r) { (void)api::reason_body(r.body); }},
    {"POST", "/api/v1/auth/login", 16 * 1024, [](q r) { (void)api::read_login_request(r.body); }},
    {"POST", "/api/v1/tenders/{id}/lots/{lot}/uploads", 4096,
     [](q r) {
       (void)api::lot_number(r.params.at("lot"));
       (void)api::idempotency_key(r);
       (void)api::read_upload_creation(r);
     }},
    {"POST", "/api/v1/guarantee-pushes", 64 * 1024,
     [](q r) { (void)api::read_guarantee_push(r.body); }},
    {"GET", "/api/v1/tenders/{id}/hall/events", 0,
     [](q r) { (void)api::read_events_query(r.query, 100, 1000); }},
};

// Never called: the fuzz target runs each route's reader itself (no coroutine frames here, which
// clang 14 cannot instrument for libFuzzer).
[[noreturn]] boost::asio::awaitable<net::response> unused(net::request&) {
  std::abort();
}
[[noreturn]] boost::asio::awaitable<net::stream_start> unused_stream(net::request&) {
  std::abort();
}

// All routes in one router, as the server has them; and one router per route, to tell which
// route matched.
struct routing {
  net::router all{net::router::options{64 * 1024}};
  std::vector<std::unique_ptr<net::router>> each;
  routing() {
    for (const auto& r : api_routes) {
      const auto limit = r.body_limit == 0 ? std::optional<std::size_t>{} : r.body_limit;
      all.add(r.method, r.path, unused, limit);
      auto one = std::make_unique<net::router>();
      one->add(r.method, r.path, unused, limit);
      each.push_back(std::move(one));
    }
    all.add_websocket("/api/v1/tenders/{tender_id}/hall/ws", net::ws_handler{});
    all.add_stream("PATCH", "/api/v1/uploads/{uid}", unused_stream, 1024 * 1024);
  }
  reader reader_of(const std::string& method, const std::string& path) const {
    for (std::size_t i = 0; i < each.size(); ++i)
      if (each[i]->match(method, path).target != nullptr) return api_routes[i].read;
    return nullptr;
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const bool ready = (tender::crypto::init(), true);
  (void)ready;
  static const routing routes;
  boost::asio::const_buffer in(data, size);
  http::request_parser<http::empty_body> head;
  head.header_limit(8 * 1024);
  head.body_limit(boost::none);
  boost::beast::error_code ec;
  // The whole input is at hand: a header that needs more is one that never came.
  while (!head.is_header_done()) {
    const auto used = head.put(in, ec);
    in += used;
    if (ec || used == 0) return 0;  // refused (the session answers 400 and closes) or cut short
  }
  auto req = net::request_from_header(head.get(), "192.0.2.1");
  if (net::target_refusal(req)) return 0;
  if (boost::beast::websocket::is_upgrade(head.get())) {
    (void)routes.all.match_websocket(req.path);
    return 0;
  }
  auto m = routes.all.match(req.method, req.path);
  if (m.error) return 0;
  if (const auto length = head.content_length(); length && *length > m.body_limit) return 0;
  req.params = m.params;
  if (m.stream) return 0;
  http::request_parser<http::string_body> body(std::move(head));
  body.body_limit(m.body_limit);
  while (!body.is_done() && in.size() > 0) {
    const auto used = body.put(in, ec);
    in += used;
    if (ec == http::error::need_more) break;
    if (ec) return 0;  // body_limit or a bad chunk: refused
    if (used == 0) break;
  }
  if (!body.is_done()) {
    body.put_eof(ec);
    if (ec || !body.is_done()) return 0;
  }
  req.body = body.get().body();
  if (req.body.size() > m.body_limit) std::abort();  // the limit held
  const auto read = routes.reader_of(req.method, req.path);
  if (read == nullptr) std::abort();  // the router matched a route the table does not have
  try {
    read(req);
  } catch (const api::rejected_request& e) {
    if (protocol::http_status(e.code) / 100 != 4) std::abort();  // a refusal is a client error
  }
  return 0;
}
