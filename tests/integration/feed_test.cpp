// The public change feed against a real PostgreSQL: concurrent appends (some rolled back) give a
// gap-free feed in commit order, pages by cursor, and a listener that survives losing its
// connection.
#include <io_support.hpp>
#include <test_support.hpp>

#include <tender/db/error.hpp>
#include <tender/db/feed.hpp>

#include "../../server/db/src/feed_tx.hpp"
#include "../../server/db/src/pool.hpp"

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

using tender::db::feed;
using tender::test::fresh_database;
using tender::test::run_on_io;

namespace {

const auto code_of = tender::test::db_error_code;

std::int64_t count_rows(const fresh_database& db) {
  return std::stoll(db.query_value("SELECT count(*) FROM feed_events"));
}

// Every event of the feed, read page by page with the cursor.
std::vector<tender::db::feed_event> read_all(feed& f, std::size_t page_size) {
  std::vector<tender::db::feed_event> out;
  std::int64_t after = 0;
  for (;;) {
    const auto page = run_on_io(f.page(after, page_size, std::nullopt));
    if (page.events.empty()) break;
    for (const auto& e : page.events)
      out.push_back(e);
    after = page.events.back().seq;
  }
  return out;
}

}  // namespace

TEST(feed, concurrent_appends_are_gap_free_and_in_commit_order) {
  fresh_database db("feed_concurrent");
  constexpr int threads = 8;
  constexpr int per_thread = 50;
  std::atomic<std::int64_t> commit_ticket{0};
  std::mutex m;
  std::vector<std::pair<std::int64_t, std::int64_t>> committed;  // (ticket, seq)
  std::atomic<int> rolled_back{0};
  std::atomic<bool> writing{true};
  std::atomic<int> prefix_violations{0};
  std::atomic<int> observations{0};

  // A reader that, while the writers run, checks that every snapshot sees a prefix 1..max.
  std::thread reader([&] {
    pqxx::connection c(db.conninfo());
    while (writing) {
      pqxx::read_transaction tx(c);
      const auto r = tx.exec1("SELECT coalesce(max(seq), 0), count(*) FROM feed_events");
      if (r[0].as<std::int64_t>() != r[1].as<std::int64_t>()) ++prefix_violations;
      ++observations;
    }
  });

  std::vector<std::thread> writers;
  for (int t = 0; t < threads; ++t) {
    writers.emplace_back([&, t] {
      pqxx::connection c(db.conninfo());
      for (int i = 0; i < per_thread; ++i) {
        pqxx::work tx(c);
        const std::string payload =
            "{\"thread\":" + std::to_string(t) + ",\"i\":" + std::to_string(i) + "}";
        const auto seq = tender::db::feed_tx::append(tx, std::nullopt, "test.event", payload);
        if ((t + i) % 5 == 0) {
          tx.abort();
          ++rolled_back;
          continue;
        }
        // The feed_head lock is held until commit: the ticket order is the commit order.
        const auto ticket = ++commit_ticket;
        tx.commit();
        std::lock_guard lock(m);
        committed.emplace_back(ticket, seq);
      }
    });
  }
  for (auto& w : writers)
    w.join();
  writing = false;
  reader.join();

  const auto n = static_cast<std::int64_t>(committed.size());
  ASSERT_EQ(n + rolled_back, threads * per_thread);
  ASSERT_GT(rolled_back.load(), 0);
  EXPECT_EQ(prefix_violations.load(), 0) << "a snapshot saw a later seq without an earlier one";
  EXPECT_GT(observations.load(), 0);

  // Seq order is commit order.
  std::sort(committed.begin(), committed.end());
  for (std::size_t i = 0; i < committed.size(); ++i) {
    EXPECT_EQ(committed[i].second, static_cast<std::int64_t>(i) + 1)
        << "commit #" << i + 1 << " got seq " << committed[i].second;
  }

  // The committed feed is exactly 1..N, whatever the page size.
  tender::db::pool connections(db.conninfo(), 2);
  feed f(connections);
  for (const std::size_t page_size : {std::size_t{1}, std::size_t{7}, std::size_t{1000}}) {
    const auto all = read_all(f, page_size);
    ASSERT_EQ(static_cast<std::int64_t>(all.size()), n);
    for (std::size_t i = 0; i < all.size(); ++i)
      ASSERT_EQ(all[i].seq, static_cast<std::int64_t>(i) + 1);
  }
  EXPECT_EQ(run_on_io(f.head()), n);
  EXPECT_EQ(db.query_value("SELECT next_seq FROM feed_head"), std::to_string(n + 1));
}

TEST(feed, pages_cap_the_limit_filter_by_tender_and_refuse_cursors_beyond_the_head) {
  fresh_database db("feed_pages");
  tender::db::pool connections(db.conninfo(), 2);
  feed f(connections);
  EXPECT_EQ(run_on_io(f.head()), 0);
  EXPECT_TRUE(run_on_io(f.page(0, 10, std::nullopt)).events.empty());
  {
    pqxx::connection c(db.conninfo());
    pqxx::work tx(c);
    tx.exec(
        "INSERT INTO organisations (id, kind, name) VALUES ('o1', 'tenderer', 'Org');"
        "INSERT INTO users (id, org_id, name, roles) VALUES ('u1', 'o1', 'U', '{tenderer}');"
        "INSERT INTO tenders (id, project_code, title, kind, rule_pack, owner_org, created_by) "
        "VALUES ('t-00000000000000aa', 'P-1', 'T', 'works', 'cn-2017', 'o1', 'u1')");
    for (int i = 1; i <= 1205; ++i) {
      const std::optional<std::string> tender =
          i % 3 == 0 ? std::optional<std::string>("t-00000000000000aa") : std::nullopt;
      tender::db::feed_tx::append(tx, tender, "test.event", "{\"i\":" + std::to_string(i) + "}");
    }
    tx.commit();
  }
  const auto big = run_on_io(f.page(0, 5000, std::nullopt));
  EXPECT_EQ(big.events.size(), feed::max_page);
  EXPECT_EQ(big.head, 1205);
  EXPECT_EQ(big.events.front().payload, "{\"i\": 1}");
  EXPECT_FALSE(big.events.front().created_at.empty());

  const auto mine = run_on_io(f.page(0, 1000, std::string("t-00000000000000aa")));
  ASSERT_EQ(mine.events.size(), 401u);
  for (const auto& e : mine.events) {
    EXPECT_EQ(e.seq % 3, 0);
    EXPECT_EQ(e.tender_id.value_or(""), "t-00000000000000aa");
  }
  const auto tail = run_on_io(f.page(1200, 1000, std::nullopt));
  ASSERT_EQ(tail.events.size(), 5u);
  EXPECT_EQ(tail.events.front().seq, 1201);
  EXPECT_TRUE(run_on_io(f.page(1205, 10, std::nullopt)).events.empty());
  const auto rows = count_rows(db);
  EXPECT_EQ(code_of([&] { run_on_io(f.page(1206, 10, std::nullopt)); }), "feed.bad_cursor");
  EXPECT_EQ(count_rows(db), rows);
}

TEST(feed, listener_reports_commits_and_reconnects_after_losing_its_connection) {
  fresh_database db("feed_listen");
  std::mutex m;
  std::condition_variable cv;
  std::vector<std::optional<std::int64_t>> seen;
  tender::db::feed_listener::options o;
  o.conninfo = db.conninfo();
  o.retry_interval = std::chrono::milliseconds(100);
  o.poll_interval = std::chrono::milliseconds(100);
  tender::db::feed_listener listener(o, [&](std::optional<std::int64_t> seq) {
    std::lock_guard lock(m);
    seen.push_back(seq);
    cv.notify_all();
  });
  auto wait_for = [&](std::size_t n) {
    std::unique_lock lock(m);
    return cv.wait_for(lock, std::chrono::seconds(20), [&] { return seen.size() >= n; });
  };
  auto at = [&](std::size_t i) {
    std::lock_guard lock(m);
    return seen.at(i);
  };
  auto append_one = [&] {
    pqxx::connection c(db.conninfo());
    pqxx::work tx(c);
    const auto seq = tender::db::feed_tx::append(tx, std::nullopt, "test.event", "{}");
    tx.commit();
    return seq;
  };
  listener.start();
  ASSERT_TRUE(wait_for(1));
  EXPECT_FALSE(at(0).has_value()) << "a fresh connection says 'maybe missed'";
  EXPECT_TRUE(listener.connected());
  const auto s1 = append_one();
  ASSERT_TRUE(wait_for(2));
  EXPECT_EQ(at(1).value_or(-1), s1);

  // A rolled-back append notifies nobody.
  {
    pqxx::connection c(db.conninfo());
    pqxx::work tx(c);
    tender::db::feed_tx::append(tx, std::nullopt, "test.event", "{}");
    tx.abort();
  }

  // Kill the listener's backend: it reconnects and says "maybe missed" again.
  db.exec(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
      "WHERE datname = current_database() AND query ILIKE 'LISTEN%'");
  ASSERT_TRUE(wait_for(3));
  EXPECT_FALSE(at(2).has_value());
  ASSERT_TRUE(
      tender::test::wait_until([&] { return listener.connected(); }, std::chrono::seconds(20)));
  const auto s2 = append_one();
  ASSERT_TRUE(wait_for(4));
  EXPECT_EQ(at(3).value_or(-1), s2);
  EXPECT_EQ(s2, s1 + 1) << "the rolled-back seq was reused: no gap";
  listener.stop();
  EXPECT_FALSE(listener.connected());
}
