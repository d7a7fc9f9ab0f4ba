// The public change feed end to end: the real tenderd, events committed by SQL exactly as
// feed_tx does it, read back over HTTP pages, the SDK's WebSocket follower and the CLI.
#include <world.hpp>

#include <tender/client/feed.hpp>

#include <gtest/gtest.h>
#include <boost/json.hpp>
#include <pqxx/pqxx>

#include <atomic>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

using tender::test::run_command;
using tender::test::wait_until;
using tender::test::world;

namespace {

constexpr const char* tender_id = "t-00000000000000f1";

// Commits `n` events, one transaction each, doing exactly what feed_tx::append does.
void commit_events(const std::string& conninfo, int n, bool with_tender = false) {
  pqxx::connection c(conninfo);
  for (int i = 0; i < n; ++i) {
    pqxx::work tx(c);
    const auto seq =
        tx.exec1("UPDATE feed_head SET next_seq = next_seq + 1 RETURNING next_seq - 1")[0]
            .as<std::int64_t>();
    const std::string payload = "{\"n\": " + std::to_string(seq) + "}";
    if (with_tender && seq % 2 == 0) {
      tx.exec_params(
          "INSERT INTO feed_events (seq, tender_id, kind, payload) VALUES ($1, $2, $3, $4::jsonb)",
          seq, std::string(tender_id), std::string("test.event"), payload);
    } else {
      tx.exec_params(
          "INSERT INTO feed_events (seq, tender_id, kind, payload) "
          "VALUES ($1, NULL, $2, $3::jsonb)",
          seq, std::string("test.event"), payload);
    }
    tx.exec_params("SELECT pg_notify('tender_feed', $1)", std::to_string(seq));
    tx.commit();
  }
}

void create_tender(world& w) {
  w.db().exec(
      "INSERT INTO tenders (id, project_code, title, kind, rule_pack, owner_org, created_by) "
      "VALUES ('" +
      std::string(tender_id) + "', 'P-FEED', 'Feed test', 'works', 'cn-2017', 'platform', 'root')");
}

tender::client::options options_of(const world& w) {
  tender::client::options o;
  o.server = w.url();
  return o;
}

struct collector {
  std::mutex m;
  std::vector<std::int64_t> seqs;
  std::size_t size() {
    std::lock_guard lock(m);
    return seqs.size();
  }
};

void expect_exactly(const std::vector<std::int64_t>& seqs, std::int64_t from, std::int64_t to) {
  ASSERT_EQ(static_cast<std::int64_t>(seqs.size()), to - from + 1);
  for (std::size_t i = 0; i < seqs.size(); ++i)
    ASSERT_EQ(seqs[i], from + static_cast<std::int64_t>(i)) << "at index " << i;
}

}  // namespace

TEST(feed_e2e, pages_by_cursor_return_every_event_once_and_bad_parameters_are_400) {
  world w("feed_pages");
  create_tender(w);
  commit_events(w.db().conninfo(), 250, true);
  auto anon = w.anonymous();

  std::vector<std::int64_t> seen;
  std::int64_t after = 0;
  for (;;) {
    const auto page = tender::client::feed_page(*anon, after, 100);
    EXPECT_EQ(page.head, 250);
    if (page.events.empty()) {
      EXPECT_EQ(page.next, after);
      break;
    }
    EXPECT_LE(page.events.size(), 100u);
    for (const auto& e : page.events) {
      seen.push_back(e.seq);
      EXPECT_EQ(e.kind, "test.event");
      EXPECT_EQ(e.payload_json, "{\"n\":" + std::to_string(e.seq) + "}");
      EXPECT_EQ(e.tender_id.has_value(), e.seq % 2 == 0);
    }
    EXPECT_EQ(page.next, page.events.back().seq);
    after = page.next;
  }
  expect_exactly(seen, 1, 250);

  // The tender filter, and a limit above the cap.
  const auto mine = tender::client::feed_page(*anon, 0, 5000, std::string(tender_id));
  ASSERT_EQ(mine.events.size(), 125u);
  for (const auto& e : mine.events)
    EXPECT_EQ(e.tender_id.value_or(""), tender_id);

  // Raw shape.
  const auto raw = anon->request("GET", "/api/v1/feed?after=249");
  ASSERT_EQ(raw.status, 200u) << raw.body;
  const auto doc = boost::json::parse(raw.body).as_object();
  EXPECT_EQ(doc.at("next").as_int64(), 250);
  EXPECT_EQ(doc.at("head").as_int64(), 250);
  const auto& ev = doc.at("events").as_array().at(0).as_object();
  EXPECT_EQ(ev.at("seq").as_int64(), 250);
  EXPECT_EQ(ev.at("tender_id").as_string(), tender_id);
  EXPECT_EQ(ev.at("payload").as_object().at("n").as_int64(), 250);
  EXPECT_TRUE(ev.at("created_at").is_string());

  const auto rows = w.rows("feed_events");
  struct bad {
    std::string query;
    std::string code;
    std::string mention;
  };
  const std::vector<bad> cases{
      {"after=-1", "feed.bad_cursor", "'after'"},
      {"after=abc", "feed.bad_cursor", "'after'"},
      {"after=007", "feed.bad_cursor", "'after'"},
      {"after=251", "feed.bad_cursor", "beyond the feed head 250"},
      {"after=99999999999999999999", "feed.bad_cursor", "'after'"},
      {"limit=0", "request.bad_query", "'limit'"},
      {"limit=x", "request.bad_query", "'limit'"},
      {"tender=nope", "request.bad_query", "'tender'"},
      {"after=1&after=2", "request.bad_query", "repeated"},
      {"since=3", "request.bad_query", "unknown query parameter 'since'"},
      {"after", "request.bad_query", "name=value"},
  };
  for (const auto& c : cases) {
    const auto r = anon->request("GET", "/api/v1/feed?" + c.query);
    EXPECT_EQ(r.status, 400u) << c.query << ": " << r.body;
    EXPECT_EQ(tender::test::error_code_of(r), c.code) << c.query << ": " << r.body;
    EXPECT_NE(r.body.find(c.mention), std::string::npos) << c.query << ": " << r.body;
  }
  EXPECT_EQ(w.rows("feed_events"), rows);
  try {
    tender::client::feed_page(*anon, 300, 10);
    ADD_FAILURE() << "a cursor beyond the head was accepted";
  } catch (const tender::client::error& e) {
    EXPECT_EQ(e.code(), "feed.bad_cursor");
    EXPECT_EQ(e.http_status(), 400u);
  }
}

TEST(feed_e2e, websocket_follower_gets_the_backlog_then_live_events_in_order) {
  world w("feed_follow");
  commit_events(w.db().conninfo(), 450);  // more than one replay page
  collector got;
  constexpr std::int64_t total = 450 + 60;
  std::int64_t last = -1;
  std::thread follower([&] {
    last = tender::client::follow_feed(options_of(w), 0, [&](const tender::client::feed_event& e) {
      std::lock_guard lock(got.m);
      got.seqs.push_back(e.seq);
      return e.seq < total;
    });
  });
  ASSERT_TRUE(wait_until([&] { return got.size() >= 450; }, std::chrono::seconds(60)));
  // Live events from several writers at once.
  std::vector<std::thread> writers;
  for (int t = 0; t < 3; ++t)
    writers.emplace_back([&] { commit_events(w.db().conninfo(), 20); });
  for (auto& t : writers)
    t.join();
  ASSERT_TRUE(wait_until([&] { return got.size() >= total; }, std::chrono::seconds(60)))
      << "got " << got.size();
  follower.join();
  EXPECT_EQ(last, total);
  expect_exactly(got.seqs, 1, total);
}

TEST(feed_e2e, a_follower_that_reconnects_with_its_cursor_misses_nothing) {
  world w("feed_resume");
  create_tender(w);
  commit_events(w.db().conninfo(), 40, true);
  std::vector<std::int64_t> seqs;
  auto keep = [&](std::int64_t until) {
    return [&seqs, until](const tender::client::feed_event& e) {
      seqs.push_back(e.seq);
      return e.seq < until;
    };
  };
  auto cursor = tender::client::follow_feed(options_of(w), 0, keep(25));
  EXPECT_EQ(cursor, 25);
  commit_events(w.db().conninfo(), 30, true);  // committed while nobody follows
  cursor = tender::client::follow_feed(options_of(w), cursor, keep(70));
  EXPECT_EQ(cursor, 70);
  expect_exactly(seqs, 1, 70);

  // The server's LISTEN connection is killed: it reconnects, and followers catch up anyway.
  collector got;
  std::thread follower([&] {
    tender::client::follow_feed(options_of(w), 70, [&](const tender::client::feed_event& e) {
      std::lock_guard lock(got.m);
      got.seqs.push_back(e.seq);
      return e.seq < 90;
    });
  });
  w.db().exec(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
      "WHERE datname = current_database() AND query ILIKE 'LISTEN%'");
  commit_events(w.db().conninfo(), 20);
  ASSERT_TRUE(wait_until([&] { return got.size() >= 20; }, std::chrono::seconds(60)));
  follower.join();
  expect_exactly(got.seqs, 71, 90);

  // Only one tender's events; the filtered follower still sees them in order.
  std::vector<std::int64_t> mine;
  tender::client::follow_options f;
  f.tender = tender_id;
  tender::client::follow_feed(
      options_of(w), 0,
      [&](const tender::client::feed_event& e) {
        EXPECT_EQ(e.tender_id.value_or(""), tender_id);
        mine.push_back(e.seq);
        return mine.size() < 35;
      },
      f);
  ASSERT_EQ(mine.size(), 35u);
  for (std::size_t i = 0; i < mine.size(); ++i)
    EXPECT_EQ(mine[i], static_cast<std::int64_t>(2 * (i + 1)));

  // A bad cursor is refused, not retried.
  try {
    tender::client::follow_feed(options_of(w), 1000, [](const auto&) { return true; });
    ADD_FAILURE() << "a cursor beyond the head was accepted";
  } catch (const tender::client::error& e) {
    EXPECT_EQ(e.code(), "feed.bad_cursor") << e.what();
  }
  try {
    tender::client::follow_options bad;
    bad.tender = "not-a-tender";
    tender::client::follow_feed(
        options_of(w), 0, [](const auto&) { return true; }, bad);
    ADD_FAILURE() << "a bad tender id was accepted";
  } catch (const tender::client::error& e) {
    EXPECT_EQ(e.code(), "request.bad_query") << e.what();
  }
}

TEST(feed_e2e, cli_lists_and_follows_the_feed_as_json_lines) {
  world w("feed_cli");
  commit_events(w.db().conninfo(), 12);
  const auto list = run_command(
      {TENDER_CLI_PATH, "--server", w.url(), "feed", "list", "--after", "3", "--limit", "5"});
  ASSERT_EQ(list.exit_code, 0) << list.output;
  std::istringstream lines(list.output);
  std::string line;
  std::vector<std::int64_t> seqs;
  while (std::getline(lines, line)) {
    if (line.empty() || line.front() != '{') continue;
    seqs.push_back(boost::json::parse(line).as_object().at("seq").as_int64());
  }
  expect_exactly(seqs, 4, 8);
  EXPECT_NE(list.output.find("next cursor: 8 (feed head 12)"), std::string::npos) << list.output;

  const auto all =
      run_command({TENDER_CLI_PATH, "--server", w.url(), "feed", "list", "--limit", "5", "--all"});
  ASSERT_EQ(all.exit_code, 0) << all.output;
  EXPECT_NE(all.output.find("\"seq\":12"), std::string::npos) << all.output;
  EXPECT_NE(all.output.find("next cursor: 12"), std::string::npos) << all.output;

  const auto follow = run_command(
      {TENDER_CLI_PATH, "--server", w.url(), "feed", "follow", "--after", "10", "--count", "2"});
  ASSERT_EQ(follow.exit_code, 0) << follow.output;
  EXPECT_NE(follow.output.find("\"seq\":11"), std::string::npos) << follow.output;
  EXPECT_NE(follow.output.find("\"seq\":12"), std::string::npos) << follow.output;

  const auto bad =
      run_command({TENDER_CLI_PATH, "--server", w.url(), "feed", "list", "--after", "99"});
  EXPECT_EQ(bad.exit_code, 1) << bad.output;
  EXPECT_NE(bad.output.find("feed.bad_cursor"), std::string::npos) << bad.output;

  const auto help = run_command({TENDER_CLI_PATH, "feed", "list", "--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.output.find("cursor"), std::string::npos);
}
