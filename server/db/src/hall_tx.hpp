#pragma once

// Pieces of the opening hall shared by hall.cpp (actions), hall_view.cpp (snapshot, events) and
// hall_record.cpp (the record). Private to the db layer.

#include <tender/db/error.hpp>
#include <tender/db/hall.hpp>

#include <boost/json.hpp>

#include <cstdint>
#include <optional>
#include <string>

namespace pqxx {
class transaction_base;
class row;
}  // namespace pqxx

namespace tender::db::hall_tx {

// "to_char(<col> AT TIME ZONE 'UTC', ...)": UTC with microseconds.
#define TENDER_HALL_TIME(col) \
  "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"

inline constexpr const char* notify_channel = "tenderhall_hall";
inline constexpr const char* clock_actor = "tenderd-hall";

[[noreturn]] inline void fail(const char* code, const std::string& message) {
  throw error(code, message);
}

// The hall row locked FOR UPDATE with the tender's fields and PostgreSQL's clock read once.
struct locked_hall {
  std::string tender_id;
  std::string phase;
  std::optional<std::string> paused_reason;
  std::optional<std::string> suspended_reason;
  double now = 0;  // epoch seconds, database clock
  std::optional<double> window_opens_at;
  std::optional<double> window_closes_at;
  std::optional<double> confirm_closes_at;
  std::optional<double> host_revealed_at;
  std::optional<double> opening_at;
  std::optional<double> deadline_at;
  std::optional<double> last_heartbeat_at;
  std::string key_policy;  // as stored: bidder_only | bidder_or_escrow | bidder_and_escrow
  std::string tender_state;
  std::string rule_pack;
  std::optional<std::int64_t> confirmation_window_s;
  std::optional<std::int64_t> decryption_window_s;
  std::optional<std::string> host_commitment;
  std::optional<std::string> host_nonce;
  std::optional<std::string> representative;
  std::optional<std::string> representative_nonce;
  std::optional<std::string> record_digest;
  std::optional<std::string> checkpoint_root;
  std::int64_t last_seq = 0;

  bool window_open() const {
    return window_opens_at && window_closes_at && now >= *window_opens_at &&
           now < *window_closes_at;
  }
};

// Creates the hall row (phase waiting, event `opened` as seq 1, audit hall.opened) unless it
// exists. Returns true when it was created. The tender must exist.
bool ensure(pqxx::transaction_base& tx, const std::string& tender_id);

// Locks the hall row; nullopt when there is none. With skip_locked, a row held by another
// transaction is reported as `busy` (the scheduler's rounds never wait for a hall).
std::optional<locked_hall> lock(pqxx::transaction_base& tx, const std::string& tender_id,
                                bool skip_locked = false, bool* busy = nullptr);
// Reads the hall row as lock() does but without locking it: for an action that writes nothing the
// hall's other actions depend on (a challenge), so that thousands of bidders asking for theirs do
// not queue behind one another on the hall's row.
std::optional<locked_hall> read(pqxx::transaction_base& tx, const std::string& tender_id);

// Appends one hall event with the next seq and sends its NOTIFY; returns the seq.
std::int64_t append_event(pqxx::transaction_base& tx, const std::string& tender_id,
                          const std::string& kind, const boost::json::value& actor,
                          const boost::json::object& data, const std::string& audience = "all");

// One audit event hall.<action> whose payload digest is that of the canonical JSON of `change`.
std::uint64_t audit(pqxx::transaction_base& tx, const std::string& actor, const std::string& role,
                    const std::string& action, const std::string& tender_id,
                    const boost::json::object& change);

boost::json::value actor_of(const hall_viewer& v);

std::string key_policy_name(const std::string& stored);  // bidder_or_escrow → bidder-or-escrow

// Records the gap since the hall's last heartbeat as an outage (event outage_recorded, audit
// hall.outage) when it is longer than threshold_s; moves the heartbeat forward then.
bool record_gap(pqxx::transaction_base& tx, const std::string& tender_id,
                const std::string& detected_by, double threshold_s);
inline constexpr double default_outage_threshold_s = 5.0;

// Closes the decryption window (clock or test): causes for bids not done, window_closed,
// phase decrypted. The hall must be locked and decrypting.
// `outage_threshold_s`: a gap since the last heartbeat longer than this is recorded as an outage
// first (hall::options::outage_threshold).
void close_window(pqxx::transaction_base& tx, locked_hall& h, const std::string& actor,
                  double outage_threshold_s = default_outage_threshold_s);

// Closes the confirmation window and makes the record (phase recorded, tender opened). Returns
// the result {"record_digest","log_index"} and the seq of the `recorded` event.
boost::json::object make_record(pqxx::transaction_base& tx, locked_hall& h,
                                const hall::options& opts, const std::string& actor,
                                const std::string& role, std::int64_t* seq);

std::string record_html_page(const boost::json::object& file);

}  // namespace tender::db::hall_tx
