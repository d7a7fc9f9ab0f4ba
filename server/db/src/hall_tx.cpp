// The opening hall's transaction steps shared by its actions and clock handlers (hall_tx.hpp).

#include "hall_tx.hpp"

#include <tender/db/audit_log.hpp>

#include "audit_tx.hpp"
#include "canonical_json.hpp"

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
  const auto inserted = tx.exec_params(
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
  std::string sql = lock_sql_base;
  sql += locking;
  if (skip_locked) sql += " SKIP LOCKED";
  const auto rows = tx.exec_params(sql, tender_id);
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
  const auto seq = tx.exec_params1(
                         "UPDATE halls SET last_seq = last_seq + 1 WHERE tender_id = $1 "
                         "RETURNING last_seq",
                         tender_id)[0]
                       .as<std::int64_t>();
  const std::string actor_text = actor.is_null() ? std::string() : json::serialize(actor);
  if (actor.is_null()) {
    tx.exec_params0(
        "INSERT INTO hall_events (tender_id, seq, kind, actor, data, audience) "
        "VALUES ($1, $2, $3, NULL, $4::jsonb, $5)",
        tender_id, seq, kind, json::serialize(data), audience);
  } else {
    tx.exec_params0(
        "INSERT INTO hall_events (tender_id, seq, kind, actor, data, audience) "
        "VALUES ($1, $2, $3, $4::jsonb, $5::jsonb, $6)",
        tender_id, seq, kind, actor_text, json::serialize(data), audience);
  }
  tx.exec_params("SELECT pg_notify($1, $2)", std::string(notify_channel),
                 tender_id + " " + std::to_string(seq));
  return seq;
}

std::uint64_t audit(pqxx::transaction_base& tx, const std::string& actor, const std::string& role,
                    const std::string& action, const std::string& tender_id,
                    const json::object& change) {
  audit_entry e;
  e.actor = actor;
  e.role = role;
  e.action = "hall." + action;
  e.subject = tender_id;
  e.payload_digest = audit_payload_digest(canonical_json(change));
  return audit_tx::append(tx, e).seq;
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
