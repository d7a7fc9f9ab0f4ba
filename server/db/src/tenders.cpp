#include <tender/db/tenders.hpp>

#include <tender/core/tender_rules.hpp>
#include <tender/crypto/bytes.hpp>
#include <tender/crypto/suite.hpp>

#include "audit_tx.hpp"
#include "canonical_json.hpp"
#include "feed_tx.hpp"
#include "idempotency_tx.hpp"
#include "notify_tx.hpp"
#include "pool.hpp"

#include <boost/json.hpp>

#include <pqxx/pqxx>

#include <algorithm>
#include <array>
#include <span>
#include <utility>

namespace net = boost::asio;

namespace tender::db {
namespace json = boost::json;

namespace {

#define TENDER_UTC(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

// The whole tender as one JSON document, built by PostgreSQL (lots and amendments in order).
#define TENDER_JSON \
  "jsonb_build_object("                                                                         \
  "'id', t.id, 'project_code', t.project_code, 'title', t.title, 'kind', t.kind, "              \
  "'rule_pack', t.rule_pack, 'owner_org', t.owner_org, 'created_by', t.created_by, "            \
  "'state', t.state, 'suspended_from', t.suspended_from, 'status_reason', t.status_reason, "    \
  "'currency', t.currency, "                                                                    \
  "'deadline_at', " TENDER_UTC("t.deadline_at") ", "                                            \
  "'deadline_local', tender_local_time(t.deadline_at, t.time_zone), "                           \
  "'opening_at', " TENDER_UTC("t.opening_at") ", "                                              \
  "'opening_local', tender_local_time(t.opening_at, t.time_zone), "                             \
  "'time_zone', t.time_zone, 'decryption_window_s', t.decryption_window_s, "                    \
  "'confirmation_window_s', t.confirmation_window_s, 'key_policy', t.key_policy, "              \
  "'escrow', t.escrow, 'evaluation_method', t.evaluation_method, 'version', t.version, "        \
  "'created_at', " TENDER_UTC("t.created_at") ", 'updated_at', " TENDER_UTC("t.updated_at") ", " \
  "'published_at', " TENDER_UTC("t.published_at") ", "                                          \
  "'cancelled_at', " TENDER_UTC("t.cancelled_at") ", "                                          \
  "'lots', COALESCE((SELECT jsonb_agg(jsonb_build_object("                                      \
  "'lot_no', l.lot_no, 'title', l.title, 'estimated_price', l.estimated_price, "                \
  "'ceiling_price', l.ceiling_price, 'bond_amount', l.bond_amount, "                            \
  "'summary_fields', l.summary_fields, 'discount_candidates', l.discount_candidates) "          \
  "ORDER BY l.lot_no) FROM lots l WHERE l.tender_id = t.id), '[]'::jsonb), "                    \
  "'amendments', COALESCE((SELECT jsonb_agg(jsonb_build_object("                                \
  "'amendment_no', a.amendment_no, 'reason', a.reason, 'changes', a.changes, "                  \
  "'deadline_moved', a.deadline_moved, "                                                        \
  "'old_deadline_at', " TENDER_UTC("a.old_deadline_at") ", "                                    \
  "'new_deadline_at', " TENDER_UTC("a.new_deadline_at") ", "                                    \
  "'old_opening_at', " TENDER_UTC("a.old_opening_at") ", "                                      \
  "'new_opening_at', " TENDER_UTC("a.new_opening_at") ", "                                      \
  "'issued_by', a.issued_by, 'issued_at', " TENDER_UTC("a.issued_at") ") "                      \
  "ORDER BY a.amendment_no) FROM tender_amendments a WHERE a.tender_id = t.id), '[]'::jsonb)"   \
  ")::text"

constexpr const char* select_tender_sql =
    "SELECT " TENDER_JSON
    ", extract(epoch FROM clock_timestamp())::bigint FROM tenders t "
    "WHERE t.id = $1";

// Drafts (never published) are listed only for their organisation or a privileged reader.
constexpr const char* list_tenders_sql =
    "SELECT " TENDER_JSON
    ", t.id FROM tenders t "
    "WHERE (t.published_at IS NOT NULL OR t.owner_org = $1 OR $2::boolean) "
    "AND ($3::text = '' OR t.state = $3) AND ($4::text = '' OR t.owner_org = $4) AND t.id > $5 "
    "ORDER BY t.id LIMIT $6";

constexpr const char* lock_tender_sql =
    "SELECT owner_org, state, version, published_at IS NOT NULL, COALESCE(suspended_from, ''), "
    "extract(epoch FROM deadline_at)::bigint, extract(epoch FROM clock_timestamp())::bigint "
    "FROM tenders WHERE id = $1 FOR UPDATE";

constexpr const char* zone_exists_sql =
    "SELECT EXISTS (SELECT 1 FROM pg_timezone_names WHERE name = $1)";

constexpr const char* project_code_taken_sql =
    "SELECT 1 FROM tenders WHERE project_code = $1 AND id <> $2";

constexpr const char* org_kind_sql = "SELECT kind FROM organisations WHERE id = $1";

constexpr const char* insert_tender_sql =
    "INSERT INTO tenders (id, project_code, title, kind, rule_pack, owner_org, created_by, "
    "deadline_at, opening_at, time_zone, decryption_window_s, confirmation_window_s, key_policy, "
    "escrow, evaluation_method) "
    "SELECT $1, f->>'project_code', f->>'title', f->>'kind', f->>'rule_pack', $2, $3, "
    "to_timestamp((f->>'deadline_at')::bigint), to_timestamp((f->>'opening_at')::bigint), "
    "f->>'time_zone', (f->>'decryption_window_s')::int, (f->>'confirmation_window_s')::int, "
    "f->>'key_policy', f->'escrow', f->>'evaluation_method' "
    "FROM (SELECT $4::jsonb AS f) x ON CONFLICT DO NOTHING RETURNING id";

constexpr const char* insert_lots_sql =
    "INSERT INTO lots (tender_id, lot_no, title, estimated_price, ceiling_price, bond_amount, "
    "summary_fields, discount_candidates) "
    "SELECT $1, (l->>'lot_no')::int, l->>'title', (l->>'estimated_price')::bigint, "
    "(l->>'ceiling_price')::bigint, (l->>'bond_amount')::bigint, l->'summary_fields', "
    "l->'discount_candidates' FROM jsonb_array_elements($2::jsonb) l";

constexpr const char* delete_lots_sql = "DELETE FROM lots WHERE tender_id = $1";

// The check and the update in one statement: a stale version, another state or another owner
// updates nothing, and the caller finds out which.
constexpr const char* update_draft_sql =
    "UPDATE tenders t SET "
    "project_code = COALESCE(f->>'project_code', t.project_code), "
    "title = COALESCE(f->>'title', t.title), kind = COALESCE(f->>'kind', t.kind), "
    "rule_pack = COALESCE(f->>'rule_pack', t.rule_pack), "
    "deadline_at = COALESCE(to_timestamp((f->>'deadline_at')::bigint), t.deadline_at), "
    "opening_at = COALESCE(to_timestamp((f->>'opening_at')::bigint), t.opening_at), "
    "time_zone = COALESCE(f->>'time_zone', t.time_zone), "
    "decryption_window_s = COALESCE((f->>'decryption_window_s')::int, t.decryption_window_s), "
    "confirmation_window_s = COALESCE((f->>'confirmation_window_s')::int, "
    "t.confirmation_window_s), "
    "key_policy = COALESCE(f->>'key_policy', t.key_policy), "
    "escrow = CASE WHEN f ? 'escrow' THEN f->'escrow' ELSE t.escrow END, "
    "evaluation_method = COALESCE(f->>'evaluation_method', t.evaluation_method), "
    "version = t.version + 1, updated_at = clock_timestamp() "
    "FROM (SELECT $3::jsonb AS f) x "
    "WHERE t.id = $1 AND t.version = $2 AND t.state = 'draft' AND t.owner_org = $4 "
    "RETURNING t.version";

constexpr const char* why_not_sql =
    "SELECT owner_org, state, version, published_at IS NOT NULL FROM tenders WHERE id = $1";

constexpr const char* publish_sql =
    "UPDATE tenders SET state = 'published', published_at = clock_timestamp(), "
    "version = version + 1, updated_at = clock_timestamp() WHERE id = $1 AND version = $2 "
    "RETURNING version";

// One live job per (kind, subject): publishing (re)arms it.
constexpr const char* upsert_job_sql =
    "INSERT INTO scheduled_jobs (kind, subject, due_at) "
    "SELECT $1::text, t.id, "
    "CASE WHEN $1::text = 'tender.deadline' THEN t.deadline_at ELSE t.opening_at END "
    "FROM tenders t WHERE t.id = $2 "
    "ON CONFLICT (kind, subject) DO UPDATE SET due_at = EXCLUDED.due_at, fired_at = NULL, "
    "attempts = 0, last_error = NULL";

constexpr const char* move_jobs_sql =
    "UPDATE scheduled_jobs j SET due_at = CASE WHEN j.kind = 'tender.deadline' "
    "THEN t.deadline_at ELSE t.opening_at END FROM tenders t "
    "WHERE t.id = $1 AND j.subject = t.id AND j.kind IN ('tender.deadline', 'tender.opening') "
    "AND j.fired_at IS NULL";

constexpr const char* delete_jobs_sql =
    "DELETE FROM scheduled_jobs WHERE subject = $1 AND kind LIKE 'tender.%' AND fired_at IS NULL";

constexpr const char* amend_tender_sql =
    "UPDATE tenders SET title = COALESCE(NULLIF($2, ''), title), "
    "deadline_at = to_timestamp($3), opening_at = to_timestamp($4), "
    "version = version + 1, updated_at = clock_timestamp() WHERE id = $1 RETURNING version";

constexpr const char* amend_lots_sql =
    "UPDATE lots l SET title = COALESCE(c->>'title', l.title), "
    "estimated_price = COALESCE((c->>'estimated_price')::bigint, l.estimated_price), "
    "ceiling_price = COALESCE((c->>'ceiling_price')::bigint, l.ceiling_price), "
    "bond_amount = COALESCE((c->>'bond_amount')::bigint, l.bond_amount), "
    "summary_fields = COALESCE(c->'summary_fields', l.summary_fields), "
    "discount_candidates = COALESCE(c->'discount_candidates', l.discount_candidates) "
    "FROM jsonb_array_elements($2::jsonb) c "
    "WHERE l.tender_id = $1 AND l.lot_no = (c->>'lot_no')::int";

constexpr const char* lot_numbers_sql = "SELECT lot_no FROM lots WHERE tender_id = $1";

constexpr const char* insert_amendment_sql =
    "INSERT INTO tender_amendments (tender_id, amendment_no, reason, changes, old_deadline_at, "
    "new_deadline_at, old_opening_at, new_opening_at, deadline_moved, issued_by) "
    "SELECT $1, COALESCE(max(amendment_no), 0) + 1, $2, $3::jsonb, to_timestamp($4), "
    "to_timestamp($5), to_timestamp($6), to_timestamp($7), $8, $9 "
    "FROM tender_amendments WHERE tender_id = $1 RETURNING amendment_no";

constexpr const char* set_state_sql =
    "UPDATE tenders SET state = $2, "
    "suspended_from = CASE WHEN $2 = 'suspended' THEN state ELSE NULL END, "
    "status_reason = NULLIF($3, ''), "
    "cancelled_at = CASE WHEN $2 = 'cancelled' THEN clock_timestamp() ELSE cancelled_at END, "
    "version = version + 1, updated_at = clock_timestamp() WHERE id = $1 RETURNING version";

#undef TENDER_JSON
#undef TENDER_UTC

void audit(pqxx::transaction_base& tx, const tender_actor& who, const char* action,
           const std::string& tender_id, const json::object& request) {
  audit_tx::append_change(tx, who.user_id, who.role, action, tender_id, request);
}

void feed(pqxx::transaction_base& tx, const std::string& tender_id, const std::string& kind,
          const json::object& payload) {
  feed_tx::append(tx, tender_id, kind, json::serialize(payload));
}

[[noreturn]] void not_found(const std::string& id) {
  throw error("tender.not_found", "no tender '" + id + "'");
}

std::string new_tender_id() {
  std::array<std::uint8_t, 8> raw{};
  crypto::system_random().fill(std::span<std::uint8_t>(raw.data(), raw.size()));
  return "t-" + crypto::hex_encode(crypto::byte_view(raw.data(), raw.size()));
}

struct loaded {
  json::object tender;
  std::int64_t now = 0;
};

std::optional<loaded> load(pqxx::transaction_base& tx, const std::string& id) {
  const auto rows = tx.exec_params(select_tender_sql, id);
  if (rows.empty()) return std::nullopt;
  loaded out;
  out.tender = json::parse(rows[0][0].as<std::string>()).as_object();
  out.now = rows[0][1].as<std::int64_t>();
  return out;
}

// The public form of a stored tender (the same document; kept as a seam for hiding fields).
json::object public_view(json::object t) {
  return t;
}

std::int64_t version_of(const json::object& t) {
  return t.at("version").as_int64();
}

std::optional<std::int64_t> epoch_of(const json::object& t, std::string_view key) {
  const auto* v = t.if_contains(key);
  if (v == nullptr || !v->is_string()) return std::nullopt;
  return core::parse_rfc3339(std::string(v->get_string()));
}

std::string str_of(const json::object& t, std::string_view key) {
  const auto* v = t.if_contains(key);
  return v != nullptr && v->is_string() ? std::string(v->get_string()) : std::string();
}

core::tender_spec spec_of(const json::object& t) {
  core::tender_spec s;
  s.kind = str_of(t, "kind");
  s.rule_pack = str_of(t, "rule_pack");
  s.deadline_at = epoch_of(t, "deadline_at");
  s.opening_at = epoch_of(t, "opening_at");
  s.key_policy = str_of(t, "key_policy");
  if (const auto* m = t.if_contains("evaluation_method"); m != nullptr && m->is_string()) {
    s.evaluation_method = std::string(m->get_string());
  }
  if (const auto* e = t.if_contains("escrow"); e != nullptr && e->is_object()) {
    core::escrow_spec es;
    const auto& eo = e->get_object();
    if (const auto* th = eo.if_contains("threshold"); th != nullptr && th->is_int64()) {
      es.threshold = static_cast<int>(th->get_int64());
    }
    if (const auto* cs = eo.if_contains("custodians"); cs != nullptr && cs->is_array()) {
      for (const auto& c : cs->get_array()) {
        if (!c.is_object()) continue;
        es.custodians.push_back({str_of(c.get_object(), "id"), str_of(c.get_object(), "org_id"),
                                 str_of(c.get_object(), "public_key")});
      }
    }
    // Only the ceremony's repository writes "ceremony" (the body readers refuse the field).
    if (const auto* cn = eo.if_contains("ceremony"); cn != nullptr && cn->is_int64()) {
      es.setup_from_ceremony = true;
    }
    if (const auto* su = eo.if_contains("setup"); su != nullptr && su->is_object()) {
      const auto& so = su->get_object();
      es.has_setup = true;
      if (const auto* k = so.if_contains("threshold"); k != nullptr && k->is_int64()) {
        es.setup_threshold = static_cast<int>(k->get_int64());
      }
      if (const auto* n = so.if_contains("custodians"); n != nullptr && n->is_int64()) {
        es.setup_custodians = static_cast<int>(n->get_int64());
      }
    }
    s.escrow = std::move(es);
  }
  for (const auto& lv : t.at("lots").as_array()) {
    const auto& l = lv.as_object();
    core::lot_spec lot;
    lot.lot_no = static_cast<int>(l.at("lot_no").as_int64());
    lot.title = str_of(l, "title");
    lot.estimated_price = l.at("estimated_price").as_int64();
    if (const auto* c = l.if_contains("ceiling_price"); c != nullptr && c->is_int64()) {
      lot.ceiling_price = c->get_int64();
    }
    lot.bond_amount = l.at("bond_amount").as_int64();
    if (const auto* fs = l.if_contains("summary_fields"); fs != nullptr && fs->is_array()) {
      for (const auto& f : fs->get_array()) {
        if (!f.is_object()) continue;
        lot.summary_fields.push_back({str_of(f.get_object(), "key"),
                                      str_of(f.get_object(), "label"),
                                      str_of(f.get_object(), "type")});
      }
    }
    s.lots.push_back(std::move(lot));
  }
  return s;
}

// spec_of with what the custody rules need from the database: the owner and the kind of each
// custodian's organisation.
core::tender_spec spec_in(pqxx::transaction_base& tx, const json::object& t) {
  auto s = spec_of(t);
  s.owner_org = str_of(t, "owner_org");
  if (s.escrow) {
    for (auto& c : s.escrow->custodians) {
      const auto r = tx.exec_params(org_kind_sql, c.org_id);
      if (!r.empty()) c.org_kind = r[0][0].as<std::string>();
    }
  }
  return s;
}

const core::rule_pack& pack_of(const std::string& name) {
  const auto* p = core::find_rule_pack(name);
  if (p == nullptr) throw error("tender.bad_input", "unknown rule pack '" + name + "'");
  return *p;
}

struct locked {
  std::string owner_org;
  std::string state;
  std::int64_t version = 0;
  bool published = false;
  std::string suspended_from;
  std::optional<std::int64_t> deadline_at;
  std::int64_t now = 0;
};

// Locks the row. A draft of another organisation answers not_found (drafts never leak); a
// visible tender of another organisation answers forbidden when `owner_only`.
locked lock_tender(pqxx::transaction_base& tx, const std::string& id, const tender_actor& who,
                   bool owner_only) {
  const auto rows = tx.exec_params(lock_tender_sql, id);
  if (rows.empty()) not_found(id);
  const auto& r = rows[0];
  locked l;
  l.owner_org = r[0].as<std::string>();
  l.state = r[1].as<std::string>();
  l.version = r[2].as<std::int64_t>();
  l.published = r[3].as<bool>();
  l.suspended_from = r[4].as<std::string>();
  if (!r[5].is_null()) l.deadline_at = r[5].as<std::int64_t>();
  l.now = r[6].as<std::int64_t>();
  if (owner_only && l.owner_org != who.org_id) {
    if (!l.published) not_found(id);
    throw error("auth.forbidden", "tender '" + id + "' belongs to organisation '" + l.owner_org +
                                      "', not '" + who.org_id + "'");
  }
  return l;
}

[[noreturn]] void bad_state(const std::string& id, const std::string& state,
                            core::tender_action a) {
  throw error("tender.bad_state", "tender '" + id + "' is " + state + "; " +
                                      std::string(core::action_name(a)) +
                                      " is not allowed in that state");
}

void check_version(const std::string& id, std::int64_t current, std::int64_t if_match) {
  if (current != if_match) {
    throw error("request.version_conflict",
                "tender '" + id + "' is at version " + std::to_string(current) +
                    ", not the If-Match version " + std::to_string(if_match) +
                    "; GET it again and retry");
  }
}

void check_zone(pqxx::transaction_base& tx, const json::object& fields) {
  const auto* z = fields.if_contains("time_zone");
  if (z == nullptr) return;
  const std::string zone(z->as_string());
  if (!tx.exec_params1(zone_exists_sql, zone)[0].as<bool>()) {
    throw error("request.bad_json", "field 'time_zone' is '" + zone.substr(0, 64) +
                                        "'; it must be an IANA zone name like Asia/Shanghai");
  }
}

void check_project_code(pqxx::transaction_base& tx, const json::object& fields,
                        const std::string& id) {
  const auto* c = fields.if_contains("project_code");
  if (c == nullptr) return;
  const std::string code(c->as_string());
  if (!tx.exec_params(project_code_taken_sql, code, id).empty()) {
    throw error("tender.exists", "project code '" + code + "' is already used by another tender");
  }
}

json::object state_payload(const json::object& t) {
  return {{"tender_id", t.at("id")},         {"project_code", t.at("project_code")},
          {"title", t.at("title")},          {"state", t.at("state")},
          {"version", t.at("version")},      {"deadline_at", t.at("deadline_at")},
          {"opening_at", t.at("opening_at")}};
}

tender_result result_of(json::object t) {
  tender_result r;
  r.version = version_of(t);
  r.tender = public_view(std::move(t));
  return r;
}

}  // namespace

rule_violation::rule_violation(std::vector<std::string> violations)
    : error("tender.rule_violation",
            [&] {
              std::string m = "the rule pack refuses this tender: ";
              for (std::size_t i = 0; i < violations.size(); ++i)
                m += (i != 0 ? "; " : "") + violations[i];
              return m;
            }()),
      violations_(std::move(violations)) {}

tenders::tenders(pool& connections) : pool_(connections) {}

net::awaitable<tender_result> tenders::create(tender_actor who,
                                              std::optional<std::string> idempotency_key,
                                              std::string request_digest, json::object fields) {
  tender_result out;
  pool::job job = [&](pqxx::connection_base& c) {
    pqxx::work tx(c);
    if (idempotency_key) {
      if (auto replay = idempotency_tx::claim(tx, who.user_id, *idempotency_key, request_digest)) {
        out.status = replay->status;
        out.body = replay->body;
        out.tender = json::parse(out.body).as_object();
        out.version = version_of(out.tender);
        return;  // nothing changed: the read-only transaction ends without commit
      }
    }
    check_zone(tx, fields);
    const std::string id = new_tender_id();
    json::object row = fields;
    row.erase("lots");
    const auto inserted =
        tx.exec_params(insert_tender_sql, id, who.org_id, who.user_id, json::serialize(row));
    if (inserted.empty()) {
      throw error("tender.exists", "project code '" +
                                       std::string(fields.at("project_code").as_string()) +
                                       "' is already used by another tender");
    }
    tx.exec_params0(insert_lots_sql, id, json::serialize(fields.at("lots")));
    audit(tx, who, "tender.create", id, fields);
    auto t = load(tx, id);
    out = result_of(std::move(t->tender));
    out.status = 201;
    out.body = json::serialize(out.tender);
    if (idempotency_key) idempotency_tx::store(tx, who.user_id, *idempotency_key, 201, out.body);
    tx.commit();
  };
  co_await pool_.run(std::move(job));
  co_return out;
}

net::awaitable<std::optional<json::object>> tenders::get(std::string id) {
  std::optional<json::object> out;
  pool::job job = [&](pqxx::connection_base& c) {
    pqxx::read_transaction tx(c);
    if (auto t = load(tx, id)) out = public_view(std::move(t->tender));
  };
  co_await pool_.run(std::move(job));
  co_return out;
}

net::awaitable<json::object> tenders::list(tender_filter f) {
  json::object out;
  pool::job job = [&](pqxx::connection_base& c) {
    pqxx::read_transaction tx(c);
    const auto rows = tx.exec_params(list_tenders_sql, f.viewer_org, f.all_drafts, f.state, f.owner,
                                     f.after, f.limit + 1);
    json::array items;
    std::string last;
    for (std::size_t i = 0; i < rows.size() && static_cast<int>(i) < f.limit; ++i) {
      items.push_back(public_view(json::parse(rows[i][0].as<std::string>()).as_object()));
      last = rows[i][1].as<std::string>();
    }
    out["tenders"] = std::move(items);
    if (static_cast<int>(rows.size()) > f.limit) {
      out["next_after"] = last;
    } else {
      out["next_after"] = nullptr;
    }
  };
  co_await pool_.run(std::move(job));
  co_return out;
}

net::awaitable<tender_result> tenders::update(tender_actor who, std::string id,
                                              std::int64_t if_match, json::object patch) {
  tender_result out;
  pool::job job = [&](pqxx::connection_base& c) {
    pqxx::work tx(c);
    check_zone(tx, patch);
    check_project_code(tx, patch, id);
    json::object row = patch;
    row.erase("lots");
    const auto updated =
        tx.exec_params(update_draft_sql, id, if_match, json::serialize(row), who.org_id);
    if (updated.empty()) {
      // Nothing changed; say why.
      const auto rows = tx.exec_params(why_not_sql, id);
      if (rows.empty()) not_found(id);
      const auto owner = rows[0][0].as<std::string>();
      const auto state = rows[0][1].as<std::string>();
      if (owner != who.org_id) {
        if (!rows[0][3].as<bool>()) not_found(id);
        throw error("auth.forbidden", "tender '" + id + "' belongs to organisation '" + owner +
                                          "', not '" + who.org_id + "'");
      }
      if (state != "draft") bad_state(id, state, core::tender_action::update);
      check_version(id, rows[0][2].as<std::int64_t>(), if_match);
      throw error("db.usage", "update of tender '" + id + "' matched nothing");
    }
    if (const auto* lots = patch.if_contains("lots")) {
      tx.exec_params0(delete_lots_sql, id);
      tx.exec_params0(insert_lots_sql, id, json::serialize(*lots));
    }
    audit(tx, who, "tender.update", id, json::object{{"tender_id", id}, {"patch", patch}});
    out = result_of(load(tx, id)->tender);
    tx.commit();
  };
  co_await pool_.run(std::move(job));
  co_return out;
}

net::awaitable<tender_result> tenders::publish(tender_actor who, std::string id,
                                               std::int64_t if_match) {
  tender_result out;
  pool::job job = [&](pqxx::connection_base& c) {
    pqxx::work tx(c);
    const auto l = lock_tender(tx, id, who, true);
    if (l.state != "draft") bad_state(id, l.state, core::tender_action::publish);
    check_version(id, l.version, if_match);
    const auto t = load(tx, id);
    const auto& pack = pack_of(str_of(t->tender, "rule_pack"));
    auto violations = core::publication_violations(pack, spec_in(tx, t->tender), t->now);
    if (!violations.empty()) throw rule_violation(std::move(violations));
    tx.exec_params1(publish_sql, id, if_match);
    tx.exec_params0(upsert_job_sql, std::string("tender.deadline"), id);
    tx.exec_params0(upsert_job_sql, std::string("tender.opening"), id);
    audit(tx, who, "tender.publish", id, json::object{{"tender_id", id}, {"if_match", if_match}});
    auto after = load(tx, id);
    auto payload = state_payload(after->tender);
    payload["published_at"] = after->tender.at("published_at");
    feed(tx, id, "tender.published", payload);
    out = result_of(std::move(after->tender));
    tx.commit();
  };
  co_await pool_.run(std::move(job));
  co_return out;
}

net::awaitable<tender_result> tenders::amend(tender_actor who, std::string id,
                                             std::int64_t if_match, std::string reason,
                                             json::object changes) {
  tender_result out;
  pool::job job = [&](pqxx::connection_base& c) {
    pqxx::work tx(c);
    const auto l = lock_tender(tx, id, who, true);
    if (l.state != "published") bad_state(id, l.state, core::tender_action::amend);
    check_version(id, l.version, if_match);
    if (!l.deadline_at || l.now >= *l.deadline_at) {
      throw error("tender.bad_state", "the deadline of tender '" + id +
                                          "' has passed; amendments are no longer possible");
    }
    const auto before = load(tx, id);
    const auto& pack = pack_of(str_of(before->tender, "rule_pack"));
    const std::int64_t old_deadline = *epoch_of(before->tender, "deadline_at");
    const std::int64_t old_opening = *epoch_of(before->tender, "opening_at");
    if (const auto* lots = changes.if_contains("lots")) {
      std::vector<std::int64_t> existing;
      for (const auto& r : tx.exec_params(lot_numbers_sql, id))
        existing.push_back(r[0].as<std::int64_t>());
      for (const auto& lv : lots->as_array()) {
        const auto no = lv.as_object().at("lot_no").as_int64();
        if (std::find(existing.begin(), existing.end(), no) == existing.end()) {
          throw error("tender.bad_input", "changes.lots names lot " + std::to_string(no) +
                                              ", which tender '" + id + "' does not have");
        }
      }
      tx.exec_params0(amend_lots_sql, id, json::serialize(*lots));
    }
    std::int64_t deadline = old_deadline;
    std::int64_t opening = old_opening;
    if (const auto* d = changes.if_contains("deadline_at")) deadline = d->as_int64();
    if (const auto* o = changes.if_contains("opening_at")) {
      opening = o->as_int64();
    } else {
      opening += deadline - old_deadline;  // the opening follows a moved deadline
    }
    const auto move = core::amendment_deadline(pack, before->now, deadline, opening);
    std::string title;  // empty: unchanged
    if (const auto* t = changes.if_contains("title")) title = std::string(t->as_string());
    const auto version =
        tx.exec_params1(amend_tender_sql, id, title, move.deadline_at, move.opening_at)[0]
            .as<std::int64_t>();
    auto after = load(tx, id);
    auto violations =
        core::publication_violations(pack, spec_in(tx, after->tender), after->now, false);
    if (!violations.empty()) throw rule_violation(std::move(violations));
    // The history shows times as the API does (RFC 3339), not as epoch seconds.
    json::object shown = changes;
    for (const char* key : {"deadline_at", "opening_at"}) {
      if (const auto* v = changes.if_contains(key)) shown[key] = core::format_utc(v->as_int64());
    }
    const auto no =
        tx.exec_params1(insert_amendment_sql, id, reason, json::serialize(shown), old_deadline,
                        move.deadline_at, old_opening, move.opening_at, move.moved, who.user_id)[0]
            .as<int>();
    tx.exec_params0(move_jobs_sql, id);
    audit(tx, who, "tender.amend", id,
          json::object{{"tender_id", id}, {"reason", reason}, {"changes", changes}});
    after = load(tx, id);
    json::object amendment{{"amendment_no", no},
                           {"reason", reason},
                           {"deadline_moved", move.moved},
                           {"old_deadline_at", core::format_utc(old_deadline)},
                           {"new_deadline_at", core::format_utc(move.deadline_at)},
                           {"old_opening_at", core::format_utc(old_opening)},
                           {"new_opening_at", core::format_utc(move.opening_at)}};
    auto payload = state_payload(after->tender);
    payload["amendment"] = amendment;
    feed(tx, id, "tender.amended", payload);
    // Every earlier downloader is told, in this transaction, with read receipts.
    json::object summary = amendment;
    summary["tender_id"] = id;
    notify_tx::push_to_downloaders(tx, id, "tender.amended", std::to_string(no),
                                   json::serialize(summary));
    out.version = version;
    out.tender = json::object{{"tender", public_view(std::move(after->tender))},
                              {"amendment", std::move(amendment)}};
    tx.commit();
  };
  co_await pool_.run(std::move(job));
  co_return out;
}

namespace {

// Cancel, suspend and resume: one state change, audited, public when the tender was published.
tender_result change_state(pqxx::work& tx, const tender_actor& who, const std::string& id,
                           core::tender_action action, const std::optional<std::string>& reason,
                           bool owner_only, const char* audit_action, const char* feed_kind) {
  const auto l = lock_tender(tx, id, who, owner_only);
  const auto next = core::next_state(l.state, action, l.suspended_from);
  if (!next) bad_state(id, l.state, action);
  const auto version =
      tx.exec_params1(set_state_sql, id, *next, reason.value_or(""))[0].as<std::int64_t>();
  if (action == core::tender_action::cancel) tx.exec_params0(delete_jobs_sql, id);
  json::object request{{"tender_id", id}};
  if (reason) request["reason"] = *reason;
  audit(tx, who, audit_action, id, request);
  auto after = load(tx, id);
  if (l.published) {
    auto payload = state_payload(after->tender);
    if (reason) payload["reason"] = *reason;
    payload["previous_state"] = l.state;
    feed(tx, id, feed_kind, payload);
  }
  auto out = result_of(std::move(after->tender));
  out.version = version;
  return out;
}

}  // namespace

net::awaitable<tender_result> tenders::cancel(tender_actor who, std::string id,
                                              std::string reason) {
  tender_result out;
  pool::job job = [&](pqxx::connection_base& c) {
    pqxx::work tx(c);
    out = change_state(tx, who, id, core::tender_action::cancel, reason, true, "tender.cancel",
                       "tender.cancelled");
    tx.commit();
  };
  co_await pool_.run(std::move(job));
  co_return out;
}

net::awaitable<tender_result> tenders::suspend(tender_actor who, std::string id,
                                               std::string reason) {
  tender_result out;
  pool::job job = [&](pqxx::connection_base& c) {
    pqxx::work tx(c);
    out = change_state(tx, who, id, core::tender_action::suspend, reason, false, "tender.suspend",
                       "tender.suspended");
    tx.commit();
  };
  co_await pool_.run(std::move(job));
  co_return out;
}

net::awaitable<tender_result> tenders::resume(tender_actor who, std::string id,
                                              std::optional<std::string> reason) {
  tender_result out;
  pool::job job = [&](pqxx::connection_base& c) {
    pqxx::work tx(c);
    out = change_state(tx, who, id, core::tender_action::resume, reason, false, "tender.resume",
                       "tender.resumed");
    tx.commit();
  };
  co_await pool_.run(std::move(job));
  co_return out;
}

}  // namespace tender::db
