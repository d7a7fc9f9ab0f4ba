// Electronic guarantees, issuers, applications, callbacks and cash bonds (guarantees.hpp).

#include <tender/db/guarantees.hpp>

#include <tender/db/audit_log.hpp>
#include <tender/db/error.hpp>

#include "audit_tx.hpp"
#include "canonical_json.hpp"
#include "pool.hpp"

#include <tender/core/log.hpp>
#include <tender/core/tender_rules.hpp>
#include <tender/crypto/bytes.hpp>
#include <tender/crypto/digest.hpp>

#include <boost/json.hpp>

#include <pqxx/pqxx>

#include <any>
#include <map>
#include <random>
#include <set>
#include <utility>
#include <vector>

namespace net = boost::asio;

namespace tender::db {
namespace json = boost::json;

namespace {

#define TENDER_G_TIME(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

constexpr const char* select_org_sql = "SELECT kind FROM organisations WHERE id = $1";

constexpr const char* select_org_key_sql =
    "SELECT k.spki FROM user_keys k JOIN users u ON u.id = k.user_id "
    "WHERE k.fingerprint = $1 AND u.org_id = $2 AND k.revoked_at IS NULL";

constexpr const char* upsert_issuer_sql =
    "INSERT INTO guarantee_issuers (org_id, base_url, key_fingerprint, registered_by) "
    "VALUES ($1, $2, $3, $4) ON CONFLICT (org_id) DO UPDATE SET base_url = EXCLUDED.base_url, "
    "key_fingerprint = EXCLUDED.key_fingerprint, registered_by = EXCLUDED.registered_by, "
    "registered_at = clock_timestamp() RETURNING " TENDER_G_TIME("registered_at");

constexpr const char* list_issuers_sql =
    "SELECT i.org_id, o.name, i.base_url, i.key_fingerprint, " TENDER_G_TIME("i.registered_at")
    " FROM guarantee_issuers i JOIN organisations o ON o.id = i.org_id ORDER BY i.org_id";

constexpr const char* select_issuer_sql =
    "SELECT i.base_url, i.key_fingerprint, k.spki FROM guarantee_issuers i "
    "LEFT JOIN user_keys k ON k.fingerprint = i.key_fingerprint AND k.revoked_at IS NULL "
    "AND k.user_id IN (SELECT id FROM users WHERE org_id = i.org_id) WHERE i.org_id = $1";

// The tender and lot; `past`: the deadline has passed on PostgreSQL's clock.
constexpr const char* select_lot_sql =
    "SELECT t.state, t.owner_org, t.project_code, t.rule_pack, "
    "COALESCE(extract(epoch FROM t.deadline_at)::bigint, 0), "
    "extract(epoch FROM clock_timestamp())::bigint, "
    "COALESCE(t.deadline_at <= clock_timestamp(), false), l.bond_amount, l.lot_no IS NOT NULL "
    "FROM tenders t LEFT JOIN lots l ON l.tender_id = t.id AND l.lot_no = $2 WHERE t.id = $1";

constexpr const char* lock_tender_sql =
    "SELECT state, COALESCE(deadline_at <= clock_timestamp(), false) FROM tenders "
    "WHERE id = $1 FOR SHARE";

constexpr const char* select_guarantee_by_number_sql =
    "SELECT id, tender_id, lot_no, bidder_org FROM guarantees WHERE issuer_org = $1 AND number = "
    "$2";

constexpr const char* insert_guarantee_sql =
    "INSERT INTO guarantees (tender_id, lot_no, bidder_org, issuer_org, number, kind, flow, "
    "application_id, amount, currency, valid_from, valid_until, issued_at, signed, status, "
    "attached_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14::jsonb, $15, "
    "$16) RETURNING id";

#define TENDER_G_COLUMNS \
  "g.id, g.tender_id, g.lot_no, g.bidder_org, g.issuer_org, g.number, g.kind, g.flow, "     \
  "g.application_id, g.amount, g.currency, " TENDER_G_TIME("g.valid_from") ", " TENDER_G_TIME( \
      "g.valid_until") ", " TENDER_G_TIME("g.issued_at") ", g.status, " TENDER_G_TIME(      \
      "g.status_checked_at") ", " TENDER_G_TIME("g.attached_at") ", g.signed::text"

constexpr const char* select_guarantee_sql =
    "SELECT " TENDER_G_COLUMNS " FROM guarantees g WHERE g.id = $1";
constexpr const char* list_guarantees_sql =
    "SELECT " TENDER_G_COLUMNS
    " FROM guarantees g WHERE g.tender_id = $1 AND g.lot_no = $2 "
    "AND ($3 = '' OR g.bidder_org = $3) ORDER BY g.id";
constexpr const char* count_guarantees_sql =
    "SELECT count(*) FROM guarantees WHERE tender_id = $1 AND lot_no = $2";

constexpr const char* insert_application_sql =
    "INSERT INTO guarantee_applications (id, tender_id, lot_no, bidder_org, user_id, issuer_org, "
    "application_code) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING " TENDER_G_TIME("created_at");
constexpr const char* select_application_sql =
    "SELECT id, tender_id, lot_no, bidder_org, user_id, issuer_org, application_code, state, "
    "guarantee_id, refusal_code, refusal_message, " TENDER_G_TIME("created_at") ", " TENDER_G_TIME(
        "updated_at") " FROM guarantee_applications WHERE id = $1";
constexpr const char* refuse_application_sql =
    "UPDATE guarantee_applications SET state = 'refused', refusal_code = $2, refusal_message = $3, "
    "updated_at = clock_timestamp() WHERE id = $1 AND state = 'pending'";
constexpr const char* issue_application_sql =
    "UPDATE guarantee_applications SET state = 'issued', guarantee_id = $2, "
    "updated_at = clock_timestamp() WHERE id = $1 AND state = 'pending'";

constexpr const char* insert_event_sql =
    "INSERT INTO guarantee_events (issuer_org, event_id, number, status, occurred_at, signed) "
    "VALUES ($1, $2, $3, $4, $5, $6::jsonb) ON CONFLICT DO NOTHING RETURNING event_id";
constexpr const char* update_status_sql =
    "UPDATE guarantees SET status = $2, status_checked_at = clock_timestamp() WHERE id = $1";

// A live answer; a status that left 'valid' meanwhile (a signed callback) is kept.
constexpr const char* update_live_status_sql =
    "UPDATE guarantees SET status = $2, status_checked_at = clock_timestamp() "
    "WHERE id = $1 AND status = 'valid' RETURNING 1";

constexpr const char* insert_bond_sql =
    "INSERT INTO bonds (tender_id, lot_no, bidder_org, amount, payer_account, payer_name, paid_at, "
    "recorded_by) VALUES ($1, $2, $3, $4, $5, $6, $7::timestamptz, $8) RETURNING "
    "id, " TENDER_G_TIME("recorded_at") ", " TENDER_G_TIME("paid_at");
constexpr const char* list_bonds_sql =
    "SELECT b.id, b.bidder_org, o.name, b.amount, b.payer_account, b.payer_name, " TENDER_G_TIME(
        "b.paid_at") ", b.recorded_by, " TENDER_G_TIME("b.recorded_at")
    " FROM bonds b JOIN organisations o ON o.id = b.bidder_org "
    "WHERE b.tender_id = $1 AND b.lot_no = $2 ORDER BY b.id";
// Every (account, bidder) of the tender, across its lots: the evidence of a shared payer.
constexpr const char* payers_sql =
    "SELECT DISTINCT payer_account, bidder_org FROM bonds WHERE tender_id = $1";

constexpr const char* opening_guarantees_sql =
    "SELECT g.id, g.number, g.issuer_org, i.base_url, i.key_fingerprint, k.spki "
    "FROM guarantees g JOIN guarantee_issuers i ON i.org_id = g.issuer_org "
    "LEFT JOIN user_keys k ON k.fingerprint = i.key_fingerprint AND k.revoked_at IS NULL "
    "WHERE g.tender_id = $1 AND g.status = 'valid' ORDER BY g.id";

[[noreturn]] void fail(const char* code, const std::string& message) {
  throw error(code, message);
}

void audit(pqxx::transaction_base& tx, const std::string& actor, const std::string& role,
           const char* action, const std::string& subject, const json::object& change) {
  audit_tx::append_change(tx, actor, role, action, subject, change);
}

std::string subject_of(const std::string& tender_id, int lot) {
  return tender_id + "/" + std::to_string(lot);
}

std::string bytes_text(const pqxx::field& f) {
  const pqxx::binarystring b(f);
  return std::string(b.str());
}

json::object guarantee_json(const pqxx::row& r) {
  json::object o{{"id", r[0].as<std::int64_t>()},
                 {"tender_id", r[1].as<std::string>()},
                 {"lot", r[2].as<int>()},
                 {"bidder", r[3].as<std::string>()},
                 {"issuer", r[4].as<std::string>()},
                 {"number", r[5].as<std::string>()},
                 {"kind", r[6].as<std::string>()},
                 {"flow", r[7].as<std::string>()},
                 {"application_id", nullptr},
                 {"amount", r[9].as<std::int64_t>()},
                 {"currency", r[10].as<std::string>()},
                 {"valid_from", r[11].as<std::string>()},
                 {"valid_until", r[12].as<std::string>()},
                 {"issued_at", r[13].as<std::string>()},
                 {"status", r[14].as<std::string>()},
                 {"status_checked_at", r[15].as<std::string>()},
                 {"attached_at", r[16].as<std::string>()},
                 {"signed", json::parse(r[17].as<std::string>())}};
  if (!r[8].is_null()) o["application_id"] = r[8].as<std::string>();
  return o;
}

json::object application_json(const pqxx::row& r) {
  json::object o{{"application_id", r[0].as<std::string>()},
                 {"tender_id", r[1].as<std::string>()},
                 {"lot", r[2].as<int>()},
                 {"bidder", r[3].as<std::string>()},
                 {"issuer", r[5].as<std::string>()},
                 {"application_code", r[6].as<std::string>()},
                 {"state", r[7].as<std::string>()},
                 {"guarantee_id", nullptr},
                 {"refusal", nullptr},
                 {"created_at", r[11].as<std::string>()},
                 {"updated_at", r[12].as<std::string>()}};
  if (!r[8].is_null()) o["guarantee_id"] = r[8].as<std::int64_t>();
  if (!r[9].is_null()) {
    o["refusal"] = json::object{{"code", r[9].as<std::string>()},
                                {"message", r[10].is_null() ? "" : r[10].as<std::string>()}};
  }
  return o;
}

struct lot_row {
  std::string state;
  std::string owner_org;
  std::string project_code;
  std::string rule_pack;
  std::int64_t deadline_at = 0;
  std::int64_t now = 0;
  bool past = false;
  std::int64_t bond_amount = 0;
};

// The tender and lot, or tender.not_found (no tender, no such lot, or another organisation's
// draft).
lot_row load_lot(pqxx::transaction_base& tx, const std::optional<principal>& who,
                 const std::string& tender_id, int lot_no) {
  const auto rows = tx.exec_params(select_lot_sql, tender_id, lot_no);
  if (rows.empty()) fail("tender.not_found", "no tender '" + tender_id + "'");
  const auto& r = rows[0];
  lot_row t{r[0].as<std::string>(),  r[1].as<std::string>(),
            r[2].as<std::string>(),  r[3].as<std::string>(),
            r[4].as<std::int64_t>(), r[5].as<std::int64_t>(),
            r[6].as<bool>(),         0};
  if (t.state == "draft" && (!who || who->org.id != t.owner_org)) {
    fail("tender.not_found", "no tender '" + tender_id + "'");
  }
  if (!r[8].as<bool>()) {
    fail("tender.not_found", "tender '" + tender_id + "' has no lot " + std::to_string(lot_no));
  }
  t.bond_amount = r[7].as<std::int64_t>();
  return t;
}

// Bids (and so guarantees) are taken while the tender is published and before its deadline.
void require_accepting(const std::string& tender_id, const std::string& state, bool past) {
  if (past || state == "closed" || state == "opening" || state == "failed") {
    fail("bid.deadline_passed", "the submission deadline of tender '" + tender_id + "' has passed");
  }
  if (state != "published") {
    fail("bid.not_accepting", "tender '" + tender_id + "' does not take bids now: it is " + state);
  }
}

void require_bidder(const principal& who, const lot_row& t, const std::string& tender_id) {
  if (!who.who.has_role("bidder") || who.org.kind != "bidder" || who.org.id == t.owner_org) {
    fail("auth.forbidden",
         "only a bidder of a bidder organisation may add guarantees to tender '" + tender_id + "'");
  }
}

std::string random_hex(std::size_t n) {
  static thread_local std::random_device rd;
  std::string out;
  static constexpr char digits[] = "0123456789abcdef";
  for (std::size_t i = 0; i < n; ++i)
    out += digits[rd() % 16];
  return out;
}

bool valid_account(const std::string& s) {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '-' ||
          c == ' ')) {
      return false;
    }
  }
  return true;
}

}  // namespace

guarantees::guarantees(pool& connections) : pool_(connections) {}

net::awaitable<json::object> guarantees::register_issuer(principal who, std::string org_id,
                                                         std::string base_url,
                                                         std::string key_fingerprint) {
  if (base_url.rfind("http://", 0) != 0 && base_url.rfind("https://", 0) != 0) {
    fail("identity.bad_input", "base_url must start with http:// or https://");
  }
  while (!base_url.empty() && base_url.back() == '/')
    base_url.pop_back();
  json::object out;
  pool::job job = [&](pqxx::connection_base& c) {
    pqxx::work tx(c);
    const auto org = tx.exec_params(select_org_sql, org_id);
    if (org.empty()) fail("identity.not_found", "no organisation '" + org_id + "'");
    if (org[0][0].as<std::string>() != "issuer") {
      fail("identity.bad_input", "organisation '" + org_id + "' is not of kind issuer");
    }
    if (tx.exec_params(select_org_key_sql, key_fingerprint, org_id).empty()) {
      fail("identity.bad_input", "key " + key_fingerprint +
                                     " is not an active key of a user of organisation '" + org_id +
                                     "'");
    }
    const auto row =
        tx.exec_params1(upsert_issuer_sql, org_id, base_url, key_fingerprint, who.who.id);
    audit(tx, who.who.id, "admin", "guarantee.issuer_registered", org_id,
          {{"org_id", org_id}, {"base_url", base_url}, {"key_fingerprint", key_fingerprint}});
    out = {{"org_id", org_id},
           {"base_url", base_url},
           {"key_fingerprint", key_fingerprint},
           {"registered_at", row[0].as<std::string>()}};
    tx.commit();
  };
  co_await pool_.run(std::move(job));
  co_return out;
}

net::awaitable<json::object> guarantees::list_issuers() {
  json::object out;
  pool::job job = [&](pqxx::connection_base& c) {
    pqxx::read_transaction tx(c);
    json::array list;
    for (const auto& r : tx.exec(list_issuers_sql)) {
      list.push_back(json::object{{"org_id", r[0].as<std::string>()},
                                  {"name", r[1].as<std::string>()},
                                  {"base_url", r[2].as<std::string>()},
                                  {"key_fingerprint", r[3].as<std::string>()},
                                  {"registered_at", r[4].as<std::string>()}});
    }
    out = {{"issuers", std::move(list)}};
  };
  co_await pool_.run(std::move(job));
  co_return out;
}

net::awaitable<std::optional<guarantee_issuer>> guarantees::issuer(std::string org_id) {
  std::optional<guarantee_issuer> out;
  pool::job job = [&](pqxx::connection_base& c) {
    pqxx::read_transaction tx(c);
    const auto rows = tx.exec_params(select_issuer_sql, org_id);
    if (rows.empty()) return;
    out = guarantee_issuer{org_id, rows[0][0].as<std::string>(), rows[0][1].as<std::string>(),
                           rows[0][2].is_null() ? std::string() : bytes_text(rows[0][2])};
  };
  co_await pool_.run(std::move(job));
  co_return out;
}

net::awaitable<guarantee_context> guarantees::context(std::optional<principal> who,
                                                      std::string tender_id, int lot_no) {
  guarantee_context out;
  pool::job job = [&](pqxx::connection_base& c) {
    pqxx::read_transaction tx(c);
    const auto t = load_lot(tx, who, tender_id, lot_no);
    if (who) require_bidder(*who, t, tender_id);
    require_accepting(tender_id, t.state, t.past);
    out.tender_id = tender_id;
    out.lot_no = lot_no;
    out.project_code = t.project_code;
    out.owner_org = t.owner_org;
    out.state = t.state;
    out.deadline_at = t.deadline_at;
    out.now = t.now;
    out.bond_amount = t.bond_amount;
    if (const auto* pack = core::find_rule_pack(t.rule_pack)) {
      out.bid_validity_days = pack->bid_validity_days;
    }
  };
  co_await pool_.run(std::move(job));
  co_return out;
}

net::awaitable<json::object> guarantees::attach(std::string tender_id, int lot_no,
                                                std::string bidder_org, std::string user_id,
                                                verified_guarantee g,
                                                std::optional<std::string> application_id) {
  json::object out;
  pool::job job = [&](pqxx::connection_base& c) {
    pqxx::work tx(c);
    const auto t = tx.exec_params(lock_tender_sql, tender_id);
    if (t.empty()) fail("tender.not_found", "no tender '" + tender_id + "'");
    require_accepting(tender_id, t[0][0].as<std::string>(), t[0][1].as<bool>());
    const auto existing = tx.exec_params(select_guarantee_by_number_sql, g.issuer_org, g.number);
    if (!existing.empty()) {
      const auto& e = existing[0];
      if (e[1].as<std::string>() != tender_id || e[2].as<int>() != lot_no ||
          e[3].as<std::string>() != bidder_org) {
        fail("guarantee.malformed", "guarantee " + g.number + " of issuer " + g.issuer_org +
                                        " is already attached to another bid");
      }
      if (application_id) {
        fail("guarantee.malformed", "guarantee " + g.number + " is already attached");
      }
      // The same guarantee attached again: the first record answers.
      out = guarantee_json(tx.exec_params1(select_guarantee_sql, e[0].as<std::int64_t>()));
      out["replayed"] = true;
      tx.commit();
      return;
    }
    const char* flow = application_id ? "integrated" : "open";
    const std::optional<std::string> attached_by =
        user_id.empty() ? std::nullopt : std::optional<std::string>(user_id);
    const auto id =
        tx.exec_params1(insert_guarantee_sql, tender_id, lot_no, bidder_org, g.issuer_org, g.number,
                        g.kind, flow, application_id, g.amount, g.currency, g.valid_from,
                        g.valid_until, g.issued_at, g.signed_json, g.status, attached_by)[0]
            .as<std::int64_t>();
    if (application_id) {
      const auto r = tx.exec_params0(issue_application_sql, *application_id, id);
      if (r.affected_rows() != 1) {
        fail("guarantee.not_found", "application " + *application_id + " is not pending");
      }
    }
    const auto actor = user_id.empty() ? g.issuer_org : user_id;
    audit(tx, actor, user_id.empty() ? "issuer" : "bidder", "guarantee.attached",
          subject_of(tender_id, lot_no),
          {{"tender_id", tender_id},
           {"lot", lot_no},
           {"bidder", bidder_org},
           {"issuer", g.issuer_org},
           {"number", g.number},
           {"flow", flow},
           {"amount", g.amount},
           {"signed_digest", crypto::to_hex(crypto::sha256(g.signed_json))}});
    out = guarantee_json(tx.exec_params1(select_guarantee_sql, id));
    out["replayed"] = false;
    tx.commit();
  };
  co_await pool_.run(std::move(job));
  co_return out;
}

net::awaitable<json::object> guarantees::create_application(principal who, std::string tender_id,
                                                            int lot_no, std::string issuer_org,
                                                            std::string application_code) {
  json::object out;
  pool::job job = [&](pqxx::connection_base& c) {
    pqxx::work tx(c);
    const auto t = load_lot(tx, who, tender_id, lot_no);
    require_bidder(who, t, tender_id);
    require_accepting(tender_id, t.state, t.past);
    if (tx.exec_params(select_issuer_sql, issuer_org).empty()) {
      fail("guarantee.unknown_issuer", "'" + issuer_org + "' is not a registered guarantee issuer");
    }
    const auto id = "ga-" + random_hex(16);
    tx.exec_params1(insert_application_sql, id, tender_id, lot_no, who.org.id, who.who.id,
                    issuer_org, application_code);
    audit(tx, who.who.id, "bidder", "guarantee.applied", subject_of(tender_id, lot_no),
          {{"application_id", id},
           {"tender_id", tender_id},
           {"lot", lot_no},
           {"bidder", who.org.id},
           {"issuer", issuer_org}});
    out = application_json(tx.exec_params1(select_application_sql, id));
    tx.commit();
  };
  co_await pool_.run(std::move(job));
  co_return out;
}

net::awaitable<void> guarantees::refuse_application(std::string id, std::string code,
                                                    std::string message) {
  pool::job job = [&](pqxx::connection_base& c) {
    pqxx::work tx(c);
    const auto r = tx.exec_params0(refuse_application_sql, id, code, message);
    if (r.affected_rows() == 1) {
      audit(tx, "tenderd", "system", "guarantee.application_refused", id,
            {{"application_id", id}, {"code", code}});
    }
    tx.commit();
  };
  co_await pool_.run(std::move(job));
}

net::awaitable<std::optional<guarantees::application>> guarantees::find_application(
    std::string id) {
  std::optional<application> out;
  pool::job job = [&](pqxx::connection_base& c) {
    pqxx::read_transaction tx(c);
    const auto rows = tx.exec_params(select_application_sql, id);
    if (rows.empty()) return;
    const auto& r = rows[0];
    out = application{r[0].as<std::string>(), r[1].as<std::string>(), r[2].as<int>(),
                      r[3].as<std::string>(), r[4].as<std::string>(), r[5].as<std::string>(),
                      r[6].as<std::string>(), r[7].as<std::string>()};
  };
  co_await pool_.run(std::move(job));
  co_return out;
}

net::awaitable<json::object> guarantees::application_view(principal who, std::string id) {
  json::object out;
  pool::job job = [&](pqxx::connection_base& c) {
    pqxx::read_transaction tx(c);
    const auto rows = tx.exec_params(select_application_sql, id);
    if (rows.empty() || rows[0][3].as<std::string>() != who.org.id) {
      fail("guarantee.not_found", "no application '" + id + "' of your organisation");
    }
    out = application_json(rows[0]);
  };
  co_await pool_.run(std::move(job));
  co_return out;
}

net::awaitable<json::object> guarantees::apply_event(std::string issuer_org, std::string event_id,
                                                     std::string number, std::string status,
                                                     std::string occurred_at,
                                                     std::string signed_json) {
  json::object out;
  pool::job job = [&](pqxx::connection_base& c) {
    pqxx::work tx(c);
    const auto g = tx.exec_params(select_guarantee_by_number_sql, issuer_org, number);
    if (g.empty()) {
      fail("guarantee.not_found", "no guarantee " + number + " of issuer " + issuer_org);
    }
    const auto id = g[0][0].as<std::int64_t>();
    const auto inserted = tx.exec_params(insert_event_sql, issuer_org, event_id, number, status,
                                         occurred_at, signed_json);
    if (inserted.empty()) {
      out = {{"event_id", event_id}, {"applied", false}};
      out["guarantee"] = guarantee_json(tx.exec_params1(select_guarantee_sql, id));
      tx.commit();
      return;
    }
    tx.exec_params0(update_status_sql, id, status);
    audit(tx, issuer_org, "issuer", "guarantee.status_changed",
          subject_of(g[0][1].as<std::string>(), g[0][2].as<int>()),
          {{"issuer", issuer_org},
           {"number", number},
           {"event_id", event_id},
           {"status", status},
           {"occurred_at", occurred_at}});
    out = {{"event_id", event_id}, {"applied", true}};
    out["guarantee"] = guarantee_json(tx.exec_params1(select_guarantee_sql, id));
    tx.commit();
  };
  co_await pool_.run(std::move(job));
  co_return out;
}

net::awaitable<json::object> guarantees::list(principal who, std::string tender_id, int lot_no) {
  json::object out;
  pool::job job = [&](pqxx::connection_base& c) {
    pqxx::read_transaction tx(c);
    const auto t = load_lot(tx, who, tender_id, lot_no);
    const bool owner = who.org.id == t.owner_org && who.who.has_role("tenderer");
    const bool official = who.who.has_role("center_staff") || who.who.has_role("supervisor") ||
                          who.who.has_role("admin");
    std::string only;
    if (owner || official) {
      if (!t.past) {
        const auto n =
            tx.exec_params1(count_guarantees_sql, tender_id, lot_no)[0].as<std::int64_t>();
        out = {{"tender_id", tender_id}, {"lot", lot_no}, {"count", n}};
        return;
      }
    } else if (who.who.has_role("bidder") && who.org.id != t.owner_org) {
      only = who.org.id;
    } else {
      fail("auth.forbidden", "the guarantees of tender '" + tender_id +
                                 "' are for their bidders, its tenderer, center staff and "
                                 "supervisors");
    }
    json::array list;
    for (const auto& r : tx.exec_params(list_guarantees_sql, tender_id, lot_no, only))
      list.push_back(guarantee_json(r));
    const auto n = static_cast<std::int64_t>(list.size());
    out = {
        {"tender_id", tender_id}, {"lot", lot_no}, {"count", n}, {"guarantees", std::move(list)}};
  };
  co_await pool_.run(std::move(job));
  co_return out;
}

net::awaitable<json::object> guarantees::record_bond(principal who, std::string tender_id,
                                                     int lot_no, bond_request req) {
  if (req.amount <= 0) fail("bond.bad_input", "amount must be a positive number of fen");
  if (!valid_account(req.payer_account)) {
    fail("bond.bad_input",
         "payer_account must be 1..64 characters of letters, digits, spaces and '-'");
  }
  json::object out;
  pool::job job = [&](pqxx::connection_base& c) {
    pqxx::work tx(c);
    const auto t = load_lot(tx, who, tender_id, lot_no);
    if (!who.who.has_role("center_staff")) {
      fail("auth.forbidden", "only center staff record cash bonds");
    }
    // A bond is part of the bid: once the deadline has passed (on the database's clock) none can
    // be added, as no guarantee can be attached.
    require_accepting(tender_id, t.state, t.past);
    const auto org = tx.exec_params(select_org_sql, req.bidder_org);
    if (org.empty() || org[0][0].as<std::string>() != "bidder") {
      fail("bond.bad_input", "'" + req.bidder_org + "' is not a bidder organisation");
    }
    if (req.bidder_org == t.owner_org) {
      fail("bond.bad_input", "the tender's owner cannot pay a bid bond");
    }
    const auto row = tx.exec_params1(insert_bond_sql, tender_id, lot_no, req.bidder_org, req.amount,
                                     req.payer_account, req.payer_name, req.paid_at, who.who.id);
    const auto id = row[0].as<std::int64_t>();
    audit(tx, who.who.id, "center_staff", "bond.recorded", subject_of(tender_id, lot_no),
          {{"bond_id", id},
           {"tender_id", tender_id},
           {"lot", lot_no},
           {"bidder", req.bidder_org},
           {"amount", req.amount},
           {"payer_account", req.payer_account},
           {"paid_at", row[2].as<std::string>()}});
    out = {{"id", id},
           {"tender_id", tender_id},
           {"lot", lot_no},
           {"bidder", req.bidder_org},
           {"amount", req.amount},
           {"payer_account", req.payer_account},
           {"payer_name", req.payer_name},
           {"paid_at", row[2].as<std::string>()},
           {"recorded_by", who.who.id},
           {"recorded_at", row[1].as<std::string>()}};
    tx.commit();
  };
  co_await pool_.run(std::move(job));
  co_return out;
}

net::awaitable<json::object> guarantees::list_bonds(principal who, std::string tender_id,
                                                    int lot_no) {
  json::object out;
  pool::job job = [&](pqxx::connection_base& c) {
    pqxx::read_transaction tx(c);
    const auto t = load_lot(tx, who, tender_id, lot_no);
    const bool official = who.who.has_role("center_staff") || who.who.has_role("supervisor") ||
                          who.who.has_role("admin");
    const bool owner = who.org.id == t.owner_org && who.who.has_role("tenderer") && t.past;
    if (!official && !owner) {
      fail("auth.forbidden",
           "cash bonds are shown to center staff, supervisors and admins, and "
           "to the tender's owner after the deadline");
    }
    std::map<std::string, std::set<std::string>> by_account;
    for (const auto& r : tx.exec_params(payers_sql, tender_id))
      by_account[r[0].as<std::string>()].insert(r[1].as<std::string>());
    const auto* pack = core::find_rule_pack(t.rule_pack);
    json::object rule;
    if (pack != nullptr) {
      rule = {{"trigger", pack->bond_refund.trigger},
              {"days", pack->bond_refund.days},
              {"working_days", pack->bond_refund.working_days}};
    }
    json::array list;
    std::int64_t flagged = 0;
    for (const auto& r : tx.exec_params(list_bonds_sql, tender_id, lot_no)) {
      const auto bidder = r[1].as<std::string>();
      json::array shared;
      for (const auto& other : by_account[r[4].as<std::string>()])
        if (other != bidder) shared.push_back(json::value(other));
      if (!shared.empty()) ++flagged;
      list.push_back(json::object{{"id", r[0].as<std::int64_t>()},
                                  {"bidder", bidder},
                                  {"bidder_name", r[2].as<std::string>()},
                                  {"amount", r[3].as<std::int64_t>()},
                                  {"payer_account", r[4].as<std::string>()},
                                  {"payer_name", r[5].as<std::string>()},
                                  {"paid_at", r[6].as<std::string>()},
                                  {"recorded_by", r[7].as<std::string>()},
                                  {"recorded_at", r[8].as<std::string>()},
                                  // The triggering date (contract signing, award notice) is not
                                  // known to the platform yet: no deadline until it is.
                                  {"refund_deadline", nullptr},
                                  {"shared_payer", std::move(shared)}});
    }
    out = {{"tender_id", tender_id},
           {"lot", lot_no},
           {"refund_rule", std::move(rule)},
           {"shared_payer_count", flagged},
           {"bonds", std::move(list)}};
  };
  co_await pool_.run(std::move(job));
  co_return out;
}

std::vector<held_guarantee> valid_guarantees(pqxx::transaction_base& tx,
                                             const std::string& tender_id) {
  std::vector<held_guarantee> out;
  for (const auto& r : tx.exec_params(opening_guarantees_sql, tender_id)) {
    out.push_back(held_guarantee{
        r[0].as<std::int64_t>(), r[1].as<std::string>(),
        guarantee_issuer{r[2].as<std::string>(), r[3].as<std::string>(), r[4].as<std::string>(),
                         r[5].is_null() ? std::string() : bytes_text(r[5])}});
  }
  return out;
}

bool record_live_status(pqxx::transaction_base& tx, std::int64_t id, const std::string& status) {
  return !tx.exec_params(update_live_status_sql, id, status).empty();
}

live_statuses ask_issuers(const std::vector<held_guarantee>& held,
                          const guarantee_status_query& query,
                          std::chrono::steady_clock::time_point deadline) {
  live_statuses out;
  std::set<std::string> named;
  for (const auto& g : held) {
    if (named.count(g.issuer.org_id) != 0) continue;
    if (std::chrono::steady_clock::now() >= deadline) {
      named.insert(g.issuer.org_id);
      out.unreachable.push_back(json::object{
          {"issuer", g.issuer.org_id},
          {"error", "not asked: the check ran out of time waiting for other issuers"}});
      continue;
    }
    ++out.asked;
    try {
      out.status[g.id] = query(g.issuer, g.number);
    } catch (const std::exception& e) {
      named.insert(g.issuer.org_id);
      out.unreachable.push_back(json::object{{"issuer", g.issuer.org_id}, {"error", e.what()}});
      core::log::warn("guarantee live status: the issuer did not answer",
                      {{"issuer", g.issuer.org_id}, {"number", g.number}, {"error", e.what()}});
    }
  }
  return out;
}

guarantee_recheck with_guarantee_recheck(job_handler opening, guarantee_lookup lookup) {
  guarantee_recheck out;
  out.preparer.read = [](pqxx::transaction_base& tx, const scheduled_job& job) -> std::any {
    return valid_guarantees(tx, job.subject);
  };
  out.preparer.call = [lookup](std::any read, scheduled_job) -> net::awaitable<std::any> {
    auto held = std::any_cast<std::vector<held_guarantee>>(std::move(read));
    if (held.empty()) co_return live_statuses{};
    co_return co_await lookup(std::move(held));
  };
  out.handler = [opening = std::move(opening)](pqxx::transaction_base& tx,
                                               const scheduled_job& job) -> job_outcome {
    auto outcome = opening(tx, job);
    // Only when the tender really opens now (not rescheduled, not locked by another request).
    if (outcome.busy || outcome.reschedule_to || outcome.note) return outcome;
    const auto* live =
        job.prepared != nullptr ? std::any_cast<live_statuses>(job.prepared) : nullptr;
    if (live == nullptr) return outcome;  // the issuers could not be asked this time
    json::array changes;
    for (const auto& [id, status] : live->status) {
      // Unless a signed callback changed it since the question was asked.
      if (status == "valid" || !record_live_status(tx, id, status)) continue;
      const auto r = tx.exec_params1("SELECT issuer_org, number FROM guarantees WHERE id = $1", id);
      changes.push_back(json::object{{"issuer", r[0].as<std::string>()},
                                     {"number", r[1].as<std::string>()},
                                     {"status", status}});
    }
    if (!changes.empty() || !live->unreachable.empty()) {
      json::object payload{{"tender_id", job.subject}, {"changes", changes}};
      if (!live->unreachable.empty()) payload["unreachable"] = live->unreachable;
      audit(tx, "tenderd-scheduler", "system", "guarantee.rechecked", job.subject, payload);
      outcome.wants_checkpoint = true;
    }
    return outcome;
  };
  return out;
}

}  // namespace tender::db
