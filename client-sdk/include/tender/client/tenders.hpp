#pragma once

// Tenders (/api/v1/tenders, docs/TENDERS.md): free functions over a signed-in client. Bodies are
// JSON text as the server documents them (money in fen, times RFC 3339). Each function throws
// client::error with the server's code (tender.not_found, tender.bad_state,
// tender.rule_violation, request.version_conflict, auth.forbidden, ...) unless the server answers
// with the expected status; an answer of the wrong shape is client.bad_response.

#include <tender/client/client.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace tender::client {

// A tender as the server returned it.
struct tender_reply {
  unsigned status = 0;
  std::string etag;  // the ETag header ("\"3\""), for If-Match
  std::string id;
  std::string state;
  std::int64_t version = 0;
  std::string body;  // the whole JSON document (for amend: {"tender": ..., "amendment": ...})
};

// POST /api/v1/tenders (201). With an idempotency key, a retry returns the same tender.
tender_reply create_tender(client& c, std::string_view body_json,
                           std::string_view idempotency_key = {});
// GET /api/v1/tenders/{id} (200).
tender_reply get_tender(client& c, const std::string& id);

struct tender_query {
  std::string state;  // empty: any
  std::string owner;  // organisation id, empty: any
  std::string after;  // id cursor from the previous page's next_after
  int limit = 0;      // 0: the server's default
};
// GET /api/v1/tenders?...: the page as JSON, {"tenders": [...], "next_after": id|null}.
std::string list_tenders(client& c, const tender_query& q = {});

// PATCH /api/v1/tenders/{id} with If-Match: `etag` (a draft only).
tender_reply update_tender(client& c, const std::string& id, const std::string& etag,
                           std::string_view patch_json);
// POST /api/v1/tenders/{id}/publish with If-Match.
tender_reply publish_tender(client& c, const std::string& id, const std::string& etag);
// POST /api/v1/tenders/{id}/amend with If-Match; body {"reason": ..., "changes": {...}}.
tender_reply amend_tender(client& c, const std::string& id, const std::string& etag,
                          std::string_view body_json);
// POST /api/v1/tenders/{id}/cancel (the owner's tenderer).
tender_reply cancel_tender(client& c, const std::string& id, const std::string& reason);
// POST /api/v1/tenders/{id}/suspend and /resume (a supervisor). An empty reason on resume sends
// none.
tender_reply suspend_tender(client& c, const std::string& id, const std::string& reason);
tender_reply resume_tender(client& c, const std::string& id, const std::string& reason = {});

}  // namespace tender::client
