// /api/v1/tenders/{id}/documents|downloads|questions|notifications and /api/v1/notifications:
// tender documents, free downloads, questions (答疑) and pushes with read receipts
// (docs/DOCUMENTS.md). The rules live in db::documents; this file reads requests strictly.

#include "auth.hpp"
#include "body.hpp"
#include "params.hpp"
#include "routes.hpp"

#include <tender/protocol/uri.hpp>

#include <tender/crypto/digest.hpp>
#include <tender/db/database.hpp>
#include <tender/db/documents.hpp>

#include <boost/json.hpp>

#include <cctype>
#include <charconv>
#include <memory>

namespace tender::app {
namespace json = boost::json;
using protocol::errc;

namespace {

// The per-file limit of an upload (the route's body limit).
constexpr std::size_t document_body_limit = std::size_t{32} << 20;
constexpr std::size_t question_body_limit = 16 * 1024;

[[noreturn]] void bad_query(std::string message) {
  throw rejected_request{errc::request_bad_query, std::move(message)};
}

// RFC 3986 percent-decoding ('+' stays a plus sign).
std::string percent_decode(std::string_view s, const std::string& what) {
  auto out = protocol::percent_decode(s);
  if (!out) bad_query(what + " has a '%' not followed by two hex digits");
  return std::move(*out);
}

// The single query parameter `name` of an upload, decoded.
std::string name_parameter(std::string_view query) {
  std::optional<std::string> name;
  while (!query.empty()) {
    const auto amp = query.find('&');
    const std::string_view part = query.substr(0, amp);
    const auto eq = part.find('=');
    if (eq == std::string_view::npos) {
      bad_query("query parameter '" + std::string(part.substr(0, 60)) +
                "' is not of the form name=value");
    }
    if (part.substr(0, eq) != "name") {
      bad_query("unknown query parameter '" +
                std::string(part.substr(0, std::min<std::size_t>(eq, 60))) +
                "' (this endpoint takes name)");
    }
    if (name) bad_query("query parameter 'name' is repeated");
    name = percent_decode(part.substr(eq + 1), "query parameter 'name'");
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  if (!name) bad_query("query parameter 'name' (the document's file name) is required");
  return *name;
}

// A positive decimal id of a path segment; nullopt when malformed.
std::optional<std::int64_t> positive_id(std::string_view text) {
  if (text.empty() || text.size() > 18 || text.front() == '0') return std::nullopt;
  std::int64_t v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || v <= 0) return std::nullopt;
  return v;
}

std::int64_t path_id(const net::request& req, const char* param, errc not_found, const char* what) {
  const auto& text = req.params.at(param);
  const auto v = positive_id(text);
  if (!v) {
    throw rejected_request{not_found, std::string("no ") + what + " '" + text.substr(0, 40) +
                                          "' (ids are positive whole numbers)"};
  }
  return *v;
}

// Digest-SHA256: 64 hex digits, any case.
std::optional<std::string> digest_header(const net::request& req) {
  const auto h = req.header("Digest-SHA256");
  if (!h) return std::nullopt;
  std::string out;
  for (const char c : *h) {
    if (std::isxdigit(static_cast<unsigned char>(c)) == 0) break;
    out += static_cast<char>(c >= 'A' && c <= 'F' ? c - 'A' + 'a' : c);
  }
  if (out.size() != 64 || h->size() != 64) {
    throw rejected_request{errc::request_bad_header,
                           "Digest-SHA256 must be the 64 hex digits of the SHA-256 of the body"};
  }
  return out;
}

net::response json_ok(unsigned status, const json::object& o) {
  return net::response::json(status, json::serialize(o));
}

}  // namespace

void add_document_routes(net::router& r, db::database& database) {
  auto ids = std::make_shared<db::identity>(database.connections(), db::identity::options{});
  auto docs = std::make_shared<db::documents>(database.connections());
  const auto route = [&](std::vector<std::string> roles, principal_body_fn body) {
    return authorized(database, ids, std::move(roles), nullptr, std::move(body),
                      "documents request");
  };

  r.add("POST", "/api/v1/tenders/{id}/documents",
        route({"tenderer"},
              [docs](net::request& req,
                     const db::principal& p) -> boost::asio::awaitable<net::response> {
                db::documents::upload_request u;
                u.tender_id = req.params.at("id");
                u.name = name_parameter(req.query);
                u.expected_sha256 = digest_header(req);
                u.idempotency_key = idempotency_key(req);
                const std::string material =
                    req.method + "\n" + req.path + "\n" + u.name + "\n" + req.body;
                u.request_digest = crypto::to_hex(crypto::sha256(std::string_view(material)));
                u.content = std::move(req.body);
                const auto stored = co_await docs->upload(p, std::move(u));
                co_return net::response::json(static_cast<unsigned>(stored.status), stored.body);
              }),
        document_body_limit);

  r.add("GET", "/api/v1/tenders/{id}/documents",
        route({},
              [docs](net::request& req,
                     const db::principal& p) -> boost::asio::awaitable<net::response> {
                no_query(req);
                const std::string tender_id = req.params.at("id");
                const auto out = co_await docs->list(p, tender_id);
                co_return json_ok(200, out);
              }));

  r.add("GET", "/api/v1/tenders/{id}/documents/{doc}/versions/{v}",
        route({},
              [docs](net::request& req,
                     const db::principal& p) -> boost::asio::awaitable<net::response> {
                no_query(req);
                const std::string tender_id = req.params.at("id");
                const auto doc = path_id(req, "doc", errc::document_not_found, "document");
                std::optional<int> version;
                if (req.params.at("v") != "latest") {
                  const auto v = positive_id(req.params.at("v"));
                  if (!v || *v > 2147483647) {
                    throw rejected_request{errc::document_not_found,
                                           "no version '" + req.params.at("v").substr(0, 40) +
                                               "' (a positive whole number, or latest)"};
                  }
                  version = static_cast<int>(*v);
                }
                const auto f = co_await docs->download(p, tender_id, doc, version);
                net::response res;
                res.status = 200;
                res.content_type = "application/octet-stream";
                res.headers.emplace_back("Digest-SHA256", f.sha256);
                res.headers.emplace_back("X-Document-Id", std::to_string(f.document_id));
                res.headers.emplace_back("X-Document-Version", std::to_string(f.version));
                res.headers.emplace_back(
                    "Content-Disposition",
                    "attachment; filename*=UTF-8''" + protocol::percent_encode(f.name));
                res.body = f.content;
                co_return res;
              }));

  r.add("GET", "/api/v1/tenders/{id}/downloads",
        route({},
              [docs](net::request& req,
                     const db::principal& p) -> boost::asio::awaitable<net::response> {
                no_query(req);
                const std::string tender_id = req.params.at("id");
                const auto out = co_await docs->downloads(p, tender_id);
                co_return json_ok(200, out);
              }));

  r.add("POST", "/api/v1/tenders/{id}/questions",
        route({"bidder"},
              [docs](net::request& req,
                     const db::principal& p) -> boost::asio::awaitable<net::response> {
                no_query(req);
                const std::string text = api::single_text(req.body, "text", db::max_question_text);
                const std::string tender_id = req.params.at("id");
                const auto out = co_await docs->ask(p, tender_id, text);
                co_return json_ok(201, out);
              }),
        question_body_limit);

  r.add("GET", "/api/v1/tenders/{id}/questions",
        route({},
              [docs](net::request& req,
                     const db::principal& p) -> boost::asio::awaitable<net::response> {
                no_query(req);
                const std::string tender_id = req.params.at("id");
                const auto out = co_await docs->questions(p, tender_id);
                co_return json_ok(200, out);
              }));

  r.add("POST", "/api/v1/tenders/{id}/questions/{qid}/answer",
        route({"tenderer"},
              [docs](net::request& req,
                     const db::principal& p) -> boost::asio::awaitable<net::response> {
                no_query(req);
                const auto qid = path_id(req, "qid", errc::question_not_found, "question");
                const std::string text = api::single_text(req.body, "text", db::max_question_text);
                const std::string tender_id = req.params.at("id");
                const auto out = co_await docs->answer(p, tender_id, qid, text);
                co_return json_ok(200, out);
              }),
        question_body_limit);

  r.add("GET", "/api/v1/tenders/{id}/notifications",
        route({},
              [docs](net::request& req,
                     const db::principal& p) -> boost::asio::awaitable<net::response> {
                no_query(req);
                const std::string tender_id = req.params.at("id");
                const auto out = co_await docs->receipts(p, tender_id);
                co_return json_ok(200, out);
              }));

  r.add("GET", "/api/v1/notifications",
        route({},
              [docs](net::request& req,
                     const db::principal& p) -> boost::asio::awaitable<net::response> {
                no_query(req);
                const auto out = co_await docs->notifications(p);
                co_return json_ok(200, out);
              }));

  r.add("POST", "/api/v1/notifications/{id}/read",
        route({},
              [docs](net::request& req,
                     const db::principal& p) -> boost::asio::awaitable<net::response> {
                no_query(req);
                const auto id = path_id(req, "id", errc::notification_not_found, "notification");
                const auto out = co_await docs->mark_read(p, id);
                co_return json_ok(200, out);
              }),
        question_body_limit);
}

}  // namespace tender::app
