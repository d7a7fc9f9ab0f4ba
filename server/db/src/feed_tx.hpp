#pragma once

// The public change feed's work inside a caller's transaction (table feed_events, migration
// 0004). Private to the db layer, like audit_tx: a repository whose change is public appends the
// feed event in the same transaction, so the feed and the state never disagree.

#include <cstdint>
#include <optional>
#include <string>

namespace pqxx {
class transaction_base;
}

namespace tender::db::feed_tx {

// The channel of the NOTIFY sent at commit; its payload is the new seq in decimal.
inline constexpr const char* notify_channel = "tender_feed";

// Appends one event and returns its seq. Locks feed_head until `tx` ends, so seqs are gap-free
// and follow commit order. Call it after audit_tx::append when a transaction does both (lock
// order audit_head → feed_head, never the reverse). `payload_json` must be a JSON object; it is
// public, so it never carries a bidder's identity before the deadline.
std::int64_t append(pqxx::transaction_base& tx, const std::optional<std::string>& tender_id,
                    const std::string& kind, const std::string& payload_json);

}  // namespace tender::db::feed_tx
