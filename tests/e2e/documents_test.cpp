// Tender documents end to end (docs/DOCUMENTS.md): versioned uploads with SHA-256, free bidder
// downloads that are recorded, the confidential download list, pushes of new versions and answers
// to earlier downloaders with read receipts, anonymous questions, refusals that change nothing,
// idempotent uploads and the `tender` CLI.
#include <world.hpp>

#include <tender/client/documents.hpp>
#include <tender/crypto/digest.hpp>

#include <boost/json.hpp>

#include <gtest/gtest.h>

#include <fstream>

namespace {

namespace docs = tender::client::documents;
using tender::test::actor;
using tender::test::error_code_of;
using tender::test::world;

std::string sha_hex(const std::string& s) {
  return tender::crypto::to_hex(tender::crypto::sha256(std::string_view(s)));
}

// A tender inserted directly (the tender endpoints are another piece of work).
std::string make_tender(world& w, const actor& owner, const std::string& suffix,
                        const std::string& state = "published") {
  const std::string id = "t-00000000000000" + suffix;
  w.db().exec(
      "INSERT INTO tenders (id, project_code, title, kind, rule_pack, owner_org, "
      "created_by, state, published_at, deadline_at) VALUES ('" +
      id + "', 'P-" + suffix + "', 'Road " + suffix + "', 'works', 'engineering', '" +
      owner.org_id + "', '" + owner.user_id + "', '" + state + "', " +
      (state == "draft" ? "NULL" : "now()") + ", now() + interval '1 day')");
  w.db().exec(
      "INSERT INTO lots (tender_id, lot_no, title, estimated_price, summary_fields) "
      "VALUES ('" +
      id +
      "', 1, 'Lot 1', 100000000, '[{\"key\":\"price\",\"label\":\"投标报价\","
      "\"type\":\"money\"}]')");
  return id;
}

void pass_deadline(world& w, const std::string& tender_id) {
  w.db().exec("UPDATE tenders SET deadline_at = now() - interval '1 second' WHERE id = '" +
              tender_id + "'");
}

long long count(world& w, const std::string& sql) {
  return std::stoll(w.db().query_value(sql));
}

// Every table a request of this piece may touch, for "nothing changed" checks.
std::string snapshot(world& w) {
  std::string out;
  for (const char* t :
       {"documents", "document_versions", "document_downloads", "questions", "pushes",
        "notifications", "audit_events", "feed_events", "idempotency_keys"}) {
    out += std::string(t) + "=" + std::to_string(w.rows(t)) + " ";
  }
  return out + "answered=" +
         w.db().query_value("SELECT count(*) FROM questions WHERE answer IS NOT NULL") + " read=" +
         w.db().query_value(
             "SELECT count(*) FROM notifications WHERE read_at IS NOT "
             "NULL");
}

tender::client::http_response upload_raw(actor& a, const std::string& tender_id,
                                         const std::string& query, const std::string& body,
                                         const tender::client::header_list& headers = {}) {
  return a.api->request("POST", "/api/v1/tenders/" + tender_id + "/documents" + query, body,
                        "application/octet-stream", headers);
}

std::string json_text(const std::string& text) {
  return boost::json::serialize(boost::json::object{{"text", text}});
}

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

struct documents_e2e : ::testing::Test {
  world w{"documents"};
  actor& host = w.user("host", "city-works", "tenderer", {"tenderer"});
  actor& b1 = w.user("b1", "acme", "bidder", {"bidder"});
  actor& b2 = w.user("b2", "beta-build", "bidder", {"bidder"});
  actor& b3 = w.user("b3", "gamma-roads", "bidder", {"bidder"});
  actor& sup = w.user("sup", "watch", "supervision", {"supervisor"});
};

TEST_F(documents_e2e, versions_downloads_confidential_list_and_pushes_with_receipts) {
  const auto t = make_tender(w, host, "01");
  const std::string v1 = "招标文件 version one\n";
  const std::string v2 = std::string("version two, with a NUL \0 byte", 31);

  const auto u1 = docs::upload(*host.api, t, "招标文件.pdf", v1);
  EXPECT_EQ(u1.version, 1);
  EXPECT_EQ(u1.sha256, sha_hex(v1));
  EXPECT_EQ(u1.size, static_cast<std::int64_t>(v1.size()));
  EXPECT_EQ(u1.name, "招标文件.pdf");

  // Any signed-in user lists a published tender's documents.
  const auto listed = docs::list(*b1.api, t);
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].latest_version, 1);
  EXPECT_EQ(listed[0].versions.at(0).sha256, sha_hex(v1));

  // Bidders download freely; each download is recorded with an audit event.
  const auto f1 = docs::download(*b1.api, t, u1.document_id);
  EXPECT_EQ(f1.content, v1);
  EXPECT_EQ(f1.version, 1);
  const auto f2 = docs::download(*b2.api, t, u1.document_id, 1);
  EXPECT_EQ(f2.content, v1);
  EXPECT_EQ(w.rows("document_downloads"), 2);
  EXPECT_EQ(count(w, "SELECT count(*) FROM audit_events WHERE action = 'document.downloaded'"), 2);
  EXPECT_EQ(count(w,
                  "SELECT count(*) FROM document_downloads WHERE user_id = 'b1' AND org_id = "
                  "'acme' AND version = 1"),
            1);
  // The owner and supervisors download without being recorded.
  EXPECT_EQ(docs::download(*host.api, t, u1.document_id).content, v1);
  EXPECT_EQ(docs::download(*sup.api, t, u1.document_id).content, v1);
  EXPECT_EQ(w.rows("document_downloads"), 2);

  // Before the deadline the tenderer sees counts only; the supervisor sees the list.
  auto raw = host.api->request("GET", "/api/v1/tenders/" + t + "/downloads");
  ASSERT_EQ(raw.status, 200u) << raw.body;
  EXPECT_FALSE(contains(raw.body, "acme")) << raw.body;
  EXPECT_FALSE(contains(raw.body, "b1")) << raw.body;
  auto counts = docs::downloads(*host.api, t);
  EXPECT_FALSE(counts.listed);
  EXPECT_EQ(counts.downloads, 2);
  EXPECT_EQ(counts.organisations, 2);
  EXPECT_EQ(counts.users, 2);
  const auto seen_by_sup = docs::downloads(*sup.api, t);
  ASSERT_TRUE(seen_by_sup.listed);
  ASSERT_EQ(seen_by_sup.list.size(), 2u);
  EXPECT_EQ(seen_by_sup.list[0].org_id, "acme");
  // Bidders never see the list, nor the counts.
  raw = b1.api->request("GET", "/api/v1/tenders/" + t + "/downloads");
  EXPECT_EQ(raw.status, 403u);
  EXPECT_EQ(error_code_of(raw), "auth.forbidden");

  // A new version: pushed to the earlier downloaders (b1, b2), not to b3.
  const auto u2 = docs::upload(*host.api, t, "招标文件.pdf", v2);
  EXPECT_EQ(u2.document_id, u1.document_id);
  EXPECT_EQ(u2.version, 2);
  EXPECT_EQ(u2.sha256, sha_hex(v2));
  auto n1 = docs::notifications(*b1.api);
  ASSERT_EQ(n1.items.size(), 1u);
  EXPECT_EQ(n1.unread, 1);
  EXPECT_EQ(n1.items[0].kind, "document.version");
  EXPECT_EQ(n1.items[0].tender_id, t);
  EXPECT_FALSE(n1.items[0].read_at);
  EXPECT_TRUE(contains(n1.items[0].summary_json, sha_hex(v2)));
  EXPECT_EQ(docs::notifications(*b2.api).items.size(), 1u);
  EXPECT_EQ(docs::notifications(*b3.api).items.size(), 0u);
  EXPECT_EQ(docs::download(*b3.api, t, u1.document_id).content, v2);  // latest
  EXPECT_EQ(docs::download(*b3.api, t, u1.document_id, 1).content, v1);
  EXPECT_EQ(docs::notifications(*b3.api).items.size(), 0u);  // not retroactive

  // The public feed has each published version, and nothing about downloaders.
  EXPECT_EQ(count(w,
                  "SELECT count(*) FROM feed_events WHERE kind = 'document.published' AND "
                  "tender_id = '" +
                      t + "'"),
            2);
  const auto feed = w.db().query_value(
      "SELECT string_agg(payload::text, ' ') FROM feed_events WHERE tender_id = '" + t + "'");
  EXPECT_TRUE(contains(feed, sha_hex(v2))) << feed;
  EXPECT_FALSE(contains(feed, "acme")) << feed;
  EXPECT_FALSE(contains(feed, "beta-build")) << feed;
  EXPECT_FALSE(contains(feed, "user")) << feed;

  // Read receipts: idempotent, own notifications only.
  const auto id1 = n1.items[0].id;
  const auto r1 = docs::mark_read(*b1.api, id1);
  EXPECT_TRUE(r1.first_read);
  const auto audits = w.rows("audit_events");
  const auto r1again = docs::mark_read(*b1.api, id1);
  EXPECT_FALSE(r1again.first_read);
  EXPECT_EQ(r1again.read_at, r1.read_at);
  EXPECT_EQ(w.rows("audit_events"), audits);  // nothing changed, nothing audited
  raw = b2.api->request("POST", "/api/v1/notifications/" + std::to_string(id1) + "/read");
  EXPECT_EQ(raw.status, 404u);
  EXPECT_EQ(error_code_of(raw), "notification.not_found");
  n1 = docs::notifications(*b1.api);
  EXPECT_EQ(n1.unread, 0);
  EXPECT_EQ(n1.items.at(0).read_at, r1.read_at);

  // The tenderer's receipts: counts before the deadline, no names.
  raw = host.api->request("GET", "/api/v1/tenders/" + t + "/notifications");
  ASSERT_EQ(raw.status, 200u) << raw.body;
  EXPECT_FALSE(contains(raw.body, "acme")) << raw.body;
  auto receipts = docs::receipts(*host.api, t);
  ASSERT_EQ(receipts.pushes.size(), 2u);  // v1 (nobody had downloaded yet) and v2
  EXPECT_EQ(receipts.pushes[0].delivered, 0);
  EXPECT_EQ(receipts.pushes[1].delivered, 2);
  EXPECT_EQ(receipts.pushes[1].read, 1);
  EXPECT_FALSE(receipts.pushes[1].listed);
  EXPECT_EQ(b1.api->request("GET", "/api/v1/tenders/" + t + "/notifications").status, 403u);

  // The deadline alone does not lift the secret (SPEC §13): the owner still counts only.
  pass_deadline(w, t);
  counts = docs::downloads(*host.api, t);
  EXPECT_FALSE(counts.listed);
  EXPECT_TRUE(counts.list.empty());
  EXPECT_EQ(counts.organisations, 3);
  receipts = docs::receipts(*host.api, t);
  EXPECT_FALSE(receipts.pushes[1].listed);

  // Once the bidder list is published in the hall the owner sees who downloaded and who read.
  w.db().exec("INSERT INTO halls (tender_id, phase) VALUES ('" + t +
              "', 'listed') ON CONFLICT (tender_id) DO UPDATE SET phase = 'listed'");
  counts = docs::downloads(*host.api, t);
  ASSERT_TRUE(counts.listed);
  EXPECT_EQ(counts.list.size(), 4u);
  EXPECT_EQ(counts.organisations, 3);
  receipts = docs::receipts(*host.api, t);
  ASSERT_TRUE(receipts.pushes[1].listed);
  ASSERT_EQ(receipts.pushes[1].recipients.size(), 2u);
  EXPECT_EQ(receipts.pushes[1].recipients[0].org_id, "acme");
  EXPECT_TRUE(receipts.pushes[1].recipients[0].read_at);
  EXPECT_EQ(receipts.pushes[1].recipients[1].org_id, "beta-build");
  EXPECT_FALSE(receipts.pushes[1].recipients[1].read_at);

  // No more versions after the deadline.
  const auto before = snapshot(w);
  raw = upload_raw(host, t, "?name=late.pdf", "late");
  EXPECT_EQ(raw.status, 409u);
  EXPECT_EQ(error_code_of(raw), "tender.bad_state");
  EXPECT_EQ(snapshot(w), before);
}

TEST_F(documents_e2e, questions_hide_the_asker_and_answers_are_pushed_and_published) {
  const auto t = make_tender(w, host, "02");
  const auto doc = docs::upload(*host.api, t, "spec.pdf", "the spec");
  docs::download(*b1.api, t, doc.document_id);  // b1 downloaded; b2 and b3 did not

  const auto q1 = docs::ask(*b1.api, t, "第3条的工期是否包含冬季停工？");
  const auto q2 = docs::ask(*b2.api, t, "Is a joint venture allowed?");
  EXPECT_EQ(count(w, "SELECT count(*) FROM audit_events WHERE action = 'question.asked'"), 2);

  // The tenderer sees both questions and nothing about who asked.
  auto raw = host.api->request("GET", "/api/v1/tenders/" + t + "/questions");
  ASSERT_EQ(raw.status, 200u) << raw.body;
  for (const char* leak : {"b1", "b2", "acme", "beta-build", "asked_by", "asker", "mine"}) {
    EXPECT_FALSE(contains(raw.body, leak)) << leak << " in " << raw.body;
  }
  EXPECT_EQ(docs::questions(*host.api, t).size(), 2u);
  // A bidder sees only its own unanswered questions.
  auto seen = docs::questions(*b2.api, t);
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].id, q2.id);
  EXPECT_EQ(seen[0].mine, true);
  EXPECT_TRUE(docs::questions(*b3.api, t).empty());
  // Supervisors see who asked.
  const auto sup_view = docs::questions(*sup.api, t);
  ASSERT_EQ(sup_view.size(), 2u);
  EXPECT_EQ(sup_view[0].asked_by, "b1");
  EXPECT_EQ(sup_view[0].asker_org, "acme");

  // The answer is pushed to the downloaders and fed publicly (ids only).
  const auto a = docs::answer(*host.api, t, q1.id, "包含，工期已考虑冬季停工。");
  EXPECT_EQ(a.recipients, 1);
  const auto n = docs::notifications(*b1.api);
  ASSERT_EQ(n.items.size(), 1u);
  EXPECT_EQ(n.items[0].kind, "question.answered");
  EXPECT_EQ(n.items[0].ref, std::to_string(q1.id));
  EXPECT_TRUE(docs::notifications(*b2.api).items.empty());
  EXPECT_EQ(count(w, "SELECT count(*) FROM feed_events WHERE kind = 'question.answered'"), 1);
  const auto payload =
      w.db().query_value("SELECT payload::text FROM feed_events WHERE kind = 'question.answered'");
  EXPECT_FALSE(contains(payload, "b1")) << payload;
  EXPECT_TRUE(contains(payload, std::to_string(q1.id))) << payload;

  // Every bidder now reads the published Q&A, without the asker.
  for (actor* b : {&b2, &b3}) {
    raw = b->api->request("GET", "/api/v1/tenders/" + t + "/questions");
    ASSERT_EQ(raw.status, 200u);
    EXPECT_FALSE(contains(raw.body, "acme")) << raw.body;
    const auto qs = docs::questions(*b->api, t);
    const auto it =
        std::find_if(qs.begin(), qs.end(), [&](const auto& q) { return q.id == q1.id; });
    ASSERT_NE(it, qs.end());
    EXPECT_EQ(it->answer, "包含，工期已考虑冬季停工。");
    EXPECT_EQ(it->mine, false);
  }
  EXPECT_EQ(docs::questions(*b2.api, t).size(), 2u);  // the answered one and its own

  // Refusals: answered twice, wrong roles, another tenderer, unknown question.
  auto& other = w.user("other-host", "other-city", "tenderer", {"tenderer"});
  const auto before = snapshot(w);
  const std::string answer_path =
      "/api/v1/tenders/" + t + "/questions/" + std::to_string(q1.id) + "/answer";
  raw = host.api->request("POST", answer_path, json_text("again"));
  EXPECT_EQ(raw.status, 409u);
  EXPECT_EQ(error_code_of(raw), "question.closed");
  raw = b1.api->request("POST", answer_path, json_text("self-answer"));
  EXPECT_EQ(raw.status, 403u);
  EXPECT_EQ(error_code_of(raw), "auth.forbidden");
  raw = other.api->request(
      "POST", "/api/v1/tenders/" + t + "/questions/" + std::to_string(q2.id) + "/answer",
      json_text("not mine"));
  EXPECT_EQ(raw.status, 403u);
  EXPECT_EQ(error_code_of(raw), "auth.forbidden");
  raw = host.api->request("POST", "/api/v1/tenders/" + t + "/questions/999999/answer",
                          json_text("?"));
  EXPECT_EQ(raw.status, 404u);
  EXPECT_EQ(error_code_of(raw), "question.not_found");
  raw = host.api->request("POST", "/api/v1/tenders/" + t + "/questions", json_text("own?"));
  EXPECT_EQ(raw.status, 403u);
  EXPECT_EQ(error_code_of(raw), "auth.forbidden");
  raw = sup.api->request("GET", "/api/v1/tenders/" + t + "/downloads");
  EXPECT_EQ(raw.status, 200u);
  EXPECT_EQ(snapshot(w), before);

  // After the deadline: no more questions or answers.
  pass_deadline(w, t);
  raw = b3.api->request("POST", "/api/v1/tenders/" + t + "/questions", json_text("late?"));
  EXPECT_EQ(raw.status, 409u);
  EXPECT_EQ(error_code_of(raw), "tender.bad_state");
  raw = host.api->request(
      "POST", "/api/v1/tenders/" + t + "/questions/" + std::to_string(q2.id) + "/answer",
      json_text("late"));
  EXPECT_EQ(raw.status, 409u);
  EXPECT_EQ(error_code_of(raw), "tender.bad_state");
  EXPECT_EQ(snapshot(w), before);
}

TEST_F(documents_e2e, refusals_and_malformed_input_change_nothing) {
  const auto t = make_tender(w, host, "03");
  const auto draft = make_tender(w, host, "04", "draft");
  const std::string good = "good bytes";
  auto& h2 = w.user("h2", "other-city", "tenderer", {"tenderer"});
  const auto before = snapshot(w);

  struct refusal {
    tender::client::http_response r;
    unsigned status;
    const char* code;
    const char* message_part;
  };
  const std::vector<refusal> refusals = {
      {upload_raw(b1, t, "?name=x.pdf", good), 403, "auth.forbidden", "tenderer"},
      {upload_raw(h2, t, "?name=x.pdf", good), 403, "auth.forbidden", "owns"},
      {upload_raw(host, t, "", good), 400, "request.bad_query", "'name'"},
      {upload_raw(host, t, "?name=a&name=b", good), 400, "request.bad_query", "repeated"},
      {upload_raw(host, t, "?nom=x", good), 400, "request.bad_query", "unknown query parameter"},
      {upload_raw(host, t, "?name=%zz", good), 400, "request.bad_query", "hex"},
      {upload_raw(host, t, "?name=a%2Fb", good), 400, "document.bad_input", "'/'"},
      {upload_raw(host, t, "?name=%FF%FE", good), 400, "document.bad_input", "UTF-8"},
      {upload_raw(host, t, "?name=a%0Ab", good), 400, "document.bad_input", "control"},
      {upload_raw(host, t, "?name=..", good), 400, "document.bad_input", "'..'"},
      {upload_raw(host, t, "?name=" + std::string(201, 'a'), good), 400, "document.bad_input",
       "200 bytes"},
      {upload_raw(host, t, "?name=x.pdf", ""), 400, "document.bad_input", "empty"},
      {upload_raw(host, t, "?name=x.pdf", good, {{"Digest-SHA256", sha_hex("other")}}), 400,
       "document.bad_input", "does not match"},
      {upload_raw(host, t, "?name=x.pdf", good, {{"Digest-SHA256", "abc"}}), 400,
       "request.bad_header", "64 hex"},
      {upload_raw(host, "t-ffffffffffffffff", "?name=x.pdf", good), 404, "tender.not_found",
       "no "
       "tender"},
      {b1.api->request("GET", "/api/v1/tenders/" + draft + "/documents"), 404, "tender.not_found",
       "no tender"},
      {b1.api->request("GET", "/api/v1/tenders/" + t + "/documents/99/versions/latest"), 404,
       "document.not_found", "no document"},
      {b1.api->request("GET", "/api/v1/tenders/" + t + "/documents/abc/versions/1"), 404,
       "document.not_found", "positive"},
      {b1.api->request("GET", "/api/v1/tenders/" + t + "/documents?x=1"), 400, "request.bad_query",
       "no query"},
      {b1.api->request("POST", "/api/v1/tenders/" + t + "/questions", "{\"txt\":\"hi\"}"), 400,
       "request.bad_json", "txt"},
      {b1.api->request("POST", "/api/v1/tenders/" + t + "/questions", "not json"), 400,
       "request.bad_json", "JSON"},
      {b1.api->request("POST", "/api/v1/tenders/" + t + "/questions", json_text("")), 400,
       "request.bad_json", "text"},
      {b1.api->request("POST", "/api/v1/tenders/" + t + "/questions",
                       json_text(std::string(4001, 'q'))),
       400, "request.bad_json", "text"},
      {b1.api->request("POST", "/api/v1/tenders/" + draft + "/questions", json_text("draft?")), 404,
       "tender.not_found", "no tender"},
      {sup.api->request("POST", "/api/v1/tenders/" + t + "/questions", json_text("sup?")), 403,
       "auth.forbidden", "bidder"},
      {b1.api->request("POST", "/api/v1/notifications/0/read"), 404, "notification.not_found",
       "notification"},
      {w.anonymous()->request("GET", "/api/v1/notifications"), 401, "auth.required", "Bearer"},
      {w.anonymous()->request("POST", "/api/v1/tenders/" + t + "/documents?name=x", good,
                              "application/octet-stream"),
       401, "auth.required", "Bearer"},
  };
  for (std::size_t i = 0; i < refusals.size(); ++i) {
    const auto& x = refusals[i];
    EXPECT_EQ(x.r.status, x.status) << "refusal " << i << ": " << x.r.body;
    EXPECT_EQ(error_code_of(x.r), x.code) << "refusal " << i << ": " << x.r.body;
    EXPECT_TRUE(contains(x.r.body, x.message_part)) << "refusal " << i << ": " << x.r.body;
  }
  EXPECT_EQ(snapshot(w), before);

  // A draft: the owner prepares documents; no feed event and no push yet.
  const auto feed_before = w.rows("feed_events");
  const auto d = docs::upload(*host.api, draft, "draft.pdf", "draft bytes");
  EXPECT_EQ(d.version, 1);
  EXPECT_EQ(w.rows("feed_events"), feed_before);
  EXPECT_EQ(w.rows("pushes"), 0);
  EXPECT_EQ(docs::list(*host.api, draft).size(), 1u);
  auto raw = b1.api->request("GET", "/api/v1/tenders/" + draft + "/documents/" +
                                        std::to_string(d.document_id) + "/versions/1");
  EXPECT_EQ(raw.status, 404u);
  EXPECT_EQ(error_code_of(raw), "tender.not_found");

  // Idempotent upload: the retry gets the first answer and makes no second version.
  const auto k1 = upload_raw(host, t, "?name=retry.pdf", good, {{"Idempotency-Key", "up-1"}});
  ASSERT_EQ(k1.status, 201u) << k1.body;
  const auto k2 = upload_raw(host, t, "?name=retry.pdf", good, {{"Idempotency-Key", "up-1"}});
  EXPECT_EQ(k2.status, 201u);
  EXPECT_EQ(k2.body, k1.body);
  EXPECT_EQ(count(w,
                  "SELECT count(*) FROM document_versions v JOIN documents d ON d.id = "
                  "v.document_id WHERE d.name = 'retry.pdf'"),
            1);
  EXPECT_EQ(count(w, "SELECT count(*) FROM audit_events WHERE action = 'document.uploaded'"), 2);
  const auto mid = snapshot(w);
  const auto k3 = upload_raw(host, t, "?name=retry.pdf", "other", {{"Idempotency-Key", "up-1"}});
  EXPECT_EQ(k3.status, 409u);
  EXPECT_EQ(error_code_of(k3), "request.idempotency_conflict");
  EXPECT_EQ(snapshot(w), mid);
  // Without a key, the same upload again is a new version.
  const auto again = docs::upload(*host.api, t, "retry.pdf", good);
  EXPECT_EQ(again.version, 2);
}

// The `tender` command line: upload, list, download with its SHA-256 check, questions,
// answers and notifications.
TEST_F(documents_e2e, cli_upload_download_ask_answer_notifications) {
  const auto t = make_tender(w, host, "05");
  const std::string dir = tender::test::make_temp_dir("documents-cli");
  const auto token_file = [&](const actor& a) {
    const std::string path = dir + "/" + a.user_id + ".token";
    std::ofstream(path) << a.token << "\n";
    return path;
  };
  const auto cli = [&](const actor& a, std::vector<std::string> args) {
    args.insert(args.begin(), {TENDER_CLI_PATH, "--server", w.url()});
    args.insert(args.end(), {"--token-file", token_file(a)});
    return tender::test::run_command(args, {{"HOME", dir}});
  };
  std::string content(100000, '\0');
  for (std::size_t i = 0; i < content.size(); ++i)
    content[i] = static_cast<char>((i * 7919) % 251);
  std::ofstream(dir + "/spec.bin", std::ios::binary) << content;

  auto r =
      cli(host, {"document", "upload", t, dir + "/spec.bin", "--name", "技术规范.bin", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto up = boost::json::parse(r.output).as_object();
  EXPECT_EQ(up.at("sha256").as_string(), sha_hex(content));
  const auto doc_id = std::to_string(up.at("document_id").as_int64());

  r = cli(b1, {"document", "list", t});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "技术规范.bin")) << r.output;
  EXPECT_TRUE(contains(r.output, sha_hex(content))) << r.output;

  r = cli(b1, {"document", "download", t, doc_id, "--out", dir + "/got.bin"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "verified")) << r.output;
  EXPECT_EQ(tender::test::read_file(dir + "/got.bin"), content);
  // An existing output file is kept unless --force.
  r = cli(b1, {"document", "download", t, doc_id, "--version", "1", "--out", dir + "/got.bin"});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_TRUE(contains(r.output, "cli.file_exists")) << r.output;
  EXPECT_EQ(w.rows("document_downloads"), 2);

  r = cli(b1, {"ask", t, "--text", "Which standard applies?", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto qid = std::to_string(boost::json::parse(r.output).as_object().at("id").as_int64());
  r = cli(host, {"questions", t});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "Which standard applies?")) << r.output;
  EXPECT_FALSE(contains(r.output, "b1")) << r.output;
  r = cli(host, {"answer", t, qid, "--text", "GB 50300-2013."});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "pushed to 1")) << r.output;

  r = cli(b1, {"notifications", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto page = boost::json::parse(r.output).as_object();
  EXPECT_EQ(page.at("unread").as_int64(), 1);
  const auto nid =
      std::to_string(page.at("notifications").as_array().at(0).as_object().at("id").as_int64());
  r = cli(b1, {"notifications", "--read", nid});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = cli(b1, {"notifications"});
  EXPECT_TRUE(contains(r.output, "0 unread")) << r.output;

  r = cli(b2, {"document", "upload", t, dir + "/spec.bin"});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_TRUE(contains(r.output, "auth.forbidden")) << r.output;
  r = cli(b1, {"document", "download", "--help"});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "SHA-256")) << r.output;
}

}  // namespace
