#pragma once

// The certificate check of a key's use, inside the caller's transaction (so its clock is the
// transaction's database clock). Private to the db layer.

#include <tender/db/certificates.hpp>

#include <optional>
#include <string>

namespace pqxx {
class transaction_base;
}

namespace tender::db::certificate_tx {

struct refusal {
  const char* code;  // certificate_codes::*
  std::string message;
};

// Why the key `key_fingerprint` may not be used now: its registered certificate is expired, not
// yet valid (database clock) or listed by a revocation list of `crls`. nullopt when the key has
// no registered certificate or the certificate is in force.
std::optional<refusal> check_key(pqxx::transaction_base& tx, const std::string& key_fingerprint,
                                 const revocation_source& crls);

// check_key, throwing db::error with the refusal's code.
void require_key_in_force(pqxx::transaction_base& tx, const std::string& key_fingerprint,
                          const revocation_source& crls);

}  // namespace tender::db::certificate_tx
