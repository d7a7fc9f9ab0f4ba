// The tender calls of the client SDK (tenders.hpp).

#include <tender/client/tenders.hpp>

#include <boost/json.hpp>

#include <cctype>

namespace tender::client {
namespace json = boost::json;

namespace {

[[noreturn]] void bad_shape(std::string_view what) {
  throw error("client.bad_response", "unexpected answer from " + std::string(what));
}

tender_reply reply_of(const http_response& r, unsigned expected, std::string_view what) {
  expect_status(r, expected);
  boost::system::error_code ec;
  const auto v = json::parse(r.body, ec);
  if (ec || !v.is_object()) bad_shape(what);
  const json::object* t = &v.get_object();
  // An amendment answers {"tender": ..., "amendment": ...}.
  if (const auto* inner = t->if_contains("tender"); inner != nullptr && inner->is_object()) {
    t = &inner->get_object();
  }
  const auto* id = t->if_contains("id");
  const auto* state = t->if_contains("state");
  const auto* version = t->if_contains("version");
  if (id == nullptr || !id->is_string() || state == nullptr || !state->is_string() ||
      version == nullptr || !version->is_int64()) {
    bad_shape(what);
  }
  tender_reply out;
  out.status = r.status;
  out.etag = r.header("ETag");
  out.id = std::string(id->get_string());
  out.state = std::string(state->get_string());
  out.version = version->get_int64();
  out.body = r.body;
  return out;
}

std::string path_of(const std::string& id, std::string_view action = {}) {
  // Tender ids are "t-" + hex, so they need no encoding; anything else gets 404 from the server.
  std::string p = "/api/v1/tenders/" + id;
  if (!action.empty()) p += "/" + std::string(action);
  return p;
}

std::string encoded(std::string_view s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (const unsigned char ch : s) {
    if (std::isalnum(ch) != 0 || ch == '-' || ch == '_' || ch == '.' || ch == '~') {
      out += static_cast<char>(ch);
    } else {
      out += '%';
      out += hex[ch >> 4];
      out += hex[ch & 15];
    }
  }
  return out;
}

std::string reason_body(const std::string& reason) {
  return json::serialize(json::object{{"reason", reason}});
}

}  // namespace

tender_reply create_tender(client& c, std::string_view body_json,
                           std::string_view idempotency_key) {
  header_list headers;
  if (!idempotency_key.empty()) headers.emplace_back("Idempotency-Key", idempotency_key);
  const auto r = c.request("POST", "/api/v1/tenders", body_json, "application/json", headers);
  return reply_of(r, 201, "POST /api/v1/tenders");
}

tender_reply get_tender(client& c, const std::string& id) {
  return reply_of(c.request("GET", path_of(id)), 200, "GET /api/v1/tenders/{id}");
}

std::string list_tenders(client& c, const tender_query& q) {
  std::string query;
  auto add = [&](const char* name, const std::string& v) {
    if (v.empty()) return;
    query += (query.empty() ? "?" : "&") + std::string(name) + "=" + encoded(v);
  };
  add("state", q.state);
  add("owner", q.owner);
  add("after", q.after);
  if (q.limit > 0) add("limit", std::to_string(q.limit));
  const auto r = c.request("GET", "/api/v1/tenders" + query);
  expect_status(r, 200);
  boost::system::error_code ec;
  const auto v = json::parse(r.body, ec);
  if (ec || !v.is_object() || !v.get_object().contains("tenders")) {
    bad_shape("GET /api/v1/tenders");
  }
  return r.body;
}

tender_reply update_tender(client& c, const std::string& id, const std::string& etag,
                           std::string_view patch_json) {
  const auto r =
      c.request("PATCH", path_of(id), patch_json, "application/json", {{"If-Match", etag}});
  return reply_of(r, 200, "PATCH /api/v1/tenders/{id}");
}

tender_reply publish_tender(client& c, const std::string& id, const std::string& etag) {
  const auto r =
      c.request("POST", path_of(id, "publish"), "", "application/json", {{"If-Match", etag}});
  return reply_of(r, 200, "POST /api/v1/tenders/{id}/publish");
}

tender_reply amend_tender(client& c, const std::string& id, const std::string& etag,
                          std::string_view body_json) {
  const auto r =
      c.request("POST", path_of(id, "amend"), body_json, "application/json", {{"If-Match", etag}});
  return reply_of(r, 200, "POST /api/v1/tenders/{id}/amend");
}

tender_reply cancel_tender(client& c, const std::string& id, const std::string& reason) {
  return reply_of(c.request("POST", path_of(id, "cancel"), reason_body(reason)), 200,
                  "POST /api/v1/tenders/{id}/cancel");
}

tender_reply suspend_tender(client& c, const std::string& id, const std::string& reason) {
  return reply_of(c.request("POST", path_of(id, "suspend"), reason_body(reason)), 200,
                  "POST /api/v1/tenders/{id}/suspend");
}

tender_reply resume_tender(client& c, const std::string& id, const std::string& reason) {
  const std::string body = reason.empty() ? std::string() : reason_body(reason);
  return reply_of(c.request("POST", path_of(id, "resume"), body), 200,
                  "POST /api/v1/tenders/{id}/resume");
}

}  // namespace tender::client
