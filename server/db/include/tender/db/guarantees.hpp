#pragma once

// Electronic guarantees (电子保函), their issuers and applications, status callbacks, and cash
// bid bonds (投标保证金): tables of migrations/0011_guarantees.sql, rules in docs/GUARANTEES.md.
//
// The checks of a guarantee document that need the issuer (signature, live status) run in the
// HTTP layer (server/app/src/routes_guarantees.cpp) between context() and attach(); this
// repository loads what they need and records the result. Every mutation is one transaction with
// exactly one audit event. Refusals throw db::error with a public code name: tender.not_found,
// auth.forbidden, bid.deadline_passed, bid.not_accepting, guarantee.*, bond.*, identity.*.

#include <tender/db/identity.hpp>
#include <tender/db/scheduler.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace pqxx {
class transaction_base;
}

namespace tender::db {

class pool;

struct guarantee_issuer {
  std::string org_id;
  std::string base_url;
  std::string key_fingerprint;
  std::string public_key_der;  // SubjectPublicKeyInfo of the registered key (empty: revoked)
};

// What the checks of one guarantee for (tender, lot) need. Times are seconds since the epoch;
// `now` is PostgreSQL's clock.
struct guarantee_context {
  std::string tender_id;
  int lot_no = 0;
  std::string project_code;
  std::string owner_org;
  std::string state;
  std::int64_t deadline_at = 0;
  std::int64_t now = 0;
  std::int64_t bond_amount = 0;
  std::int64_t bid_validity_days = 90;
};

// A verified guarantee, ready to record.
struct verified_guarantee {
  std::string issuer_org;
  std::string number;
  std::string kind;
  std::int64_t amount = 0;
  std::string currency;
  std::string valid_from;  // RFC 3339
  std::string valid_until;
  std::string issued_at;
  std::string status;       // from the live query
  std::string signed_json;  // the envelope as received
};

class guarantees {
public:
  explicit guarantees(pool& connections);

  // Admin: registers (or re-registers) the service of an organisation of kind issuer. The key
  // must be an active key of a user of that organisation (identity.bad_input otherwise).
  boost::asio::awaitable<boost::json::object> register_issuer(principal who, std::string org_id,
                                                              std::string base_url,
                                                              std::string key_fingerprint);
  boost::asio::awaitable<boost::json::object> list_issuers();
  // The registered issuer, nullopt when `org_id` is not one.
  boost::asio::awaitable<std::optional<guarantee_issuer>> issuer(std::string org_id);

  // The tender and lot as the checks see them, for a bidder attaching or applying: refuses
  // (tender.not_found, auth.forbidden, bid.deadline_passed, bid.not_accepting) when the caller
  // may not add a guarantee now. `bidder_org` empty: no caller check (an issuer's push).
  boost::asio::awaitable<guarantee_context> context(std::optional<principal> who,
                                                    std::string tender_id, int lot_no);

  // Records a verified guarantee: re-checks the deadline on PostgreSQL's clock while holding the
  // tender (bid.deadline_passed), refuses a number already attached by another bidder or lot
  // (guarantee.malformed), answers the existing row for the same one. `application_id`: the
  // integrated flow (marks the application issued); `user_id` empty for an issuer's push.
  boost::asio::awaitable<boost::json::object> attach(std::string tender_id, int lot_no,
                                                     std::string bidder_org, std::string user_id,
                                                     verified_guarantee g,
                                                     std::optional<std::string> application_id);

  // Integrated flow. create_application: a pending application (audited); finish: refused
  // (state refused with the code) — the success path is attach() with the application id.
  struct application {
    std::string id;
    std::string tender_id;
    int lot_no = 0;
    std::string bidder_org;
    std::string user_id;
    std::string issuer_org;
    std::string application_code;
    std::string state;
  };
  boost::asio::awaitable<boost::json::object> create_application(principal who,
                                                                 std::string tender_id, int lot_no,
                                                                 std::string issuer_org,
                                                                 std::string application_code);
  boost::asio::awaitable<void> refuse_application(std::string id, std::string code,
                                                  std::string message);
  boost::asio::awaitable<std::optional<application>> find_application(std::string id);
  boost::asio::awaitable<boost::json::object> application_view(principal who, std::string id);

  // A verified status callback: updates the guarantee's status (guarantee.not_found when the
  // issuer has no such guarantee here); a replayed event id is answered without a change.
  boost::asio::awaitable<boost::json::object> apply_event(std::string issuer_org,
                                                          std::string event_id, std::string number,
                                                          std::string status,
                                                          std::string occurred_at,
                                                          std::string signed_json);

  // The guarantees of a lot: a bidder sees its own; the tender's owner (tenderer), center staff,
  // supervisors and admins see only the count before the deadline and every one after it.
  boost::asio::awaitable<boost::json::object> list(principal who, std::string tender_id,
                                                   int lot_no);

  // Cash bonds. record: center_staff; list: center_staff, supervisor, admin, and the tender's
  // owner after the deadline. Each bond carries shared_payer: the other bidders paid from the
  // same account for this tender.
  struct bond_request {
    std::string bidder_org;
    std::int64_t amount = 0;
    std::string payer_account;
    std::string payer_name;
    std::string paid_at;  // RFC 3339
  };
  boost::asio::awaitable<boost::json::object> record_bond(principal who, std::string tender_id,
                                                          int lot_no, bond_request req);
  boost::asio::awaitable<boost::json::object> list_bonds(principal who, std::string tender_id,
                                                         int lot_no);

private:
  pool& pool_;
};

// The live status of one guarantee, asked of its issuer: "valid", "revoked", ... Throws
// db::error("guarantee.issuer_unreachable" | "guarantee.bad_signature" | ...) when it cannot say.
using guarantee_status_query =
    std::function<std::string(const guarantee_issuer& issuer, const std::string& number)>;

// A guarantee stored as "valid", with what a live query of its issuer needs.
struct held_guarantee {
  std::int64_t id = 0;
  std::string number;
  guarantee_issuer issuer;
};
// The guarantees of `tender_id` whose stored status is "valid", in id order (inside `tx`).
std::vector<held_guarantee> valid_guarantees(pqxx::transaction_base& tx,
                                             const std::string& tender_id);
// Records an issuer's live answer for guarantee `id` unless its stored status left "valid"
// meanwhile (a signed callback came first); true when the row changed.
bool record_live_status(pqxx::transaction_base& tx, std::int64_t id, const std::string& status);

// What the issuers said about guarantees stored as valid, asked outside any transaction.
struct live_statuses {
  std::map<std::int64_t, std::string> status;  // guarantee id → the issuer's answer
  std::size_t asked = 0;
  // {"issuer","error"}: an issuer that did not answer (timed out, refused, unreachable) or was
  // not asked because the check's time ran out; its guarantees keep their stored status.
  boost::json::array unreachable;
};

// Asks the issuer of each of `held` with `query`, one after the other, on the calling thread. An
// issuer that fails to answer is named and not asked again; after `deadline` nothing more is
// asked and the issuers left are named. It waits on other parties' servers: never call it inside
// a transaction, while holding a pooled connection, or on an I/O thread.
live_statuses ask_issuers(const std::vector<held_guarantee>& held,
                          const guarantee_status_query& query,
                          std::chrono::steady_clock::time_point deadline);

// ask_issuers off the caller's threads: tenderd's issuer gateway runs it on a pool of its own,
// with its timeouts (server/app, make_guarantee_lookup).
using guarantee_lookup =
    std::function<boost::asio::awaitable<live_statuses>(std::vector<held_guarantee>)>;

// The opening with the guarantee re-check: before the tender opens, every attached guarantee of
// the tender that is still valid is asked of its issuer again and its status updated. The asking
// is the job's preparer (scheduler::set_preparer): it reads the guarantees in a short transaction
// of its own and asks with `lookup` holding no lock and no connection, so a slow or dead issuer
// holds up neither the scheduler nor the tender; the handler records the answers in the
// opening's transaction, and names (audit event guarantee.rechecked) the issuers that did not
// answer.
struct guarantee_recheck {
  job_handler handler;
  job_preparer preparer;
};
guarantee_recheck with_guarantee_recheck(job_handler opening, guarantee_lookup lookup);

}  // namespace tender::db
