#pragma once

// Idempotency keys of creates, inside the create's transaction (table idempotency_keys, migration
// 0004). Private to the db layer.
//
//   if (auto replay = idempotency_tx::claim(tx, who, key, digest)) return *replay;  // a retry
//   ... create ...
//   idempotency_tx::store(tx, who, key, 201, body);   // before commit
//
// A concurrent request with the same key waits on the first one's row (its unique index) and
// then sees the stored response, so a retried create never duplicates.

#include <optional>
#include <string>

namespace pqxx {
class transaction_base;
}

namespace tender::db::idempotency_tx {

// Code of the db::error thrown when a key is reused for a different request (HTTP 409).
inline constexpr const char* conflict = "request.idempotency_conflict";

struct replay {
  int status = 0;
  std::string body;
};

// `principal`: who sends the request (a user id); `request_digest`: hex SHA-256 of the method,
// path and canonical body. nullopt: the key is now claimed by this transaction; call store()
// before committing. A replay: an earlier request with the same key and digest, and its
// response. Throws db::error(conflict) when the key was used for another request.
std::optional<replay> claim(pqxx::transaction_base& tx, const std::string& principal,
                            const std::string& key, const std::string& request_digest);

// Records the response of the request that claimed the key.
void store(pqxx::transaction_base& tx, const std::string& principal, const std::string& key,
           int status, const std::string& body);

}  // namespace tender::db::idempotency_tx
