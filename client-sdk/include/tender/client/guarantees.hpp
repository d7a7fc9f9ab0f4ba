#pragma once

// Electronic guarantees (电子保函), issuers and cash bonds (docs/GUARANTEES.md). Free functions on
// a signed-in client; each answers the server's JSON document as protocol/openapi.yaml describes
// it (tag "guarantees") and throws client::error with the server's code (auth.*, tender.*,
// bid.deadline_passed, guarantee.*, bond.*, request.*) unless the server answers as expected, or
// client.bad_response when the answer is not a JSON object.

#include <tender/client/client.hpp>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <cstdint>
#include <string>

namespace tender::client::guarantees {

// Admin: registers the service of an issuer organisation (its base URL and the fingerprint of the
// key that signs its guarantees, an active key of one of its users).
boost::json::object register_issuer(client& c, const std::string& org_id,
                                    const std::string& base_url,
                                    const std::string& key_fingerprint);
// {"issuers": [...]}
boost::json::object issuers(client& c);

// Open flow: attaches a guarantee file (the signed JSON the issuer delivered). Answers the
// recorded guarantee (also when the same file was attached before: "replayed": true).
boost::json::object attach(client& c, const std::string& tender_id, int lot,
                           const boost::json::value& guarantee_file);

// Integrated flow: applies with the issuer's application code; answers the pending application.
boost::json::object apply(client& c, const std::string& tender_id, int lot,
                          const std::string& issuer, const std::string& application_code);
// One application of the caller's organisation (state pending, issued or refused).
boost::json::object application(client& c, const std::string& application_id);

// The guarantees of a lot as the caller may see them ({"count"} only for officials before the
// deadline).
boost::json::object list(client& c, const std::string& tender_id, int lot);

struct bond_record {
  std::string bidder;       // organisation id
  std::int64_t amount = 0;  // fen
  std::string payer_account;
  std::string payer_name;
  std::string paid_at;  // RFC 3339
};
// Center staff: records a cash bond deposit.
boost::json::object record_bond(client& c, const std::string& tender_id, int lot,
                                const bond_record& b);
// The bonds of a lot with the refund rule and shared payers flagged.
boost::json::object bonds(client& c, const std::string& tender_id, int lot);

}  // namespace tender::client::guarantees
