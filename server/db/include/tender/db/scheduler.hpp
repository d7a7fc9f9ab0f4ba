#pragma once

// The scheduler of timed transitions (deadline reached, opening due, ...): rows of
// scheduled_jobs (migration 0004) that fall due by PostgreSQL's clock.
//
// A loop on the I/O executor claims due rows with FOR UPDATE SKIP LOCKED on the pool's threads,
// runs the handler of each row's kind and sets fired_at in the same transaction. A job therefore
// fires exactly once whatever happens: a crash or kill -9 before the commit leaves the row unfired
// (another round picks it up), and several nodes never claim the same row. The host's clock is
// never used to decide what is due; it only paces the waits between rounds.
//
// A handler that throws is rolled back alone (a savepoint per job): the row records attempts and
// last_error and is retried after a growing delay; after max_attempts it is parked with due_at =
// 'infinity' (an operator re-arms it by setting due_at). Kinds without a handler are treated the
// same way, so they are never retried forever.
//
// Lock order: a round holds its claimed scheduled_jobs rows, then locks the subject (the tender,
// SKIP LOCKED), then audit_head and feed_head. A row busy many rounds in a row is run alone the
// other way round: its subject waited for, then the row (SKIP LOCKED), as requests lock. A request
// that upserts or deletes a job row must do so before its audit_tx::append, or it could deadlock
// with a round.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <any>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace pqxx {
class transaction_base;
}

namespace tender::crypto::note {
class ed25519_signer;
}

namespace tender::db {

class pool;

// Codes of db::error raised by the built-in handlers (recorded in last_error, then retried).
namespace scheduler_codes {
inline constexpr const char* not_ready = "scheduler.not_ready";  // the transition must wait
inline constexpr const char* no_handler = "scheduler.no_handler";
}  // namespace scheduler_codes

// One claimed row, as a handler sees it. Times are UTC, ISO 8601 with microseconds.
struct scheduled_job {
  std::int64_t id = 0;
  std::string kind;
  std::string subject;
  std::string due_at;
  int attempts = 0;  // failed attempts before this one
  // What the kind's preparer found before this round (see job_preparer); null for kinds without
  // one.
  const std::any* prepared = nullptr;
  // Set after the row was busy scheduler::options::max_busy_rounds rounds in a row: the handler
  // locks its subject waiting for it (no SKIP LOCKED). The scheduler then holds no lock yet: the
  // row is locked after the handler, so the order is that of every request (subject, then row).
  bool wait = false;
};

// What a handler did.
struct job_outcome {
  // Set: the job is not fired but moved to this due time (the subject's own time moved later,
  // e.g. an amendment changed the tender's deadline but the row was not updated yet).
  std::optional<std::string> reschedule_to;
  // Set: nothing changed (the subject was suspended, cancelled, already past that step); kept in
  // last_error of the fired row and logged.
  std::optional<std::string> note;
  // Set: the subject is locked by another transaction; the job stays due and is tried again in
  // the next round (no attempt counted).
  bool busy = false;
  // Set by a handler that appended audit events: sign a checkpoint at the end of the round.
  bool wants_checkpoint = false;
};

// Runs inside the claiming transaction (in a savepoint of its own); throws to roll back.
using job_handler = std::function<job_outcome(pqxx::transaction_base&, const scheduled_job&)>;

// Work a kind needs done outside any transaction before its handler runs: a call to another
// party's server, which may be slow or dead and must hold neither a row lock nor a pooled
// connection while it waits. When a row of the kind falls due, `read` runs in a short read-only
// transaction of its own; then `call` runs with what it read, holding nothing; only when it has
// finished is the row claimed and its handler given the result (scheduled_job::prepared). The
// scheduler's other rows fire meanwhile. If the handler does not fire the row (busy), the result
// is kept for the next round; otherwise the next time the row falls due it is prepared again.
struct job_preparer {
  std::function<std::any(pqxx::transaction_base&, const scheduled_job&)> read;
  std::function<boost::asio::awaitable<std::any>(std::any read, scheduled_job job)> call;
};

class scheduler {
public:
  struct options {
    // Longest wait between two rounds; the loop wakes earlier when the next due_at is sooner.
    std::chrono::milliseconds poll_interval{250};
    // Rows claimed per transaction.
    unsigned batch_size = 16;
    // After a failure the row waits retry_delay * 2^(attempts-1), at most retry_delay_max.
    std::chrono::milliseconds retry_delay{1000};
    std::chrono::milliseconds retry_delay_max{std::chrono::minutes(5)};
    unsigned max_attempts = 8;
    // A row whose subject is locked by someone else is "busy" and tried again next round; after
    // this many busy rounds in a row it is run waiting for its subject (scheduled_job::wait), at
    // most busy_lock_timeout at a time, so a steady stream of requests cannot starve it.
    unsigned max_busy_rounds = 20;
    std::chrono::milliseconds busy_lock_timeout{5000};
    // The audit actor of the transitions.
    std::string actor = "tenderd-scheduler";
    // Signed checkpoints after rounds that fired deadlines; none when signer is null.
    std::string origin;
    std::shared_ptr<const crypto::note::ed25519_signer> signer;
    // While this says false (database not ready yet), rounds are skipped.
    std::function<bool()> ready;
    // The deadline also seals each lot's bids, voids open uploads and fails a tender with fewer
    // bids than its rule pack's min_bids (db::seal_tender_bids; the seal notes are signed with
    // `signer`). tenderd turns it on; tests of the bare transitions may leave it off.
    bool seal_bids = false;
  };

  // Registers the built-in handlers (tender.deadline, tender.opening).
  scheduler(boost::asio::any_io_executor io, pool& connections, options opts);
  ~scheduler();
  scheduler(const scheduler&) = delete;
  scheduler& operator=(const scheduler&) = delete;

  // Replaces or adds the handler of `kind`. Call before start().
  void set_handler(const std::string& kind, job_handler h);
  // Adds the preparer of `kind` (see job_preparer). Call before start().
  void set_preparer(const std::string& kind, job_preparer p);

  void start();
  // Stops the loop and waits for the round in progress (at most until `deadline`). Must not be
  // called from an I/O thread.
  void stop(std::chrono::steady_clock::time_point deadline);

  // Jobs this instance fired (transitions and notes) and handler failures it recorded.
  std::uint64_t fired() const;
  std::uint64_t failed() const;

private:
  struct impl;
  std::shared_ptr<impl> impl_;
};

// The built-in handlers, exposed for tests and for wrapping.
// With `seal_bids`, the deadline seals the bids as well (see options::seal_bids).
job_handler tender_deadline_handler(
    std::string actor, bool seal_bids = false,
    std::shared_ptr<const crypto::note::ed25519_signer> signer = nullptr);
job_handler tender_opening_handler(std::string actor);

}  // namespace tender::db
