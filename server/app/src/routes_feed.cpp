// /api/v1/feed and /ws/feed — the public change feed: pages by cursor over HTTP, and a WebSocket
// that replays everything after a cursor and then pushes events as they commit (docs/FEED.md).
// Public: no token is needed.

#include "feed_service.hpp"
#include "guarded.hpp"
#include "routes.hpp"

#include <tender/db/database.hpp>
#include <tender/db/feed.hpp>

#include <boost/json.hpp>

#include <algorithm>
#include <charconv>
#include <regex>
#include <string>
#include <string_view>

namespace tender::app {
namespace json = boost::json;
using protocol::errc;

namespace {

constexpr std::size_t default_limit = 100;

struct feed_query {
  std::int64_t after = 0;
  std::size_t limit = default_limit;
  std::optional<std::string> tender;
};

// Strict decimal: digits only, no sign, no leading zeros, at most INT64_MAX.
std::optional<std::int64_t> decimal(std::string_view text) {
  if (text.empty() || (text.size() > 1 && text.front() == '0')) return std::nullopt;
  std::int64_t v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || v < 0) return std::nullopt;
  return v;
}

// after=<seq>&limit=<n>&tender=<id>; `with_limit` false for the WebSocket (no pages there).
feed_query parse_feed_query(std::string_view query, bool with_limit) {
  static const std::regex tender_id("^t-[0-9a-f]{16}$");
  const std::string allowed = with_limit ? "after, limit, tender" : "after, tender";
  feed_query out;
  bool seen_after = false;
  bool seen_limit = false;
  while (!query.empty()) {
    const auto amp = query.find('&');
    const std::string_view part = query.substr(0, amp);
    const auto eq = part.find('=');
    if (part.empty() || eq == std::string_view::npos) {
      throw rejected_request{errc::request_bad_query, "query parameter '" + std::string(part) +
                                                          "' is not of the form name=value"};
    }
    const std::string name(part.substr(0, eq));
    const std::string_view value = part.substr(eq + 1);
    const auto repeated = [&] {
      return rejected_request{errc::request_bad_query,
                              "query parameter '" + name + "' is repeated"};
    };
    if (name == "after") {
      if (seen_after) throw repeated();
      seen_after = true;
      const auto v = decimal(value);
      if (!v) {
        throw rejected_request{errc::feed_bad_cursor,
                               "query parameter 'after' must be a feed sequence number (a whole "
                               "number from 0 to 9223372036854775807 in plain decimal), got '" +
                                   std::string(value) + "'"};
      }
      out.after = *v;
    } else if (name == "limit" && with_limit) {
      if (seen_limit) throw repeated();
      seen_limit = true;
      const auto v = decimal(value);
      if (!v || *v < 1) {
        throw rejected_request{errc::request_bad_query,
                               "query parameter 'limit' must be a whole number of at least 1 in "
                               "plain decimal (larger values are capped at " +
                                   std::to_string(db::feed::max_page) + "), got '" +
                                   std::string(value) + "'"};
      }
      out.limit = static_cast<std::size_t>(std::min<std::int64_t>(*v, db::feed::max_page));
    } else if (name == "tender") {
      if (out.tender) throw repeated();
      const std::string id(value);
      if (!std::regex_match(id, tender_id)) {
        throw rejected_request{errc::request_bad_query,
                               "query parameter 'tender' must be a tender id like "
                               "t-0123456789abcdef, got '" +
                                   id + "'"};
      }
      out.tender = id;
    } else {
      throw rejected_request{
          errc::request_bad_query,
          "unknown query parameter '" + name + "' (this endpoint takes " + allowed + ")"};
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return out;
}

std::string ws_error(errc code, std::string_view message) {
  const std::string body = protocol::error_body(code, message);
  return "{\"type\":\"error\"," + body.substr(1);
}

}  // namespace

void add_feed_routes(net::router& r, db::database& database, feed_service& feed) {
  feed_service* service = &feed;

  // GET /api/v1/feed?after=&limit=&tender= → {"events":[...],"next":<seq>,"head":<seq>}
  r.add("GET", "/api/v1/feed",
        guarded(database, "feed request", nullptr,
                [service](net::request& req) -> boost::asio::awaitable<net::response> {
                  const auto q = parse_feed_query(req.query, true);
                  const auto tender = q.tender;
                  const auto page = co_await service->feed().page(q.after, q.limit, tender);
                  std::string body = "{\"events\":[";
                  std::int64_t next = q.after;
                  for (std::size_t i = 0; i < page.events.size(); ++i) {
                    if (i != 0) body += ',';
                    body += feed_service::event_json(page.events[i]);
                    next = page.events[i].seq;
                  }
                  body += "],\"next\":" + std::to_string(next) +
                          ",\"head\":" + std::to_string(page.head) + "}";
                  co_return net::response::json(200, std::move(body));
                }));

  // /ws/feed?after=&tender=: replay after the cursor, then live events, one JSON text message
  // per event; a bad cursor gets {"type":"error"} and the connection is closed.
  net::ws_handler h;
  h.on_open = [service](const std::shared_ptr<net::ws_connection>& c) {
    try {
      auto q = parse_feed_query(c->upgrade_request().query, false);
      service->follow(c, q.after, std::move(q.tender));
    } catch (const rejected_request& e) {
      c->send(ws_error(e.code, e.message));
      c->close("bad request");
    }
  };
  h.on_message = [](const std::shared_ptr<net::ws_connection>& c,
                    std::string text) -> boost::asio::awaitable<void> {
    // The feed is one-way; pings are answered so a client can check the connection.
    boost::system::error_code ec;
    const auto v = json::parse(text, ec);
    const json::object* o = (!ec && v.is_object()) ? &v.get_object() : nullptr;
    const json::value* type = o != nullptr ? o->if_contains("type") : nullptr;
    if (type != nullptr && type->is_string() && type->get_string() == "ping") {
      json::object pong{{"type", "pong"}};
      if (const auto* id = o->if_contains("id")) pong["id"] = *id;
      c->send(json::serialize(pong));
      co_return;
    }
    c->send(
        ws_error(errc::ws_bad_message, "the feed takes no messages except {\"type\":\"ping\"}"));
  };
  h.on_close = [service](const std::shared_ptr<net::ws_connection>& c) {
    service->unfollow(c->id());
  };
  r.add_websocket("/ws/feed", std::move(h));
}

}  // namespace tender::app
