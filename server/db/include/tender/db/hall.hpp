#pragma once

// The opening hall in PostgreSQL (migration 0012_hall): the persisted state machine of
// protocol/docs/hall-protocol.md, its numbered events, sign-ins, decryption attempts, escrow
// shares, draws, confirmations, objections, outages and the signed opening record.
//
// Every change is one transaction that locks the hall row (halls ... FOR UPDATE), checks the
// phase, flags, role and times on PostgreSQL's clock, writes its rows, appends its hall event(s)
// with the next seq, appends exactly one audit event (hall.<action>) and sends
// NOTIFY tenderhall_hall '<tender_id> <seq>' (delivered at commit). Refusals throw db::error with
// a public code (hall.*, tender.not_found, auth.*) and change nothing.
//
// No crypto that reads a bid's body runs here: decrypt() records the attempt and returns the work
// (hall_work) that the application runs on its worker threads, then reports with
// finish_decryption(). Attempts still 'decrypting' after a crash are returned by pending_work().

#include <tender/db/error.hpp>
#include <tender/db/guarantees.hpp>
#include <tender/db/identity.hpp>
#include <tender/db/scheduler.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace pqxx {
class transaction_base;
}

namespace tender::crypto::note {
class ed25519_signer;
}

namespace tender::db {

class pool;

// The viewer's role in one hall (hall-protocol.md §2), resolved once per connection or request.
struct hall_viewer {
  std::string role;  // host | supervisor | bidder | custodian | public
  std::string user_id;
  std::string org_id;
  std::string org_name;
  // Hex SHA-256 of the login token the viewer acts under, when it has one: each act checks in its
  // own transaction that this session still lives (logout, revocation and expiry end what a
  // connection may do) and fails with auth.invalid_token otherwise.
  std::string session_hash;
  bool is_staff() const { return role == "host" || role == "supervisor"; }
};

// One stored event. `audience`: "all", "staff", "org:<org id>" (staff and that organisation),
// "own:<org id>" (that organisation and supervisors) or "supervisors" (supervisors only); of the
// last two the host only learns that the event happened (see counted_by): what is secret until
// the bidder list is published (SPEC §13).
struct hall_event {
  std::int64_t seq = 0;
  std::string kind;
  std::string at;          // UTC, microseconds
  std::string actor_json;  // {"user_id","org_id","role"} or "null" for the clock
  std::string data_json;
  std::string audience = "all";
  bool visible_to(const hall_viewer& v) const;
  // The viewer gets the event's kind and time without its actor or data (the host's view of an
  // "own:" sign-in or a "supervisors" guarantee check: it may count them, not know who).
  bool counted_by(const hall_viewer& v) const;
  // The one organisation (besides staff or supervisors) an "org:" or "own:" audience names.
  std::optional<std::string> audience_org() const;
};

// The message text of hall-protocol.md §4 for `e` as `v` sees it (a redacted placeholder when
// the audience excludes the viewer, the kind and time only when the viewer only counts it).
std::string hall_event_message(const hall_event& e, const hall_viewer& v);

struct hall_snapshot {
  std::int64_t seq = 0;
  boost::json::object hall;  // hall-protocol.md §7, already filtered for the viewer
};

// Work for the application's decryption workers: open `blob_digest` (a sealed file in the blob
// store) with the key material and report the outcome.
struct hall_work {
  std::int64_t attempt_id = 0;
  std::string tender_id;
  int lot = 0;
  std::string org_id;
  std::string source;        // bidder | backup | escrow
  std::string policy;        // bidder | bidder-or-escrow | bidder-and-escrow
  std::string blob_digest;   // the file to open (the primary or the backup)
  std::string header;        // the exact sealed header bytes of that file
  std::string key_material;  // raw: the file key, or the bidder's part under bidder-and-escrow
  std::optional<std::string> escrow_secret;  // raw combined escrow secret S when source escrow or
                                             // when bidder-and-escrow has its shares
  std::string commitment_hex;  // the sealed (primary) file's commitment, which a backup must match
};

struct hall_work_outcome {
  bool ok = false;
  std::string summary_json;  // the opened summary (ok)
  // When !ok, hall-protocol.md §10: wrong_key | bad_file (the bidder's side), or
  // file_unavailable | decryption_incomplete (the platform's side: treated as withdrawn).
  std::string cause;
  std::string message;  // for people, and the evidence of a platform-side cause
};

// The causes of a failed attempt that are the platform's fault (hall-protocol.md §10): the stored
// file is missing, unreadable or no longer matches its digest; the decryption did not finish (its
// worker failed, or it was still running hall.decrypt_timeout after the window's close).
inline constexpr const char* cause_file_unavailable = "file_unavailable";
inline constexpr const char* cause_decryption_incomplete = "decryption_incomplete";
inline bool platform_cause(std::string_view cause) {
  return cause == cause_file_unavailable || cause == cause_decryption_incomplete;
}

struct hall_act_result {
  boost::json::object result;       // the ack's "result"
  std::optional<std::int64_t> seq;  // the action's event, when it wrote one
  std::optional<hall_work> work;    // decryption to run (decrypt, share completing a threshold)
};

// A stored backup file awaiting decrypt {"file":"backup"}.
struct hall_backup_request {
  std::string tender_id;
  int lot = 0;
  std::string blob_digest;  // already in the blob store and checked with backup_check()
  std::uint64_t size = 0;
  std::string commitment_hex;
};

class hall {
public:
  struct options {
    // Signs the opening record (the audit log's signer); the record cannot be made without it.
    std::shared_ptr<const crypto::note::ed25519_signer> signer;
    std::string origin;  // the audit log's origin line
    std::chrono::milliseconds outage_threshold{5000};
    std::chrono::seconds challenge_ttl{120};
    unsigned max_attempts = 10;
    // Asks issuers for guarantees' live statuses. When set, check_guarantees asks the issuer of
    // every guarantee stored as valid first: outside the hall's transaction and holding no
    // connection (the lookup runs on the issuer gateway's own threads with its timeouts; an
    // issuer that cannot answer is named and not asked again in that check); when empty, it
    // uses the stored status only (kept current by the issuers' signed callbacks and by the
    // re-check before the opening).
    guarantee_lookup live_status;
    // Connections for what must not wait behind a backlog of actions queued on the main pool:
    // events(), head() and progress(), the reads behind the live fan-out, and heartbeat(), whose
    // lateness would be recorded as an outage of the platform (database::priority()). Null: the
    // main pool.
    pool* priority = nullptr;
    // The CA revocation lists a signer's certificate is checked against at every signed action.
    revocation_source revocations;
  };

  hall(pool& connections, options opts);

  // The viewer's role for `who` (nullopt: public). Throws tender.not_found (unknown or draft
  // tender), hall.not_public_yet (public before the list is published).
  boost::asio::awaitable<hall_viewer> viewer(std::string tender_id, std::optional<principal> who);

  boost::asio::awaitable<hall_snapshot> snapshot(std::string tender_id, hall_viewer v);
  // Events after `after` in seq order (at most `limit`), unfiltered (callers render them per
  // viewer with hall_event_message). Throws hall.bad_cursor when after > head.
  boost::asio::awaitable<std::vector<hall_event>> events(std::string tender_id, std::int64_t after,
                                                         std::size_t limit);
  boost::asio::awaitable<std::int64_t> head(std::string tender_id);
  // The hall's counts for the summary view's `progress` message (hall-protocol.md §4.1), a JSON
  // object: {"phase","signed_in","confirmed","lots":[{"lot","listed","waiting","decrypting",
  // "done","failed"}]}; "{}" when there is no hall. Until the list is published "signed_in" is
  // null and "lots" empty: the summary view's viewers may not count who signed in or bid.
  boost::asio::awaitable<std::string> progress(std::string tender_id);

  // One client action (hall-protocol.md §5) with its parameters as sent (the "act" message minus
  // type, id and action). Validates the parameters itself (hall.bad_message naming the field).
  boost::asio::awaitable<hall_act_result> act(std::string tender_id, hall_viewer who,
                                              std::string action, boost::json::object params);

  // Records a checked backup file for the bidder's bid (window open, listed bid).
  boost::asio::awaitable<boost::json::object> store_backup(hall_viewer who,
                                                           hall_backup_request req);
  // The sealed (primary) file of the bidder's current bid in `lot`: blob digest, for the backup
  // check. Throws hall.not_listed.
  boost::asio::awaitable<std::string> primary_blob(std::string tender_id, hall_viewer who, int lot);

  // Reports a decryption outcome; writes the bid's status and its decryption_status event.
  boost::asio::awaitable<void> finish_decryption(std::int64_t attempt_id,
                                                 hall_work_outcome outcome);
  // The same for many outcomes at once: one transaction per hall (its row locked once), in the
  // order given. An attempt that is unknown or no longer 'decrypting' is passed over, as a second
  // report of one is; a database failure fails the whole call and it may simply be made again.
  boost::asio::awaitable<void> finish_decryptions(
      std::vector<std::pair<std::int64_t, hall_work_outcome>> outcomes);
  // Attempts still 'decrypting' (after a crash or restart): run them again.
  boost::asio::awaitable<std::vector<hall_work>> pending_work();

  // Called every hall.heartbeat_ms by each node; records an outage (event outage_recorded) in
  // every decrypting hall whose last heartbeat is older than the threshold. Returns the tender
  // ids that got an outage.
  boost::asio::awaitable<std::vector<std::string>> heartbeat(std::string node_id);

  // The published opening record file (hall-protocol.md §12) and its HTML page.
  boost::asio::awaitable<std::string> record_json(std::string tender_id);
  boost::asio::awaitable<std::string> record_html(std::string tender_id);

private:
  pool& priority() { return opts_.priority != nullptr ? *opts_.priority : pool_; }

  pool& pool_;
  options opts_;
};

// Scheduler job kinds written by the hall (scheduled_jobs rows, subject = tender id), with their
// handlers for scheduler::set_handler:
//   hall.window_close   at window_closes_at  (decrypting → decrypted, causes assigned)
//   hall.confirm_close  at confirm_closes_at (confirmation_closed, then the record: → recorded)
// `outage_threshold`: as hall::options::outage_threshold (a heartbeat gap at the close longer
// than this is an outage of the platform).
// `decrypt_timeout`: an attempt still running this long after the window's close is ended as
// decryption_incomplete (platform side) so the close never waits forever for a stalled worker
// or a crashed node.
job_handler hall_window_close_handler(
    std::string actor, std::chrono::milliseconds outage_threshold = std::chrono::milliseconds(5000),
    std::chrono::milliseconds decrypt_timeout = std::chrono::minutes(5));
job_handler hall_confirm_close_handler(std::string actor, hall::options opts);

// The tenders among `tender_ids` whose bidder list is public (hall phase listed or later, or
// failed). Until then who obtained the documents, asked, bid or signed in is secret (SPEC §13):
// the audit log's event endpoints withhold such a tender's events from all but supervisors.
boost::asio::awaitable<std::set<std::string>> lists_public(pool& connections,
                                                           std::vector<std::string> tender_ids);

// Called by the deadline job inside its transaction after the bids are sealed: the hall's phase
// becomes sealed (event bids_sealed), or failed when the tender failed for lack of bids.
void hall_on_deadline(pqxx::transaction_base& tx, const std::string& tender_id, bool failed);

}  // namespace tender::db
