// The scheduler against a real PostgreSQL: two instances racing over the same due jobs fire each
// exactly once; a future job waits for its due time (by the database's clock) and fires within the
// stated tolerance; a failing transition rolls back whole and is recorded, retried and parked;
// unknown kinds are not retried forever.
#include <test_support.hpp>

#include <tender/crypto/init.hpp>
#include <tender/crypto/signed_note.hpp>
#include <tender/db/scheduler.hpp>

#include "../../server/db/src/pool.hpp"

#include <gtest/gtest.h>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace asio = boost::asio;
using namespace std::chrono_literals;
using tender::db::scheduler;
using tender::test::fresh_database;
using tender::test::wait_until;

namespace {

// An io_context run by two threads for the duration of a test.
struct io_threads {
  io_threads() {
    for (int i = 0; i < 2; ++i)
      threads.emplace_back([this] { ioc.run(); });
  }
  ~io_threads() {
    work.reset();
    ioc.stop();
    for (auto& t : threads)
      t.join();
  }
  asio::io_context ioc;
  asio::executor_work_guard<asio::io_context::executor_type> work = asio::make_work_guard(ioc);
  std::vector<std::thread> threads;
};

std::string tender_id(int n) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "t-%016x", n);
  return buf;
}

struct scheduler_fixture : ::testing::Test {
  void SetUp() override {
    tender::crypto::init();
    db.exec("INSERT INTO organisations (id, kind, name) VALUES ('acme', 'tenderer', 'Acme')");
    db.exec(
        "INSERT INTO users (id, org_id, name, roles) VALUES ('host', 'acme', 'Host', "
        "ARRAY['tenderer'])");
  }

  // A published tender with one lot; deadline and opening are SQL expressions.
  void add_tender(int n, const std::string& deadline, const std::string& opening,
                  const std::string& state = "published") {
    const auto id = tender_id(n);
    db.exec(
        "INSERT INTO tenders (id, project_code, title, kind, rule_pack, owner_org, created_by, "
        "state, deadline_at, opening_at) VALUES ('" +
        id + "', 'P-" + std::to_string(n) + "', 'Road " + std::to_string(n) +
        "', 'works', 'sandbox', 'acme', 'host', '" + state + "', " + deadline + ", " + opening +
        ")");
    db.exec(
        "INSERT INTO lots (tender_id, lot_no, title, estimated_price, summary_fields) VALUES ('" +
        id +
        "', 1, 'Lot 1', 100000000, '[{\"key\":\"price\",\"label\":\"price\",\"type\":"
        "\"money\"}]')");
  }

  // The jobs the tender endpoints write at publication.
  void add_jobs(int n) {
    const auto id = tender_id(n);
    db.exec(
        "INSERT INTO scheduled_jobs (kind, subject, due_at) SELECT 'tender.deadline', id, "
        "deadline_at FROM tenders WHERE id = '" +
        id + "' UNION ALL SELECT 'tender.opening', id, opening_at FROM tenders WHERE id = '" + id +
        "' AND opening_at IS NOT NULL");
  }

  std::string value(const std::string& sql) const { return db.query_value(sql); }
  long long count(const std::string& sql) const { return std::stoll(db.query_value(sql)); }

  scheduler::options options(std::chrono::milliseconds poll = 250ms) const {
    scheduler::options o;
    o.poll_interval = poll;
    o.origin = "tenderhall/test";
    o.signer = signer;
    return o;
  }

  fresh_database db{"scheduler"};
  std::shared_ptr<const tender::crypto::note::ed25519_signer> signer =
      std::make_shared<const tender::crypto::note::ed25519_signer>(
          tender::crypto::note::ed25519_signer::generate("tenderhall/test"));
};

TEST_F(scheduler_fixture, two_instances_race_over_200_due_jobs_and_each_fires_once) {
  constexpr int n = 200;
  for (int i = 1; i <= n; ++i)
    add_tender(i, "clock_timestamp() - interval '1 second'", "NULL");
  db.exec(
      "INSERT INTO scheduled_jobs (kind, subject, due_at) SELECT 'tender.deadline', id, "
      "deadline_at FROM tenders");
  ASSERT_EQ(count("SELECT count(*) FROM scheduled_jobs WHERE fired_at IS NULL"), n);

  io_threads io;
  tender::db::pool pool_a(db.conninfo(), 2);
  tender::db::pool pool_b(db.conninfo(), 2);
  scheduler a(io.ioc.get_executor(), pool_a, options(20ms));
  scheduler b(io.ioc.get_executor(), pool_b, options(20ms));
  a.start();
  b.start();
  const bool done = wait_until(
      [&] { return count("SELECT count(*) FROM scheduled_jobs WHERE fired_at IS NULL") == 0; },
      120s, 50ms);
  a.stop(std::chrono::steady_clock::now() + 10s);
  b.stop(std::chrono::steady_clock::now() + 10s);
  ASSERT_TRUE(done);

  EXPECT_EQ(a.fired() + b.fired(), static_cast<std::uint64_t>(n));
  EXPECT_EQ(a.failed() + b.failed(), 0u);
  std::printf("instance a fired %llu, instance b fired %llu\n",
              static_cast<unsigned long long>(a.fired()),
              static_cast<unsigned long long>(b.fired()));
  // Each transition once: one audit event and one feed event per tender, every tender closed once.
  EXPECT_EQ(count("SELECT count(*) FROM audit_events WHERE action = 'tender.deadline_reached'"), n);
  EXPECT_EQ(count("SELECT count(DISTINCT subject) FROM audit_events "
                  "WHERE action = 'tender.deadline_reached'"),
            n);
  EXPECT_EQ(value("SELECT DISTINCT actor || '/' || role FROM audit_events "
                  "WHERE action = 'tender.deadline_reached'"),
            "tenderd-scheduler/system");
  EXPECT_EQ(count("SELECT count(*) FROM feed_events WHERE kind = 'tender.deadline_reached'"), n);
  EXPECT_EQ(count("SELECT count(DISTINCT tender_id) FROM feed_events"), n);
  EXPECT_EQ(count("SELECT count(*) FROM tenders WHERE state = 'closed' AND version = 2"), n);
  EXPECT_EQ(count("SELECT count(*) FROM scheduled_jobs WHERE attempts <> 0 OR last_error IS NOT "
                  "NULL OR fired_at < due_at"),
            0);
  // The feed payload names the tender and its deadline, and the audit digest is its SHA-256.
  EXPECT_EQ(count("SELECT count(*) FROM feed_events f JOIN tenders t ON t.id = f.tender_id "
                  "WHERE (f.payload->>'deadline_at')::timestamptz = t.deadline_at"),
            n);
  EXPECT_EQ(count("SELECT count(*) FROM audit_events a WHERE action = 'tender.deadline_reached' "
                  "AND payload_digest = encode(sha256(convert_to('{\"deadline_at\":\"' || "
                  "to_char((SELECT deadline_at FROM tenders WHERE id = a.subject) AT TIME ZONE "
                  "'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') || '\",\"tender_id\":\"' || "
                  "a.subject || '\"}', 'UTF8')), 'hex')"),
            n);
  // A signed checkpoint covers the last transition.
  EXPECT_EQ(value("SELECT max(size) FROM audit_checkpoints"),
            value("SELECT count(*) FROM audit_events"));
}

TEST_F(scheduler_fixture, a_future_job_waits_for_its_time_and_fires_within_the_tolerance) {
  // Deadline 1.5 s from now by the database's clock, opening half a second later.
  add_tender(1, "clock_timestamp() + interval '1500 milliseconds'",
             "clock_timestamp() + interval '2000 milliseconds'");
  add_jobs(1);
  io_threads io;
  tender::db::pool pool(db.conninfo(), 2);
  scheduler s(io.ioc.get_executor(), pool, options());
  s.start();
  // Nothing fires before its time.
  wait_until([] { return false; }, 1000ms);
  EXPECT_EQ(value("SELECT state FROM tenders"), "published");
  EXPECT_EQ(count("SELECT count(*) FROM scheduled_jobs WHERE fired_at IS NOT NULL"), 0);
  EXPECT_EQ(count("SELECT count(*) FROM audit_events"), 0);

  const bool opened =
      wait_until([&] { return value("SELECT state FROM tenders") == "opening"; }, 10s, 20ms);
  s.stop(std::chrono::steady_clock::now() + 10s);
  ASSERT_TRUE(opened);
  // Never early, and late by less than the tolerance (poll interval + 1 s).
  EXPECT_EQ(count("SELECT count(*) FROM scheduled_jobs WHERE fired_at >= due_at AND fired_at < "
                  "due_at + interval '1250 milliseconds'"),
            2)
      << value(
             "SELECT string_agg(kind || ' ' || (fired_at - due_at)::text, '; ') FROM "
             "scheduled_jobs");
  EXPECT_EQ(value("SELECT string_agg(action, ',' ORDER BY seq) FROM audit_events"),
            "tender.deadline_reached,tender.opening_due");
  EXPECT_EQ(value("SELECT string_agg(kind, ',' ORDER BY seq) FROM feed_events"),
            "tender.deadline_reached,tender.opening_due");
  EXPECT_EQ(value("SELECT version FROM tenders"), "3");
}

TEST_F(scheduler_fixture, a_job_behind_its_tenders_moved_deadline_follows_the_tender) {
  // An amendment moved the tender's deadline later but the job row still has the old time.
  add_tender(1, "clock_timestamp() + interval '1 second'", "NULL");
  db.exec(
      "INSERT INTO scheduled_jobs (kind, subject, due_at) SELECT 'tender.deadline', id, "
      "clock_timestamp() - interval '1 hour' FROM tenders");
  // A suspended tender's deadline fires with a note and no transition.
  add_tender(2, "clock_timestamp() - interval '1 second'", "NULL", "suspended");
  add_jobs(2);
  io_threads io;
  tender::db::pool pool(db.conninfo(), 2);
  scheduler s(io.ioc.get_executor(), pool, options());
  s.start();
  const bool fired = wait_until(
      [&] { return count("SELECT count(*) FROM scheduled_jobs WHERE fired_at IS NULL") == 0; }, 10s,
      20ms);
  s.stop(std::chrono::steady_clock::now() + 10s);
  ASSERT_TRUE(fired);
  EXPECT_EQ(value("SELECT state FROM tenders WHERE id = '" + tender_id(1) + "'"), "closed");
  EXPECT_EQ(count("SELECT count(*) FROM scheduled_jobs j JOIN tenders t ON t.id = j.subject "
                  "WHERE t.id = '" +
                  tender_id(1) + "' AND j.due_at = t.deadline_at AND j.fired_at >= t.deadline_at"),
            1);
  EXPECT_EQ(value("SELECT state || '/' || version FROM tenders WHERE id = '" + tender_id(2) + "'"),
            "suspended/1");
  EXPECT_EQ(value("SELECT last_error FROM scheduled_jobs WHERE subject = '" + tender_id(2) + "'"),
            "tender is suspended: no transition");
  EXPECT_EQ(value("SELECT string_agg(subject, ',') FROM audit_events"), tender_id(1));
}

TEST_F(scheduler_fixture, a_failing_transition_rolls_back_whole_and_is_retried_then_parked) {
  add_tender(1, "clock_timestamp() - interval '1 second'", "NULL");
  add_jobs(1);
  // The feed append is the last step of the transition: make it fail.
  db.exec(
      "CREATE FUNCTION refuse_feed() RETURNS trigger LANGUAGE plpgsql AS "
      "$$ BEGIN RAISE EXCEPTION 'feed is down for the test'; END $$");
  db.exec(
      "CREATE TRIGGER refuse_feed BEFORE INSERT ON feed_events FOR EACH ROW "
      "EXECUTE PROCEDURE refuse_feed()");
  const auto audit_before = value("SELECT size FROM audit_head");
  const auto feed_before = value("SELECT next_seq FROM feed_head");

  io_threads io;
  tender::db::pool pool(db.conninfo(), 2);
  auto o = options(20ms);
  o.retry_delay = 100ms;
  o.max_attempts = 3;
  scheduler s(io.ioc.get_executor(), pool, o);
  s.start();
  const bool parked = wait_until(
      [&] {
        // The counter is bumped after the round's commit: wait for both.
        return value("SELECT attempts || '/' || (due_at = 'infinity') FROM scheduled_jobs") ==
                   "3/true" &&
               s.failed() >= 3u;
      },
      20s, 20ms);
  ASSERT_TRUE(parked) << value("SELECT attempts || ' ' || due_at FROM scheduled_jobs");
  EXPECT_EQ(s.failed(), 3u);
  // No half transition: state, version, audit log and feed exactly as before.
  EXPECT_EQ(value("SELECT state || '/' || version FROM tenders"), "published/1");
  EXPECT_EQ(value("SELECT size FROM audit_head"), audit_before);
  EXPECT_EQ(count("SELECT count(*) FROM audit_events"), std::stoll(audit_before));
  EXPECT_EQ(value("SELECT next_seq FROM feed_head"), feed_before);
  EXPECT_EQ(count("SELECT count(*) FROM feed_events"), 0);
  EXPECT_EQ(count("SELECT count(*) FROM scheduled_jobs WHERE fired_at IS NULL AND last_error LIKE "
                  "'%feed is down for the test%'"),
            1);

  // A parked job stays parked; an operator re-arms it once the cause is fixed.
  wait_until([] { return false; }, 300ms);
  EXPECT_EQ(s.failed(), 3u);
  db.exec("DROP TRIGGER refuse_feed ON feed_events");
  db.exec("UPDATE scheduled_jobs SET due_at = clock_timestamp()");
  const bool fired =
      wait_until([&] { return value("SELECT state FROM tenders") == "closed"; }, 10s, 20ms);
  s.stop(std::chrono::steady_clock::now() + 10s);
  ASSERT_TRUE(fired);
  EXPECT_EQ(count("SELECT count(*) FROM audit_events WHERE action = 'tender.deadline_reached'"), 1);
  EXPECT_EQ(count("SELECT count(*) FROM feed_events"), 1);
  EXPECT_EQ(value("SELECT version FROM tenders"), "2");
}

TEST_F(scheduler_fixture, a_kind_without_handler_is_not_retried_forever) {
  db.exec(
      "INSERT INTO scheduled_jobs (kind, subject, due_at) VALUES ('tender.unknown', 'x', "
      "clock_timestamp())");
  io_threads io;
  tender::db::pool pool(db.conninfo(), 2);
  auto o = options(20ms);
  o.retry_delay = 50ms;
  o.max_attempts = 2;
  scheduler s(io.ioc.get_executor(), pool, o);
  s.start();
  const bool parked = wait_until(
      [&] { return value("SELECT due_at = 'infinity' FROM scheduled_jobs") == "t"; }, 10s, 20ms);
  wait_until([] { return false; }, 300ms);
  s.stop(std::chrono::steady_clock::now() + 10s);
  ASSERT_TRUE(parked);
  EXPECT_EQ(s.failed(), 2u);
  EXPECT_EQ(
      value("SELECT attempts || ' ' || last_error FROM scheduled_jobs WHERE fired_at IS NULL"),
      "2 [scheduler.no_handler] no handler for kind 'tender.unknown'");
  EXPECT_EQ(count("SELECT count(*) FROM audit_events"), 0);
}

}  // namespace
