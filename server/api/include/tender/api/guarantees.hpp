#pragma once

// The bodies of the guarantee endpoints (protocol/docs/guarantee-api.md). The signed documents
// inside them are read by tender::crypto::guarantee; here only the envelope of the request.
// Refusals throw bad_json naming the field.

#include <boost/json/value.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace tender::api {

// POST /api/v1/issuers {"org_id","base_url","key_fingerprint"}
struct issuer_registration {
  std::string org_id;
  std::string base_url;
  std::string key_fingerprint;
};
issuer_registration read_issuer_registration(std::string_view body);

// POST …/guarantees {"guarantee": <signed document>}: the signed document, not yet opened.
boost::json::value read_guarantee_attachment(std::string_view body);

// POST …/guarantee-applications {"issuer","application_code"}
struct guarantee_application {
  std::string issuer;
  std::string application_code;
};
guarantee_application read_guarantee_application(std::string_view body);

// POST /api/v1/guarantee-pushes {"application_id","guarantee"}
struct guarantee_push {
  std::string application_id;
  boost::json::value guarantee;
};
guarantee_push read_guarantee_push(std::string_view body);

// POST /api/v1/guarantee-callbacks: any JSON value (the signed event envelope, opened by
// tender::crypto::guarantee).
boost::json::value read_guarantee_callback(std::string_view body);

// POST …/bonds {"bidder","amount","payer_account","payer_name","paid_at"}
struct bond_record {
  std::string bidder;
  std::int64_t amount = 0;  // fen
  std::string payer_account;
  std::string payer_name;
  std::string paid_at;  // RFC 3339, as given
};
bond_record read_bond_record(std::string_view body);

}  // namespace tender::api
