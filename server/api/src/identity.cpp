#include <tender/api/body.hpp>
#include <tender/api/identity.hpp>

#include <tender/crypto/bytes.hpp>
#include <tender/crypto/error.hpp>

#include <boost/json.hpp>

#include <algorithm>

namespace tender::api {
namespace json = boost::json;

namespace {

json::object parse_body(std::string_view body, std::initializer_list<std::string_view> allowed) {
  boost::system::error_code ec;
  json::parse_options po;
  po.max_depth = 8;
  const auto v = json::parse(body, ec, {}, po);
  if (ec) throw bad_json{"the body is not valid JSON: " + ec.message()};
  if (!v.is_object()) throw bad_json{"the body must be a JSON object, got " + json_type_name(v)};
  for (const auto& kv : v.get_object()) {
    const std::string_view key(kv.key().data(), kv.key().size());
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      std::string list;
      for (const auto a : allowed)
        list += (list.empty() ? "" : ", ") + std::string(a);
      throw bad_json{"unknown field '" + std::string(key.substr(0, 40)) +
                     "' (this endpoint takes " + list + ")"};
    }
  }
  return v.get_object();
}

std::string string_field(const json::object& o, std::string_view name) {
  const auto* v = o.if_contains(name);
  if (v == nullptr) throw bad_json{"field '" + std::string(name) + "' is required"};
  if (!v->is_string()) {
    throw bad_json{"field '" + std::string(name) + "' must be a string, got " + json_type_name(*v)};
  }
  return std::string(v->get_string());
}

std::vector<std::string> string_list_field(const json::object& o, std::string_view name) {
  const auto* v = o.if_contains(name);
  if (v == nullptr) throw bad_json{"field '" + std::string(name) + "' is required"};
  if (!v->is_array()) {
    throw bad_json{"field '" + std::string(name) + "' must be an array of strings, got " +
                   json_type_name(*v)};
  }
  std::vector<std::string> out;
  for (const auto& e : v->get_array()) {
    if (!e.is_string()) {
      throw bad_json{"field '" + std::string(name) + "' must be an array of strings, found " +
                     json_type_name(e)};
    }
    out.emplace_back(e.get_string());
  }
  return out;
}

}  // namespace

std::string challenge_request(std::string_view body) {
  return string_field(parse_body(body, {"user_id"}), "user_id");
}

login_request read_login_request(std::string_view body) {
  const auto o = parse_body(body, {"challenge_id", "fingerprint", "signature"});
  login_request out{string_field(o, "challenge_id"), string_field(o, "fingerprint"), {}};
  const auto signature_b64 = string_field(o, "signature");
  try {
    const auto raw = crypto::base64_decode(signature_b64);
    out.signature.assign(raw.begin(), raw.end());
  } catch (const crypto::error&) {
    throw bad_json{"field 'signature' must be standard base64"};
  }
  return out;
}

organisation_request read_organisation_request(std::string_view body) {
  const auto o = parse_body(body, {"id", "kind", "name"});
  return {string_field(o, "id"), string_field(o, "kind"), string_field(o, "name")};
}

user_request read_user_request(std::string_view body) {
  const auto o = parse_body(body, {"id", "name", "roles"});
  return {string_field(o, "id"), string_field(o, "name"), string_list_field(o, "roles")};
}

std::string key_request(std::string_view body) {
  return string_field(parse_body(body, {"public_key_pem"}), "public_key_pem");
}

certificate_request read_certificate_request(std::string_view body) {
  const body_reader r(body, {"certificate", "chain"}, body_limits{8, max_pem_bytes});
  certificate_request out;
  out.certificate = r.text("certificate");
  if (const auto* list = r.optional_array("chain", max_chain_certificates)) {
    for (std::size_t i = 0; i < list->size(); ++i) {
      const auto& e = (*list)[i];
      if (!e.is_string() || e.get_string().empty()) {
        throw bad_json{"field 'chain[" + std::to_string(i) +
                       "]' must be a non-empty string (a PEM certificate)"};
      }
      if (e.get_string().size() > max_pem_bytes) {
        throw bad_json{"field 'chain[" + std::to_string(i) + "]' is longer than " +
                       std::to_string(max_pem_bytes) + " bytes"};
      }
      out.chain.emplace_back(e.get_string());
    }
  }
  return out;
}

void no_identity_fields(std::string_view body) {
  if (!body.empty()) (void)parse_body(body, {});
}

}  // namespace tender::api
