// The scheduler inside the real tenderd: a deadline due while tenderd is killed with SIGKILL and
// restarted fires once, on time; a deadline that passed while tenderd was down fires right after
// the restart, once; a further restart fires nothing again.
#include <world.hpp>

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include <csignal>
#include <string>

using namespace std::chrono_literals;
using tender::test::wait_until;

namespace {

void add_published_tender(tender::test::world& w, const std::string& id, const std::string& code,
                          const std::string& deadline, const std::string& opening) {
  auto& db = w.db();
  db.exec(
      "INSERT INTO tenders (id, project_code, title, kind, rule_pack, owner_org, created_by, "
      "state, deadline_at, opening_at, published_at) VALUES ('" +
      id + "', '" + code + "', '道路工程 " + code +
      "', 'works', 'sandbox', 'acme', 'acme-host', 'published', " + deadline + ", " + opening +
      ", clock_timestamp())");
  db.exec("INSERT INTO lots (tender_id, lot_no, title, estimated_price, summary_fields) VALUES ('" +
          id +
          "', 1, 'Lot 1', 500000000, '[{\"key\":\"price\",\"label\":\"投标报价\",\"type\":"
          "\"money\"}]')");
  // What publication writes (kind, subject = tender id, due at the tender's times).
  db.exec(
      "INSERT INTO scheduled_jobs (kind, subject, due_at) SELECT 'tender.deadline', id, "
      "deadline_at FROM tenders WHERE id = '" +
      id + "'");
  db.exec(
      "INSERT INTO scheduled_jobs (kind, subject, due_at) SELECT 'tender.opening', id, "
      "opening_at FROM tenders WHERE id = '" +
      id + "' AND opening_at IS NOT NULL");
}

long long count(tender::test::world& w, const std::string& sql) {
  return std::stoll(w.db().query_value(sql));
}

TEST(scheduler_e2e, deadlines_fire_once_across_kill_and_restart) {
  tender::test::world w("scheduler", {{"TENDERD_SCHEDULER_POLL_INTERVAL_MS", "100"}});
  w.user("acme-host", "acme", "tenderer", {"tenderer"});
  // SIGKILL before either is due (before they exist: on a loaded machine the second one's second
  // could pass before a kill that came after it), and stay down until the second one's deadline
  // has passed. The scheduler finds the jobs in the database after the restart.
  w.server().process().send_signal(SIGKILL);
  ASSERT_TRUE(w.server().process().wait(10s).has_value());
  const std::string on_time = "t-00000000000000a1";  // due 3 s from now: fires after the restart
  const std::string missed =
      "t-00000000000000b2";  // due 1 s from now: passes while tenderd is down
  add_published_tender(w, on_time, "E2E-A", "clock_timestamp() + interval '3 seconds'",
                       "clock_timestamp() + interval '4 seconds'");
  add_published_tender(w, missed, "E2E-B", "clock_timestamp() + interval '1 second'", "NULL");
  tender::test::add_bid_rows(w, on_time);
  tender::test::add_bid_rows(w, missed);
  ASSERT_EQ(count(w, "SELECT count(*) FROM tenders WHERE state = 'published'"), 2);
  ASSERT_TRUE(wait_until(
      [&] {
        return w.db().query_value(
                   "SELECT deadline_at < clock_timestamp() FROM tenders WHERE id "
                   "= '" +
                   missed + "'") == "t";
      },
      10s, 20ms));
  EXPECT_EQ(count(w, "SELECT count(*) FROM scheduled_jobs WHERE fired_at IS NOT NULL"), 0);
  EXPECT_EQ(count(w, "SELECT count(*) FROM tenders WHERE state = 'published'"), 2);
  const std::string down_until = w.db().query_value("SELECT clock_timestamp()::text");
  w.kill_and_restart_server();  // the old process is gone already: this starts a new one
  const std::string restarted = w.db().query_value("SELECT clock_timestamp()::text");

  const bool done = wait_until(
      [&] {
        return w.db().query_value("SELECT string_agg(state, ',' ORDER BY id) FROM tenders") ==
               "opening,closed";
      },
      20s, 20ms);
  ASSERT_TRUE(done) << w.server().log();

  // Exactly once: one audit event and one feed event per transition.
  for (const auto& id : {on_time, missed}) {
    EXPECT_EQ(count(w,
                    "SELECT count(*) FROM audit_events WHERE action = "
                    "'tender.deadline_reached' AND subject = '" +
                        id + "' AND actor = 'tenderd-scheduler' AND role = 'system'"),
              1)
        << id;
    EXPECT_EQ(count(w,
                    "SELECT count(*) FROM feed_events WHERE kind = 'tender.deadline_reached' "
                    "AND tender_id = '" +
                        id + "' AND payload->>'tender_id' = '" + id + "'"),
              1)
        << id;
  }
  EXPECT_EQ(count(w,
                  "SELECT count(*) FROM audit_events WHERE action = 'tender.opening_due' AND "
                  "subject = '" +
                      on_time + "'"),
            1);
  // The missed deadline fired after the restart, right after it; the others at their time.
  // Tolerance: poll interval + 1 s after max(due time, restart), and never before the due time.
  EXPECT_EQ(count(w, "SELECT count(*) FROM scheduled_jobs WHERE subject = '" + missed +
                         "' AND fired_at > '" + down_until + "'::timestamptz AND fired_at < '" +
                         restarted + "'::timestamptz + interval '3 seconds'"),
            1)
      << "startup plus tolerance";
  EXPECT_EQ(count(w,
                  "SELECT count(*) FROM scheduled_jobs WHERE fired_at >= due_at AND fired_at "
                  "< greatest(due_at, '" +
                      restarted +
                      "'::timestamptz + interval '2 seconds') + "
                      "interval '1100 milliseconds'"),
            3)
      << w.db().query_value(
             "SELECT string_agg(kind || ' ' || subject || ' ' || due_at || ' ' || "
             "fired_at, '; ') FROM scheduled_jobs");
  // A structured line per fired job.
  const auto log = w.server().log();
  EXPECT_NE(log.find("\"msg\":\"scheduled job fired\""), std::string::npos) << log;
  EXPECT_NE(log.find("\"lateness_ms\""), std::string::npos);
  // A signed checkpoint covers the transitions.
  EXPECT_GE(count(w, "SELECT max(size) FROM audit_checkpoints"),
            count(w, "SELECT max(seq) + 1 FROM audit_events WHERE action = 'tender.opening_due'"));

  // Nothing fires twice, whatever restarts follow.
  const auto audit_before =
      count(w, "SELECT count(*) FROM audit_events WHERE action LIKE 'tender.%'");
  w.kill_and_restart_server();
  wait_until([] { return false; }, 500ms);
  EXPECT_EQ(count(w, "SELECT count(*) FROM audit_events WHERE action LIKE 'tender.%'"),
            audit_before);
  // Three transitions, and the bid seal of each tender's lot at its deadline.
  EXPECT_EQ(count(w, "SELECT count(*) FROM feed_events"), 5);
  EXPECT_EQ(count(w, "SELECT count(*) FROM feed_events WHERE kind = 'bids.sealed'"), 2);
}

TEST(scheduler_e2e, a_disabled_scheduler_fires_nothing) {
  tender::test::world w("scheduler-off", {{"TENDERD_SCHEDULER_ENABLED", "false"}});
  w.user("acme-host", "acme", "tenderer", {"tenderer"});
  add_published_tender(w, "t-00000000000000c3", "E2E-C", "clock_timestamp() - interval '1 second'",
                       "NULL");
  wait_until([] { return false; }, 1000ms);
  EXPECT_EQ(w.db().query_value("SELECT state FROM tenders"), "published");
  EXPECT_EQ(count(w, "SELECT count(*) FROM scheduled_jobs WHERE fired_at IS NULL"), 1);
  EXPECT_NE(w.server().log().find("scheduler disabled"), std::string::npos);
}

// Issue 15 §2: a job whose tender row is always locked when it looks (SKIP LOCKED finds it busy
// round after round) waits for the row after a bounded number of busy rounds. The locker here
// lets go only once a backend is waiting for its lock: without the bound the job would skip the
// row for ever and nobody would ever wait, so the deadline would never fire.
TEST(scheduler_e2e, a_job_whose_tender_is_always_locked_waits_for_it_after_bounded_busy_rounds) {
  tender::test::world w("scheduler", {{"TENDERD_SCHEDULER_POLL_INTERVAL_MS", "50"}});
  w.user("acme-host", "acme", "tenderer", {"tenderer"});
  const std::string id = "t-00000000000000c3";
  add_published_tender(w, id, "E2E-C", "clock_timestamp() + interval '1 hour'", "NULL");
  tender::test::add_bid_rows(w, id);
  const std::string where = " WHERE id = '" + id + "'";

  pqxx::connection locker(w.db().conninfo());
  pqxx::work held(locker);
  held.exec("SELECT 1 FROM tenders" + where + " FOR UPDATE");
  // The deadline passes, committed when the lock goes; the job is due now.
  held.exec("UPDATE tenders SET deadline_at = clock_timestamp() - interval '1 millisecond'" +
            where);
  w.db().exec("UPDATE scheduled_jobs SET due_at = clock_timestamp() WHERE subject = '" + id +
              "' AND kind = 'tender.deadline'");
  const std::string waiting_for_locker = "SELECT count(*) FROM pg_stat_activity WHERE " +
                                         std::to_string(locker.backendpid()) +
                                         " = ANY(pg_blocking_pids(pid))";
  const bool someone_waits =
      wait_until([&] { return count(w, waiting_for_locker) > 0; }, 30s, 50ms);
  held.commit();
  EXPECT_TRUE(someone_waits) << "the deadline job never waited for the locked tender\n"
                             << w.server().log();
  EXPECT_TRUE(wait_until(
      [&] { return w.db().query_value("SELECT state FROM tenders" + where) != "published"; }, 30s,
      50ms))
      << w.server().log();
  EXPECT_EQ(count(w, "SELECT count(*) FROM scheduled_jobs WHERE subject = '" + id +
                         "' AND kind = 'tender.deadline' AND fired_at IS NOT NULL"),
            1);
}

}  // namespace
