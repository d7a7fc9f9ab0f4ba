// feed_tx and idempotency_tx: small steps other repositories run inside their own transactions.

#include "feed_tx.hpp"
#include "idempotency_tx.hpp"

#include <tender/db/error.hpp>

#include <pqxx/pqxx>

namespace tender::db {

std::int64_t feed_tx::append(pqxx::transaction_base& tx,
                             const std::optional<std::string>& tender_id, const std::string& kind,
                             const std::string& payload_json) {
  const auto head = tx.exec("UPDATE feed_head SET next_seq = next_seq + 1 RETURNING next_seq - 1");
  if (head.size() != 1) throw error("db.usage", "feed_head has no row");
  const auto seq = head[0][0].as<std::int64_t>();
  if (tender_id) {
    tx.exec_params(
        "INSERT INTO feed_events (seq, tender_id, kind, payload) VALUES ($1, $2, $3, $4::jsonb)",
        seq, *tender_id, kind, payload_json);
  } else {
    tx.exec_params(
        "INSERT INTO feed_events (seq, tender_id, kind, payload) VALUES ($1, NULL, $2, $3::jsonb)",
        seq, kind, payload_json);
  }
  tx.exec_params("SELECT pg_notify($1, $2)", std::string(notify_channel), std::to_string(seq));
  return seq;
}

std::optional<idempotency_tx::replay> idempotency_tx::claim(pqxx::transaction_base& tx,
                                                            const std::string& principal,
                                                            const std::string& key,
                                                            const std::string& request_digest) {
  const auto inserted = tx.exec_params(
      "INSERT INTO idempotency_keys (principal, key, request_digest) VALUES ($1, $2, $3) "
      "ON CONFLICT (principal, key) DO NOTHING RETURNING 1",
      principal, key, request_digest);
  if (!inserted.empty()) return std::nullopt;
  const auto row = tx.exec_params1(
      "SELECT request_digest, status, response FROM idempotency_keys "
      "WHERE principal = $1 AND key = $2",
      principal, key);
  if (row[0].as<std::string>() != request_digest) {
    throw error(conflict, "the Idempotency-Key '" + key +
                              "' was already used for a different request; use a new key");
  }
  if (row[1].is_null()) {
    throw error("db.usage", "idempotency key claimed but no response stored");
  }
  return replay{row[1].as<int>(), row[2].as<std::string>()};
}

void idempotency_tx::store(pqxx::transaction_base& tx, const std::string& principal,
                           const std::string& key, int status, const std::string& body) {
  tx.exec_params(
      "UPDATE idempotency_keys SET status = $3, response = $4 WHERE principal = $1 AND key = $2",
      principal, key, status, body);
}

}  // namespace tender::db
