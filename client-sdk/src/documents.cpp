// The documents calls of the client: upload, list, download (checked), downloads, questions,
// answers, notifications and read receipts.

#include <tender/client/documents.hpp>

#include <tender/protocol/uri.hpp>

#include <tender/crypto/digest.hpp>

#include "answer_fields.hpp"

#include <boost/json.hpp>

namespace tender::client::documents {
namespace json = boost::json;

namespace {

using detail::bad_shape;
using detail::field;
using detail::num;
using detail::opt_str;
using detail::str;
json::object object_of(const http_response& r, std::string_view what) {
  return detail::object_of(r.body, what);
}

bool boolean(const json::object& o, std::string_view key, std::string_view what) {
  const auto& v = field(o, key, what);
  if (!v.is_bool()) bad_shape(what);
  return v.get_bool();
}

const json::array& arr(const json::object& o, std::string_view key, std::string_view what) {
  const auto& v = field(o, key, what);
  if (!v.is_array()) bad_shape(what);
  return v.get_array();
}

const json::object& obj(const json::value& v, std::string_view what) {
  if (!v.is_object()) bad_shape(what);
  return v.get_object();
}

std::string sha256_hex(std::string_view data) {
  return crypto::to_hex(crypto::sha256(data));
}

std::string tender_path(const std::string& tender_id) {
  return "/api/v1/tenders/" + protocol::percent_encode(tender_id);
}

question question_of(const json::object& o, std::string_view what) {
  question q;
  q.id = num(o, "id", what);
  q.text = str(o, "text", what);
  q.asked_at = str(o, "asked_at", what);
  q.answer = opt_str(o, "answer", what);
  q.answered_at = opt_str(o, "answered_at", what);
  if (const auto* m = o.if_contains("mine")) {
    if (!m->is_bool()) bad_shape(what);
    q.mine = m->get_bool();
  }
  q.asked_by = opt_str(o, "asked_by", what);
  q.asker_org = opt_str(o, "asker_org", what);
  return q;
}

}  // namespace

uploaded upload(client& c, const std::string& tender_id, const std::string& name,
                const std::string& content, const std::string& idempotency_key) {
  constexpr std::string_view what = "POST /api/v1/tenders/{id}/documents";
  header_list headers{{"Digest-SHA256", sha256_hex(content)}};
  if (!idempotency_key.empty()) headers.emplace_back("Idempotency-Key", idempotency_key);
  const auto r = c.request(
      "POST", tender_path(tender_id) + "/documents?name=" + protocol::percent_encode(name), content,
      "application/octet-stream", headers);
  expect_status(r, 201);
  const auto o = object_of(r, what);
  return {num(o, "document_id", what), str(o, "tender_id", what),
          str(o, "name", what),        static_cast<int>(num(o, "version", what)),
          str(o, "sha256", what),      num(o, "size", what),
          str(o, "created_at", what)};
}

std::vector<document_info> list(client& c, const std::string& tender_id) {
  constexpr std::string_view what = "GET /api/v1/tenders/{id}/documents";
  const auto r = c.request("GET", tender_path(tender_id) + "/documents");
  expect_status(r, 200);
  const auto o = object_of(r, what);
  std::vector<document_info> out;
  for (const auto& d : arr(o, "documents", what)) {
    const auto& dobj = obj(d, what);
    document_info info;
    info.document_id = num(dobj, "document_id", what);
    info.name = str(dobj, "name", what);
    info.latest_version = static_cast<int>(num(dobj, "latest_version", what));
    for (const auto& v : arr(dobj, "versions", what)) {
      const auto& vo = obj(v, what);
      info.versions.push_back({static_cast<int>(num(vo, "version", what)), str(vo, "sha256", what),
                               num(vo, "size", what), str(vo, "created_at", what)});
    }
    out.push_back(std::move(info));
  }
  return out;
}

file download(client& c, const std::string& tender_id, std::int64_t document_id,
              std::optional<int> version) {
  const std::string v = version ? std::to_string(*version) : std::string("latest");
  const auto r = c.request("GET", tender_path(tender_id) + "/documents/" +
                                      std::to_string(document_id) + "/versions/" + v);
  expect_status(r, 200);
  file f;
  f.document_id = document_id;
  f.sha256 = r.header("Digest-SHA256");
  const auto ver = r.header("X-Document-Version");
  try {
    f.version = std::stoi(ver);
  } catch (const std::exception&) {
    bad_shape("GET .../versions/" + v + " (no X-Document-Version)");
  }
  const std::string actual = sha256_hex(r.body);
  if (f.sha256 != actual) {
    throw error(digest_mismatch, "the downloaded bytes hash to " + actual +
                                     " but the server announced Digest-SHA256 '" + f.sha256 + "'");
  }
  f.content = r.body;
  return f;
}

downloads_info downloads(client& c, const std::string& tender_id) {
  constexpr std::string_view what = "GET /api/v1/tenders/{id}/downloads";
  const auto r = c.request("GET", tender_path(tender_id) + "/downloads");
  expect_status(r, 200);
  const auto o = object_of(r, what);
  downloads_info out;
  out.tender_id = str(o, "tender_id", what);
  out.deadline_passed = boolean(o, "deadline_passed", what);
  out.downloads = num(o, "downloads", what);
  out.organisations = num(o, "organisations", what);
  out.users = num(o, "users", what);
  if (o.contains("list")) {
    out.listed = true;
    for (const auto& e : arr(o, "list", what)) {
      const auto& eo = obj(e, what);
      out.list.push_back({num(eo, "id", what), num(eo, "document_id", what),
                          static_cast<int>(num(eo, "version", what)), str(eo, "user_id", what),
                          str(eo, "org_id", what), str(eo, "org_name", what),
                          str(eo, "downloaded_at", what)});
    }
  }
  return out;
}

question ask(client& c, const std::string& tender_id, const std::string& text) {
  constexpr std::string_view what = "POST /api/v1/tenders/{id}/questions";
  const auto r = c.request("POST", tender_path(tender_id) + "/questions",
                           json::serialize(json::object{{"text", text}}));
  expect_status(r, 201);
  return question_of(object_of(r, what), what);
}

std::vector<question> questions(client& c, const std::string& tender_id) {
  constexpr std::string_view what = "GET /api/v1/tenders/{id}/questions";
  const auto r = c.request("GET", tender_path(tender_id) + "/questions");
  expect_status(r, 200);
  const auto o = object_of(r, what);
  std::vector<question> out;
  for (const auto& q : arr(o, "questions", what))
    out.push_back(question_of(obj(q, what), what));
  return out;
}

answered answer(client& c, const std::string& tender_id, std::int64_t question_id,
                const std::string& text) {
  constexpr std::string_view what = "POST /api/v1/tenders/{id}/questions/{qid}/answer";
  const auto r = c.request(
      "POST", tender_path(tender_id) + "/questions/" + std::to_string(question_id) + "/answer",
      json::serialize(json::object{{"text", text}}));
  expect_status(r, 200);
  const auto o = object_of(r, what);
  answered out;
  out.q.id = num(o, "id", what);
  out.q.text = str(o, "text", what);
  out.q.answer = str(o, "answer", what);
  out.q.answered_at = str(o, "answered_at", what);
  out.push_id = num(o, "push_id", what);
  out.recipients = num(o, "recipients", what);
  return out;
}

notifications_page notifications(client& c) {
  constexpr std::string_view what = "GET /api/v1/notifications";
  const auto r = c.request("GET", "/api/v1/notifications");
  expect_status(r, 200);
  const auto o = object_of(r, what);
  notifications_page out;
  out.unread = num(o, "unread", what);
  for (const auto& n : arr(o, "notifications", what)) {
    const auto& no = obj(n, what);
    out.items.push_back({num(no, "id", what), num(no, "push_id", what), str(no, "tender_id", what),
                         str(no, "kind", what), str(no, "ref", what),
                         json::serialize(field(no, "summary", what)), str(no, "created_at", what),
                         opt_str(no, "read_at", what)});
  }
  return out;
}

read_receipt mark_read(client& c, std::int64_t notification_id) {
  constexpr std::string_view what = "POST /api/v1/notifications/{id}/read";
  const auto r =
      c.request("POST", "/api/v1/notifications/" + std::to_string(notification_id) + "/read");
  expect_status(r, 200);
  const auto o = object_of(r, what);
  return {num(o, "id", what), str(o, "read_at", what), boolean(o, "first_read", what)};
}

receipts_info receipts(client& c, const std::string& tender_id) {
  constexpr std::string_view what = "GET /api/v1/tenders/{id}/notifications";
  const auto r = c.request("GET", tender_path(tender_id) + "/notifications");
  expect_status(r, 200);
  const auto o = object_of(r, what);
  receipts_info out;
  out.tender_id = str(o, "tender_id", what);
  out.deadline_passed = boolean(o, "deadline_passed", what);
  for (const auto& p : arr(o, "pushes", what)) {
    const auto& po = obj(p, what);
    push_receipt pr;
    pr.push_id = num(po, "push_id", what);
    pr.kind = str(po, "kind", what);
    pr.ref = str(po, "ref", what);
    pr.summary_json = json::serialize(field(po, "summary", what));
    pr.created_at = str(po, "created_at", what);
    pr.delivered = num(po, "delivered", what);
    pr.read = num(po, "read", what);
    if (po.contains("recipients")) {
      pr.listed = true;
      for (const auto& e : arr(po, "recipients", what)) {
        const auto& eo = obj(e, what);
        pr.recipients.push_back(
            {str(eo, "org_id", what), str(eo, "user_id", what), opt_str(eo, "read_at", what)});
      }
    }
    out.pushes.push_back(std::move(pr));
  }
  return out;
}

}  // namespace tender::client::documents
