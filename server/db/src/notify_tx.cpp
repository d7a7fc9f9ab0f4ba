// notify_tx: the push of news to a tender's downloaders (notify_tx.hpp).

#include "notify_tx.hpp"

#include <tender/db/error.hpp>

#include <pqxx/pqxx>

namespace tender::db {

notify_tx::pushed notify_tx::push_to_downloaders(pqxx::transaction_base& tx,
                                                 const std::string& tender_id,
                                                 const std::string& kind, const std::string& ref,
                                                 const std::string& summary_json) {
  pushed out;
  out.push_id = tx.exec_params1(
                      "INSERT INTO pushes (tender_id, kind, ref, summary) "
                      "VALUES ($1, $2, $3, $4::jsonb) RETURNING id",
                      tender_id, kind, ref, summary_json)[0]
                    .as<std::int64_t>();
  // One notification per downloading user; a user of several organisations is not possible
  // (users belong to one), so DISTINCT ON the user is DISTINCT on the pair.
  const auto r = tx.exec_params(
      "INSERT INTO notifications (push_id, user_id, org_id) "
      "SELECT DISTINCT $1::bigint, user_id, org_id FROM document_downloads WHERE tender_id = $2",
      out.push_id, tender_id);
  out.recipients = static_cast<std::int64_t>(r.affected_rows());
  return out;
}

}  // namespace tender::db
