#include <tender/api/body.hpp>
#include <tender/api/tenders.hpp>

#include <tender/core/tender_rules.hpp>
#include <tender/crypto/error.hpp>
#include <tender/crypto/escrow.hpp>
#include <tender/crypto/keys.hpp>

#include <boost/json.hpp>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <regex>
#include <set>

namespace tender::api {
namespace json = boost::json;
using protocol::errc;

namespace {

constexpr std::int64_t max_money = 9'000'000'000'000'000;  // fen; far above any real price
constexpr std::size_t max_lots = 200;

[[noreturn]] void refuse(std::string message) {
  throw rejected_request{errc::request_bad_json, std::move(message)};
}

std::int64_t time_field(const body_reader& r, std::string_view name) {
  const auto text = r.timestamp(name);
  const auto t = core::parse_rfc3339(text);
  if (!t) {
    refuse("field '" + r.field_name(name) + "' is '" + text +
           "', which is not a real date and time");
  }
  return *t;
}

json::array summary_fields(const body_reader& lot) {
  static const std::regex key_shape("^[a-z][a-z0-9_]{0,31}$");
  const auto& arr = lot.array("summary_fields", 32);
  json::array out;
  for (std::size_t i = 0; i < arr.size(); ++i) {
    body_reader f(arr[i], lot.field_name("summary_fields") + "[" + std::to_string(i) + "]",
                  {"key", "label", "type"});
    const auto key = f.text("key", 32);
    if (!std::regex_match(key, key_shape)) {
      refuse("field '" + f.field_name("key") + "' is '" + key +
             "'; it must be a-z, 0-9 or '_', starting with a letter (at most 32)");
    }
    out.push_back(json::object{{"key", key},
                               {"label", f.text("label", 200)},
                               {"type", f.one_of("type", {"money", "integer", "text", "days"})}});
  }
  return out;
}

json::array discount_candidates(const body_reader& lot) {
  const auto* arr = lot.optional_array("discount_candidates", 100);
  json::array out;
  for (std::size_t i = 0; i < arr->size(); ++i) {
    const auto& v = (*arr)[i];
    const std::string name = lot.field_name("discount_candidates") + "[" + std::to_string(i) + "]";
    if (!v.is_string() || !core::valid_rate(std::string_view(v.get_string()))) {
      refuse("field '" + name +
             "' must be a decimal rate string between 0 and 1 with at most 6 decimals, like "
             "\"0.05\"");
    }
    out.push_back(v);
  }
  return out;
}

// One lot of a create or PATCH (every field), or of an amendment (lot_no plus what changes).
json::object lot_fields(const json::value& v, const std::string& path, bool partial) {
  body_reader r(v, path,
                {"lot_no", "title", "estimated_price", "ceiling_price", "bond_amount",
                 "summary_fields", "discount_candidates"});
  json::object out;
  out["lot_no"] = r.integer("lot_no", 1, 999);
  if (!partial || r.has("title")) out["title"] = r.text("title", 500);
  if (!partial || r.has("estimated_price")) {
    out["estimated_price"] = r.integer("estimated_price", 1, max_money);
  }
  if (r.has("ceiling_price")) out["ceiling_price"] = r.integer("ceiling_price", 1, max_money);
  if (!partial || r.has("bond_amount")) out["bond_amount"] = r.integer("bond_amount", 0, max_money);
  if (!partial || r.has("summary_fields")) out["summary_fields"] = summary_fields(r);
  if (r.has("discount_candidates")) out["discount_candidates"] = discount_candidates(r);
  return out;
}

json::array lots_of(const body_reader& r, bool partial) {
  const auto& arr = r.array("lots", max_lots);
  json::array out;
  std::set<std::int64_t> seen;
  for (std::size_t i = 0; i < arr.size(); ++i) {
    const std::string path = r.field_name("lots") + "[" + std::to_string(i) + "]";
    auto lot = lot_fields(arr[i], path, partial);
    if (!seen.insert(lot.at("lot_no").as_int64()).second) {
      refuse("field '" + path + ".lot_no' is " + std::to_string(lot.at("lot_no").as_int64()) +
             ", which an earlier lot already uses");
    }
    out.push_back(std::move(lot));
  }
  return out;
}

json::object escrow_of(const body_reader& r) {
  const auto e = r.object("escrow", {"threshold", "custodians", "setup"});
  const auto threshold = e.integer("threshold", 1, 100);
  const auto& arr = e.array("custodians", 100);
  json::array custodians;
  for (std::size_t i = 0; i < arr.size(); ++i) {
    body_reader c(arr[i], "escrow.custodians[" + std::to_string(i) + "]",
                  {"id", "org_id", "public_key"});
    const auto pem = c.text("public_key", 16 * 1024);
    try {
      (void)crypto::public_key::from_pem(pem);
    } catch (const crypto::error& err) {
      refuse("field '" + c.field_name("public_key") +
             "' is not a SubjectPublicKeyInfo PEM public key: " + err.what());
    }
    custodians.push_back(json::object{
        {"id", c.text("id", 64)}, {"org_id", c.text("org_id", 64)}, {"public_key", pem}});
  }
  json::object out{{"threshold", threshold}, {"custodians", std::move(custodians)}};
  if (e.has("setup")) {
    // The threshold escrow key's public setup (protocol/docs/threshold-escrow.md), checked whole.
    const auto& v = e.fields().at("setup");
    if (!v.is_object()) refuse("field 'escrow.setup' must be an escrow setup object");
    try {
      (void)crypto::escrow::setup_from_json(json::serialize(v));
    } catch (const crypto::error& err) {
      refuse(std::string("field 'escrow.setup' is not a valid escrow setup: ") + err.what());
    }
    out["setup"] = v;
  }
  return out;
}

// The fields of a create (every required one) or a PATCH (those present).
json::object tender_fields(const body_reader& r, bool create) {
  static const std::regex code_shape("^[A-Za-z0-9][A-Za-z0-9._/-]{0,63}$");
  json::object out;
  auto want = [&](std::string_view name) { return create || r.has(name); };
  if (want("project_code")) {
    const auto code = r.text("project_code", 64);
    if (!std::regex_match(code, code_shape)) {
      refuse("field 'project_code' is '" + code +
             "'; it must be 1 to 64 characters of A-Z, a-z, 0-9, '.', '_', '/' or '-', starting "
             "with a letter or digit");
    }
    out["project_code"] = code;
  }
  if (want("title")) out["title"] = r.text("title", 500);
  if (want("kind")) out["kind"] = r.one_of("kind", {"works", "goods", "services"});
  if (want("rule_pack")) {
    const auto pack = r.text("rule_pack", 64);
    if (core::find_rule_pack(pack) == nullptr) {
      std::string names;
      for (const auto& n : core::rule_pack_names())
        names += (names.empty() ? "" : ", ") + n;
      refuse("field 'rule_pack' is '" + pack + "'; it must be one of " + names);
    }
    out["rule_pack"] = pack;
  }
  if (want("deadline_at")) out["deadline_at"] = time_field(r, "deadline_at");
  if (want("opening_at")) out["opening_at"] = time_field(r, "opening_at");
  if (r.has("time_zone")) out["time_zone"] = r.text("time_zone", 64);
  if (r.has("decryption_window_s")) {
    out["decryption_window_s"] = r.integer("decryption_window_s", 1, 7 * 86400);
  }
  if (r.has("confirmation_window_s")) {
    out["confirmation_window_s"] = r.integer("confirmation_window_s", 1, 7 * 86400);
  }
  if (r.has("key_policy")) {
    out["key_policy"] =
        r.one_of("key_policy", {"bidder_only", "bidder_or_escrow", "bidder_and_escrow"});
  }
  if (r.has("escrow")) out["escrow"] = escrow_of(r);
  if (r.has("evaluation_method")) {
    out["evaluation_method"] = r.one_of(
        "evaluation_method",
        {"comprehensive", "lowest_evaluated_price", "reasonable_low_price", "lowest_price"});
  }
  if (want("lots")) out["lots"] = lots_of(r, false);
  if (create) {
    // Defaults from the rule pack, so a stored draft is complete.
    const auto* pack = core::find_rule_pack(std::string(out.at("rule_pack").as_string()));
    if (!out.contains("time_zone")) out["time_zone"] = "Asia/Shanghai";
    if (!out.contains("decryption_window_s")) {
      out["decryption_window_s"] = pack->default_decryption_window_s;
    }
    if (!out.contains("confirmation_window_s")) {
      out["confirmation_window_s"] = pack->default_confirmation_window_s;
    }
    if (!out.contains("key_policy")) {
      out["key_policy"] = out.contains("escrow") ? "bidder_or_escrow" : "bidder_only";
    }
    if (!out.contains("evaluation_method")) {
      out["evaluation_method"] = pack->evaluation_methods.front();
    }
  }
  return out;
}

// The fields of a create or PATCH body.
#define TENDER_KEYS                                                                         \
  {                                                                                         \
    "project_code", "title", "kind", "rule_pack", "deadline_at", "opening_at", "time_zone", \
        "decryption_window_s", "confirmation_window_s", "key_policy", "escrow",             \
        "evaluation_method", "lots"                                                         \
  }

std::string percent_decoded(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      const auto hex = s.substr(i + 1, 2);
      const bool ok = std::all_of(hex.begin(), hex.end(), [](char c) {
        return std::isxdigit(static_cast<unsigned char>(c));
      });
      if (!ok) {
        throw rejected_request{errc::request_bad_query, "bad percent-encoding in the query"};
      }
      const long v = std::strtol(std::string(hex).c_str(), nullptr, 16);
      out += static_cast<char>(v);
      i += 2;
    } else if (s[i] == '+') {
      out += ' ';
    } else {
      out += s[i];
    }
  }
  return out;
}

}  // namespace

json::object tender_create(std::string_view body) {
  const body_reader r(body, TENDER_KEYS);
  return tender_fields(r, true);
}

json::object tender_patch(std::string_view body) {
  const body_reader r(body, TENDER_KEYS);
  auto patch = tender_fields(r, false);
  if (patch.empty()) refuse("the body changes nothing; give at least one field");
  return patch;
}

tender_amendment read_tender_amendment(std::string_view body) {
  const body_reader r(body, {"reason", "changes"});
  tender_amendment out;
  out.reason = r.text("reason", 2000);
  const auto c = r.object("changes", {"title", "deadline_at", "opening_at", "lots"});
  if (c.has("title")) out.changes["title"] = c.text("title", 500);
  if (c.has("deadline_at")) out.changes["deadline_at"] = time_field(c, "deadline_at");
  if (c.has("opening_at")) out.changes["opening_at"] = time_field(c, "opening_at");
  if (c.has("lots")) out.changes["lots"] = lots_of(c, true);
  if (out.changes.empty()) refuse("field 'changes' changes nothing");
  return out;
}

std::string reason_body(std::string_view body) {
  const body_reader r(body, {"reason"});
  return r.text("reason", 2000);
}

std::optional<std::string> optional_reason_body(std::string_view body) {
  if (body.find_first_not_of(" \t\r\n") == std::string_view::npos) return std::nullopt;
  const body_reader r(body, {"reason"});
  return r.optional_text("reason", 2000);
}

void empty_body(std::string_view body) {
  if (body.find_first_not_of(" \t\r\n") == std::string_view::npos) return;
  const body_reader r(body, {});
}

tender_list_query read_tender_list_query(std::string_view query) {
  tender_list_query f;
  std::set<std::string> seen;
  while (!query.empty()) {
    const auto amp = query.find('&');
    const auto part = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    if (part.empty()) continue;
    const auto eq = part.find('=');
    const std::string name(part.substr(0, eq));
    const std::string value =
        eq == std::string_view::npos ? std::string() : percent_decoded(part.substr(eq + 1));
    if (!seen.insert(name).second) {
      throw rejected_request{errc::request_bad_query, "query parameter '" + name + "' is repeated"};
    }
    if (value.size() > 64) {
      throw rejected_request{errc::request_bad_query,
                             "query parameter '" + name + "' is longer than 64 characters"};
    }
    if (name == "state") {
      static const std::set<std::string> states = {"draft",  "published", "closed",    "opening",
                                                   "opened", "failed",    "cancelled", "suspended"};
      if (states.count(value) == 0) {
        throw rejected_request{errc::request_bad_query,
                               "query parameter 'state' is '" + value +
                                   "'; it must be one of draft, published, closed, opening, "
                                   "opened, failed, cancelled, suspended"};
      }
      f.state = value;
    } else if (name == "owner") {
      f.owner = value;
    } else if (name == "after") {
      f.after = value;
    } else if (name == "limit") {
      if (value.empty() || value.size() > 3 ||
          !std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
          std::stoi(value) < 1 || std::stoi(value) > 200) {
        throw rejected_request{errc::request_bad_query,
                               "query parameter 'limit' must be a number from 1 to 200"};
      }
      f.limit = std::stoi(value);
    } else {
      throw rejected_request{errc::request_bad_query,
                             "unknown query parameter '" + name +
                                 "' (this endpoint takes state, owner, after, limit)"};
    }
  }
  return f;
}

}  // namespace tender::api
