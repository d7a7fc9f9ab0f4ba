#include <tender/api/body.hpp>
#include <tender/api/guarantees.hpp>

#include <boost/json.hpp>

namespace tender::api {
namespace json = boost::json;

issuer_registration read_issuer_registration(std::string_view body) {
  const body_reader b(body, {"org_id", "base_url", "key_fingerprint"});
  return {b.text("org_id", 64), b.text("base_url", 500), b.text("key_fingerprint", 64)};
}

json::value read_guarantee_attachment(std::string_view body) {
  const body_reader b(body, {"guarantee"});
  if (!b.has("guarantee")) {
    throw bad_json("field 'guarantee' (the signed guarantee file) is required");
  }
  return b.fields().at("guarantee");
}

guarantee_application read_guarantee_application(std::string_view body) {
  const body_reader b(body, {"issuer", "application_code"});
  return {b.text("issuer", 64), b.text("application_code", 64)};
}

guarantee_push read_guarantee_push(std::string_view body) {
  const body_reader b(body, {"application_id", "guarantee"});
  guarantee_push out;
  out.application_id = b.text("application_id", 64);
  if (!b.has("guarantee")) throw bad_json("field 'guarantee' is required");
  out.guarantee = b.fields().at("guarantee");
  return out;
}

json::value read_guarantee_callback(std::string_view body) {
  boost::system::error_code ec;
  json::parse_options po;
  po.max_depth = 8;
  auto v = json::parse(body, ec, {}, po);
  if (ec) throw bad_json("the body is not JSON: " + ec.message());
  return v;
}

bond_record read_bond_record(std::string_view body) {
  const body_reader b(body, {"bidder", "amount", "payer_account", "payer_name", "paid_at"});
  bond_record out;
  out.bidder = b.text("bidder", 64);
  out.amount = b.integer("amount", 1, 1000000000000000LL);
  out.payer_account = b.text("payer_account", 64);
  out.payer_name = b.text("payer_name", 200);
  out.paid_at = b.timestamp("paid_at");
  return out;
}

}  // namespace tender::api
