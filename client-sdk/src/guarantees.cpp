// Guarantees, issuers and cash bonds (guarantees.hpp).

#include <tender/client/guarantees.hpp>

#include <tender/protocol/uri.hpp>

#include <boost/json.hpp>

namespace tender::client::guarantees {
namespace json = boost::json;

namespace {

json::object object_of(const http_response& r, unsigned expected) {
  expect_status(r, expected);
  boost::system::error_code ec;
  auto v = json::parse(r.body, ec);
  if (ec || !v.is_object()) throw error("client.bad_response", "the answer is not a JSON object");
  return std::move(v.as_object());
}

std::string lot_path(const std::string& tender_id, int lot) {
  return "/api/v1/tenders/" + protocol::percent_encode(tender_id) + "/lots/" + std::to_string(lot);
}

}  // namespace

json::object register_issuer(client& c, const std::string& org_id, const std::string& base_url,
                             const std::string& key_fingerprint) {
  const auto body = json::serialize(json::object{
      {"org_id", org_id}, {"base_url", base_url}, {"key_fingerprint", key_fingerprint}});
  return object_of(c.request("POST", "/api/v1/issuers", body), 200);
}

json::object issuers(client& c) {
  return object_of(c.request("GET", "/api/v1/issuers"), 200);
}

json::object attach(client& c, const std::string& tender_id, int lot,
                    const json::value& guarantee_file) {
  const auto body = json::serialize(json::object{{"guarantee", guarantee_file}});
  const auto r = c.request("POST", lot_path(tender_id, lot) + "/guarantees", body);
  return object_of(r, r.status == 200 ? 200 : 201);
}

json::object apply(client& c, const std::string& tender_id, int lot, const std::string& issuer,
                   const std::string& application_code) {
  const auto body =
      json::serialize(json::object{{"issuer", issuer}, {"application_code", application_code}});
  return object_of(c.request("POST", lot_path(tender_id, lot) + "/guarantee-applications", body),
                   202);
}

json::object application(client& c, const std::string& application_id) {
  return object_of(c.request("GET", "/api/v1/guarantee-applications/" +
                                        protocol::percent_encode(application_id)),
                   200);
}

json::object list(client& c, const std::string& tender_id, int lot) {
  return object_of(c.request("GET", lot_path(tender_id, lot) + "/guarantees"), 200);
}

json::object record_bond(client& c, const std::string& tender_id, int lot, const bond_record& b) {
  const auto body = json::serialize(json::object{{"bidder", b.bidder},
                                                 {"amount", b.amount},
                                                 {"payer_account", b.payer_account},
                                                 {"payer_name", b.payer_name},
                                                 {"paid_at", b.paid_at}});
  return object_of(c.request("POST", lot_path(tender_id, lot) + "/bonds", body), 201);
}

json::object bonds(client& c, const std::string& tender_id, int lot) {
  return object_of(c.request("GET", lot_path(tender_id, lot) + "/bonds"), 200);
}

}  // namespace tender::client::guarantees
