#include <tender/db/scheduler.hpp>

#include <tender/db/hall.hpp>

#include <tender/db/bids.hpp>
#include <tender/db/error.hpp>

#include "audit_tx.hpp"
#include "feed_tx.hpp"
#include "pool.hpp"
#include "sql_array.hpp"

#include <tender/core/log.hpp>
#include <tender/crypto/signed_note.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>

#include <pqxx/pqxx>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <functional>
#include <future>
#include <map>
#include <optional>
#include <set>
#include <utility>
#include <vector>

namespace asio = boost::asio;

namespace tender::db {
namespace json = boost::json;

namespace {

#define TENDER_SCHED_TIME(col) \
  "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"

// Only rows due by the database's clock; rows another transaction holds (another node's round, an
// amendment moving due_at) are skipped, and a row whose due_at was moved later while we waited
// for nothing is re-checked by PostgreSQL before it is locked.
// Rows of a kind with a preparer ($2) are claimed only once prepared ($3).
constexpr const char* claim_sql =
    "SELECT id, kind, subject, " TENDER_SCHED_TIME("due_at") ", attempts FROM scheduled_jobs "
    "WHERE fired_at IS NULL AND due_at <= clock_timestamp() AND (kind <> ALL($2::text[]) OR "
    "id = ANY($3::bigint[])) ORDER BY due_at, id LIMIT $1 FOR UPDATE SKIP LOCKED";

// Due rows of the kinds with a preparer ($1), read without locking them.
constexpr const char* due_prepared_sql =
    "SELECT id, kind, subject, " TENDER_SCHED_TIME("due_at") ", attempts FROM scheduled_jobs "
    "WHERE fired_at IS NULL AND due_at <= clock_timestamp() AND kind = ANY($1::text[]) "
    "ORDER BY due_at, id";

constexpr const char* fire_sql =
    "UPDATE scheduled_jobs SET fired_at = clock_timestamp(), last_error = $2 WHERE id = $1 "
    "RETURNING " TENDER_SCHED_TIME("fired_at") ", "
    "floor(extract(epoch FROM fired_at - due_at) * 1000)::bigint";

constexpr const char* reschedule_sql =
    "UPDATE scheduled_jobs SET due_at = $2::timestamptz WHERE id = $1";

// A failed attempt waits $4 seconds (never making the row due earlier); the last one parks it.
constexpr const char* fail_sql =
    "UPDATE scheduled_jobs SET attempts = attempts + 1, last_error = $2, due_at = CASE "
    "WHEN attempts + 1 >= $3 THEN 'infinity'::timestamptz "
    "ELSE greatest(due_at, clock_timestamp() + make_interval(secs => $4)) END "
    "WHERE id = $1 RETURNING attempts, due_at = 'infinity'::timestamptz";

// Rows being prepared ($1) are not waited for here: their preparation wakes the loop.
constexpr const char* next_due_sql =
    "SELECT extract(epoch FROM min(due_at) - clock_timestamp()) * 1000 FROM scheduled_jobs "
    "WHERE fired_at IS NULL AND due_at < 'infinity'::timestamptz AND NOT (id = ANY($1::bigint[]))";

// The tender row, locked for the transition. SKIP LOCKED: the scheduler already holds the job
// row, and an endpoint changing the tender (an amendment) locks the tender and then the job row,
// so waiting here could deadlock; a busy tender is simply tried again in the next round. A row
// busy round after round is run waiting (scheduled_job::wait), holding nothing before it.
// clang-format off
#define TENDER_LOCK_TENDER(col)                                                   \
  "SELECT state, " TENDER_SCHED_TIME(col) ", " col " <= clock_timestamp() "       \
  "FROM tenders WHERE id = $1 FOR UPDATE"
// clang-format on
constexpr const char* lock_tender_deadline_sql = TENDER_LOCK_TENDER("deadline_at") " SKIP LOCKED";
constexpr const char* lock_tender_opening_sql = TENDER_LOCK_TENDER("opening_at") " SKIP LOCKED";
constexpr const char* wait_tender_deadline_sql = TENDER_LOCK_TENDER("deadline_at");
constexpr const char* wait_tender_opening_sql = TENDER_LOCK_TENDER("opening_at");
#undef TENDER_LOCK_TENDER

// A row busy too many rounds, read unlocked: it is locked only after its subject (waited_on).
constexpr const char* peek_due_sql =
    "SELECT id, kind, subject, " TENDER_SCHED_TIME("due_at") ", attempts FROM scheduled_jobs "
    "WHERE id = $1 AND fired_at IS NULL AND due_at <= clock_timestamp()";
constexpr const char* lock_row_sql =
    "SELECT 1 FROM scheduled_jobs WHERE id = $1 AND fired_at IS NULL FOR UPDATE SKIP LOCKED";

constexpr const char* tender_exists_sql = "SELECT 1 FROM tenders WHERE id = $1";

constexpr const char* transition_sql =
    "UPDATE tenders SET state = $2, version = version + 1, updated_at = clock_timestamp() "
    "WHERE id = $1 AND state = $3";

#undef TENDER_SCHED_TIME

// The JSON of {"tender_id": ..., <time_key>: ...} with keys sorted: both the feed payload and the
// text whose digest the audit event carries, so anyone can recompute the digest from the feed.
std::string tender_time_payload(const std::string& tender_id, const std::string& time_key,
                                const std::string& time) {
  // time_key sorts before "tender_id" ("deadline_at", "opening_at").
  return "{" + json::serialize(json::value(time_key)) + ":" + json::serialize(json::value(time)) +
         "," + json::serialize(json::value("tender_id")) + ":" +
         json::serialize(json::value(tender_id)) + "}";
}

struct step {
  const char* lock_sql;
  const char* wait_sql;  // the same lock, waited for (scheduled_job::wait)
  const char* from_state;
  const char* to_state;
  const char* action;    // audit action and feed kind
  const char* time_key;  // the tender column the job follows
  // Optional, run with the tender locked once its time has come: a row (the time to try again)
  // puts the step off.
  const char* hold_sql = nullptr;
};

// The deadline's seal waits for the bids whose last byte came before the deadline and whose
// verification is still running (bids.hpp, last_byte), for at most 15 minutes after that byte;
// then it seals without them (their uploads become void).
constexpr const char* completions_in_flight_sql =
    "SELECT (clock_timestamp() + interval '1 second')::text FROM uploads u JOIN tenders t ON "
    "t.id = u.tender_id WHERE u.tender_id = $1 AND u.state = 'open' AND u.last_byte_at IS NOT "
    "NULL AND u.last_byte_at < t.deadline_at AND u.last_byte_at > clock_timestamp() - interval "
    "'15 minutes' LIMIT 1";

job_outcome run_step(pqxx::transaction_base& tx, const scheduled_job& j, const step& s,
                     const std::string& actor) {
  job_outcome out;
  const auto rows = tx.exec_params(j.wait ? s.wait_sql : s.lock_sql, j.subject);
  if (rows.empty()) {
    if (!tx.exec_params(tender_exists_sql, j.subject).empty()) {
      out.busy = true;
      return out;
    }
    out.note = "no tender " + j.subject;
    return out;
  }
  const auto state = rows[0][0].as<std::string>();
  if (rows[0][1].is_null()) {
    out.note = std::string("tender has no ") + s.time_key;
    return out;
  }
  const auto time = rows[0][1].as<std::string>();
  if (state != s.from_state) {
    // The deadline cannot pass for the opening while the deadline step itself is still pending:
    // wait for it (retried with back-off).
    if (std::string(s.from_state) == "closed" && state == "published") {
      throw error(scheduler_codes::not_ready,
                  "tender " + j.subject + " is still published: its deadline has not fired yet");
    }
    out.note = "tender is " + state + ": no transition";
    return out;
  }
  if (!rows[0][2].as<bool>()) {
    // The tender's time moved later than this row says: follow the tender.
    out.reschedule_to = time;
    return out;
  }
  if (s.hold_sql != nullptr) {
    if (const auto held = tx.exec_params(s.hold_sql, j.subject); !held.empty()) {
      out.reschedule_to = held[0][0].as<std::string>();
      out.note = "bids whose last byte came before the deadline are still being verified";
      return out;
    }
  }
  const auto changed =
      tx.exec_params(transition_sql, j.subject, std::string(s.to_state), std::string(s.from_state));
  if (changed.affected_rows() != 1) throw error("db.usage", "the locked tender did not change");
  const std::string payload = tender_time_payload(j.subject, s.time_key, time);
  audit_entry e;
  e.actor = actor;
  e.role = "system";
  e.action = s.action;
  e.subject = j.subject;
  e.payload_digest = audit_payload_digest(payload);
  audit_tx::append(tx, e);
  feed_tx::append(tx, j.subject, s.action, payload);
  out.wants_checkpoint = true;
  return out;
}

std::string describe_exception(const std::exception_ptr& p) {
  try {
    std::rethrow_exception(p);
  } catch (const error& e) {
    return "[" + e.code() + "] " + one_line(e.what());
  } catch (const std::exception& e) {
    return one_line(e.what());
  } catch (...) {
    return "unknown exception";
  }
}

// What one round did, logged on the I/O side after the commit.
struct fired_job {
  scheduled_job job;
  std::string fired_at;
  std::int64_t lateness_ms = 0;
  std::optional<std::string> note;
};
struct failed_job {
  scheduled_job job;
  std::string error;
  int attempts = 0;
  bool parked = false;
};
struct moved_job {
  scheduled_job job;
  std::string due_at;
};
struct round_result {
  std::size_t claimed = 0;
  std::size_t busy = 0;
  std::vector<std::int64_t> settled;   // prepared rows fired, moved or failed: forget their result
  std::vector<std::int64_t> busy_ids;  // rows whose subject was locked by someone else
  std::vector<std::int64_t> done_ids;  // rows fired, moved or failed
  std::vector<fired_job> fired;
  std::vector<failed_job> failed;
  std::vector<moved_job> moved;
  std::optional<std::uint64_t> checkpoint_size;
  std::optional<std::string> checkpoint_error;
  std::optional<double> next_due_ms;
};

}  // namespace

job_handler tender_deadline_handler(std::string actor, bool seal_bids,
                                    std::shared_ptr<const crypto::note::ed25519_signer> signer) {
  return [actor = std::move(actor), seal_bids, signer = std::move(signer)](
             pqxx::transaction_base& tx, const scheduled_job& j) {
    static const step s{lock_tender_deadline_sql,
                        wait_tender_deadline_sql,
                        "published",
                        "closed",
                        "tender.deadline_reached",
                        "deadline_at",
                        completions_in_flight_sql};
    if (seal_bids) {
      // The hall row before the tender's audit events (lock order of hall.hpp); never waited for:
      // a hall held by an action is simply tried again in the next round.
      const auto held =
          tx.exec_params(j.wait ? "SELECT 1 FROM halls WHERE tender_id = $1 FOR UPDATE"
                                : "SELECT 1 FROM halls WHERE tender_id = $1 FOR UPDATE SKIP LOCKED",
                         j.subject);
      if (held.empty() &&
          !tx.exec_params("SELECT 1 FROM halls WHERE tender_id = $1", j.subject).empty()) {
        job_outcome busy;
        busy.busy = true;
        return busy;
      }
    }
    auto out = run_step(tx, j, s, actor);
    // wants_checkpoint: the tender moved to closed in this transaction, so it is sealed in it too.
    if (seal_bids && out.wants_checkpoint) {
      const bool failed = seal_tender_bids(tx, j.subject, actor, signer.get());
      if (failed) out.note = "fewer bids than the rule pack's min_bids: the tender failed";
      // The opening hall: sealed (or failed), with one hall_bids row per current bid.
      hall_on_deadline(tx, j.subject, failed);
    }
    return out;
  };
}

job_handler tender_opening_handler(std::string actor) {
  return [actor = std::move(actor)](pqxx::transaction_base& tx, const scheduled_job& j) {
    static const step s{lock_tender_opening_sql,
                        wait_tender_opening_sql,
                        "closed",
                        "opening",
                        "tender.opening_due",
                        "opening_at"};
    return run_step(tx, j, s, actor);
  };
}

struct scheduler::impl : std::enable_shared_from_this<impl> {
  static constexpr double min_pause_ms = 10.0;

  impl(asio::any_io_executor io, pool& p, options o)
      : strand(asio::make_strand(std::move(io))),
        connections(p),
        opts(std::move(o)),
        timer(strand) {
    if (opts.batch_size == 0) opts.batch_size = 1;
    if (opts.max_attempts == 0) opts.max_attempts = 1;
    if (opts.poll_interval.count() <= 0) opts.poll_interval = std::chrono::milliseconds(1);
  }

  double retry_seconds(int attempts_before) const {
    const double base = static_cast<double>(opts.retry_delay.count()) / 1000.0;
    const double cap = static_cast<double>(opts.retry_delay_max.count()) / 1000.0;
    const double d = base * std::pow(2.0, std::min(attempts_before, 30));
    return std::min(d, cap);
  }

  // What a round needs to know of the preparations, copied on the strand before it starts (the
  // preparations go on changing on the strand while the round runs on a pool thread).
  struct prep_view {
    std::string kinds;    // text[] of the kinds with a preparer
    std::string ready;    // bigint[] of the rows whose preparation finished
    std::string pending;  // bigint[] of the rows still being prepared
    std::map<std::int64_t, std::shared_ptr<const std::any>> results;
  };

  prep_view view_of_preparations() const {
    prep_view v;
    std::vector<std::string> kinds;
    for (const auto& [k, p] : preparers)
      kinds.push_back(k);
    std::vector<std::int64_t> ready;
    std::vector<std::int64_t> pending;
    for (const auto& [id, p] : preps) {
      if (p.result) {
        ready.push_back(id);
        v.results[id] = p.result;
      } else {
        pending.push_back(id);
      }
    }
    v.kinds = text_array(kinds);
    v.ready = int_array(ready);
    v.pending = int_array(pending);
    return v;
  }

  // Runs the handler of `j` in a savepoint of `tx`, then records its outcome on the row, which
  // `claim` must have locked (it is called after the handler; false: the row is not ours, and the
  // caller rolls back). Returns whether the handler wants a checkpoint, nullopt when not claimed.
  std::optional<bool> run_one(pqxx::transaction_base& tx, const scheduled_job& j, round_result& r,
                              const std::function<bool()>& claim) {
    job_outcome outcome;
    std::exception_ptr failure;
    // A plain SQL savepoint: the handler works on the round's transaction itself, and a
    // failure rolls back exactly what it did.
    tx.exec0("SAVEPOINT scheduled_job");
    try {
      const auto h = handlers.find(j.kind);
      if (h == handlers.end()) {
        throw error(scheduler_codes::no_handler, "no handler for kind '" + j.kind + "'");
      }
      outcome = h->second(tx, j);
    } catch (const pqxx::sql_error& e) {
      // Waiting for the subject ran past the lock timeout: still busy, not a failure.
      if (j.wait && e.sqlstate() == "55P03")
        outcome.busy = true;
      else
        failure = std::current_exception();
    } catch (...) {
      failure = std::current_exception();
    }
    tx.exec0(failure || outcome.busy ? "ROLLBACK TO SAVEPOINT scheduled_job"
                                     : "RELEASE SAVEPOINT scheduled_job");
    if (!claim()) return std::nullopt;
    if (j.prepared != nullptr && (failure || !outcome.busy)) r.settled.push_back(j.id);
    (outcome.busy && !failure ? r.busy_ids : r.done_ids).push_back(j.id);
    if (failure) {
      failed_job f{j, describe_exception(failure), 0, false};
      const auto res = tx.exec_params1(fail_sql, j.id, f.error, static_cast<int>(opts.max_attempts),
                                       retry_seconds(j.attempts));
      f.attempts = res[0].as<int>();
      f.parked = res[1].as<bool>();
      r.failed.push_back(std::move(f));
    } else if (outcome.busy) {
      ++r.busy;
    } else if (outcome.reschedule_to) {
      tx.exec_params0(reschedule_sql, j.id, *outcome.reschedule_to);
      r.moved.push_back({j, *outcome.reschedule_to});
    } else {
      const char* note = outcome.note ? outcome.note->c_str() : nullptr;
      const auto res = tx.exec_params1(fire_sql, j.id, note);
      r.fired.push_back({j, res[0].as<std::string>(), res[1].as<std::int64_t>(), outcome.note});
      return outcome.wants_checkpoint;
    }
    return false;
  }

  static scheduled_job job_of(const pqxx::row& row) {
    scheduled_job j;
    j.id = row[0].as<std::int64_t>();
    j.kind = row[1].as<std::string>();
    j.subject = row[2].as<std::string>();
    j.due_at = row[3].as<std::string>();
    j.attempts = row[4].as<int>();
    return j;
  }

  void checkpoint(pqxx::transaction_base& tx, round_result& r) {
    if (!opts.signer) return;
    // A signed checkpoint at the moment of the transitions. Best effort: the periodic
    // checkpoint task covers these events anyway, so a failure here does not undo them.
    tx.exec0("SAVEPOINT scheduler_checkpoint");
    try {
      const auto cp = audit_tx::checkpoint(tx, opts.origin, *opts.signer);
      if (cp) r.checkpoint_size = cp->size;
    } catch (...) {
      r.checkpoint_error = describe_exception(std::current_exception());
    }
    tx.exec0(r.checkpoint_error ? "ROLLBACK TO SAVEPOINT scheduler_checkpoint"
                                : "RELEASE SAVEPOINT scheduler_checkpoint");
  }

  // One transaction: claim, run each handler in a savepoint, record, checkpoint, commit.
  void round_on(pqxx::connection_base& c, round_result& r, const prep_view& pv) {
    pqxx::work tx(c);
    const auto rows =
        tx.exec_params(claim_sql, static_cast<int>(opts.batch_size), pv.kinds, pv.ready);
    r.claimed = rows.size();
    bool checkpoint_wanted = false;
    const std::function<bool()> claimed = [] { return true; };
    for (const auto& row : rows) {
      auto j = job_of(row);
      const auto prepared = pv.results.find(j.id);
      if (prepared != pv.results.end()) j.prepared = prepared->second.get();
      checkpoint_wanted = run_one(tx, j, r, claimed).value_or(false) || checkpoint_wanted;
    }
    if (checkpoint_wanted) checkpoint(tx, r);
    const auto next = tx.exec_params(next_due_sql, pv.pending);
    if (!next.empty() && !next[0][0].is_null()) r.next_due_ms = next[0][0].as<double>();
    tx.commit();
  }

  // A row whose subject was busy opts.max_busy_rounds rounds in a row: a steady stream of
  // requests on the subject (a hall taking actions by the thousand) and SKIP LOCKED would keep
  // missing it. It runs alone, locking in the order every request locks: its subject first,
  // waited for (at most opts.busy_lock_timeout), then its row, never waited for (another node's
  // round may hold it: then everything here is rolled back and that round decides).
  void waited_on(pqxx::connection_base& c, std::int64_t id, round_result& r, const prep_view& pv) {
    pqxx::work tx(c);
    tx.exec0("SET LOCAL lock_timeout = " + std::to_string(opts.busy_lock_timeout.count()));
    const auto rows = tx.exec_params(peek_due_sql, id);
    if (rows.empty()) {
      r.done_ids.push_back(id);  // fired or moved meanwhile: nothing to wait for
      return;
    }
    auto j = job_of(rows[0]);
    j.wait = true;
    if (preparers.count(j.kind) != 0) {
      const auto prepared = pv.results.find(j.id);
      if (prepared == pv.results.end()) return;  // not without its preparation
      j.prepared = prepared->second.get();
    }
    const std::function<bool()> claim = [&] { return !tx.exec_params(lock_row_sql, id).empty(); };
    const auto wanted = run_one(tx, j, r, claim);
    if (!wanted) return;  // the row is another round's: rolled back
    r.claimed = 1;
    if (*wanted) checkpoint(tx, r);
    tx.commit();
  }

  asio::awaitable<round_result> round() {
    round_result r;
    auto self = shared_from_this();
    const auto pv = view_of_preparations();
    pool::job job = [self, &r, &pv](pqxx::connection_base& c) { self->round_on(c, r, pv); };
    co_await connections.run(std::move(job));
    settle(r);
    co_return r;
  }

  // The bookkeeping of a round on the strand: results of preparations used, busy counts.
  void settle(const round_result& r) {
    for (const auto id : r.settled)
      preps.erase(id);
    for (const auto id : r.busy_ids)
      ++busy_rounds[id];
    for (const auto id : r.done_ids)
      busy_rounds.erase(id);
  }

  // Each row busy too many rounds in a row is run once, waiting for its subject.
  asio::awaitable<void> run_starved() {
    std::vector<std::int64_t> starved;
    for (const auto& [id, n] : busy_rounds)
      if (n >= opts.max_busy_rounds) starved.push_back(id);
    auto self = shared_from_this();
    for (const auto id : starved) {
      round_result r;
      const auto pv = view_of_preparations();
      pool::job job = [self, id, &r, &pv](pqxx::connection_base& c) {
        self->waited_on(c, id, r, pv);
      };
      co_await connections.run(std::move(job));
      settle(r);
      report(r);
    }
  }

  // Starts the preparation of every due row of a kind with a preparer that has none yet: its
  // read in one short read-only transaction for all of them, then its call on its own, holding
  // neither a lock nor a connection; the loop goes on with the other rows meanwhile and is woken
  // when a preparation ends. A read or call that fails gives an empty result: the handler then
  // runs without what the call would have told it, rather than never.
  asio::awaitable<void> prepare_due() {
    struct start {
      scheduled_job job;
      std::any read;
    };
    std::vector<start> starts;
    std::set<std::int64_t> due;
    std::set<std::int64_t> known;
    for (const auto& [id, p] : preps)
      known.insert(id);
    const auto kinds = view_of_preparations().kinds;
    auto self = shared_from_this();
    pool::job job = [self, &starts, &due, &known, &kinds](pqxx::connection_base& c) {
      pqxx::read_transaction tx(c);
      for (const auto& row : tx.exec_params(due_prepared_sql, kinds)) {
        auto j = job_of(row);
        due.insert(j.id);
        if (known.count(j.id) != 0) continue;
        std::any read;
        try {
          read = self->preparers.at(j.kind).read(tx, j);
        } catch (const pqxx::failure&) {
          throw;  // the transaction is gone: the whole read is tried again next round
        } catch (const std::exception& e) {
          core::log::warn("scheduled job preparation could not read",
                          {{"job_id", j.id}, {"kind", j.kind}, {"error", e.what()}});
        }
        starts.push_back({std::move(j), std::move(read)});
      }
    };
    co_await connections.run(std::move(job));
    // Finished preparations of rows no longer due (fired or moved by another node) are dropped.
    for (auto it = preps.begin(); it != preps.end();) {
      if (it->second.result && due.count(it->first) == 0)
        it = preps.erase(it);
      else
        ++it;
    }
    for (auto& s : starts) {
      preps[s.job.id] = {};
      asio::co_spawn(strand, prepare(self, std::move(s.job), std::move(s.read)), asio::detached);
    }
  }

  static asio::awaitable<void> prepare(std::shared_ptr<impl> self, scheduled_job j, std::any read) {
    std::any result;
    try {
      if (read.has_value()) result = co_await self->preparers.at(j.kind).call(std::move(read), j);
    } catch (const std::exception& e) {
      core::log::warn("scheduled job preparation failed",
                      {{"job_id", j.id}, {"kind", j.kind}, {"error", e.what()}});
    }
    // Back on the strand (the call's completion resumes here).
    if (const auto it = self->preps.find(j.id); it != self->preps.end())
      it->second.result = std::make_shared<const std::any>(std::move(result));
    self->timer.cancel();
  }

  void report(const round_result& r) {
    for (const auto& f : r.fired) {
      json::object fields{{"job_id", f.job.id},
                          {"kind", f.job.kind},
                          {"subject", f.job.subject},
                          {"due_at", f.job.due_at},
                          {"fired_at", f.fired_at},
                          {"lateness_ms", f.lateness_ms},
                          {"failed_attempts", f.job.attempts}};
      if (f.note) fields["note"] = *f.note;
      core::log::info("scheduled job fired", std::move(fields));
    }
    for (const auto& m : r.moved) {
      core::log::info("scheduled job moved later", {{"job_id", m.job.id},
                                                    {"kind", m.job.kind},
                                                    {"subject", m.job.subject},
                                                    {"due_at", m.job.due_at},
                                                    {"new_due_at", m.due_at}});
    }
    for (const auto& f : r.failed) {
      core::log::write(f.parked ? core::log::level::error : core::log::level::warn,
                       f.parked ? "scheduled job failed; parked after its last attempt"
                                : "scheduled job failed; will retry",
                       {{"job_id", f.job.id},
                        {"kind", f.job.kind},
                        {"subject", f.job.subject},
                        {"due_at", f.job.due_at},
                        {"attempts", f.attempts},
                        {"error", f.error}});
    }
    if (r.checkpoint_error) {
      core::log::warn("scheduler could not sign a checkpoint", {{"error", *r.checkpoint_error}});
    } else if (r.checkpoint_size) {
      core::log::debug("scheduler checkpoint", {{"size", *r.checkpoint_size}});
    }
    fired_count.fetch_add(r.fired.size());
    failed_count.fetch_add(r.failed.size());
  }

  asio::awaitable<void> run() {
    while (!stopping.load()) {
      std::chrono::milliseconds wait = opts.poll_interval;
      const bool ready = !opts.ready || opts.ready();
      if (ready) {
        try {
          if (!preparers.empty()) co_await prepare_due();
          const round_result r = co_await round();
          report(r);
          co_await run_starved();
          if (failing) core::log::info("scheduler recovered");
          failing = false;
          if (r.claimed >= opts.batch_size && r.busy < r.claimed) {
            wait = std::chrono::milliseconds(0);  // more may be due right now
          } else if (r.next_due_ms) {
            // Wake just after the next due time, but never sleep past one poll interval: rows
            // inserted or moved meanwhile by other nodes are seen within that interval. Rows
            // already due but held by someone else are looked at again after a short pause.
            const double ms = std::max(min_pause_ms, std::ceil(*r.next_due_ms) + 1.0);
            wait = std::min(wait, std::chrono::milliseconds(static_cast<std::int64_t>(ms)));
          }
        } catch (const std::exception& e) {
          if (!failing) {
            const auto* de = dynamic_cast<const error*>(&e);
            core::log::warn("scheduler round failed; will retry",
                            {{"code", de != nullptr ? de->code() : std::string("unknown")},
                             {"error", e.what()}});
          }
          failing = true;
        }
      }
      if (wait.count() > 0 && !stopping.load()) {
        timer.expires_after(wait);
        boost::system::error_code ec;
        co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      }
    }
  }

  asio::strand<asio::any_io_executor> strand;
  pool& connections;
  options opts;
  std::map<std::string, job_handler> handlers;
  std::map<std::string, job_preparer> preparers;
  struct preparation {
    std::shared_ptr<const std::any> result;  // null while the call runs
  };
  std::map<std::int64_t, preparation> preps;     // by row id; only touched on the strand
  std::map<std::int64_t, unsigned> busy_rounds;  // rows found busy, rounds in a row; on the strand
  asio::steady_timer timer;
  std::atomic<bool> stopping{false};
  std::atomic<bool> started{false};
  bool failing = false;  // only touched by run()
  std::atomic<std::uint64_t> fired_count{0};
  std::atomic<std::uint64_t> failed_count{0};
  std::promise<void> done;
};

scheduler::scheduler(asio::any_io_executor io, pool& connections, options opts)
    : impl_(std::make_shared<impl>(std::move(io), connections, std::move(opts))) {
  impl_->handlers["tender.deadline"] =
      tender_deadline_handler(impl_->opts.actor, impl_->opts.seal_bids, impl_->opts.signer);
  impl_->handlers["tender.opening"] = tender_opening_handler(impl_->opts.actor);
}

scheduler::~scheduler() = default;

void scheduler::set_handler(const std::string& kind, job_handler h) {
  impl_->handlers[kind] = std::move(h);
}

void scheduler::set_preparer(const std::string& kind, job_preparer p) {
  impl_->preparers[kind] = std::move(p);
}

void scheduler::start() {
  auto self = impl_;
  if (self->started.exchange(true)) return;
  core::log::info(
      "scheduler started",
      {{"poll_interval_ms", static_cast<std::int64_t>(self->opts.poll_interval.count())},
       {"batch_size", self->opts.batch_size}});
  asio::co_spawn(self->strand, self->run(), [self](const std::exception_ptr& e) {
    if (e) {
      core::log::error("scheduler task failed", {{"error", describe_exception(e)}});
    }
    self->done.set_value();
  });
}

void scheduler::stop(std::chrono::steady_clock::time_point deadline) {
  auto self = impl_;
  if (self->stopping.exchange(true)) return;
  asio::post(self->strand, [self] { self->timer.cancel(); });
  if (self->started.load() &&
      self->done.get_future().wait_until(deadline) != std::future_status::ready) {
    core::log::warn("scheduler did not stop in time");
  }
}

std::uint64_t scheduler::fired() const {
  return impl_->fired_count.load();
}

std::uint64_t scheduler::failed() const {
  return impl_->failed_count.load();
}

}  // namespace tender::db
