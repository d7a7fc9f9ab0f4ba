#pragma once

// Pushes to a tender's downloaders, inside a caller's transaction (tables pushes and
// notifications, migration 0006). Private to the db layer, like audit_tx and feed_tx: whatever
// repository publishes news about a tender (a new document version, an answer, an amendment)
// calls push_to_downloaders() in the transaction that makes the news, so a downloader is told
// exactly when the change commits.

#include <cstdint>
#include <string>

namespace pqxx {
class transaction_base;
}

namespace tender::db::notify_tx {

struct pushed {
  std::int64_t push_id = 0;
  std::int64_t recipients = 0;  // notification rows written (one per downloading user)
};

// Records one push of `kind` ("document.version", "question.answered", "tender.amended"...:
// lower-case letters, '_' and '.') about `ref` (the id of what changed, e.g. "12/v2" or a question
// id) with `summary_json` (a JSON object shown to the recipients; it must not name any bidder),
// and one unread notification for every user who downloaded any document of the tender before
// this transaction. Returns the push id and the number of recipients (0 is fine: the push is
// still recorded, so the tenderer's receipt view lists it).
pushed push_to_downloaders(pqxx::transaction_base& tx, const std::string& tender_id,
                           const std::string& kind, const std::string& ref,
                           const std::string& summary_json);

}  // namespace tender::db::notify_tx
