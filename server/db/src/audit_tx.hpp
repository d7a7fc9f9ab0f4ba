#pragma once

// The audit log's work inside a caller's transaction. Private to the db layer: a repository that
// changes state calls append() with its own pqxx transaction, so the change and its audit event
// commit together or not at all. Rolling back leaves no trace and no gap in the sequence.

#include <tender/db/audit_log.hpp>

#include <boost/json/object.hpp>

#include <optional>
#include <string>

namespace pqxx {
class transaction_base;
}

namespace tender::db::audit_tx {

// Locks audit_head (FOR UPDATE) until `tx` ends, so a concurrent append waits for this
// transaction: sequence numbers are gap-free and follow commit order. The event's time is the
// database clock read after the lock is held, so times never go backwards along the sequence
// (unless the database's clock itself does). Throws db::error (audit.bad_event, audit.corrupt) or
// libpqxx exceptions, which the pool translates. In a REPEATABLE READ or SERIALIZABLE transaction
// a concurrent append makes PostgreSQL raise a serialization failure: retry the transaction.
audit_appended append(pqxx::transaction_base& tx, const audit_entry& entry);

// append() of the usual event of a change: who, in which role, did what to which subject, with
// the digest of the change's canonical JSON as its payload digest.
audit_appended append_change(pqxx::transaction_base& tx, std::string actor, std::string role,
                             std::string action, std::optional<std::string> subject,
                             const boost::json::object& change);

// Signs and stores a checkpoint over the current size unless the latest one already covers it;
// returns the latest checkpoint afterwards, nullopt while the log is empty.
std::optional<audit_checkpoint> checkpoint(pqxx::transaction_base& tx, const std::string& origin,
                                           const crypto::note::ed25519_signer& signer);

}  // namespace tender::db::audit_tx
