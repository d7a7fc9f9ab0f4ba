// Electronic guarantee documents, status answers and events (guarantee.hpp).

#include <tender/crypto/guarantee.hpp>

#include <tender/crypto/error.hpp>

#include <boost/json.hpp>

#include <algorithm>
#include <set>
#include <vector>

namespace tender::crypto::guarantee {
namespace json = boost::json;

namespace {

[[noreturn]] void malformed(const std::string& why) {
  throw error(codes::malformed, why);
}

bool token(std::string_view s, std::size_t max, std::string_view extra) {
  if (s.empty() || s.size() > max) return false;
  return std::all_of(s.begin(), s.end(), [&](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           extra.find(c) != std::string_view::npos;
  });
}

// Reads the fields of one inner object: every key must be known, required ones present.
class reader {
public:
  reader(const json::value& v, std::string what, std::initializer_list<std::string_view> known)
      : what_(std::move(what)) {
    if (!v.is_object()) malformed(what_ + " must be a JSON object");
    o_ = &v.get_object();
    for (const auto& kv : *o_) {
      if (std::find(known.begin(), known.end(), std::string_view(kv.key())) == known.end()) {
        malformed(what_ + " has an unknown field '" + std::string(kv.key()) + "'");
      }
    }
  }
  bool has(std::string_view k) const { return o_->contains(k); }
  std::string text(std::string_view k, std::size_t max = 200) const {
    const auto* v = o_->if_contains(k);
    if (v == nullptr) malformed(what_ + ": field '" + std::string(k) + "' is required");
    if (!v->is_string() || v->get_string().empty() || v->get_string().size() > max) {
      malformed(what_ + ": field '" + std::string(k) + "' must be a string of 1.." +
                std::to_string(max) + " bytes");
    }
    return std::string(v->get_string());
  }
  std::string id(std::string_view k, std::string_view extra = "._/-") const {
    auto s = text(k, 64);
    if (!token(s, 64, extra)) {
      malformed(what_ + ": field '" + std::string(k) + "' has characters outside [A-Za-z0-9" +
                std::string(extra) + "]");
    }
    return s;
  }
  std::string time(std::string_view k) const {
    auto s = text(k, 20);
    if (!valid_time(s)) {
      malformed(what_ + ": field '" + std::string(k) + "' must be a UTC time YYYY-MM-DDTHH:MM:SSZ");
    }
    return s;
  }
  std::int64_t integer(std::string_view k, std::int64_t min, std::int64_t max) const {
    const auto* v = o_->if_contains(k);
    if (v == nullptr) malformed(what_ + ": field '" + std::string(k) + "' is required");
    std::int64_t n = 0;
    if (v->is_int64()) {
      n = v->get_int64();
    } else if (v->is_uint64() && v->get_uint64() <= static_cast<std::uint64_t>(max)) {
      n = static_cast<std::int64_t>(v->get_uint64());
    } else {
      malformed(what_ + ": field '" + std::string(k) + "' must be an integer");
    }
    if (n < min || n > max) {
      malformed(what_ + ": field '" + std::string(k) + "' must be in " + std::to_string(min) +
                ".." + std::to_string(max));
    }
    return n;
  }
  void header(std::string_view type) const {
    if (text("type") != type)
      malformed(what_ + ": field 'type' must be '" + std::string(type) + "'");
    if (integer("version", 1, 1) != 1) malformed(what_ + ": unsupported version");
  }

private:
  const json::object* o_ = nullptr;
  std::string what_;
};

bytes signed_bytes(std::string_view domain, const json::object& inner) {
  const auto text = std::string(domain) + canonical_json(inner);
  return bytes(text.begin(), text.end());
}

}  // namespace

bool valid_status(std::string_view s) {
  return s == "valid" || s == "revoked" || s == "claimed" || s == "released";
}

bool valid_kind(std::string_view s) {
  return s == "bank" || s == "insurance" || s == "guarantee_company";
}

bool valid_time(std::string_view s) {
  // YYYY-MM-DDTHH:MM:SSZ
  if (s.size() != 20) return false;
  static constexpr std::string_view shape = "dddd-dd-ddTdd:dd:ddZ";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == 'd' ? (s[i] < '0' || s[i] > '9') : s[i] != shape[i]) return false;
  }
  auto num = [&](std::size_t pos, std::size_t n) {
    int v = 0;
    for (std::size_t i = 0; i < n; ++i)
      v = v * 10 + (s[pos + i] - '0');
    return v;
  };
  const int month = num(5, 2), day = num(8, 2), hour = num(11, 2), minute = num(14, 2),
            second = num(17, 2);
  return num(0, 4) >= 1970 && month >= 1 && month <= 12 && day >= 1 && day <= 31 && hour <= 23 &&
         minute <= 59 && second <= 59;
}

json::object to_json(const document& d) {
  json::object o{{"type", document_type},
                 {"version", 1},
                 {"number", d.number},
                 {"kind", d.kind},
                 {"issuer", d.issuer},
                 {"applicant", d.applicant},
                 {"beneficiary", d.beneficiary},
                 {"tender_code", d.tender_code},
                 {"lot", d.lot},
                 {"amount", d.amount},
                 {"currency", d.currency},
                 {"valid_from", d.valid_from},
                 {"valid_until", d.valid_until},
                 {"issued_at", d.issued_at}};
  if (d.application_code) o["application_code"] = *d.application_code;
  return o;
}

json::object to_json(const status_answer& s) {
  return {{"type", status_type}, {"version", 1},     {"issuer", s.issuer}, {"number", s.number},
          {"status", s.status},  {"as_of", s.as_of}, {"nonce", s.nonce}};
}

json::object to_json(const event& e) {
  return {{"type", event_type},          {"version", 1},       {"event_id", e.event_id},
          {"issuer", e.issuer},          {"number", e.number}, {"status", e.status},
          {"occurred_at", e.occurred_at}};
}

document parse_document(const json::value& v) {
  const reader r(
      v, "the guarantee document",
      {"type", "version", "number", "kind", "issuer", "applicant", "beneficiary", "tender_code",
       "lot", "amount", "currency", "valid_from", "valid_until", "issued_at", "application_code"});
  r.header(document_type);
  document d;
  d.number = r.id("number");
  d.kind = r.text("kind", 32);
  if (!valid_kind(d.kind)) {
    malformed(
        "the guarantee document: field 'kind' must be one of bank, insurance, "
        "guarantee_company");
  }
  d.issuer = r.id("issuer", "._-");
  d.applicant = r.id("applicant", "._-");
  d.beneficiary = r.id("beneficiary", "._-");
  d.tender_code = r.id("tender_code");
  d.lot = static_cast<int>(r.integer("lot", 1, 999));
  d.amount = r.integer("amount", 1, 1000000000000000LL);
  d.currency = r.text("currency", 3);
  if (d.currency.size() != 3 || !token(d.currency, 3, "")) {
    malformed("the guarantee document: field 'currency' must be an ISO 4217 code");
  }
  d.valid_from = r.time("valid_from");
  d.valid_until = r.time("valid_until");
  d.issued_at = r.time("issued_at");
  if (d.valid_until <= d.valid_from) {
    malformed("the guarantee document: valid_until must be after valid_from");
  }
  if (r.has("application_code")) d.application_code = r.id("application_code", "._-");
  return d;
}

status_answer parse_status(const json::value& v) {
  const reader r(v, "the status answer",
                 {"type", "version", "issuer", "number", "status", "as_of", "nonce"});
  r.header(status_type);
  status_answer s;
  s.issuer = r.id("issuer", "._-");
  s.number = r.id("number");
  s.status = r.text("status", 16);
  if (!valid_status(s.status)) {
    malformed(
        "the status answer: field 'status' must be one of valid, revoked, claimed, "
        "released");
  }
  s.as_of = r.time("as_of");
  s.nonce = r.id("nonce", "");
  return s;
}

event parse_event(const json::value& v) {
  const reader r(v, "the status event",
                 {"type", "version", "event_id", "issuer", "number", "status", "occurred_at"});
  r.header(event_type);
  event e;
  e.event_id = r.id("event_id", "._-");
  e.issuer = r.id("issuer", "._-");
  e.number = r.id("number");
  e.status = r.text("status", 16);
  if (!valid_status(e.status)) {
    malformed(
        "the status event: field 'status' must be one of valid, revoked, claimed, "
        "released");
  }
  e.occurred_at = r.time("occurred_at");
  return e;
}

json::object seal(std::string_view field, std::string_view domain, const json::object& inner,
                  const private_key& key) {
  const auto sig = sign_message(key, signed_bytes(domain, inner));
  return {{field, inner},
          {"signature", base64_encode(sig)},
          {"signer", key.public_part().fingerprint()}};
}

envelope open(const json::value& v, std::string_view field) {
  const std::string what = "the signed " + std::string(field);
  if (!v.is_object()) malformed(what + " must be a JSON object");
  const auto& o = v.get_object();
  for (const auto& kv : o) {
    if (kv.key() != field && kv.key() != "signature" && kv.key() != "signer") {
      malformed(what + " has an unknown field '" + std::string(kv.key()) + "'");
    }
  }
  const auto* inner = o.if_contains(field);
  const auto* sig = o.if_contains("signature");
  const auto* signer = o.if_contains("signer");
  if (inner == nullptr || !inner->is_object()) {
    malformed(what + ": field '" + std::string(field) + "' must be a JSON object");
  }
  if (sig == nullptr || !sig->is_string() || sig->get_string().size() > 512) {
    malformed(what + ": field 'signature' must be base64");
  }
  if (signer == nullptr || !signer->is_string() || signer->get_string().size() != 64 ||
      !token(signer->get_string(), 64, "")) {
    malformed(what + ": field 'signer' must be a key fingerprint (64 hex digits)");
  }
  envelope e;
  e.inner = inner->get_object();
  e.signer = std::string(signer->get_string());
  try {
    e.signature = base64_decode(sig->get_string());
  } catch (const error&) {
    malformed(what + ": field 'signature' is not base64");
  }
  return e;
}

void verify(const envelope& e, std::string_view domain, const public_key& key) {
  if (e.signer != key.fingerprint()) {
    throw error(codes::bad_signature, "signed by key " + e.signer.substr(0, 16) +
                                          "…, not by the issuer's registered key " +
                                          key.fingerprint().substr(0, 16) + "…");
  }
  if (!verify_message(key, signed_bytes(domain, e.inner), e.signature)) {
    throw error(codes::bad_signature, "the issuer's signature does not verify");
  }
}

}  // namespace tender::crypto::guarantee
