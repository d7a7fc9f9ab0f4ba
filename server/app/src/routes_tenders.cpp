// /api/v1/tenders: the tender lifecycle up to the deadline (docs/TENDERS.md). Bodies are read
// strictly (body.hpp) into normalised JSON (times as epoch seconds) for the repository, which
// applies the rule packs inside its transactions.

#include "audit_service.hpp"
#include "auth.hpp"
#include "body.hpp"
#include "routes.hpp"

#include <tender/core/log.hpp>
#include <tender/core/tender_rules.hpp>
#include <tender/crypto/error.hpp>
#include <tender/crypto/escrow.hpp>
#include <tender/crypto/keys.hpp>
#include <tender/db/database.hpp>
#include <tender/db/tenders.hpp>

#include <boost/json.hpp>

#include <algorithm>
#include <memory>
#include <regex>
#include <set>

namespace tender::app {
namespace json = boost::json;
using protocol::errc;

namespace {

constexpr std::size_t tender_body_limit = 1024 * 1024;
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

net::response tender_response(unsigned status, const json::object& body, std::int64_t version) {
  auto res = net::response::json(status, json::serialize(body));
  res.headers.emplace_back("ETag", etag(version));
  return res;
}

std::optional<net::response> tender_error(const db::error& e) {
  if (const auto* v = dynamic_cast<const db::rule_violation*>(&e)) {
    json::array list;
    for (const auto& s : v->violations())
      list.emplace_back(s);
    json::object body{
        {"error",
         {{"code", "tender.rule_violation"}, {"message", e.what()}, {"violations", list}}}};
    return net::response::json(protocol::http_status(errc::tender_rule_violation),
                               json::serialize(body));
  }
  return std::nullopt;
}

db::tender_actor actor_of(const db::principal& p, std::string role) {
  return {p.who.id, p.org.id, std::move(role)};
}

bool reads_all_drafts(const db::principal& p) {
  return p.who.has_role("supervisor") || p.who.has_role("admin");
}

// The caller when a token is sent (401 for a bad one), nullopt for anonymous requests.
boost::asio::awaitable<std::variant<std::optional<db::principal>, net::response>> optional_caller(
    db::identity& ids, const net::request& req) {
  if (!req.header("Authorization")) co_return std::optional<db::principal>{};
  auto who = co_await authenticate(ids, req);
  if (auto* res = std::get_if<net::response>(&who)) co_return std::move(*res);
  co_return std::optional<db::principal>(std::get<db::principal>(who));
}

std::string percent_decoded(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      const auto hex = std::string(s.substr(i + 1, 2));
      char* end = nullptr;
      const long v = std::strtol(hex.c_str(), &end, 16);
      if (end != hex.c_str() + 2) {
        throw rejected_request{errc::request_bad_query, "bad percent-encoding in the query"};
      }
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

db::tender_filter list_filter(std::string_view query) {
  db::tender_filter f;
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

// A body that must be empty or {} (publish): anything else is refused by name.
void no_fields(const net::request& req) {
  if (req.body.find_first_not_of(" \t\r\n") == std::string::npos) return;
  body_reader r(req.body, {});
}

std::string id_param(const net::request& req) {
  return req.params.at("id");
}

}  // namespace

void add_tender_routes(net::router& r, db::database& database, audit_service& audit) {
  auto ids = std::make_shared<db::identity>(database.connections(), db::identity::options{});
  auto repo = std::make_shared<db::tenders>(database.connections());
  const std::vector<std::string> tenderer{"tenderer"};
  const std::vector<std::string> supervisor{"supervisor"};

  r.add("POST", "/api/v1/tenders",
        authorized(
            database, ids, tenderer, tender_error,
            [repo](net::request& req,
                   const db::principal& p) -> boost::asio::awaitable<net::response> {
              if (p.org.kind != "tenderer" && p.org.kind != "agency") {
                co_return net::response::error(
                    errc::auth_forbidden,
                    "only users of a tenderer or agency organisation create "
                    "tenders; '" +
                        p.org.id + "' is of kind " + p.org.kind);
              }
              const auto key = idempotency_key(req);
              body_reader body(req.body, TENDER_KEYS);
              auto fields = tender_fields(body, true);
              const auto digest = request_digest(req);
              const auto who = actor_of(p, "tenderer");
              const auto created = co_await repo->create(who, key, digest, std::move(fields));
              auto res = net::response::json(static_cast<unsigned>(created.status), created.body);
              res.headers.emplace_back("ETag", etag(created.version));
              res.headers.emplace_back(
                  "Location",
                  "/api/v1/tenders/" + std::string(created.tender.at("id").as_string()));
              co_return res;
            },
            "tender request"),
        tender_body_limit);

  r.add(
      "GET", "/api/v1/tenders/{id}",
      guarded(database, "tender request", tender_error,
              [ids, repo](net::request& req) -> boost::asio::awaitable<net::response> {
                auto caller = co_await optional_caller(*ids, req);
                if (auto* res = std::get_if<net::response>(&caller)) co_return std::move(*res);
                const auto& who = std::get<std::optional<db::principal>>(caller);
                const std::string id = id_param(req);
                auto t = co_await repo->get(id);
                const bool visible = t && (!t->at("published_at").is_null() ||
                                           (who && (who->org.id == t->at("owner_org").as_string() ||
                                                    reads_all_drafts(*who))));
                if (!visible) {
                  co_return net::response::error(errc::tender_not_found, "no tender '" + id + "'");
                }
                const auto version = t->at("version").as_int64();
                co_return tender_response(200, *t, version);
              }));

  r.add("GET", "/api/v1/tenders",
        guarded(database, "tender request", tender_error,
                [ids, repo](net::request& req) -> boost::asio::awaitable<net::response> {
                  auto caller = co_await optional_caller(*ids, req);
                  if (auto* res = std::get_if<net::response>(&caller)) co_return std::move(*res);
                  const auto& who = std::get<std::optional<db::principal>>(caller);
                  auto filter = list_filter(req.query);
                  if (who) {
                    filter.viewer_org = who->org.id;
                    filter.all_drafts = reads_all_drafts(*who);
                  }
                  const auto page = co_await repo->list(filter);
                  co_return net::response::json(200, json::serialize(page));
                }));

  r.add("PATCH", "/api/v1/tenders/{id}",
        authorized(
            database, ids, tenderer, tender_error,
            [repo](net::request& req,
                   const db::principal& p) -> boost::asio::awaitable<net::response> {
              const auto version = required_if_match(req);
              body_reader body(req.body, TENDER_KEYS);
              auto patch = tender_fields(body, false);
              if (patch.empty()) refuse("the body changes nothing; give at least one field");
              const auto who = actor_of(p, "tenderer");
              const std::string id = id_param(req);
              const auto out = co_await repo->update(who, id, version, std::move(patch));
              co_return tender_response(200, out.tender, out.version);
            },
            "tender request"),
        tender_body_limit);

  r.add("POST", "/api/v1/tenders/{id}/publish",
        authorized(
            database, ids, tenderer, tender_error,
            [repo, &audit](net::request& req,
                           const db::principal& p) -> boost::asio::awaitable<net::response> {
              const auto version = required_if_match(req);
              no_fields(req);
              const auto who = actor_of(p, "tenderer");
              const std::string id = id_param(req);
              const auto out = co_await repo->publish(who, id, version);
              // The issue wants a signed checkpoint at publication. The publication is already
              // committed: a failure to sign now is logged, and the periodic task covers it.
              try {
                co_await audit.checkpoint_now();
              } catch (const std::exception& e) {
                core::log::warn("checkpoint after publication failed",
                                {{"tender", id}, {"error", e.what()}});
              }
              co_return tender_response(200, out.tender, out.version);
            },
            "tender request"),
        16 * 1024);

  r.add("POST", "/api/v1/tenders/{id}/amend",
        authorized(
            database, ids, tenderer, tender_error,
            [repo](net::request& req,
                   const db::principal& p) -> boost::asio::awaitable<net::response> {
              const auto version = required_if_match(req);
              body_reader body(req.body, {"reason", "changes"});
              const auto reason = body.text("reason", 2000);
              const auto c = body.object("changes", {"title", "deadline_at", "opening_at", "lots"});
              json::object changes;
              if (c.has("title")) changes["title"] = c.text("title", 500);
              if (c.has("deadline_at")) changes["deadline_at"] = time_field(c, "deadline_at");
              if (c.has("opening_at")) changes["opening_at"] = time_field(c, "opening_at");
              if (c.has("lots")) changes["lots"] = lots_of(c, true);
              if (changes.empty()) refuse("field 'changes' changes nothing");
              const auto who = actor_of(p, "tenderer");
              const std::string id = id_param(req);
              const auto out = co_await repo->amend(who, id, version, reason, std::move(changes));
              co_return tender_response(200, out.tender, out.version);
            },
            "tender request"),
        tender_body_limit);

  r.add("POST", "/api/v1/tenders/{id}/cancel",
        authorized(
            database, ids, tenderer, tender_error,
            [repo](net::request& req,
                   const db::principal& p) -> boost::asio::awaitable<net::response> {
              body_reader body(req.body, {"reason"});
              const auto reason = body.text("reason", 2000);
              const auto who = actor_of(p, "tenderer");
              const std::string id = id_param(req);
              const auto out = co_await repo->cancel(who, id, reason);
              co_return tender_response(200, out.tender, out.version);
            },
            "tender request"),
        16 * 1024);

  r.add("POST", "/api/v1/tenders/{id}/suspend",
        authorized(
            database, ids, supervisor, tender_error,
            [repo](net::request& req,
                   const db::principal& p) -> boost::asio::awaitable<net::response> {
              body_reader body(req.body, {"reason"});
              const auto reason = body.text("reason", 2000);
              const auto who = actor_of(p, "supervisor");
              const std::string id = id_param(req);
              const auto out = co_await repo->suspend(who, id, reason);
              co_return tender_response(200, out.tender, out.version);
            },
            "tender request"),
        16 * 1024);

  r.add("POST", "/api/v1/tenders/{id}/resume",
        authorized(
            database, ids, supervisor, tender_error,
            [repo](net::request& req,
                   const db::principal& p) -> boost::asio::awaitable<net::response> {
              std::optional<std::string> reason;
              if (req.body.find_first_not_of(" \t\r\n") != std::string::npos) {
                body_reader body(req.body, {"reason"});
                reason = body.optional_text("reason", 2000);
              }
              const auto who = actor_of(p, "supervisor");
              const std::string id = id_param(req);
              const auto out = co_await repo->resume(who, id, reason);
              co_return tender_response(200, out.tender, out.version);
            },
            "tender request"),
        16 * 1024);
}

}  // namespace tender::app
