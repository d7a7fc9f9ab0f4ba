// The tender lifecycle end to end, through the client SDK against the real tenderd: create (with
// idempotent retries), read (anonymous for published tenders, 404 for another organisation's
// draft), PATCH with If-Match, publish under the rule pack (422 lists every violation), amend (a
// late amendment moves the deadline), cancel, supervisor suspend/resume; bad input answered 400
// naming the field with no row changed; exactly one audit event per mutation; and 100
// concurrent read-modify-write clients with no lost update.
#include <world.hpp>

#include <tender/client/tenders.hpp>
#include <tender/core/tender_rules.hpp>

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <fstream>
#include <functional>
#include <iostream>
#include <set>
#include <thread>

namespace client = tender::client;
namespace json = boost::json;
using tender::test::error_code_of;
using tender::test::world;

namespace {

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string at(std::int64_t seconds_from_now) {
  return tender::core::format_utc(unix_now() + seconds_from_now);
}

json::object tender_doc(const std::string& code, const std::string& pack, std::int64_t lead_s) {
  return json::object{
      {"project_code", code},
      {"title", "No. 3 Middle School gymnasium"},
      {"kind", "works"},
      {"rule_pack", pack},
      {"deadline_at", at(lead_s)},
      {"opening_at", at(lead_s)},
      {"lots",
       json::array{json::object{
           {"lot_no", 1},
           {"title", "Main building"},
           {"estimated_price", 1'200'000'000},
           {"ceiling_price", 1'250'000'000},
           {"bond_amount", 20'000'000},
           {"summary_fields",
            json::array{json::object{{"key", "price"}, {"label", "投标报价"}, {"type", "money"}},
                        json::object{{"key", "duration"}, {"label", "工期"}, {"type", "days"}}}},
           {"discount_candidates", json::array{"0.05", "0.08"}}}}}};
}

json::object parse(const std::string& body) {
  return json::parse(body).as_object();
}

std::string code_of_call(const std::function<void()>& f) {
  try {
    f();
  } catch (const client::error& e) {
    return e.code();
  }
  return "";
}

struct tender_e2e : ::testing::Test {
  world w{"tenders"};
  tender::test::actor& host = w.user("host", "city-works", "tenderer", {"tenderer"});
  tender::test::actor& other = w.user("other-host", "county-works", "agency", {"tenderer"});
  tender::test::actor& super =
      w.user("watcher", "supervision-bureau", "supervision", {"supervisor"});
  tender::test::actor& bidder = w.user("bidder", "acme", "bidder", {"bidder"});

  // Rows of every table a tender request may touch, for "nothing changed" checks.
  std::string counts() {
    return w.db().query_value(
        "SELECT (SELECT count(*) FROM tenders) || '/' || (SELECT count(*) FROM lots) || '/' || "
        "(SELECT count(*) FROM audit_events) || '/' || (SELECT count(*) FROM feed_events) || "
        "'/' || (SELECT count(*) FROM scheduled_jobs) || '/' || (SELECT count(*) FROM "
        "tender_amendments) || '/' || (SELECT coalesce(sum(version), 0) FROM tenders)");
  }

  std::string audits(const std::string& id, const std::string& action) {
    return w.db().query_value("SELECT count(*) FROM audit_events WHERE subject = '" + id +
                              "' AND action = '" + action + "'");
  }
};

}  // namespace

TEST_F(tender_e2e, whole_lifecycle_through_the_sdk) {
  const auto doc = tender_doc("HZ-2026-001", "engineering", 30 * 86400);
  const auto created = client::create_tender(*host.api, json::serialize(doc));
  EXPECT_EQ(created.status, 201u);
  EXPECT_EQ(created.etag, "\"1\"");
  EXPECT_EQ(created.state, "draft");
  EXPECT_TRUE(created.id.starts_with("t-")) << created.id;
  EXPECT_EQ(created.id.size(), 18u);
  auto t = parse(created.body);
  EXPECT_EQ(t.at("time_zone").as_string(), "Asia/Shanghai");
  EXPECT_EQ(t.at("key_policy").as_string(), "bidder_only");
  EXPECT_EQ(t.at("evaluation_method").as_string(), "comprehensive");
  EXPECT_EQ(t.at("owner_org").as_string(), "city-works");
  EXPECT_EQ(t.at("lots").as_array().size(), 1u);
  // The local deadline is the UTC one shown in Asia/Shanghai (+08:00).
  const auto deadline = tender::core::parse_rfc3339(std::string(t.at("deadline_at").as_string()));
  const auto local = tender::core::parse_rfc3339(std::string(t.at("deadline_local").as_string()));
  EXPECT_EQ(deadline, local);
  EXPECT_TRUE(std::string(t.at("deadline_local").as_string()).ends_with("+08:00"));

  const auto raw = host.api->request("GET", "/api/v1/tenders/" + created.id);
  EXPECT_EQ(raw.status, 200u);
  EXPECT_EQ(raw.header("ETag"), "\"1\"");

  auto updated = client::update_tender(*host.api, created.id, created.etag,
                                       R"j({"title":"Gymnasium (revised)","time_zone":"UTC"})j");
  EXPECT_EQ(updated.version, 2);
  EXPECT_EQ(updated.etag, "\"2\"");
  t = parse(updated.body);
  EXPECT_EQ(t.at("title").as_string(), "Gymnasium (revised)");
  EXPECT_TRUE(std::string(t.at("deadline_local").as_string()).ends_with("+00:00"));

  const auto published = client::publish_tender(*host.api, created.id, updated.etag);
  EXPECT_EQ(published.state, "published");
  EXPECT_EQ(published.version, 3);
  EXPECT_EQ(w.db().query_value("SELECT string_agg(j.kind || '=' || (j.due_at = (SELECT CASE WHEN "
                               "j.kind = 'tender.deadline' THEN t.deadline_at ELSE t.opening_at "
                               "END FROM tenders t WHERE t.id = j.subject))::text, ',' ORDER BY "
                               "j.kind) FROM scheduled_jobs j WHERE j.subject = '" +
                               created.id + "'"),
            "tender.deadline=true,tender.opening=true");
  EXPECT_EQ(w.db().query_value("SELECT kind FROM feed_events WHERE tender_id = '" + created.id +
                               "' ORDER BY seq DESC LIMIT 1"),
            "tender.published");
  // A checkpoint was signed at publication over the whole log as it was then.
  const auto events_then = std::stoll(w.db().query_value("SELECT count(*) FROM audit_events"));
  const auto note = host.api->log_checkpoint();
  const auto line2 = note.substr(note.find('\n') + 1);
  EXPECT_GE(std::stoll(line2.substr(0, line2.find('\n'))), events_then) << note;

  // Not late (30 days ahead, window 15): the deadline stays.
  auto amended = client::amend_tender(
      *host.api, created.id, published.etag,
      R"({"reason":"Bond corrected","changes":{"lots":[{"lot_no":1,"bond_amount":15000000}]}})");
  EXPECT_EQ(amended.version, 4);
  const auto a = parse(amended.body);
  EXPECT_FALSE(a.at("amendment").at("deadline_moved").as_bool());
  EXPECT_EQ(a.at("tender").at("lots").at(0).at("bond_amount").as_int64(), 15000000);
  EXPECT_EQ(a.at("tender").at("amendments").as_array().size(), 1u);
  EXPECT_EQ(client::get_tender(*host.api, created.id).version, 4);

  // Anyone may read a published tender, and list it.
  auto anon = w.anonymous();
  EXPECT_EQ(client::get_tender(*anon, created.id).state, "published");
  const auto page = parse(client::list_tenders(*anon, {"published", "", "", 10}));
  EXPECT_EQ(page.at("tenders").as_array().size(), 1u);

  const auto cancelled = client::cancel_tender(*host.api, created.id, "Budget withdrawn");
  EXPECT_EQ(cancelled.state, "cancelled");
  EXPECT_EQ(w.db().query_value("SELECT count(*) FROM scheduled_jobs WHERE subject = '" +
                               created.id + "'"),
            "0");
  EXPECT_EQ(parse(cancelled.body).at("status_reason").as_string(), "Budget withdrawn");
  EXPECT_EQ(code_of_call([&] { client::cancel_tender(*host.api, created.id, "again"); }),
            "tender.bad_state");

  // Exactly one audit event per mutation, with the role used.
  for (const char* action :
       {"tender.create", "tender.update", "tender.publish", "tender.amend", "tender.cancel"}) {
    EXPECT_EQ(audits(created.id, action), "1") << action;
  }
  EXPECT_EQ(w.db().query_value("SELECT string_agg(DISTINCT actor || ':' || role, ',') FROM "
                               "audit_events WHERE subject = '" +
                               created.id + "'"),
            "host:tenderer");
  EXPECT_EQ(w.db().query_value("SELECT string_agg(kind, ',' ORDER BY seq) FROM feed_events "
                               "WHERE tender_id = '" +
                               created.id + "'"),
            "tender.published,tender.amended,tender.cancelled");
}

TEST_F(tender_e2e, idempotent_create_retried_makes_one_row) {
  const auto body = json::serialize(tender_doc("IDEM-1", "engineering", 30 * 86400));
  const auto first = client::create_tender(*host.api, body, "key-1");
  const auto before = counts();
  const auto again = client::create_tender(*host.api, body, "key-1");
  EXPECT_EQ(again.id, first.id);
  EXPECT_EQ(again.body, first.body);
  EXPECT_EQ(again.etag, first.etag);
  EXPECT_EQ(counts(), before);
  EXPECT_EQ(w.rows("tenders"), 1);
  // The same key with another body is refused; a new key is a new tender (other code).
  const auto other_body = json::serialize(tender_doc("IDEM-2", "engineering", 30 * 86400));
  EXPECT_EQ(code_of_call([&] { client::create_tender(*host.api, other_body, "key-1"); }),
            "request.idempotency_conflict");
  EXPECT_EQ(counts(), before);
  // A taken project code is 409 tender.exists.
  EXPECT_EQ(code_of_call([&] { client::create_tender(*host.api, body, "key-2"); }),
            "tender.exists");
  EXPECT_EQ(counts(), before);
  EXPECT_EQ(audits(first.id, "tender.create"), "1");
}

TEST_F(tender_e2e, if_match_is_required_and_must_be_current) {
  const auto created = client::create_tender(
      *host.api, json::serialize(tender_doc("IFM-1", "engineering", 30 * 86400)));
  const auto before = counts();
  auto r = host.api->request("PATCH", "/api/v1/tenders/" + created.id, R"({"title":"x"})");
  EXPECT_EQ(r.status, 428u);
  EXPECT_EQ(error_code_of(r), "request.precondition_required");
  r = host.api->request("POST", "/api/v1/tenders/" + created.id + "/publish");
  EXPECT_EQ(r.status, 428u);
  r = host.api->request("PATCH", "/api/v1/tenders/" + created.id, R"({"title":"x"})",
                        "application/json", {{"If-Match", "\"7\""}});
  EXPECT_EQ(r.status, 412u);
  EXPECT_EQ(error_code_of(r), "request.version_conflict");
  r = host.api->request("PATCH", "/api/v1/tenders/" + created.id, R"({"title":"x"})",
                        "application/json", {{"If-Match", "W/\"1\""}});
  EXPECT_EQ(r.status, 400u);
  EXPECT_EQ(error_code_of(r), "request.bad_header");
  EXPECT_EQ(counts(), before);
  // Another organisation's draft does not exist for them; a bidder may not patch at all.
  r = other.api->request("PATCH", "/api/v1/tenders/" + created.id, R"({"title":"x"})",
                         "application/json", {{"If-Match", "\"1\""}});
  EXPECT_EQ(r.status, 404u);
  EXPECT_EQ(error_code_of(r), "tender.not_found");
  r = bidder.api->request("PATCH", "/api/v1/tenders/" + created.id, R"({"title":"x"})",
                          "application/json", {{"If-Match", "\"1\""}});
  EXPECT_EQ(r.status, 403u);
  EXPECT_EQ(error_code_of(r), "auth.forbidden");
  r = w.anonymous()->request("PATCH", "/api/v1/tenders/" + created.id, R"({"title":"x"})",
                             "application/json", {{"If-Match", "\"1\""}});
  EXPECT_EQ(r.status, 401u);
  EXPECT_EQ(counts(), before);
}

TEST_F(tender_e2e, rule_violations_are_all_listed_and_change_nothing) {
  auto doc = tender_doc("BAD-1", "sandbox", 10);  // sandbox: 60 s needed
  auto& lot = doc["lots"].as_array()[0].as_object();
  lot["bond_amount"] = 30'000'000;  // 2.5 %
  lot["summary_fields"] =
      json::array{json::object{{"key", "duration"}, {"label", "工期"}, {"type", "days"}}};
  doc["key_policy"] = "bidder_and_escrow";  // without an escrow
  const auto created = client::create_tender(*host.api, json::serialize(doc));
  const auto before = counts();
  const auto r = host.api->request("POST", "/api/v1/tenders/" + created.id + "/publish", "",
                                   "application/json", {{"If-Match", created.etag}});
  ASSERT_EQ(r.status, 422u) << r.body;
  EXPECT_EQ(error_code_of(r), "tender.rule_violation");
  const auto e = parse(r.body).at("error").as_object();
  const auto& v = e.at("violations").as_array();
  ASSERT_EQ(v.size(), 4u) << r.body;
  EXPECT_NE(std::string(v[0].as_string()).find("60 seconds"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("bond_amount"), std::string::npos);
  EXPECT_NE(r.body.find("'price'"), std::string::npos);
  EXPECT_NE(r.body.find("needs an escrow"), std::string::npos);
  EXPECT_EQ(counts(), before);
  EXPECT_EQ(client::get_tender(*host.api, created.id).state, "draft");
}

TEST_F(tender_e2e, a_late_amendment_moves_deadline_and_opening_sandbox) {
  const auto created =
      client::create_tender(*host.api, json::serialize(tender_doc("LATE-1", "sandbox", 90)));
  const auto published = client::publish_tender(*host.api, created.id, created.etag);
  // Bring the deadline to 10 s from now: inside the 30 s amendment window, so it moves to
  // (amendment time + 30 s) and the opening keeps its 5 s distance.
  json::object body{{"reason", "Drawings replaced"},
                    {"changes", {{"deadline_at", at(10)}, {"opening_at", at(15)}}}};
  const auto t0 = unix_now();
  const auto amended =
      client::amend_tender(*host.api, created.id, published.etag, json::serialize(body));
  const auto t1 = unix_now();
  const auto a = parse(amended.body);
  const auto& am = a.at("amendment").as_object();
  EXPECT_TRUE(am.at("deadline_moved").as_bool()) << amended.body;
  const auto new_deadline =
      *tender::core::parse_rfc3339(std::string(am.at("new_deadline_at").as_string()));
  const auto new_opening =
      *tender::core::parse_rfc3339(std::string(am.at("new_opening_at").as_string()));
  // Tolerance: the server's clock and this one, one second either way.
  EXPECT_GE(new_deadline, t0 + 30 - 1);
  EXPECT_LE(new_deadline, t1 + 30 + 1);
  EXPECT_EQ(new_opening - new_deadline, 5);
  EXPECT_EQ(a.at("tender").at("deadline_at").as_string(), am.at("new_deadline_at").as_string());
  EXPECT_EQ(w.db().query_value("SELECT bool_and(j.due_at = CASE WHEN j.kind = 'tender.deadline' "
                               "THEN t.deadline_at ELSE t.opening_at END) FROM scheduled_jobs j "
                               "JOIN tenders t ON t.id = j.subject WHERE t.id = '" +
                               created.id + "'"),
            "t");
  EXPECT_EQ(w.db().query_value("SELECT deadline_moved FROM tender_amendments WHERE tender_id = '" +
                               created.id + "'"),
            "t");
  // The amendment history is part of the tender.
  const auto shown = parse(client::get_tender(*w.anonymous(), created.id).body);
  EXPECT_EQ(shown.at("amendments").at(0).at("reason").as_string(), "Drawings replaced");
  EXPECT_TRUE(shown.at("amendments").at(0).at("changes").at("deadline_at").is_string());
  EXPECT_TRUE(shown.at("amendments").at(0).at("deadline_moved").as_bool());
  // Amending a draft is a state error; a stale ETag a version conflict.
  const auto draft =
      client::create_tender(*host.api, json::serialize(tender_doc("LATE-2", "sandbox", 90)));
  EXPECT_EQ(code_of_call([&] {
              client::amend_tender(*host.api, draft.id, draft.etag,
                                   R"({"reason":"r","changes":{"title":"t"}})");
            }),
            "tender.bad_state");
  EXPECT_EQ(code_of_call([&] {
              client::amend_tender(*host.api, created.id, published.etag,
                                   R"({"reason":"r","changes":{"title":"t"}})");
            }),
            "request.version_conflict");
}

TEST_F(tender_e2e, visibility_of_drafts_and_published_tenders) {
  const auto draft = client::create_tender(
      *host.api, json::serialize(tender_doc("VIS-1", "engineering", 30 * 86400)));
  auto anon = w.anonymous();
  auto r = anon->request("GET", "/api/v1/tenders/" + draft.id);
  EXPECT_EQ(r.status, 404u);
  EXPECT_EQ(error_code_of(r), "tender.not_found");
  r = other.api->request("GET", "/api/v1/tenders/" + draft.id);
  EXPECT_EQ(r.status, 404u);
  r = bidder.api->request("GET", "/api/v1/tenders/" + draft.id);
  EXPECT_EQ(r.status, 404u);
  EXPECT_EQ(client::get_tender(*super.api, draft.id).state, "draft");
  EXPECT_EQ(client::get_tender(*w.admin().api, draft.id).state, "draft");
  EXPECT_EQ(parse(client::list_tenders(*anon)).at("tenders").as_array().size(), 0u);
  EXPECT_EQ(parse(client::list_tenders(*other.api)).at("tenders").as_array().size(), 0u);
  EXPECT_EQ(parse(client::list_tenders(*host.api)).at("tenders").as_array().size(), 1u);
  EXPECT_EQ(parse(client::list_tenders(*super.api)).at("tenders").as_array().size(), 1u);
  r = anon->request("GET", "/api/v1/tenders/" + draft.id, {}, "application/json",
                    {{"Authorization", "Bearer not-a-token"}});
  EXPECT_EQ(r.status, 401u);

  client::publish_tender(*host.api, draft.id, draft.etag);
  EXPECT_EQ(client::get_tender(*anon, draft.id).state, "published");
  // Another organisation sees it but may not change it.
  r = other.api->request("POST", "/api/v1/tenders/" + draft.id + "/cancel",
                         R"({"reason":"mine now"})");
  EXPECT_EQ(r.status, 403u);
  EXPECT_EQ(error_code_of(r), "auth.forbidden");
  r = anon->request("GET", "/api/v1/tenders?state=bogus");
  EXPECT_EQ(r.status, 400u);
  EXPECT_EQ(error_code_of(r), "request.bad_query");
  r = anon->request("GET", "/api/v1/tenders?colour=red");
  EXPECT_EQ(r.status, 400u);

  // Paging by id cursor.
  for (int i = 0; i < 3; ++i) {
    const auto c = client::create_tender(
        *host.api,
        json::serialize(tender_doc("PAGE-" + std::to_string(i), "engineering", 30 * 86400)));
    client::publish_tender(*host.api, c.id, c.etag);
  }
  std::set<std::string> seen;
  std::string after;
  for (int pages = 0; pages < 10; ++pages) {
    const auto page = parse(client::list_tenders(*anon, {"", "city-works", after, 3}));
    for (const auto& t : page.at("tenders").as_array())
      seen.insert(std::string(t.at("id").as_string()));
    if (page.at("next_after").is_null()) break;
    after = std::string(page.at("next_after").as_string());
  }
  EXPECT_EQ(seen.size(), 4u);
}

TEST_F(tender_e2e, supervisor_suspends_and_resumes_tenderer_cannot) {
  const auto created = client::create_tender(
      *host.api, json::serialize(tender_doc("SUS-1", "engineering", 30 * 86400)));
  EXPECT_EQ(code_of_call([&] { client::suspend_tender(*super.api, created.id, "complaint"); }),
            "tender.bad_state");
  const auto published = client::publish_tender(*host.api, created.id, created.etag);
  const auto before = counts();
  EXPECT_EQ(code_of_call([&] { client::suspend_tender(*host.api, created.id, "mine"); }),
            "auth.forbidden");
  EXPECT_EQ(code_of_call([&] { client::suspend_tender(*bidder.api, created.id, "no"); }),
            "auth.forbidden");
  EXPECT_EQ(code_of_call([&] { client::resume_tender(*super.api, created.id); }),
            "tender.bad_state");
  EXPECT_EQ(counts(), before);
  const auto s = client::suspend_tender(*super.api, created.id, "Complaint No. 7 received");
  EXPECT_EQ(s.state, "suspended");
  EXPECT_EQ(parse(s.body).at("suspended_from").as_string(), "published");
  // Supervisors change nothing else; the owner may not amend a suspended tender.
  EXPECT_EQ(code_of_call([&] {
              client::amend_tender(*host.api, created.id, s.etag,
                                   R"({"reason":"r","changes":{"title":"t"}})");
            }),
            "tender.bad_state");
  auto r = super.api->request("PATCH", "/api/v1/tenders/" + created.id, R"({"title":"x"})",
                              "application/json", {{"If-Match", s.etag}});
  EXPECT_EQ(r.status, 403u);
  const auto back = client::resume_tender(*super.api, created.id, "Complaint dismissed");
  EXPECT_EQ(back.state, "published");
  EXPECT_TRUE(parse(back.body).at("suspended_from").is_null());
  EXPECT_EQ(back.version, published.version + 2);
  EXPECT_EQ(audits(created.id, "tender.suspend"), "1");
  EXPECT_EQ(audits(created.id, "tender.resume"), "1");
  EXPECT_EQ(w.db().query_value("SELECT role FROM audit_events WHERE action = 'tender.suspend'"),
            "supervisor");
  EXPECT_EQ(w.db().query_value("SELECT string_agg(kind, ',' ORDER BY seq) FROM feed_events "
                               "WHERE tender_id = '" +
                               created.id + "'"),
            "tender.published,tender.suspended,tender.resumed");
}

TEST_F(tender_e2e, bad_bodies_are_400_naming_the_field_and_change_nothing) {
  const auto created = client::create_tender(
      *host.api, json::serialize(tender_doc("SHAPE-1", "engineering", 30 * 86400)));
  auto& center_tenderer = w.user("center-host", "center", "center", {"tenderer"});
  const auto before = counts();
  auto with = [&](const std::function<void(json::object&)>& edit) {
    auto doc = tender_doc("SHAPE-2", "engineering", 30 * 86400);
    edit(doc);
    return json::serialize(doc);
  };
  struct bad_case {
    std::string body;
    std::string mentions;
  };
  const std::vector<bad_case> cases = {
      {"{not json", "not valid JSON"},
      {"[1,2]", "must be a JSON object"},
      {with([](auto& d) { d["title"] = 42; }), "'title' must be a string"},
      {with([](auto& d) { d["title"] = std::string(600, 'x'); }), "'title' is 600 bytes"},
      {with([](auto& d) { d["kind"] = "bridges"; }), "'kind' is 'bridges'"},
      {with([](auto& d) { d["rule_pack"] = "wild_west"; }), "'rule_pack' is 'wild_west'"},
      {with([](auto& d) { d["key_policy"] = "nobody"; }), "'key_policy'"},
      {with([](auto& d) { d["evaluation_method"] = "coin_toss"; }), "'evaluation_method'"},
      {with([](auto& d) { d["deadline_at"] = "2026-02-30T09:00:00+08:00"; }),
       "'deadline_at' is '2026-02-30T09:00:00+08:00', which is not a real date"},
      {with([](auto& d) { d["opening_at"] = "tomorrow"; }), "'opening_at'"},
      {with([](auto& d) { d["time_zone"] = "Mars/Olympus"; }), "'time_zone'"},
      {with([](auto& d) { d["project_code"] = "has space"; }), "'project_code'"},
      {with([](auto& d) { d["surprise"] = true; }), "unknown field 'surprise'"},
      {with([](auto& d) { d.erase("title"); }), "field 'title' is required"},
      {with([](auto& d) { d["lots"].as_array()[0].as_object()["estimated_price"] = "a lot"; }),
       "'lots[0].estimated_price' must be an integer"},
      {with([](auto& d) { d["lots"].as_array()[0].as_object()["bond_amount"] = 1.5; }),
       "'lots[0].bond_amount' must be an integer, got a fraction"},
      {with([](auto& d) { d["lots"].as_array()[0].as_object()["lot_no"] = 1000; }),
       "'lots[0].lot_no' is 1000"},
      {with([](auto& d) {
         d["lots"].as_array()[0].as_object()["summary_fields"].as_array()[0].as_object()["type"] =
             "colour";
       }),
       "'lots[0].summary_fields[0].type' is 'colour'"},
      {with([](auto& d) {
         d["lots"].as_array()[0].as_object()["discount_candidates"] = json::array{"1.5"};
       }),
       "'lots[0].discount_candidates[0]'"},
      {with([](auto& d) {
         auto lot = d["lots"].as_array()[0];
         d["lots"].as_array().push_back(lot);
       }),
       "'lots[1].lot_no' is 1, which an earlier lot already uses"},
      {with([](auto& d) {
         d["escrow"] = json::object{
             {"threshold", 1},
             {"custodians", json::array{json::object{
                                {"id", "c1"}, {"org_id", "center"}, {"public_key", "not a PEM"}}}}};
       }),
       "'escrow.custodians[0].public_key' is not a SubjectPublicKeyInfo PEM"},
  };
  for (const auto& c : cases) {
    const auto r = host.api->request("POST", "/api/v1/tenders", c.body);
    EXPECT_EQ(r.status, 400u) << c.body << "\n" << r.body;
    EXPECT_EQ(error_code_of(r), "request.bad_json") << r.body;
    EXPECT_NE(r.body.find(c.mentions), std::string::npos) << c.mentions << "\n" << r.body;
  }
  // The same shapes on PATCH and amend.
  auto r = host.api->request("PATCH", "/api/v1/tenders/" + created.id, R"({"kind":"bridges"})",
                             "application/json", {{"If-Match", "\"1\""}});
  EXPECT_EQ(r.status, 400u);
  EXPECT_NE(r.body.find("'kind'"), std::string::npos) << r.body;
  r = host.api->request("PATCH", "/api/v1/tenders/" + created.id, "{}", "application/json",
                        {{"If-Match", "\"1\""}});
  EXPECT_EQ(r.status, 400u);
  r = host.api->request("POST", "/api/v1/tenders/" + created.id + "/amend",
                        R"({"changes":{"title":"x"}})", "application/json",
                        {{"If-Match", "\"1\""}});
  EXPECT_EQ(r.status, 400u);
  EXPECT_NE(r.body.find("field 'reason' is required"), std::string::npos) << r.body;
  r = host.api->request("POST", "/api/v1/tenders/" + created.id + "/cancel", R"({"reason":7})");
  EXPECT_EQ(r.status, 400u);
  EXPECT_NE(r.body.find("'reason' must be a string"), std::string::npos) << r.body;
  r = host.api->request("POST", "/api/v1/tenders", json::serialize(tender_doc("X", "sandbox", 90)),
                        "application/json", {{"Idempotency-Key", "has space"}});
  EXPECT_EQ(r.status, 400u);
  EXPECT_EQ(error_code_of(r), "request.bad_header");
  // Wrong roles and org kinds.
  r = bidder.api->request("POST", "/api/v1/tenders",
                          json::serialize(tender_doc("X2", "sandbox", 90)));
  EXPECT_EQ(r.status, 403u);
  r = center_tenderer.api->request("POST", "/api/v1/tenders",
                                   json::serialize(tender_doc("X3", "sandbox", 90)));
  EXPECT_EQ(r.status, 403u);
  EXPECT_NE(r.body.find("tenderer or agency"), std::string::npos) << r.body;
  r = w.anonymous()->request("POST", "/api/v1/tenders",
                             json::serialize(tender_doc("X4", "sandbox", 90)));
  EXPECT_EQ(r.status, 401u);
  EXPECT_EQ(counts(), before);
}

// Acceptance 6: 100 clients, each its own session, read-modify-write the same draft with the ETag
// they read, retrying on 412. Every success is reflected, nothing is lost.
TEST_F(tender_e2e, hundred_concurrent_writers_lose_no_update) {
  const auto created = client::create_tender(
      *host.api, json::serialize(tender_doc("RACE-1", "engineering", 30 * 86400)));
  client::update_tender(*host.api, created.id, created.etag, R"({"title":"race"})");
  constexpr int writers = 100;
  std::vector<std::unique_ptr<client::client>> sessions;
  for (int i = 0; i < writers; ++i)
    sessions.push_back(w.session_of(host));
  std::atomic<int> successes{0}, conflicts{0}, others{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < writers; ++i) {
    threads.emplace_back([&, i] {
      auto& c = *sessions[static_cast<std::size_t>(i)];
      for (int attempt = 0; attempt < 1000; ++attempt) {
        const auto r = c.request("GET", "/api/v1/tenders/" + created.id);
        if (r.status != 200) {
          ++others;
          return;
        }
        const auto title = std::string(parse(r.body).at("title").as_string());
        const auto patch =
            json::serialize(json::object{{"title", title + "|" + std::to_string(i)}});
        const auto u = c.request("PATCH", "/api/v1/tenders/" + created.id, patch,
                                 "application/json", {{"If-Match", r.header("ETag")}});
        if (u.status == 200) {
          ++successes;
          return;
        }
        if (u.status == 412 && error_code_of(u) == "request.version_conflict") {
          ++conflicts;
          continue;
        }
        ++others;
        return;
      }
    });
  }
  for (auto& t : threads)
    t.join();
  EXPECT_EQ(others.load(), 0);
  EXPECT_EQ(successes.load(), writers);
  const auto final_state = client::get_tender(*host.api, created.id);
  // Created at 1, the first "race" update, then one version per successful PATCH.
  EXPECT_EQ(final_state.version, 2 + successes.load());
  const auto title = std::string(parse(final_state.body).at("title").as_string());
  for (int i = 0; i < writers; ++i) {
    const auto marker = "|" + std::to_string(i);
    // Each marker exactly once: "|1" is a prefix of "|10", so match it with its delimiter.
    EXPECT_NE((title + "|").find(marker + "|"), std::string::npos) << marker << " lost";
  }
  EXPECT_EQ(audits(created.id, "tender.update"), std::to_string(1 + writers));
  EXPECT_EQ(std::count(title.begin(), title.end(), '|'), writers);
  std::cout << "100 writers: " << successes.load() << " successes, " << conflicts.load()
            << " conflicts answered 412\n";
}

// The CLI: tender tender create / publish / show against the real server.
TEST_F(tender_e2e, cli_create_publish_show) {
  const auto dir = tender::test::make_temp_dir("tender-cli");
  std::ofstream(dir + "/token") << host.token << "\n";
  std::ofstream(dir + "/gym.json") << json::serialize(tender_doc("CLI-1", "sandbox", 120));
  auto cli = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {TENDER_CLI_PATH, "--server", w.url()});
    return tender::test::run_command(args, {{"HOME", dir}});
  };
  const auto token = std::string("--token-file=") + dir + "/token";
  auto r = cli({"tender", "create", "--file", dir + "/gym.json", "--idempotency-key", "cli-1",
                token, "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto id = std::string(parse(r.output.substr(r.output.find('{'))).at("id").as_string());
  r = cli({"tender", "publish", id, token});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("published " + id), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("state:     published (version 2"), std::string::npos) << r.output;
  // Anyone may show it, without a token.
  r = cli({"tender", "show", id, "--token-file=" + dir + "/none"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("CLI-1"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("lot 1:"), std::string::npos) << r.output;
  // A second publish is refused with the server's code; the help teaches with an example.
  r = cli({"tender", "publish", id, token});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("[tender.bad_state]"), std::string::npos) << r.output;
  r = cli({"tender", "create", "--help"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.output.find("summary_fields"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("Examples:"), std::string::npos) << r.output;
  EXPECT_EQ(w.rows("tenders"), 1);
}
