// Tender documents, downloads, questions and pushes (documents.hpp, docs/DOCUMENTS.md).

#include <tender/db/documents.hpp>

#include <tender/db/audit_log.hpp>
#include <tender/db/error.hpp>

#include "audit_tx.hpp"
#include "canonical_json.hpp"
#include "feed_tx.hpp"
#include "idempotency_tx.hpp"
#include "notify_tx.hpp"
#include "pool.hpp"

#include <tender/crypto/digest.hpp>

#include <boost/json.hpp>

#include <pqxx/pqxx>

#include <algorithm>
#include <utility>
#include <vector>

namespace net = boost::asio;

namespace tender::db {
namespace json = boost::json;

namespace {

#define TENDER_DOC_TIME(col) \
  "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"

// The tender as these rules need it. `past`: the deadline has passed on PostgreSQL's clock.
// The last column: the bidder list is public (published in the hall, or the tender failed), which
// is when who downloaded stops being secret (SPEC §13).
#define TENDER_DOC_TENDER_COLUMNS                                                \
  "SELECT state, owner_org, COALESCE(deadline_at <= clock_timestamp(), false), " \
  "EXISTS (SELECT 1 FROM halls h WHERE h.tender_id = tenders.id AND "            \
  "h.phase NOT IN ('waiting', 'sealed')) FROM tenders WHERE id = $1"
constexpr const char* select_tender_sql = TENDER_DOC_TENDER_COLUMNS;
// The same, holding the row against a concurrent change of state or deadline until commit.
constexpr const char* lock_tender_sql = TENDER_DOC_TENDER_COLUMNS " FOR SHARE OF tenders";
#undef TENDER_DOC_TENDER_COLUMNS

// A new name gets version 1; an existing one its next version, atomically.
constexpr const char* upsert_document_sql =
    "INSERT INTO documents (tender_id, name, latest_version) VALUES ($1, $2, 1) "
    "ON CONFLICT (tender_id, name) DO UPDATE SET latest_version = documents.latest_version + 1 "
    "RETURNING id, latest_version";

constexpr const char* insert_version_sql =
    "INSERT INTO document_versions (document_id, version, size, sha256, content, uploaded_by, "
    "after_publication) VALUES ($1, $2, $3, $4, $5, $6, $7) "
    "RETURNING " TENDER_DOC_TIME("created_at");

constexpr const char* list_versions_sql =
    "SELECT d.id, d.name, d.latest_version, v.version, v.sha256, v.size, "
    TENDER_DOC_TIME("v.created_at")
    " FROM documents d JOIN document_versions v ON v.document_id = d.id "
    "WHERE d.tender_id = $1 ORDER BY d.id, v.version";

// $3 < 0: the latest version.
constexpr const char* select_version_sql =
    "SELECT d.name, v.version, v.sha256, v.content FROM documents d "
    "JOIN document_versions v ON v.document_id = d.id "
    "WHERE d.id = $1 AND d.tender_id = $2 "
    "AND v.version = CASE WHEN $3::integer < 0 THEN d.latest_version ELSE $3::integer END";

constexpr const char* insert_download_sql =
    "INSERT INTO document_downloads (tender_id, document_id, version, user_id, org_id) "
    "VALUES ($1, $2, $3, $4, $5) RETURNING id";

constexpr const char* count_downloads_sql =
    "SELECT count(*), count(DISTINCT org_id), count(DISTINCT user_id) "
    "FROM document_downloads WHERE tender_id = $1";

constexpr const char* list_downloads_sql =
    "SELECT d.id, d.document_id, d.version, d.user_id, d.org_id, o.name, "
    TENDER_DOC_TIME("d.downloaded_at")
    " FROM document_downloads d JOIN organisations o ON o.id = d.org_id "
    "WHERE d.tender_id = $1 ORDER BY d.id";

constexpr const char* insert_question_sql =
    "INSERT INTO questions (tender_id, asked_by, asker_org, text) VALUES ($1, $2, $3, $4) "
    "RETURNING id, " TENDER_DOC_TIME("asked_at");

constexpr const char* list_questions_sql =
    "SELECT id, text, " TENDER_DOC_TIME("asked_at") ", answer, " TENDER_DOC_TIME(
        "answered_at") ", asked_by, asker_org FROM questions WHERE tender_id = $1 ORDER BY id";

constexpr const char* lock_question_sql =
    "SELECT text, answer IS NOT NULL FROM questions WHERE id = $1 AND tender_id = $2 FOR UPDATE";

constexpr const char* answer_question_sql =
    "UPDATE questions SET answer = $2, answered_by = $3, answered_at = clock_timestamp() "
    "WHERE id = $1 RETURNING " TENDER_DOC_TIME("answered_at");

constexpr const char* list_notifications_sql =
    "SELECT n.id, p.id, p.tender_id, p.kind, p.ref, p.summary::text, "
    TENDER_DOC_TIME("n.created_at") ", " TENDER_DOC_TIME("n.read_at")
    " FROM notifications n JOIN pushes p ON p.id = n.push_id WHERE n.user_id = $1 "
    "ORDER BY n.read_at IS NOT NULL, n.id DESC LIMIT 500";

constexpr const char* count_unread_sql =
    "SELECT count(*) FROM notifications WHERE user_id = $1 AND read_at IS NULL";

constexpr const char* mark_read_sql =
    "UPDATE notifications SET read_at = clock_timestamp() "
    "WHERE id = $1 AND user_id = $2 AND read_at IS NULL RETURNING push_id, " TENDER_DOC_TIME(
        "read_at");

constexpr const char* select_read_sql =
    "SELECT " TENDER_DOC_TIME("read_at") " FROM notifications WHERE id = $1 AND user_id = $2";

constexpr const char* list_pushes_sql =
    "SELECT p.id, p.kind, p.ref, p.summary::text, " TENDER_DOC_TIME("p.created_at")
    ", count(n.id), count(n.read_at) FROM pushes p LEFT JOIN notifications n ON n.push_id = p.id "
    "WHERE p.tender_id = $1 GROUP BY p.id ORDER BY p.id";

constexpr const char* list_recipients_sql =
    "SELECT n.push_id, n.org_id, n.user_id, " TENDER_DOC_TIME("n.read_at")
    " FROM notifications n JOIN pushes p ON p.id = n.push_id WHERE p.tender_id = $1 "
    "ORDER BY n.push_id, n.org_id, n.user_id";

#undef TENDER_DOC_TIME

struct tender_row {
  std::string id;
  std::string state;
  std::string owner_org;
  bool past_deadline = false;
  bool list_published = false;  // the hall's bidder list is public
};

[[noreturn]] void fail(const char* code, const std::string& message) {
  throw error(code, message);
}

// The tender, or tender.not_found when it does not exist or is a draft of another organisation
// (a draft is nobody else's business, not even whether it exists).
tender_row load_tender(pqxx::transaction_base& tx, const principal& who, const std::string& id,
                       bool lock) {
  const auto rows = tx.exec_params(lock ? lock_tender_sql : select_tender_sql, id);
  if (rows.empty()) fail("tender.not_found", "no tender '" + id + "'");
  tender_row t{id, rows[0][0].as<std::string>(), rows[0][1].as<std::string>(),
               rows[0][2].as<bool>(), rows[0][3].as<bool>()};
  if (t.state == "draft" && t.owner_org != who.org.id) {
    fail("tender.not_found", "no tender '" + id + "'");
  }
  return t;
}

bool is_owner(const principal& who, const tender_row& t) {
  return who.org.id == t.owner_org;
}

// The owner organisation's tenderer, or auth.forbidden.
void require_owner_tenderer(const principal& who, const tender_row& t, const char* what) {
  if (!who.who.has_role("tenderer") || !is_owner(who, t)) {
    fail("auth.forbidden", std::string("only a tenderer of the organisation that owns tender '") +
                               t.id + "' may " + what);
  }
}

// Changes by bidders and the tenderer stop at the deadline; only a published tender takes them
// (documents may also be prepared while it is a draft, see upload()).
void require_open(const tender_row& t, const char* what) {
  if (t.state != "published") {
    fail("tender.bad_state",
         std::string("cannot ") + what + ": tender '" + t.id + "' is " + t.state);
  }
  if (t.past_deadline) {
    fail("tender.bad_state",
         std::string("cannot ") + what + ": the deadline of tender '" + t.id + "' has passed");
  }
}

void audit(pqxx::transaction_base& tx, const principal& who, const std::string& role,
           const char* action, const std::string& subject, const json::object& change) {
  audit_tx::append_change(tx, who.who.id, role, action, subject, change);
}

bool valid_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t n = 0;
    std::uint32_t cp = 0;
    if (c < 0x80) {
      ++i;
      continue;
    }
    if ((c & 0xE0) == 0xC0) {
      n = 1;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      n = 2;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      n = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    for (std::size_t k = 1; k <= n; ++k) {
      if (i + k >= s.size()) return false;
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    // Overlong forms, surrogates and values past U+10FFFF.
    if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
        cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    i += n + 1;
  }
  return true;
}

void check_document_name(const std::string& name) {
  if (name.empty() || name.size() > 200) {
    fail("document.bad_input", "the document name must be 1 to 200 bytes long");
  }
  if (!valid_utf8(name)) fail("document.bad_input", "the document name must be valid UTF-8");
  for (const char ch : name) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c == 0x7f) {
      fail("document.bad_input", "the document name must not contain control characters");
    }
    if (c == '/' || c == '\\') {
      fail("document.bad_input", "the document name must not contain '/' or '\\'");
    }
  }
  if (name == "." || name == "..") fail("document.bad_input", "'.' and '..' are not file names");
}

void check_text(const std::string& text, const char* what) {
  if (text.empty() || text.size() > max_question_text) {
    fail("document.bad_input", std::string(what) + " must be 1 to 4000 bytes long");
  }
}

json::value null_or(const pqxx::field& f) {
  if (f.is_null()) return nullptr;
  return json::value(f.as<std::string>());
}

json::value parsed(const std::string& text) {
  boost::system::error_code ec;
  auto v = json::parse(text, ec);
  if (ec) return json::value(text);
  return v;
}

}  // namespace

documents::documents(pool& connections) : pool_(connections) {}

net::awaitable<documents::stored_response> documents::upload(principal who, upload_request req) {
  check_document_name(req.name);
  if (req.content.empty()) fail("document.bad_input", "the document is empty (no bytes)");
  const std::string sha = crypto::to_hex(crypto::sha256(std::string_view(req.content)));
  if (req.expected_sha256 && *req.expected_sha256 != sha) {
    fail("document.bad_input", "Digest-SHA256 " + *req.expected_sha256 +
                                   " does not match the SHA-256 of the received bytes, " + sha);
  }
  const auto size = static_cast<std::int64_t>(req.content.size());
  stored_response out;
  pool::job job = [&](pqxx::connection_base& c) {
    pqxx::work tx(c);
    const auto t = load_tender(tx, who, req.tender_id, true);
    require_owner_tenderer(who, t, "upload its documents");
    if (t.state != "draft" && t.state != "published") {
      fail("tender.bad_state", "cannot upload documents: tender '" + t.id + "' is " + t.state);
    }
    if (t.state == "published" && t.past_deadline) {
      fail("tender.bad_state",
           "cannot upload documents: the deadline of tender '" + t.id + "' has passed");
    }
    if (req.idempotency_key) {
      if (auto replay =
              idempotency_tx::claim(tx, who.who.id, *req.idempotency_key, req.request_digest)) {
        out = {replay->status, replay->body};
        tx.commit();
        return;
      }
    }
    const auto doc = tx.exec_params1(upsert_document_sql, req.tender_id, req.name);
    const auto document_id = doc[0].as<std::int64_t>();
    const auto version = doc[1].as<int>();
    const bool published = t.state == "published";
    const pqxx::binarystring bytes(req.content);
    const auto created = tx.exec_params1(insert_version_sql, document_id, version, size, sha, bytes,
                                         who.who.id, published)[0]
                             .as<std::string>();
    const json::object change{{"tender_id", req.tender_id},
                              {"document_id", document_id},
                              {"name", req.name},
                              {"version", version},
                              {"sha256", sha},
                              {"size", size}};
    audit(tx, who, "tenderer", "document.uploaded", req.tender_id, change);
    json::object body = change;
    body["created_at"] = created;
    if (published) {
      // Public: the version and its hash, never who has downloaded.
      feed_tx::append(tx, req.tender_id, "document.published", json::serialize(change));
      const auto pushed = notify_tx::push_to_downloaders(
          tx, req.tender_id, "document.version",
          std::to_string(document_id) + "/v" + std::to_string(version), json::serialize(change));
      body["push_id"] = pushed.push_id;
    }
    out = {201, json::serialize(body)};
    if (req.idempotency_key) {
      idempotency_tx::store(tx, who.who.id, *req.idempotency_key, out.status, out.body);
    }
    tx.commit();
  };
  co_await pool_.run(std::move(job));
  co_return out;
}

net::awaitable<json::object> documents::list(principal who, std::string tender_id) {
  json::object out;
  pool::job job = [&](pqxx::connection_base& c) {
    pqxx::read_transaction tx(c);
    load_tender(tx, who, tender_id, false);
    json::array docs;
    std::int64_t current = -1;
    for (const auto& row : tx.exec_params(list_versions_sql, tender_id)) {
      const auto id = row[0].as<std::int64_t>();
      if (id != current) {
        docs.push_back(json::object{{"document_id", id},
                                    {"name", row[1].as<std::string>()},
                                    {"latest_version", row[2].as<int>()},
                                    {"versions", json::array{}}});
        current = id;
      }
      docs.back().as_object()["versions"].as_array().push_back(
          json::object{{"version", row[3].as<int>()},
                       {"sha256", row[4].as<std::string>()},
                       {"size", row[5].as<std::int64_t>()},
                       {"created_at", row[6].as<std::string>()}});
    }
    out = {{"tender_id", tender_id}, {"documents", std::move(docs)}};
  };
  co_await pool_.run(std::move(job));
  co_return out;
}

net::awaitable<documents::file> documents::download(principal who, std::string tender_id,
                                                    std::int64_t document_id,
                                                    std::optional<int> version) {
  file out;
  pool::job job = [&](pqxx::connection_base& c) {
    pqxx::work tx(c);
    const auto t = load_tender(tx, who, tender_id, false);
    // The owner organisation and supervisors read freely; any bidder of another organisation
    // downloads freely too (no sign-up gate), and that download is recorded.
    bool record = false;
    if (!is_owner(who, t) && !who.who.has_role("supervisor")) {
      if (!who.who.has_role("bidder")) {
        fail("auth.forbidden", "downloading the documents of tender '" + tender_id +
                                   "' needs the 'bidder' role (or the owner organisation)");
      }
      record = true;
    }
    const auto rows =
        tx.exec_params(select_version_sql, document_id, tender_id, version ? *version : -1);
    if (rows.empty()) {
      fail("document.not_found",
           "tender '" + tender_id + "' has no document " + std::to_string(document_id) +
               (version ? " version " + std::to_string(*version) : std::string()));
    }
    out.document_id = document_id;
    out.name = rows[0][0].as<std::string>();
    out.version = rows[0][1].as<int>();
    out.sha256 = rows[0][2].as<std::string>();
    out.content = pqxx::binarystring(rows[0][3]).str();
    if (record) {
      tx.exec_params1(insert_download_sql, tender_id, document_id, out.version, who.who.id,
                      who.org.id);
      audit(tx, who, "bidder", "document.downloaded", tender_id,
            {{"tender_id", tender_id},
             {"document_id", document_id},
             {"version", out.version},
             {"sha256", out.sha256}});
      out.recorded = true;
    }
    tx.commit();
  };
  co_await pool_.run(std::move(job));
  co_return out;
}

net::awaitable<json::object> documents::downloads(principal who, std::string tender_id) {
  json::object out;
  pool::job job = [&](pqxx::connection_base& c) {
    pqxx::read_transaction tx(c);
    const auto t = load_tender(tx, who, tender_id, false);
    const bool supervisor = who.who.has_role("supervisor");
    if (!supervisor) require_owner_tenderer(who, t, "see its downloads");
    // Who obtained the documents is secret until the bidder list is published (招标投标法
    // art. 22, SPEC §13), not merely until the deadline: the tenderer counts until then.
    const bool full = supervisor || t.list_published;
    const auto n = tx.exec_params1(count_downloads_sql, tender_id);
    out = {{"tender_id", tender_id},
           {"deadline_passed", t.past_deadline},
           {"downloads", n[0].as<std::int64_t>()},
           {"organisations", n[1].as<std::int64_t>()},
           {"users", n[2].as<std::int64_t>()}};
    if (full) {
      json::array list;
      for (const auto& row : tx.exec_params(list_downloads_sql, tender_id)) {
        list.push_back(json::object{{"id", row[0].as<std::int64_t>()},
                                    {"document_id", row[1].as<std::int64_t>()},
                                    {"version", row[2].as<int>()},
                                    {"user_id", row[3].as<std::string>()},
                                    {"org_id", row[4].as<std::string>()},
                                    {"org_name", row[5].as<std::string>()},
                                    {"downloaded_at", row[6].as<std::string>()}});
      }
      out["list"] = std::move(list);
    }
  };
  co_await pool_.run(std::move(job));
  co_return out;
}

net::awaitable<json::object> documents::ask(principal who, std::string tender_id,
                                            std::string text) {
  check_text(text, "the question");
  json::object out;
  pool::job job = [&](pqxx::connection_base& c) {
    pqxx::work tx(c);
    const auto t = load_tender(tx, who, tender_id, true);
    if (!who.who.has_role("bidder") || is_owner(who, t)) {
      fail("auth.forbidden",
           "only a bidder (of another organisation than the owner) may ask a "
           "question on tender '" +
               tender_id + "'");
    }
    require_open(t, "ask a question");
    const auto row = tx.exec_params1(insert_question_sql, tender_id, who.who.id, who.org.id, text);
    const auto id = row[0].as<std::int64_t>();
    audit(tx, who, "bidder", "question.asked", tender_id,
          {{"tender_id", tender_id}, {"question_id", id}, {"text", text}});
    out = {{"id", id},          {"tender_id", tender_id},
           {"text", text},      {"asked_at", row[1].as<std::string>()},
           {"answer", nullptr}, {"answered_at", nullptr},
           {"mine", true}};
    tx.commit();
  };
  co_await pool_.run(std::move(job));
  co_return out;
}

net::awaitable<json::object> documents::questions(principal who, std::string tender_id) {
  json::object out;
  pool::job job = [&](pqxx::connection_base& c) {
    pqxx::read_transaction tx(c);
    const auto t = load_tender(tx, who, tender_id, false);
    enum class view { supervisor, owner, bidder } v;
    if (who.who.has_role("supervisor")) {
      v = view::supervisor;
    } else if (is_owner(who, t) && who.who.has_role("tenderer")) {
      v = view::owner;
    } else if (who.who.has_role("bidder") && !is_owner(who, t)) {
      v = view::bidder;
    } else {
      fail("auth.forbidden", "the questions of tender '" + tender_id +
                                 "' are for its tenderer, bidders and supervisors");
    }
    json::array list;
    for (const auto& row : tx.exec_params(list_questions_sql, tender_id)) {
      const bool answered = !row[3].is_null();
      const bool mine = row[5].as<std::string>() == who.who.id;
      // A bidder sees its own questions and the published answers, never who asked.
      if (v == view::bidder && !mine && !answered) continue;
      json::object q{{"id", row[0].as<std::int64_t>()},
                     {"text", row[1].as<std::string>()},
                     {"asked_at", row[2].as<std::string>()},
                     {"answer", null_or(row[3])},
                     {"answered_at", null_or(row[4])}};
      if (v == view::bidder) q["mine"] = mine;
      if (v == view::supervisor) {
        q["asked_by"] = row[5].as<std::string>();
        q["asker_org"] = row[6].as<std::string>();
      }
      list.push_back(std::move(q));
    }
    out = {{"tender_id", tender_id}, {"questions", std::move(list)}};
  };
  co_await pool_.run(std::move(job));
  co_return out;
}

net::awaitable<json::object> documents::answer(principal who, std::string tender_id,
                                               std::int64_t question_id, std::string text) {
  check_text(text, "the answer");
  json::object out;
  pool::job job = [&](pqxx::connection_base& c) {
    pqxx::work tx(c);
    const auto t = load_tender(tx, who, tender_id, true);
    require_owner_tenderer(who, t, "answer its questions");
    require_open(t, "answer a question");
    const auto q = tx.exec_params(lock_question_sql, question_id, tender_id);
    if (q.empty()) {
      fail("question.not_found",
           "tender '" + tender_id + "' has no question " + std::to_string(question_id));
    }
    if (q[0][1].as<bool>()) {
      fail("question.closed", "question " + std::to_string(question_id) + " is already answered");
    }
    const auto question = q[0][0].as<std::string>();
    const auto answered_at =
        tx.exec_params1(answer_question_sql, question_id, text, who.who.id)[0].as<std::string>();
    audit(tx, who, "tenderer", "question.answered", tender_id,
          {{"tender_id", tender_id}, {"question_id", question_id}, {"answer", text}});
    const json::object ids{{"tender_id", tender_id}, {"question_id", question_id}};
    feed_tx::append(tx, tender_id, "question.answered", json::serialize(ids));
    const json::object summary{{"tender_id", tender_id},
                               {"question_id", question_id},
                               {"question", question},
                               {"answer", text}};
    const auto pushed = notify_tx::push_to_downloaders(
        tx, tender_id, "question.answered", std::to_string(question_id), json::serialize(summary));
    out = {{"id", question_id},
           {"tender_id", tender_id},
           {"text", question},
           {"answer", text},
           {"answered_at", answered_at},
           {"push_id", pushed.push_id},
           {"recipients", pushed.recipients}};
    tx.commit();
  };
  co_await pool_.run(std::move(job));
  co_return out;
}

net::awaitable<json::object> documents::notifications(principal who) {
  json::object out;
  pool::job job = [&](pqxx::connection_base& c) {
    pqxx::read_transaction tx(c);
    json::array list;
    for (const auto& row : tx.exec_params(list_notifications_sql, who.who.id)) {
      list.push_back(json::object{{"id", row[0].as<std::int64_t>()},
                                  {"push_id", row[1].as<std::int64_t>()},
                                  {"tender_id", row[2].as<std::string>()},
                                  {"kind", row[3].as<std::string>()},
                                  {"ref", row[4].as<std::string>()},
                                  {"summary", parsed(row[5].as<std::string>())},
                                  {"created_at", row[6].as<std::string>()},
                                  {"read_at", null_or(row[7])}});
    }
    const auto unread = tx.exec_params1(count_unread_sql, who.who.id)[0].as<std::int64_t>();
    out = {{"unread", unread}, {"notifications", std::move(list)}};
  };
  co_await pool_.run(std::move(job));
  co_return out;
}

net::awaitable<json::object> documents::mark_read(principal who, std::int64_t id) {
  json::object out;
  pool::job job = [&](pqxx::connection_base& c) {
    pqxx::work tx(c);
    const auto updated = tx.exec_params(mark_read_sql, id, who.who.id);
    if (!updated.empty()) {
      const auto read_at = updated[0][1].as<std::string>();
      audit(tx, who, "user", "notification.read", "notification/" + std::to_string(id),
            {{"notification_id", id}, {"push_id", updated[0][0].as<std::int64_t>()}});
      out = {{"id", id}, {"read_at", read_at}, {"first_read", true}};
      tx.commit();
      return;
    }
    const auto existing = tx.exec_params(select_read_sql, id, who.who.id);
    if (existing.empty()) {
      fail("notification.not_found", "you have no notification " + std::to_string(id));
    }
    out = {{"id", id}, {"read_at", existing[0][0].as<std::string>()}, {"first_read", false}};
    tx.commit();
  };
  co_await pool_.run(std::move(job));
  co_return out;
}

net::awaitable<json::object> documents::receipts(principal who, std::string tender_id) {
  json::object out;
  pool::job job = [&](pqxx::connection_base& c) {
    pqxx::read_transaction tx(c);
    const auto t = load_tender(tx, who, tender_id, false);
    const bool supervisor = who.who.has_role("supervisor");
    if (!supervisor) require_owner_tenderer(who, t, "see its read receipts");
    // The recipients are the downloaders: secret as the download list is (downloads()).
    const bool full = supervisor || t.list_published;
    json::array pushes;
    std::vector<std::int64_t> ids;
    for (const auto& row : tx.exec_params(list_pushes_sql, tender_id)) {
      ids.push_back(row[0].as<std::int64_t>());
      json::object p{{"push_id", ids.back()},
                     {"kind", row[1].as<std::string>()},
                     {"ref", row[2].as<std::string>()},
                     {"summary", parsed(row[3].as<std::string>())},
                     {"created_at", row[4].as<std::string>()},
                     {"delivered", row[5].as<std::int64_t>()},
                     {"read", row[6].as<std::int64_t>()}};
      if (full) p["recipients"] = json::array{};
      pushes.push_back(std::move(p));
    }
    if (full) {
      for (const auto& row : tx.exec_params(list_recipients_sql, tender_id)) {
        const auto push_id = row[0].as<std::int64_t>();
        const auto it = std::find(ids.begin(), ids.end(), push_id);
        if (it == ids.end()) continue;
        pushes[static_cast<std::size_t>(it - ids.begin())]
            .as_object()["recipients"]
            .as_array()
            .push_back(json::object{{"org_id", row[1].as<std::string>()},
                                    {"user_id", row[2].as<std::string>()},
                                    {"read_at", null_or(row[3])}});
      }
    }
    out = {{"tender_id", tender_id},
           {"deadline_passed", t.past_deadline},
           {"pushes", std::move(pushes)}};
  };
  co_await pool_.run(std::move(job));
  co_return out;
}

}  // namespace tender::db
