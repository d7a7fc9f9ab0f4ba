// The authorization matrix (issue 4, acceptance 2 and 5): every endpoint × every role × the
// owner's draft or published tender, against the real tenderd. Each cell states what must happen:
// only what the role may do succeeds; everything else gets a clear 401/403/404/409 and changes
// nothing (row counts of every table of the public schema before and after); every successful
// mutating request adds exactly one audit event, and every read adds none.
//
// A second test reads server/app/src/routes*.cpp and fails when a route exists that the table
// does not cover (or the table names a route that no longer exists); a third checks that
// docs/AUTHORIZATION.md shows this very table.
#include <world.hpp>

#include <tender/client/bids.hpp>
#include <tender/client/client.hpp>
#include <tender/core/tender_rules.hpp>
#include <tender/crypto/bytes.hpp>
#include <tender/crypto/keys.hpp>
#include <tender/crypto/sealed_bid.hpp>

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <tuple>

namespace {

namespace json = boost::json;
namespace client = tender::client;
using tender::test::actor;
using tender::test::error_code_of;
using tender::test::world;

// The callers, in the order of the expectation strings.
enum role : std::size_t {
  anonymous,
  bidder,
  owner,  // a tenderer of the organisation that owns the tender
  other,  // a tenderer of another organisation
  supervisor,
  expert,
  issuer,
  center_staff,
  admin,
  role_count
};
constexpr const char* role_names[role_count] = {"anonymous",
                                                "bidder",
                                                "tenderer (owner org)",
                                                "tenderer (other org)",
                                                "supervisor",
                                                "expert",
                                                "issuer",
                                                "center_staff",
                                                "admin"};
constexpr const char* role_short[role_count] = {"anon",   "bidder", "owner", "other", "super",
                                                "expert", "issuer", "staff", "admin"};

// What a cell expects. Refusals (U F N C V) must change no row of any table.
//   +  2xx, no audit event, no row changed (a read)
//   T  2xx, no audit event (a login or rehearsal challenge, upload bookkeeping: not a change of
//      record; only what becomes a bid is audited)
//   E  2xx and exactly one new audit event (a mutation)
//   U  401 auth.required
//   F  403 auth.forbidden
//   N  404 *.not_found (another organisation's draft is hidden; someone else's notification)
//   C  409 tender.bad_state (the role may, the tender's state does not allow it)
//   V  400 (authorized; the body is refused: no CA roots are configured for certificates)
//   H  4xx with a hall.* code: the opening hall's own rule (not public before the bidder list,
//      no record yet, no listed bid or a backup that does not match)
struct fixture {
  std::string tender;
  std::int64_t document = 0;
  std::int64_t question = 0;
  std::int64_t notification = 0;  // the bidder's, from a push of a new document version
};

struct call {
  std::string method;
  std::string target;
  std::string body;
  std::string content_type = "application/json";
  client::header_list headers;
  std::unique_ptr<client::client> as;  // a separate session to send with (logout)
};

class matrix;

struct row {
  std::string method;
  std::string route;    // exactly as registered in routes*.cpp
  std::string variant;  // "" (no tender), "draft", "published" or "suspended"
  std::string expect;   // one letter per role
  std::function<call(matrix&, const fixture&)> build;
  bool exercised = true;  // WebSocket routes are listed but exercised by their own tests
};

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string quoted(std::int64_t v) {
  return "\"" + std::to_string(v) + "\"";
}

class matrix {
public:
  matrix()
      : w("authz", {{"TENDERD_AUDIT_CHECKPOINT_INTERVAL_SECONDS", "3600"}}),
        anon_api(w.anonymous()) {
    actors[bidder] = &w.user("m-bidder", "m-bidco", "bidder", {"bidder"});
    actors[owner] = &w.user("m-owner", "m-ownco", "tenderer", {"tenderer"});
    actors[other] = &w.user("m-other", "m-othco", "agency", {"tenderer"});
    actors[supervisor] = &w.user("m-super", "m-supco", "supervision", {"supervisor"});
    actors[expert] = &w.user("m-expert", "m-center", "center", {"expert"});
    actors[issuer] = &w.user("m-issuer", "m-ca", "issuer", {"issuer"});
    actors[center_staff] = &w.user("m-staff", "m-center", "center", {"center_staff"});
    actors[admin] = &w.admin();
    target = &w.user("m-target", "m-bidco", "bidder", {"bidder"});
    const auto names = w.db().query_value(
        "SELECT string_agg(table_name, ',' ORDER BY table_name) FROM information_schema.tables "
        "WHERE table_schema = 'public' AND table_type = 'BASE TABLE'");
    std::stringstream list(names);
    std::string t;
    std::string sql;
    while (std::getline(list, t, ',')) {
      tables.push_back(t);
      sql += (sql.empty() ? "SELECT " : " || ' ' || ") + std::string("(SELECT count(*) FROM \"") +
             t + "\")::text";
    }
    snapshot_sql = sql;
    shared["draft"] = make_draft();
    shared["published"] = make_published();
    shared["suspended"] = make_suspended();
    shared[""] = shared["published"];
  }

  client::client& api(role r) { return r == anonymous ? *anon_api : *actors[r]->api; }

  // Row counts of every table of the public schema, by name.
  std::map<std::string, long long> snapshot() {
    std::map<std::string, long long> out;
    std::stringstream values(w.db().query_value(snapshot_sql));
    for (const auto& t : tables)
      values >> out[t];
    return out;
  }

  client::http_response must(client::client& c, const std::string& method,
                             const std::string& target_path, const std::string& body,
                             unsigned status, const std::string& content_type = "application/json",
                             const client::header_list& headers = {}) {
    auto r = c.request(method, target_path, body, content_type, headers);
    if (r.status != status) {
      throw std::runtime_error("fixture: " + method + " " + target_path + " answered " +
                               std::to_string(r.status) + ": " + r.body);
    }
    return r;
  }

  std::int64_t version_of(const std::string& tender) {
    return std::stoll(
        w.db().query_value("SELECT version FROM tenders WHERE id = '" + tender + "'"));
  }

  std::string unique(const std::string& prefix) { return prefix + std::to_string(++counter); }

  std::string tender_body() {
    const auto deadline = unix_now() + 30 * 86400;
    return json::serialize(json::object{
        {"project_code", unique("M-")},
        {"title", "Matrix road works"},
        {"kind", "works"},
        {"rule_pack", "engineering"},
        {"deadline_at", tender::core::format_utc(deadline)},
        {"opening_at", tender::core::format_utc(deadline)},
        {"lots", json::array{json::object{
                     {"lot_no", 1},
                     {"title", "Lot 1"},
                     {"estimated_price", 100'000'000},
                     {"bond_amount", 1'000'000},
                     {"summary_fields",
                      json::array{json::object{
                          {"key", "price"}, {"label", "投标报价"}, {"type", "money"}}}}}}}});
  }

  // A draft with one document.
  fixture make_draft() {
    const auto r = must(api(owner), "POST", "/api/v1/tenders", tender_body(), 201);
    fixture f{std::string(json::parse(r.body).at("id").as_string())};
    const auto up =
        must(api(owner), "POST", "/api/v1/tenders/" + f.tender + "/documents?name=spec.pdf",
             "version one", 201, "application/octet-stream");
    f.document = json::parse(up.body).at("document_id").to_number<std::int64_t>();
    return f;
  }

  // Published, with a document (downloaded by the bidder, then given a second version, so the
  // bidder has a notification) and an open question of the bidder.
  fixture make_published() {
    auto f = make_draft();
    const std::string base = "/api/v1/tenders/" + f.tender;
    must(api(owner), "POST", base + "/publish", "", 200, "application/json",
         {{"If-Match", quoted(version_of(f.tender))}});
    must(api(bidder), "GET", base + "/documents/" + std::to_string(f.document) + "/versions/latest",
         "", 200);
    must(api(owner), "POST", base + "/documents?name=spec.pdf", "version two", 201,
         "application/octet-stream");
    const auto q = must(api(bidder), "POST", base + "/questions",
                        R"({"text":"Is the bond refundable?"})", 201);
    f.question = json::parse(q.body).at("id").to_number<std::int64_t>();
    f.notification = std::stoll(w.db().query_value(
        "SELECT max(n.id) FROM notifications n JOIN pushes p ON p.id = n.push_id "
        "WHERE p.tender_id = '" +
        f.tender + "' AND n.user_id = 'm-bidder'"));
    return f;
  }

  fixture make_suspended() {
    auto f = make_published();
    must(api(supervisor), "POST", "/api/v1/tenders/" + f.tender + "/suspend",
         R"({"reason":"complaint under review"})", 200);
    return f;
  }

  fixture fresh(const std::string& variant) {
    if (variant == "draft") return make_draft();
    if (variant == "suspended") return make_suspended();
    if (variant == "published") return make_published();
    return shared[""];  // no tender involved
  }

  world w;
  std::unique_ptr<client::client> anon_api;
  actor* actors[role_count] = {};
  actor* target = nullptr;  // whose keys and logins the identity rows use
  std::vector<std::string> tables;
  std::string snapshot_sql;
  std::map<std::string, fixture> shared;
  int counter = 0;
};

// ---- the table ------------------------------------------------------------------------------

call get(std::string target) {
  return {"GET", std::move(target)};
}
call post(std::string target, std::string body) {
  return {"POST", std::move(target), std::move(body)};
}
std::string tender_path(const fixture& f) {
  return "/api/v1/tenders/" + f.tender;
}
call with_version(matrix& m, call c, const fixture& f) {
  c.headers.emplace_back("If-Match", quoted(m.version_of(f.tender)));
  return c;
}

using variants = std::vector<std::pair<std::string, std::string>>;

void add_bid_rows(std::vector<row>& r);
void add_hall_rows(std::vector<row>& r);

const std::vector<row>& table() {
  static const std::vector<row> rows = [] {
    std::vector<row> r;
    // anon bidder owner other super expert issuer staff admin
    auto add = [&](std::string method, std::string route, std::string variant, std::string expect,
                   std::function<call(matrix&, const fixture&)> build) {
      r.push_back({std::move(method), std::move(route), std::move(variant), std::move(expect),
                   std::move(build)});
    };
    // ---- health, WebSockets ----
    add("GET", "/healthz", "", "+++++++++",
        [](matrix&, const fixture&) { return get("/healthz"); });
    add("GET", "/readyz", "", "+++++++++", [](matrix&, const fixture&) { return get("/readyz"); });
    r.push_back({"WS", "/ws", "", "+++++++++", nullptr, false});
    r.push_back({"WS", "/ws/feed", "", "+++++++++", nullptr, false});
    // ---- the hall web page: the same document for everyone ----
    add("GET", "/hall/{id}", "published", "+++++++++",
        [](matrix&, const fixture& f) { return get("/hall/" + f.tender); });
    // ---- audit log ----
    add("GET", "/api/v1/log/checkpoint", "", "+++++++++",
        [](matrix&, const fixture&) { return get("/api/v1/log/checkpoint"); });
    add("GET", "/api/v1/log/key", "", "+++++++++",
        [](matrix&, const fixture&) { return get("/api/v1/log/key"); });
    add("GET", "/api/v1/log/events", "", "UFFF+FF++",
        [](matrix&, const fixture&) { return get("/api/v1/log/events?limit=5"); });
    add("GET", "/api/v1/log/events/{seq}", "", "UFFF+FF++",
        [](matrix&, const fixture&) { return get("/api/v1/log/events/0"); });
    add("GET", "/api/v1/log/proof/inclusion", "", "+++++++++",
        [](matrix&, const fixture&) { return get("/api/v1/log/proof/inclusion?index=0&size=1"); });
    add("GET", "/api/v1/log/proof/consistency", "", "+++++++++",
        [](matrix&, const fixture&) { return get("/api/v1/log/proof/consistency?old=1&new=1"); });
    // ---- identity ----
    add("POST", "/api/v1/auth/challenge", "", "TTTTTTTTT", [](matrix& m, const fixture&) {
      return post("/api/v1/auth/challenge",
                  json::serialize(json::object{{"user_id", m.target->user_id}}));
    });
    // Logging in needs no token: whoever sends it, a correctly signed challenge logs in.
    add("POST", "/api/v1/auth/login", "", "EEEEEEEEE", [](matrix& m, const fixture&) {
      const auto ch = m.anon_api->auth_challenge(m.target->user_id);
      const auto message = client::login_message(ch);
      const auto sig =
          tender::crypto::sign_message(m.target->key, tender::crypto::as_bytes(message));
      return post(
          "/api/v1/auth/login",
          json::serialize(json::object{{"challenge_id", ch.challenge_id},
                                       {"fingerprint", m.target->key.public_part().fingerprint()},
                                       {"signature", tender::crypto::base64_encode(sig)}}));
    });
    // Each role logs out a second session of its own (its main session stays).
    add("POST", "/api/v1/auth/logout", "", "UEEEEEEEE", [](matrix&, const fixture&) {
      return call{"POST", "/api/v1/auth/logout"};
    });
    add("GET", "/api/v1/me", "", "U++++++++",
        [](matrix&, const fixture&) { return get("/api/v1/me"); });
    add("POST", "/api/v1/orgs", "", "UFFFFFFFE", [](matrix& m, const fixture&) {
      return post("/api/v1/orgs",
                  json::serialize(json::object{
                      {"id", m.unique("m-org-")}, {"kind", "bidder"}, {"name", "New Co"}}));
    });
    add("POST", "/api/v1/orgs/{id}/users", "", "UFFFFFFFE", [](matrix& m, const fixture&) {
      return post("/api/v1/orgs/m-bidco/users",
                  json::serialize(json::object{{"id", m.unique("m-user-")},
                                               {"name", "New user"},
                                               {"roles", json::array{"bidder"}}}));
    });
    add("POST", "/api/v1/users/{id}/keys", "", "UFFFFFFFE", [](matrix& m, const fixture&) {
      const auto key = tender::crypto::private_key::generate(tender::crypto::key_type::ed25519);
      return post("/api/v1/users/" + m.target->user_id + "/keys",
                  json::serialize(json::object{{"public_key_pem", key.public_part().to_pem()}}));
    });
    // Revocation acts on the identity rows' own user: its sessions, and a key registered just
    // before the cell (so that the login rows keep working).
    add("POST", "/api/v1/users/{id}/sessions/revoke", "", "UFFFFFFFE",
        [](matrix& m, const fixture&) {
          return post("/api/v1/users/" + m.target->user_id + "/sessions/revoke", "{}");
        });
    add("POST", "/api/v1/users/{id}/keys/{fingerprint}/revoke", "", "UFFFFFFFE",
        [](matrix& m, const fixture&) {
          const auto key = tender::crypto::private_key::generate(tender::crypto::key_type::ed25519);
          const auto added =
              m.w.admin().api->add_key(m.target->user_id, key.public_part().to_pem());
          return post(
              "/api/v1/users/" + m.target->user_id + "/keys/" + added.fingerprint + "/revoke",
              "{}");
        });
    add("POST", "/api/v1/users/{id}/certificates", "", "UFFFFFFFV", [](matrix& m, const fixture&) {
      return post(
          "/api/v1/users/" + m.target->user_id + "/certificates",
          R"({"certificate":"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"})");
    });
    // ---- tenders ----
    add("POST", "/api/v1/tenders", "", "UFEEFFFFF",
        [](matrix& m, const fixture&) { return post("/api/v1/tenders", m.tender_body()); });
    add("GET", "/api/v1/tenders", "", "+++++++++",
        [](matrix&, const fixture&) { return get("/api/v1/tenders?limit=5"); });
    for (const auto& [variant, expect] :
         variants{{"draft", "NN+N+NNN+"}, {"published", "+++++++++"}}) {
      add("GET", "/api/v1/tenders/{id}", variant, expect,
          [](matrix&, const fixture& f) { return get(tender_path(f)); });
    }
    for (const auto& [variant, expect] :
         variants{{"draft", "UFENFFFFF"}, {"published", "UFCFFFFFF"}}) {
      add("PATCH", "/api/v1/tenders/{id}", variant, expect, [](matrix& m, const fixture& f) {
        return with_version(m, {"PATCH", tender_path(f), R"({"title":"Renamed"})"}, f);
      });
      add("POST", "/api/v1/tenders/{id}/publish", variant, expect, [](matrix& m, const fixture& f) {
        return with_version(m, post(tender_path(f) + "/publish", ""), f);
      });
    }
    for (const auto& [variant, expect] :
         variants{{"draft", "UFCNFFFFF"}, {"published", "UFEFFFFFF"}}) {
      add("POST", "/api/v1/tenders/{id}/amend", variant, expect, [](matrix& m, const fixture& f) {
        return with_version(
            m,
            post(
                tender_path(f) + "/amend",
                R"({"reason":"typo in the title","changes":{"title":"Matrix road works, amended"}})"),
            f);
      });
    }
    for (const auto& [variant, expect] :
         variants{{"draft", "UFENFFFFF"}, {"published", "UFEFFFFFF"}}) {
      add("POST", "/api/v1/tenders/{id}/cancel", variant, expect, [](matrix&, const fixture& f) {
        return post(tender_path(f) + "/cancel", R"({"reason":"budget withdrawn"})");
      });
    }
    for (const auto& [variant, expect] :
         variants{{"draft", "UFFFCFFFF"}, {"published", "UFFFEFFFF"}}) {
      add("POST", "/api/v1/tenders/{id}/suspend", variant, expect, [](matrix&, const fixture& f) {
        return post(tender_path(f) + "/suspend", R"({"reason":"complaint"})");
      });
    }
    for (const auto& [variant, expect] :
         variants{{"published", "UFFFCFFFF"}, {"suspended", "UFFFEFFFF"}}) {
      add("POST", "/api/v1/tenders/{id}/resume", variant, expect, [](matrix&, const fixture& f) {
        return post(tender_path(f) + "/resume", R"({"reason":"complaint settled"})");
      });
    }
    // ---- the escrow key ceremony (the fixtures' tenders have no escrow and no ceremony) ----
    add("POST", "/api/v1/tenders/{id}/escrow/ceremony", "published", "UFCFFFFFF",
        [](matrix&, const fixture& f) {
          return post(tender_path(f) + "/escrow/ceremony", R"({"group":"sm2"})");
        });
    add("GET", "/api/v1/tenders/{id}/escrow/ceremony", "draft", "UNNNNNNNN",
        [](matrix&, const fixture& f) { return get(tender_path(f) + "/escrow/ceremony"); });
    for (
        const auto& [route, body] : std::vector<std::pair<std::string, std::string>>{
            {"keys", R"({"index":1,"transport_key":"AAAA"})"},
            {"dealings",
             R"({"index":1,"commitments":["AAAA"],"shares":[{"ephemeral":"AAAA","masked":"AAAA"}]})"},
            {"confirmations", R"({"index":1,"proof":{"c":"AAAA","z":"AAAA"}})"},
            {"complaints",
             R"({"index":1,"dealer":1,"shared":"AAAA","proof":{"c":"AAAA","z":"AAAA"}})"}}) {
      add("POST", "/api/v1/tenders/{id}/escrow/ceremony/" + route, "draft", "UNNNNNNNN",
          [route = route, body = body](matrix&, const fixture& f) {
            return post(tender_path(f) + "/escrow/ceremony/" + route, body);
          });
    }
    // ---- documents, questions, notifications ----
    for (const auto& [variant, expect] :
         variants{{"draft", "UFENFFFFF"}, {"published", "UFEFFFFFF"}}) {
      add("POST", "/api/v1/tenders/{id}/documents", variant, expect, [](matrix&, const fixture& f) {
        call c = post(tender_path(f) + "/documents?name=addendum.pdf", "addendum bytes");
        c.content_type = "application/octet-stream";
        return c;
      });
    }
    for (const auto& [variant, expect] :
         variants{{"draft", "UN+NNNNNN"}, {"published", "U++++++++"}}) {
      add("GET", "/api/v1/tenders/{id}/documents", variant, expect,
          [](matrix&, const fixture& f) { return get(tender_path(f) + "/documents"); });
    }
    // A bidder's download is recorded (one event); the owner organisation and supervisors read
    // without a record.
    for (const auto& [variant, expect] :
         variants{{"draft", "UN+NNNNNN"}, {"published", "UE+F+FFFF"}}) {
      add("GET", "/api/v1/tenders/{id}/documents/{doc}/versions/{v}", variant, expect,
          [](matrix&, const fixture& f) {
            return get(tender_path(f) + "/documents/" + std::to_string(f.document) +
                       "/versions/latest");
          });
    }
    for (const auto& [variant, expect] :
         variants{{"draft", "UN+NNNNNN"}, {"published", "UF+F+FFFF"}}) {
      add("GET", "/api/v1/tenders/{id}/downloads", variant, expect,
          [](matrix&, const fixture& f) { return get(tender_path(f) + "/downloads"); });
      add("GET", "/api/v1/tenders/{id}/notifications", variant, expect,
          [](matrix&, const fixture& f) { return get(tender_path(f) + "/notifications"); });
    }
    for (const auto& [variant, expect] :
         variants{{"draft", "UNFFFFFFF"}, {"published", "UEFFFFFFF"}}) {
      add("POST", "/api/v1/tenders/{id}/questions", variant, expect, [](matrix&, const fixture& f) {
        return post(tender_path(f) + "/questions", R"({"text":"When is the site visit?"})");
      });
    }
    for (const auto& [variant, expect] :
         variants{{"draft", "UN+NNNNNN"}, {"published", "U++F+FFFF"}}) {
      add("GET", "/api/v1/tenders/{id}/questions", variant, expect,
          [](matrix&, const fixture& f) { return get(tender_path(f) + "/questions"); });
    }
    for (const auto& [variant, expect] :
         variants{{"draft", "UFCNFFFFF"}, {"published", "UFEFFFFFF"}}) {
      add("POST", "/api/v1/tenders/{id}/questions/{qid}/answer", variant, expect,
          [](matrix& m, const fixture& f) {
            // A draft has no questions: the published fixture's (the state is refused first).
            const auto q = f.question != 0 ? f.question : m.shared["published"].question;
            return post(tender_path(f) + "/questions/" + std::to_string(q) + "/answer",
                        R"({"text":"Yes, within 30 days."})");
          });
    }
    add("GET", "/api/v1/notifications", "", "U++++++++",
        [](matrix&, const fixture&) { return get("/api/v1/notifications"); });
    // The notification is the bidder's: nobody else has it.
    add("POST", "/api/v1/notifications/{id}/read", "published", "UENNNNNNN",
        [](matrix&, const fixture& f) {
          return post("/api/v1/notifications/" + std::to_string(f.notification) + "/read", "");
        });
    // ---- feed ----
    add("GET", "/api/v1/feed", "", "+++++++++",
        [](matrix&, const fixture&) { return get("/api/v1/feed?limit=5"); });
    // ---- bids ----
    add_bid_rows(r);
    add_hall_rows(r);
    // ---- guarantees and bonds (the issuer simulator's flows are in guarantees_test.cpp) ----
    add("POST", "/api/v1/issuers", "", "UFFFFFFFE", [](matrix& m, const fixture&) {
      const auto& is = *m.actors[issuer];
      return post("/api/v1/issuers", json::serialize(json::object{
                                         {"org_id", is.org_id},
                                         {"base_url", "http://127.0.0.1:9"},
                                         {"key_fingerprint", is.key.public_part().fingerprint()}}));
    });
    add("GET", "/api/v1/issuers", "", "U++++++++",
        [](matrix&, const fixture&) { return get("/api/v1/issuers"); });
    // The bidder passes the role check; its empty body is then refused (V).
    add("POST", "/api/v1/tenders/{id}/lots/{lot}/guarantees", "published", "UVFFFFFFF",
        [](matrix&, const fixture& f) {
          return post(tender_path(f) + "/lots/1/guarantees", "{}");
        });
    for (const auto& [variant, expect] :
         variants{{"draft", "UN+NNNNNN"}, {"published", "U++F+FF++"}}) {
      add("GET", "/api/v1/tenders/{id}/lots/{lot}/guarantees", variant, expect,
          [](matrix&, const fixture& f) { return get(tender_path(f) + "/lots/1/guarantees"); });
    }
    add("POST", "/api/v1/tenders/{id}/lots/{lot}/guarantee-applications", "published", "UVFFFFFFF",
        [](matrix&, const fixture& f) {
          return post(tender_path(f) + "/lots/1/guarantee-applications", "{}");
        });
    add("GET", "/api/v1/guarantee-applications/{app}", "", "UNFFFFFFF",
        [](matrix&, const fixture&) {
          return get("/api/v1/guarantee-applications/ga-0000000000000000");
        });
    // Issuers' endpoints: no token; a body that is not a signed message is refused for anyone.
    add("POST", "/api/v1/guarantee-pushes", "", "VVVVVVVVV",
        [](matrix&, const fixture&) { return post("/api/v1/guarantee-pushes", "{}"); });
    add("POST", "/api/v1/guarantee-callbacks", "", "VVVVVVVVV",
        [](matrix&, const fixture&) { return post("/api/v1/guarantee-callbacks", "{}"); });
    for (const auto& [variant, expect] :
         variants{{"draft", "UFFFFFFNF"}, {"published", "UFFFFFFEF"}}) {
      add("POST", "/api/v1/tenders/{id}/lots/{lot}/bonds", variant, expect,
          [](matrix& m, const fixture& f) {
            return post(tender_path(f) + "/lots/1/bonds",
                        json::serialize(json::object{{"bidder", m.actors[bidder]->org_id},
                                                     {"amount", 1'000'000},
                                                     {"payer_account", "6222 0001"},
                                                     {"payer_name", "Matrix Payer"},
                                                     {"paid_at", "2026-11-20T10:00:00Z"}}));
          });
    }
    for (const auto& [variant, expect] :
         variants{{"draft", "UNFNNNNNN"}, {"published", "UFFF+FF++"}}) {
      add("GET", "/api/v1/tenders/{id}/lots/{lot}/bonds", variant, expect,
          [](matrix&, const fixture& f) { return get(tender_path(f) + "/lots/1/bonds"); });
    }
    return r;
  }();
  return rows;
}

// ---- bids: the matrix bidder's sealed bid for lot 1 of a tender, made on demand --------------

struct matrix_bid {
  std::string upload_id;
  std::string header;  // the sealed file's header bytes
  tender::crypto::private_key encryption;
};

// Seals and uploads a small bid of the matrix bidder for lot 1 of `tender` unless it has one.
const matrix_bid& bid_of(matrix& m, const std::string& tender) {
  static std::map<std::string, matrix_bid> made;
  namespace tc = tender::crypto;
  namespace ts = tender::crypto::sealed;
  const auto current =
      m.w.db().query_value("SELECT count(*) FROM bids WHERE tender_id = '" + tender +
                           "' AND bidder_org = 'm-bidco' AND status = 'current'");
  if (current != "0" && made.count(tender) != 0) return made.at(tender);
  matrix_bid b;
  b.encryption = tc::private_key::generate(tc::key_type::x25519);
  ts::seal_params p;
  p.tender_id = tender + "/1";
  p.bidder_id = "m-bidco";
  p.bidder_keys = {b.encryption.public_part()};
  p.signing_key = m.actors[bidder]->key;
  std::istringstream body(std::string(3000, 'b'));
  std::ostringstream out;
  const auto sealed = ts::seal(p, R"({"price":"100.00"})", body, out);
  b.header.assign(sealed.hdr.encoded.begin(), sealed.hdr.encoded.end());
  const std::string file = out.str();
  auto& api = m.api(bidder);
  const auto created = tender::client::bids::create_upload(api, tender, 1, file.size());
  tender::client::bids::patch(api, created.upload_id, 0, file);
  b.upload_id = created.upload_id;
  return made[tender] = std::move(b);
}

// An open upload of the matrix bidder (3 bytes announced, none sent).
std::string open_upload(matrix& m, const std::string& tender) {
  return tender::client::bids::create_upload(m.api(bidder), tender, 1, 3).upload_id;
}

call tus(call c) {
  c.headers.emplace_back("Tus-Resumable", "1.0.0");
  return c;
}

void add_bid_rows(std::vector<row>& r) {
  auto add = [&](std::string method, std::string route, std::string variant, std::string expect,
                 std::function<call(matrix&, const fixture&)> build) {
    r.push_back({std::move(method), std::move(route), std::move(variant), std::move(expect),
                 std::move(build)});
  };
  const std::string lot = "/api/v1/tenders/{id}/lots/{lot}";
  add("OPTIONS", "/api/v1/uploads", "", "+++++++++", [](matrix&, const fixture&) {
    return call{"OPTIONS", "/api/v1/uploads"};
  });
  // Creating, sending to and terminating an upload change rows but are not audited (only what
  // becomes a bid is).
  add("POST", lot + "/uploads", "published", "UTFFFFFFF", [](matrix&, const fixture& f) {
    call c = tus(post(tender_path(f) + "/lots/1/uploads", ""));
    c.headers.emplace_back("Upload-Length", "100");
    return c;
  });
  add("HEAD", "/api/v1/uploads/{uid}", "published", "U+FFFFFFF", [](matrix& m, const fixture& f) {
    return tus(call{"HEAD", "/api/v1/uploads/" + open_upload(m, f.tender)});
  });
  add("GET", "/api/v1/uploads/{uid}", "published", "U+FFFFFFF", [](matrix& m, const fixture& f) {
    return tus(get("/api/v1/uploads/" + open_upload(m, f.tender)));
  });
  add("PATCH", "/api/v1/uploads/{uid}", "published", "UTFFFFFFF", [](matrix& m, const fixture& f) {
    call c = tus(call{"PATCH", "/api/v1/uploads/" + open_upload(m, f.tender), "ab",
                      "application/offset+octet-stream"});
    c.headers.emplace_back("Upload-Offset", "0");
    return c;
  });
  add("DELETE", "/api/v1/uploads/{uid}", "published", "UTFFFFFFF", [](matrix& m, const fixture& f) {
    return tus(call{"DELETE", "/api/v1/uploads/" + open_upload(m, f.tender)});
  });
  add("GET", "/api/v1/uploads/{uid}/receipt", "published", "U+FFFFFFF",
      [](matrix& m, const fixture& f) {
        return get("/api/v1/uploads/" + bid_of(m, f.tender).upload_id + "/receipt");
      });
  add("GET", lot + "/bids/mine", "published", "U+FFFFFFF", [](matrix& m, const fixture& f) {
    bid_of(m, f.tender);
    return get(tender_path(f) + "/lots/1/bids/mine");
  });
  add("DELETE", lot + "/bids/mine", "published", "UEFFFFFFF", [](matrix& m, const fixture& f) {
    bid_of(m, f.tender);
    return call{"DELETE", tender_path(f) + "/lots/1/bids/mine"};
  });
  add("POST", lot + "/bids/mine/rehearsal-challenge", "published", "UTFFFFFFF",
      [](matrix& m, const fixture& f) {
        bid_of(m, f.tender);
        return post(tender_path(f) + "/lots/1/bids/mine/rehearsal-challenge", "");
      });
  add("POST", lot + "/bids/mine/rehearsal", "published", "UEFFFFFFF",
      [](matrix& m, const fixture& f) {
        namespace tc = tender::crypto;
        namespace ts = tender::crypto::sealed;
        const auto& b = bid_of(m, f.tender);
        const auto ch = tender::client::bids::rehearsal_challenge_for(m.api(bidder), f.tender, 1);
        const auto h = ts::parse_header(tc::as_bytes(b.header));
        const auto key = ts::derive_rehearsal_key(h, ts::unwrap_bidder(h, b.encryption).key.view());
        const auto sig = ts::sign_rehearsal(key, tc::as_bytes(ch.challenge));
        return post(tender_path(f) + "/lots/1/bids/mine/rehearsal",
                    json::serialize(json::object{
                        {"challenge_id", ch.challenge_id},
                        {"signature", tc::base64_encode(tc::byte_view(sig.data(), sig.size()))}}));
      });
  add("GET", lot + "/bids", "published", "UF+F+FF++",
      [](matrix&, const fixture& f) { return get(tender_path(f) + "/lots/1/bids"); });
  // Sealed only at the deadline: before it, nobody finds a seal.
  add("GET", lot + "/bid-seal", "published", "NNNNNNNNN",
      [](matrix&, const fixture& f) { return get(tender_path(f) + "/lots/1/bid-seal"); });
}

// The opening hall of a tender (routes_hall.cpp). The hall is made by its first viewer (the
// center staff's look in the fixture step, before the row counts are taken); the matrix bidder
// has a bid, so it is the hall's bidder; the rest are the public, refused until the bidder list
// is published (hall.not_public_yet).
void add_hall_rows(std::vector<row>& r) {
  auto add = [&](std::string method, std::string route, std::string variant, std::string expect,
                 std::function<call(matrix&, const fixture&)> build) {
    r.push_back({std::move(method), std::move(route), std::move(variant), std::move(expect),
                 std::move(build)});
  };
  const auto hall_ready = [](matrix& m, const fixture& f) {
    bid_of(m, f.tender);
    m.api(center_staff).request("GET", tender_path(f) + "/hall");
  };
  r.push_back({"WS", "/ws/halls/{tender_id}", "", "+++++++++", nullptr, false});
  add("GET", "/api/v1/tenders/{id}/hall", "draft", "NNNNNNNNN",
      [](matrix&, const fixture& f) { return get(tender_path(f) + "/hall"); });
  add("GET", "/api/v1/tenders/{id}/hall", "published", "H+HH+HH+H",
      [hall_ready](matrix& m, const fixture& f) {
        hall_ready(m, f);
        return get(tender_path(f) + "/hall");
      });
  add("GET", "/api/v1/tenders/{id}/hall/events", "published", "H+HH+HH+H",
      [hall_ready](matrix& m, const fixture& f) {
        hall_ready(m, f);
        return get(tender_path(f) + "/hall/events?after=0&limit=10");
      });
  add("PUT", "/api/v1/tenders/{id}/lots/{lot}/hall/backup", "published", "UHFFFFFFF",
      [hall_ready](matrix& m, const fixture& f) {
        hall_ready(m, f);
        return call{"PUT", tender_path(f) + "/lots/1/hall/backup", "not a sealed file",
                    "application/octet-stream"};
      });
  add("GET", "/api/v1/tenders/{id}/opening-record", "published", "HHHHHHHHH",
      [hall_ready](matrix& m, const fixture& f) {
        hall_ready(m, f);
        return get(tender_path(f) + "/opening-record");
      });
  add("GET", "/api/v1/tenders/{id}/opening-record.html", "published", "HHHHHHHHH",
      [hall_ready](matrix& m, const fixture& f) {
        hall_ready(m, f);
        return get(tender_path(f) + "/opening-record.html");
      });
}

std::string describe(const row& r, role who) {
  return r.method + " " + r.route + (r.variant.empty() ? "" : " [" + r.variant + " tender]") +
         " as " + role_names[who];
}

}  // namespace

TEST(authorization_matrix, every_endpoint_every_role) {
  matrix m;
  const auto second_session = [&](role who) -> std::unique_ptr<client::client> {
    if (who == anonymous) return m.w.anonymous();
    return m.w.session_of(*m.actors[who]);
  };
  int cells = 0;
  for (const auto& r : table()) {
    ASSERT_EQ(r.expect.size(), static_cast<std::size_t>(role_count)) << r.method << " " << r.route;
    if (!r.exercised) continue;
    for (std::size_t i = 0; i < role_count; ++i) {
      const auto who = static_cast<role>(i);
      const char expect = r.expect[i];
      const std::string what = describe(r, who);
      const fixture f = expect == 'E' ? m.fresh(r.variant) : m.shared[r.variant];
      call c = r.build(m, f);
      if (r.route == "/api/v1/auth/logout") c.as = second_session(who);
      client::client& api = c.as ? *c.as : m.api(who);
      const auto before = m.snapshot();
      const auto res = api.request(c.method, c.target, c.body, c.content_type, c.headers);
      const auto after = m.snapshot();
      ++cells;
      const long long events = after.at("audit_events") - before.at("audit_events");
      const std::string code = error_code_of(res);
      const std::string got =
          std::to_string(res.status) + " " + code + " " + res.body.substr(0, 200);
      switch (expect) {
        case '+':
        case 'T':
        case 'E':
          EXPECT_GE(res.status, 200u) << what << ": " << got;
          EXPECT_LT(res.status, 300u) << what << ": " << got;
          EXPECT_EQ(events, expect == 'E' ? 1 : 0) << what << ": audit events added";
          if (expect == '+') {
            EXPECT_EQ(before, after) << what << ": a read changed rows";
          }
          break;
        case 'U':
          EXPECT_EQ(res.status, 401u) << what << ": " << got;
          EXPECT_EQ(code, "auth.required") << what;
          break;
        case 'F':
          EXPECT_EQ(res.status, 403u) << what << ": " << got;
          EXPECT_EQ(code, "auth.forbidden") << what;
          break;
        case 'N':
          EXPECT_EQ(res.status, 404u) << what << ": " << got;
          EXPECT_TRUE(code.ends_with(".not_found")) << what << ": " << got;
          break;
        case 'C':
          EXPECT_EQ(res.status, 409u) << what << ": " << got;
          EXPECT_EQ(code, "tender.bad_state") << what;
          break;
        case 'V':
          EXPECT_EQ(res.status, 400u) << what << ": " << got;
          break;
        case 'H':
          EXPECT_GE(res.status, 400u) << what << ": " << got;
          EXPECT_LT(res.status, 500u) << what << ": " << got;
          EXPECT_TRUE(code.starts_with("hall.")) << what << ": " << got;
          break;
        default:
          ADD_FAILURE() << what << ": unknown expectation '" << expect << "'";
      }
      if (std::string("UFNCVH").find(expect) != std::string::npos) {
        EXPECT_EQ(before, after) << what << ": a refused request changed rows";
      }
    }
  }
  EXPECT_GT(cells, 300);
  m.w.check_api_conformance();
}

// Every route registered in server/app/src/routes*.cpp is in the table, and every route of the
// table is registered.
TEST(authorization_matrix, covers_every_registered_route) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::path(TENDER_REPO_ROOT) / "server" / "app" / "src";
  static const std::regex add(
      R"re(\br\s*(?:\.|->)\s*add(?:_stream)?\(\s*"([A-Z]+)"\s*,\s*"([^"]+)")re");
  static const std::regex ws(R"re(\br\s*(?:\.|->)\s*add_websocket\(\s*"([^"]+)")re");
  std::set<std::pair<std::string, std::string>> registered;
  int files = 0;
  for (const auto& e : fs::directory_iterator(dir)) {
    const auto name = e.path().filename().string();
    if (!name.starts_with("routes") || e.path().extension() != ".cpp") continue;
    ++files;
    const std::string text = tender::test::read_file(e.path().string());
    for (std::sregex_iterator it(text.begin(), text.end(), add), end; it != end; ++it)
      registered.insert({(*it)[1].str(), (*it)[2].str()});
    for (std::sregex_iterator it(text.begin(), text.end(), ws), end; it != end; ++it)
      registered.insert({"WS", (*it)[1].str()});
  }
  EXPECT_GE(files, 6);
  EXPECT_GE(registered.size(), 35u);
  std::set<std::pair<std::string, std::string>> covered;
  for (const auto& r : table())
    covered.insert({r.method, r.route});
  for (const auto& route : registered) {
    EXPECT_TRUE(covered.contains(route))
        << route.first << " " << route.second
        << " is registered but not in the authorization matrix: add a row";
  }
  for (const auto& route : covered) {
    EXPECT_TRUE(registered.contains(route))
        << route.first << " " << route.second << " is in the matrix but no longer registered";
  }
}

// docs/AUTHORIZATION.md shows the table above, generated from it.
TEST(authorization_matrix, documented_table_is_the_tested_one) {
  std::string md = "| method | route | tender |";
  for (const auto* r : role_short)
    md += std::string(" ") + r + " |";
  md += "\n|---|---|---|";
  for (std::size_t i = 0; i < role_count; ++i)
    md += ":-:|";
  md += "\n";
  for (const auto& r : table()) {
    md +=
        "| " + r.method + " | `" + r.route + "` | " + (r.variant.empty() ? "–" : r.variant) + " |";
    for (const char c : r.expect)
      md += std::string(" ") + c + " |";
    md += "\n";
  }
  const std::string doc =
      tender::test::read_file(std::string(TENDER_REPO_ROOT) + "/docs/AUTHORIZATION.md");
  const std::string begin = "<!-- matrix:begin -->\n";
  const std::string end = "<!-- matrix:end -->";
  const auto b = doc.find(begin);
  const auto e = doc.find(end);
  ASSERT_NE(b, std::string::npos) << "docs/AUTHORIZATION.md lacks the matrix markers";
  ASSERT_NE(e, std::string::npos);
  EXPECT_EQ(doc.substr(b + begin.size(), e - b - begin.size()), md)
      << "docs/AUTHORIZATION.md is out of date; the table is:\n"
      << md;
}
