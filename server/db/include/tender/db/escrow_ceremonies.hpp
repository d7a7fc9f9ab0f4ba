#pragma once

// The custodians' escrow key ceremony run through the server (protocol/docs/threshold-escrow.md
// §6.1; tables escrow_ceremonies and escrow_ceremony_messages of migration 0021).
//
// The tender's owner starts a ceremony for a draft whose escrow names its custodians; each
// custodian (a user of the custodian's organisation) then sends, in rounds, its transport key,
// its dealing (commitments and one sealed share per custodian) and its confirmation (a proof that
// it holds its joint share) — or a complaint that reveals a bad share. When every custodian has
// confirmed, the joint setup becomes the tender's escrow setup, marked as the ceremony's.
//
// Each message is one transaction that locks the tender and the ceremony, checks the sender,
// the round (core/escrow_ceremony.hpp) and the message's cryptography, stores it and appends one
// audit event. A refusal throws db::error with a public code (ceremony.*, tender.not_found,
// tender.bad_state, auth.forbidden, tender.rule_violation) and changes nothing. Drafts never
// leak: a caller who is neither the owner's organisation, a custodian's, a supervisor nor an
// admin gets tender.not_found.

#include <tender/core/escrow_ceremony.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>

#include <string>

namespace tender::db {

class pool;

struct ceremony_actor {
  std::string user_id;
  std::string org_id;
  std::string role;               // for the audit event: tenderer, custodian, supervisor...
  bool reads_all_drafts = false;  // supervisors and admins see every draft's ceremony
};

class escrow_ceremonies {
public:
  explicit escrow_ceremonies(pool& connections);

  // Starts ceremony number N+1 for a draft the caller's organisation owns, in `group`, for the
  // threshold and custodians its escrow names now (which must pass the pack's custody rules).
  // An unfinished earlier ceremony becomes superseded; a setup the tender had is removed (the new
  // ceremony makes the key). Returns the view.
  boost::asio::awaitable<boost::json::object> start(ceremony_actor who, std::string tender_id,
                                                    std::string group);

  // The tender's latest ceremony as its participants see it (ceremony.not_found when none).
  boost::asio::awaitable<boost::json::object> view(ceremony_actor who, std::string tender_id);

  // One custodian message (normalised by api::read_ceremony_message). Returns the view after it.
  boost::asio::awaitable<boost::json::object> send(ceremony_actor who, std::string tender_id,
                                                   core::ceremony::message kind,
                                                   boost::json::object body);

private:
  pool& pool_;
};

}  // namespace tender::db
