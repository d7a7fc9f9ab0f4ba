// The opening hall's transaction steps shared by its actions and clock handlers (hall_tx.hpp).

#include "hall_tx.hpp"

#include <tender/db/audit_log.hpp>

#include "audit_tx.hpp"
#include "canonical_json.hpp"
#include "prepared.hpp"

#include <pqxx/pqxx>

namespace tender::db::hall_tx {
namespace json = boost::json;

namespace {

#define TENDER_HALL_EPOCH(col) "extract(epoch FROM " col ")::float8"

constexpr const char* lock_sql_base =
    "SELECT h.phase, h.paused_reason, h.suspended_reason, "
    "extract(epoch FROM clock_timestamp())::float8, " TENDER_HALL_EPOCH(
        "h.window_opens_at") ", " TENDER_HALL_EPOCH("h.window_closes_at") ", " TENDER_HALL_EPOCH("h.confirm_closes_at") ", " TENDER_HALL_EPOCH("h.host_revealed_at") ", " TENDER_HALL_EPOCH("t.opening_at") ", " TENDER_HALL_EPOCH("t.deadline_at") ", " TENDER_HALL_EPOCH("h.last_heartbeat_at") ", "
    "t.key_policy, t.state, t.rule_pack, t.confirmation_window_s, t.decryption_window_s, "
    "h.host_commitment, h.host_nonce, h.representative, h.representative_nonce, "
    "h.record_digest, h.checkpoint_root, h.last_seq "
    "FROM halls h JOIN tenders t ON t.id = h.tender_id WHERE h.tender_id = $1";

template <class T>
std::optional<T> opt(const pqxx::field& f) {
  if (f.is_null()) return std::nullopt;
  return f.as<T>();
}

}  // namespace

bool ensure(pqxx::transaction_base& tx, const std::string& tender_id) {
  const auto inserted = exec_prepared_sql(
      tx, "hall_ensure",
      "INSERT INTO halls (tender_id) VALUES ($1) ON CONFLICT (tender_id) DO NOTHING RETURNING 1",
      tender_id);
  if (inserted.empty()) return false;
  append_event(tx, tender_id, "opened", nullptr, {{"phase", "waiting"}});
  audit(tx, clock_actor, "system", "opened", tender_id, {{"tender_id", tender_id}});
  return true;
}

namespace {
std::optional<locked_hall> select_hall(pqxx::transaction_base& tx, const std::string& tender_id,
                                       const char* locking, bool skip_locked, bool* busy) {
  // Three fixed texts, so each is one prepared statement.
  static const std::string read_sql = lock_sql_base;
  static const std::string lock_sql = std::string(lock_sql_base) + " FOR UPDATE OF h";
  static const std::string skip_sql = lock_sql + " SKIP LOCKED";
  const bool locks = *locking != '\0';
  const auto rows = !locks ? exec_prepared_sql(tx, "hall_read", read_sql.c_str(), tender_id)
                    : skip_locked
                        ? exec_prepared_sql(tx, "hall_lock_skip", skip_sql.c_str(), tender_id)
                        : exec_prepared_sql(tx, "hall_lock", lock_sql.c_str(), tender_id);
  if (rows.empty()) {
    if (skip_locked && busy != nullptr) {
      *busy = !tx.exec_params("SELECT 1 FROM halls WHERE tender_id = $1", tender_id).empty();
    }
    return std::nullopt;
  }
  const auto& r = rows[0];
  locked_hall h;
  h.tender_id = tender_id;
  h.phase = r[0].as<std::string>();
  h.paused_reason = opt<std::string>(r[1]);
  h.suspended_reason = opt<std::string>(r[2]);
  h.now = r[3].as<double>();
  h.window_opens_at = opt<double>(r[4]);
  h.window_closes_at = opt<double>(r[5]);
  h.confirm_closes_at = opt<double>(r[6]);
  h.host_revealed_at = opt<double>(r[7]);
  h.opening_at = opt<double>(r[8]);
  h.deadline_at = opt<double>(r[9]);
  h.last_heartbeat_at = opt<double>(r[10]);
  h.key_policy = r[11].as<std::string>();
  h.tender_state = r[12].as<std::string>();
  h.rule_pack = r[13].as<std::string>();
  h.confirmation_window_s = opt<std::int64_t>(r[14]);
  h.decryption_window_s = opt<std::int64_t>(r[15]);
  h.host_commitment = opt<std::string>(r[16]);
  h.host_nonce = opt<std::string>(r[17]);
  h.representative = opt<std::string>(r[18]);
  h.representative_nonce = opt<std::string>(r[19]);
  h.record_digest = opt<std::string>(r[20]);
  h.checkpoint_root = opt<std::string>(r[21]);
  h.last_seq = r[22].as<std::int64_t>();
  return h;
}
}  // namespace

std::optional<locked_hall> lock(pqxx::transaction_base& tx, const std::string& tender_id,
                                bool skip_locked, bool* busy) {
  return select_hall(tx, tender_id, " FOR UPDATE OF h", skip_locked, busy);
}

std::optional<locked_hall> read(pqxx::transaction_base& tx, const std::string& tender_id) {
  return select_hall(tx, tender_id, "", false, nullptr);
}

std::int64_t append_event(pqxx::transaction_base& tx, const std::string& tender_id,
                          const std::string& kind, const json::value& actor,
                          const json::object& data, const std::string& audience) {
  // One statement (the seq, the row and the NOTIFY): every round trip here is made while the
  // hall's row is locked, so it counts against how many actions a hall takes per second.
  const std::string actor_text = actor.is_null() ? std::string() : json::serialize(actor);
  const auto r = exec_prepared_sql(
      tx, "hall_append_event",
      "WITH s AS (UPDATE halls SET last_seq = last_seq + 1 WHERE tender_id = $1 "
      "RETURNING last_seq) "
      "INSERT INTO hall_events (tender_id, seq, kind, actor, data, audience) "
      "SELECT $1, s.last_seq, $2, NULLIF($3, '')::jsonb, $4::jsonb, $5 FROM s "
      "RETURNING seq, pg_notify($6, $1 || ' ' || seq)",
      tender_id, kind, actor_text, json::serialize(data), audience, std::string(notify_channel));
  if (r.size() != 1) fail("tender.not_found", "no hall for tender '" + tender_id + "'");
  return r[0][0].as<std::int64_t>();
}

std::uint64_t audit(pqxx::transaction_base& tx, const std::string& actor, const std::string& role,
                    const std::string& action, const std::string& tender_id,
                    const json::object& change) {
  return audit_tx::append_change(tx, actor, role, "hall." + action, tender_id, change).seq;
}

json::value actor_of(const hall_viewer& v) {
  json::object o{{"user_id", v.user_id}, {"role", v.role}};
  o["org_id"] = v.org_id.empty() ? json::value(nullptr) : json::value(v.org_id);
  return o;
}

std::string key_policy_name(const std::string& stored) {
  if (stored == "bidder_only") return "bidder";
  if (stored == "bidder_and_escrow") return "bidder-and-escrow";
  return "bidder-or-escrow";
}

}  // namespace tender::db::hall_tx
