#pragma once

// The public change feed (docs/FEED.md): pages by cursor over HTTP, and a blocking follower over
// WebSocket that replays everything after a cursor, then receives events as they commit, and
// reconnects from the last seq it saw. No token is needed.

#include <tender/client/client.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace tender::client {

struct feed_event {
  std::int64_t seq = 0;
  std::optional<std::string> tender_id;
  std::string kind;
  std::string payload_json;  // a JSON object
  std::string created_at;
  std::string json;  // the whole event as the server sent it (one JSON object)
};

struct feed_events_page {
  std::vector<feed_event> events;
  std::int64_t next = 0;  // the cursor for the next page: the last seq here, or `after`
  std::int64_t head = 0;  // the feed's last seq when the page was read
};

// GET /api/v1/feed?after=&limit=&tender=. Throws error (feed.bad_cursor, request.bad_query, ...).
feed_events_page feed_page(client& c, std::int64_t after, std::size_t limit = 100,
                           const std::optional<std::string>& tender = std::nullopt);

struct follow_options {
  std::optional<std::string> tender;  // only this tender's events
  std::chrono::milliseconds reconnect_delay{1000};
  // Consecutive failed connection attempts before giving up (0: never give up).
  unsigned max_attempts = 0;
  // Called with the error after each lost connection or failed attempt, before retrying.
  std::function<void(const error&)> on_disconnect;
};

// Returns false to stop following.
using feed_callback = std::function<bool(const feed_event&)>;

// Follows /ws/feed from `after` (ws:// or wss:// from o.server) until `callback` returns false,
// reconnecting with the last seq seen whenever the connection drops; events are delivered once,
// in order. Returns the last seq seen. Throws error when the server refuses the request
// (feed.bad_cursor, request.bad_query) or after max_attempts failed attempts in a row.
std::int64_t follow_feed(const options& o, std::int64_t after, const feed_callback& callback,
                         const follow_options& f = {});

// Parses one event object as the server sends it; throws error client.bad_response.
feed_event parse_feed_event(const std::string& json_text);

}  // namespace tender::client
