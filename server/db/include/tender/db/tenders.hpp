#pragma once

// Tenders and their lots in PostgreSQL: create, read, list, update a draft, publish, amend,
// cancel, suspend and resume (tables tenders, lots, scheduled_jobs, feed_events of migration 0004
// and tender_amendments of 0005).
//
// Every change is one transaction with exactly one audit event (audit_tx::append), plus a feed
// event when the change is public. The rules (publication check, deadline move, transitions) are
// the pure functions of core/tender_rules.hpp, applied here inside the transaction with
// PostgreSQL's clock. Refusals throw db::error with public codes (tender.not_found,
// tender.bad_state, request.version_conflict, auth.forbidden...) and change nothing.
//
// Requests arrive already checked for shape by the HTTP layer, as "normalised" JSON objects:
// times are seconds since the epoch (integers), money is fen, unknown or mistyped fields are gone.

#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>

#include <tender/db/error.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace tender::db {

class pool;

// The 422 of a publication or amendment the rule pack refuses: every violation, in order.
class rule_violation : public error {
public:
  explicit rule_violation(std::vector<std::string> violations);
  const std::vector<std::string>& violations() const { return violations_; }

private:
  std::vector<std::string> violations_;
};

// Who acts, as the relation checks and the audit log need it.
struct tender_actor {
  std::string user_id;
  std::string org_id;
  std::string role;  // the role used: tenderer, supervisor
};

// A change's result: the tender as GET shows it (without the private fields) and its version.
struct tender_result {
  boost::json::object tender;
  std::int64_t version = 0;
  int status = 200;
  std::string body;  // for creates: the exact body to send (the stored one on a replay)
};

struct tender_filter {
  std::string state;  // empty: any
  std::string owner;  // empty: any
  std::string after;  // id cursor, empty: from the start
  int limit = 50;
  // Drafts visible to the caller: those of this organisation, or all of them.
  std::string viewer_org;
  bool all_drafts = false;
};

class tenders {
public:
  explicit tenders(pool& connections);

  // `fields`: project_code, title, kind, rule_pack, deadline_at, opening_at (epoch seconds),
  // time_zone, decryption_window_s, confirmation_window_s, key_policy, escrow, evaluation_method,
  // lots. With an idempotency key, a retry with the same digest returns the first response.
  // Throws tender.exists (project code taken), request.bad_json (unknown time zone),
  // request.idempotency_conflict.
  boost::asio::awaitable<tender_result> create(tender_actor who,
                                               std::optional<std::string> idempotency_key,
                                               std::string request_digest,
                                               boost::json::object fields);

  // The tender with its lots and amendments (fields owner_org and published_at tell the caller
  // who may see it); nullopt when there is none.
  boost::asio::awaitable<std::optional<boost::json::object>> get(std::string id);

  // {"tenders": [...], "next_after": id|null}.
  boost::asio::awaitable<boost::json::object> list(tender_filter filter);

  // PATCH of a draft: the given fields replace the stored ones (lots: the whole list).
  boost::asio::awaitable<tender_result> update(tender_actor who, std::string id,
                                               std::int64_t if_match, boost::json::object patch);

  boost::asio::awaitable<tender_result> publish(tender_actor who, std::string id,
                                                std::int64_t if_match);

  // `changes`: title, deadline_at, opening_at, lots [{lot_no, ...fields to change}]. The result's
  // tender is {"tender": ..., "amendment": {...deadline_moved, old/new times}}.
  boost::asio::awaitable<tender_result> amend(tender_actor who, std::string id,
                                              std::int64_t if_match, std::string reason,
                                              boost::json::object changes);

  boost::asio::awaitable<tender_result> cancel(tender_actor who, std::string id,
                                               std::string reason);
  boost::asio::awaitable<tender_result> suspend(tender_actor who, std::string id,
                                                std::string reason);
  boost::asio::awaitable<tender_result> resume(tender_actor who, std::string id,
                                               std::optional<std::string> reason);

private:
  pool& pool_;
};

}  // namespace tender::db
