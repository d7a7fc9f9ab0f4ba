// The opening hall in PostgreSQL (hall.hpp): viewers, events, actions and the deadline hook.
// Snapshot and record: hall_view.cpp, hall_record.cpp. Shared steps: hall_tx.cpp.

#include <tender/db/hall.hpp>

#include <tender/db/audit_log.hpp>
#include <tender/db/error.hpp>

#include "audit_tx.hpp"
#include "canonical_json.hpp"
#include "certificate_tx.hpp"
#include "feed_tx.hpp"
#include "hall_tx.hpp"
#include "pool.hpp"
#include "prepared.hpp"
#include "sql_array.hpp"

#include <tender/core/hall_draw.hpp>
#include <tender/core/hall_params.hpp>
#include <tender/core/hall_rules.hpp>
#include <tender/core/log.hpp>
#include <tender/core/tender_rules.hpp>
#include <tender/crypto/bytes.hpp>
#include <tender/crypto/digest.hpp>
#include <tender/crypto/draw.hpp>
#include <tender/crypto/error.hpp>
#include <tender/crypto/escrow.hpp>
#include <tender/crypto/keys.hpp>
#include <tender/crypto/opening_record.hpp>
#include <tender/crypto/sealed_bid.hpp>
#include <tender/crypto/signed_note.hpp>
#include <tender/crypto/suite.hpp>

#include <boost/json.hpp>

#include <pqxx/pqxx>

#include <algorithm>
#include <map>
#include <set>
#include <utility>
#include <variant>

namespace net = boost::asio;

namespace tender::db {
namespace json = boost::json;
using hall_tx::fail;
using hall_tx::locked_hall;

bool hall_event::visible_to(const hall_viewer& v) const {
  if (audience == "all") return true;
  if (v.role == "supervisor") return true;
  if (audience == "supervisors") return false;
  if (audience.rfind("own:", 0) == 0) {
    return v.role == "bidder" && !v.org_id.empty() && audience.substr(4) == v.org_id;
  }
  if (v.is_staff()) return true;
  if (audience.rfind("org:", 0) == 0) {
    return v.role == "bidder" && !v.org_id.empty() && audience.substr(4) == v.org_id;
  }
  return false;
}

bool hall_event::counted_by(const hall_viewer& v) const {
  return v.role == "host" && (audience.rfind("own:", 0) == 0 || audience == "supervisors");
}

std::optional<std::string> hall_event::audience_org() const {
  if (audience.rfind("org:", 0) == 0 || audience.rfind("own:", 0) == 0) return audience.substr(4);
  return std::nullopt;
}

std::string hall_event_message(const hall_event& e, const hall_viewer& v) {
  const auto head = "{\"type\":\"event\",\"seq\":" + std::to_string(e.seq);
  if (e.visible_to(v)) {
    return head + ",\"kind\":" + json::serialize(json::value(e.kind)) +
           ",\"at\":" + json::serialize(json::value(e.at)) + ",\"actor\":" + e.actor_json +
           ",\"data\":" + e.data_json + "}";
  }
  if (e.counted_by(v)) {
    return head + ",\"kind\":" + json::serialize(json::value(e.kind)) +
           ",\"at\":" + json::serialize(json::value(e.at)) + ",\"actor\":null,\"data\":{}}";
  }
  return head + ",\"kind\":\"redacted\"}";
}

namespace {

using hall_tx::append_event;

// --- small helpers ------------------------------------------------------------------------

std::string random_raw(std::size_t n) {
  std::string out(n, '\0');
  crypto::system_random().fill(
      std::span<std::uint8_t>(reinterpret_cast<std::uint8_t*>(out.data()), out.size()));
  return out;
}

std::string sha256_hex(std::string_view data) {
  return crypto::to_hex(crypto::sha256(data));
}

std::string bytes_text(const pqxx::field& f) {
  const pqxx::binarystring b(f);
  return std::string(b.str());
}

std::string to_b64(std::string_view raw) {
  return crypto::base64_encode(crypto::as_bytes(raw));
}

// A base64 parameter's bytes. Its shape and size were checked with the act (core::hall_params);
// the decoder also refuses non-zero padding bits, which the shape check does not look at.
std::string raw_param(const core::hall_params& p, std::string_view key) {
  try {
    const auto b = crypto::base64_decode(p.text(key));
    return std::string(b.begin(), b.end());
  } catch (const crypto::error&) {
    fail("hall.bad_message",
         "parameter '" + std::string(key) + "' of " + p.action() + " is not canonical base64");
  }
}

void require_role(const hall_viewer& v, std::initializer_list<const char*> roles,
                  const std::string& action) {
  for (const char* r : roles)
    if (v.role == r) return;
  fail("hall.forbidden", "a " + v.role + " may not " + action + " in this hall");
}

void require_phase(const locked_hall& h, std::initializer_list<const char*> phases,
                   const std::string& action) {
  for (const char* p : phases)
    if (h.phase == p) return;
  fail("hall.wrong_phase", action + " is not possible while the hall is " + h.phase);
}

void require_not_held(const locked_hall& h) {
  if (h.suspended_reason) fail("hall.suspended", "the hall is suspended: " + *h.suspended_reason);
  if (h.paused_reason) fail("hall.paused", "the hall is paused: " + *h.paused_reason);
}

std::string org_name(pqxx::transaction_base& tx, const std::string& org_id) {
  const auto r = exec_prepared_sql(tx, "hall_org_name",
                                   "SELECT name FROM organisations WHERE id = $1", org_id);
  return r.empty() ? org_id : r[0][0].as<std::string>();
}

const core::rule_pack& pack_of(const locked_hall& h) {
  static const core::rule_pack fallback;
  const auto* p = core::find_rule_pack(h.rule_pack);
  return p != nullptr ? *p : fallback;
}

// The signed-action check of hall-protocol.md §8: a live challenge of this user and hall, the
// user's active key, the signature over the message, and the key's certificate in force when it
// has one (certificates.hpp). Consumes the challenge. Returns the key's DER and the challenge
// (base64).
struct signed_ok {
  std::string public_key_der;
  std::string challenge_b64;
};

signed_ok verify_signed(pqxx::transaction_base& tx, const std::string& tender_id,
                        const hall_viewer& who, const std::string& action,
                        const std::string& challenge_id, const std::string& fingerprint,
                        const std::string& signature, const std::string& payload,
                        const revocation_source& crls) {
  const auto ch = exec_prepared_sql(
      tx, "hall_challenge_take",
      "SELECT user_id, tender_id, challenge, used_at IS NOT NULL, "
      "expires_at <= clock_timestamp() FROM hall_challenges WHERE id = $1 FOR UPDATE",
      challenge_id);
  if (ch.empty() || ch[0][0].as<std::string>() != who.user_id ||
      ch[0][1].as<std::string>() != tender_id) {
    fail("hall.challenge_used", "no live challenge '" + challenge_id + "' of yours in this hall");
  }
  if (ch[0][3].as<bool>() || ch[0][4].as<bool>()) {
    fail("hall.challenge_used",
         "challenge '" + challenge_id + "' was already used or has expired; ask for a new one");
  }
  const auto challenge_b64 = to_b64(bytes_text(ch[0][2]));
  const auto keys = exec_prepared_sql(
      tx, "hall_user_key",
      "SELECT spki FROM user_keys WHERE fingerprint = $1 AND user_id = $2 AND revoked_at IS NULL",
      fingerprint, who.user_id);
  if (keys.empty())
    fail("hall.bad_signature", "key " + fingerprint + " is not an active key of yours");
  const auto der = bytes_text(keys[0][0]);
  const auto message =
      crypto::hall_signed_message(tender_id, action, challenge_id, challenge_b64, payload);
  bool ok = false;
  try {
    const auto key = crypto::public_key::from_der(crypto::as_bytes(der));
    ok = crypto::verify_message(key, crypto::as_bytes(message), crypto::as_bytes(signature));
  } catch (const crypto::error&) {
    ok = false;
  }
  if (!ok) fail("hall.bad_signature", "the signature does not verify for this challenge and key");
  certificate_tx::require_key_in_force(tx, fingerprint, crls);
  exec_prepared_sql(tx, "hall_challenge_use",
                    "UPDATE hall_challenges SET used_at = clock_timestamp() WHERE id = $1",
                    challenge_id);
  return {der, challenge_b64};
}

// The decryption_status event data of one hall_bids row.
// The columns, in order, that bid_status_of reads.
#define TENDER_HALL_BID_STATUS "status, attempts, via, cause, side, treatment, message"

json::object bid_status_of(const pqxx::row& r, int lot, const std::string& org) {
  auto nul = [](const pqxx::field& f) -> json::value {
    return f.is_null() ? json::value(nullptr) : json::value(f.as<std::string>());
  };
  return {{"lot", lot},
          {"org_id", org},
          {"status", r[0].as<std::string>()},
          {"attempts", r[1].as<int>()},
          {"via", nul(r[2])},
          {"cause", nul(r[3])},
          {"side", nul(r[4])},
          {"treatment", nul(r[5])},
          {"message", nul(r[6])}};
}

json::object bid_status(pqxx::transaction_base& tx, const std::string& tender_id, int lot,
                        const std::string& org) {
  return bid_status_of(tx.exec_params1("SELECT " TENDER_HALL_BID_STATUS " FROM hall_bids "
                                       "WHERE tender_id = $1 AND lot_no = $2 AND org_id = $3",
                                       tender_id, lot, org),
                       lot, org);
}

std::int64_t status_event(pqxx::transaction_base& tx, const std::string& tender_id, int lot,
                          const std::string& org, const json::value& actor) {
  return append_event(tx, tender_id, "decryption_status", actor,
                      bid_status(tx, tender_id, lot, org));
}

struct escrow_info {
  std::optional<crypto::escrow::setup_public> setup;
  std::uint32_t threshold = 0;
  std::vector<std::pair<std::string, std::string>> custodians;  // (id, org_id) in order
};

escrow_info load_escrow(pqxx::transaction_base& tx, const std::string& tender_id) {
  escrow_info out;
  const auto r = tx.exec_params1("SELECT escrow::text FROM tenders WHERE id = $1", tender_id);
  if (r[0].is_null()) return out;
  const auto v = json::parse(r[0].as<std::string>());
  if (!v.is_object()) return out;
  const auto& o = v.get_object();
  if (const auto* t = o.if_contains("threshold"); t != nullptr && t->is_int64()) {
    out.threshold = static_cast<std::uint32_t>(t->get_int64());
  }
  if (const auto* c = o.if_contains("custodians"); c != nullptr && c->is_array()) {
    for (const auto& e : c->get_array()) {
      if (!e.is_object()) continue;
      const auto* id = e.get_object().if_contains("id");
      const auto* org = e.get_object().if_contains("org_id");
      out.custodians.emplace_back(
          id != nullptr && id->is_string() ? std::string(id->get_string()) : "",
          org != nullptr && org->is_string() ? std::string(org->get_string()) : "");
    }
  }
  if (const auto* s = o.if_contains("setup"); s != nullptr && !s->is_null()) {
    out.setup = crypto::escrow::setup_from_json(s->is_string() ? std::string(s->get_string())
                                                               : json::serialize(*s));
    if (out.threshold == 0) out.threshold = out.setup->threshold;
  }
  return out;
}

// --- deadline ---------------------------------------------------------------------------------

constexpr const char* current_bids_sql =
    "SELECT b.lot_no, b.bidder_org, b.id, b.header FROM bids b "
    "WHERE b.tender_id = $1 AND b.status = 'current' ORDER BY b.lot_no, b.bidder_org";

json::array seal_lots(pqxx::transaction_base& tx, const std::string& tender_id) {
  json::array lots;
  for (const auto& r : tx.exec_params(
           "SELECT lot_no, count, root FROM bid_seals WHERE tender_id = $1 ORDER BY lot_no",
           tender_id)) {
    lots.push_back(json::object{
        {"lot", r[0].as<int>()}, {"count", r[1].as<int>()}, {"root", r[2].as<std::string>()}});
  }
  return lots;
}

}  // namespace

void hall_on_deadline(pqxx::transaction_base& tx, const std::string& tender_id, bool failed) {
  hall_tx::ensure(tx, tender_id);
  auto h = hall_tx::lock(tx, tender_id);
  if (!h || h->phase != "waiting") return;
  for (const auto& r : tx.exec_params(current_bids_sql, tender_id)) {
    std::optional<std::string> escrow_r;
    try {
      const auto header_bytes = bytes_text(r[3]);
      const auto hdr = crypto::sealed::parse_header(crypto::as_bytes(header_bytes));
      if (hdr.escrow_stanza() != nullptr) {
        const auto eph = crypto::sealed::escrow_ephemeral(hdr);
        escrow_r = crypto::base64_encode(eph);
      }
    } catch (const std::exception&) {
      // A header the bid checks accepted always parses; without R the escrow remedy is refused.
    }
    tx.exec_params0(
        "INSERT INTO hall_bids (tender_id, lot_no, org_id, bid_id, escrow_r) "
        "VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
        tender_id, r[0].as<int>(), r[1].as<std::string>(), r[2].as<std::int64_t>(), escrow_r);
  }
  const auto lots = seal_lots(tx, tender_id);
  if (failed) {
    tx.exec_params0("UPDATE halls SET phase = 'failed' WHERE tender_id = $1", tender_id);
    json::array counts;
    for (const auto& l : lots) {
      counts.push_back(json::object{{"lot", l.at("lot")}, {"valid", l.at("count")}});
    }
    append_event(tx, tender_id, "failed", nullptr,
                 {{"reason", "fewer bids than the rule pack's min_bids at the deadline (流标)"},
                  {"lots", counts}});
    hall_tx::audit(tx, hall_tx::clock_actor, "system", "failed", tender_id,
                   {{"tender_id", tender_id}, {"lots", counts}});
    return;
  }
  tx.exec_params0("UPDATE halls SET phase = 'sealed' WHERE tender_id = $1", tender_id);
  append_event(tx, tender_id, "bids_sealed", nullptr, {{"lots", lots}});
  hall_tx::audit(tx, hall_tx::clock_actor, "system", "bids_sealed", tender_id,
                 {{"tender_id", tender_id}, {"lots", lots}});
}

hall::hall(pool& connections, options opts) : pool_(connections), opts_(std::move(opts)) {}

// --- viewer, events, head -----------------------------------------------------------------------

namespace {

constexpr const char* viewer_tender_sql =
    "SELECT t.state, t.owner_org, t.escrow::text, h.phase FROM tenders t "
    "LEFT JOIN halls h ON h.tender_id = t.id WHERE t.id = $1";

bool list_public(const std::string& phase) {
  return phase != "waiting" && phase != "sealed";
}

}  // namespace

net::awaitable<hall_viewer> hall::viewer(std::string tender_id, std::optional<principal> who) {
  hall_viewer out;
  pool::job job = [&](pqxx::connection_base& c) {
    pqxx::work tx(c);
    const auto rows = tx.exec_params(viewer_tender_sql, tender_id);
    if (rows.empty() || rows[0][0].as<std::string>() == "draft") {
      fail("tender.not_found", "no tender '" + tender_id + "'");
    }
    std::string phase = rows[0][3].is_null() ? "" : rows[0][3].as<std::string>();
    if (phase.empty()) {
      hall_tx::ensure(tx, tender_id);
      phase = "waiting";
    }
    out.role = "public";
    if (who) {
      out.user_id = who->who.id;
      out.org_id = who->org.id;
      out.org_name = who->org.name;
      if (who->who.has_role("center_staff")) {
        out.role = "host";
      } else if (who->who.has_role("supervisor")) {
        out.role = "supervisor";
      } else if (who->who.has_role("bidder") &&
                 !tx.exec_params("SELECT 1 FROM bids WHERE tender_id = $1 AND bidder_org = $2 "
                                 "AND status = 'current' UNION ALL SELECT 1 FROM hall_bids "
                                 "WHERE tender_id = $1 AND org_id = $2 LIMIT 1",
                                 tender_id, who->org.id)
                      .empty()) {
        out.role = "bidder";
      } else if (!rows[0][2].is_null()) {
        const auto e = json::parse(rows[0][2].as<std::string>());
        if (const auto* cs = e.is_object() ? e.get_object().if_contains("custodians") : nullptr;
            cs != nullptr && cs->is_array()) {
          for (const auto& cu : cs->get_array()) {
            const auto* org = cu.is_object() ? cu.get_object().if_contains("org_id") : nullptr;
            if (org != nullptr && org->is_string() && org->get_string() == who->org.id) {
              out.role = "custodian";
            }
          }
        }
      }
    }
    if (out.role == "public") {
      out.user_id.clear();
      out.org_id.clear();
      out.org_name.clear();
      if (!list_public(phase)) {
        fail("hall.not_public_yet",
             "the hall of tender '" + tender_id + "' is public once the bidder list is published");
      }
    }
    tx.commit();
  };
  co_await pool_.run(std::move(job));
  co_return out;
}

net::awaitable<std::vector<hall_event>> hall::events(std::string tender_id, std::int64_t after,
                                                     std::size_t limit) {
  std::vector<hall_event> out;
  limit = std::min<std::size_t>(limit == 0 ? 1000 : limit, 1000);
  pool::job job = [&](pqxx::connection_base& c) {
    pqxx::read_transaction tx(c);
    const auto head = tx.exec_params("SELECT last_seq FROM halls WHERE tender_id = $1", tender_id);
    const std::int64_t last = head.empty() ? 0 : head[0][0].as<std::int64_t>();
    if (after < 0 || after > last) {
      fail("hall.bad_cursor",
           "after=" + std::to_string(after) + " is beyond the hall's head " + std::to_string(last));
    }
    for (const auto& r : tx.exec_params(
             "SELECT seq, kind, " TENDER_HALL_TIME(
                 "at") ", COALESCE(actor::text, 'null'), "
                       "data::text, audience FROM hall_events WHERE tender_id = $1 AND seq > $2 "
                       "ORDER BY seq LIMIT $3",
             tender_id, after, static_cast<std::int64_t>(limit))) {
      hall_event e;
      e.seq = r[0].as<std::int64_t>();
      e.kind = r[1].as<std::string>();
      e.at = r[2].as<std::string>();
      e.actor_json = r[3].as<std::string>();
      e.data_json = r[4].as<std::string>();
      e.audience = r[5].as<std::string>();
      out.push_back(std::move(e));
    }
  };
  co_await priority().run(std::move(job));
  co_return out;
}

net::awaitable<std::int64_t> hall::head(std::string tender_id) {
  std::int64_t out = 0;
  pool::job job = [&](pqxx::connection_base& c) {
    pqxx::read_transaction tx(c);
    const auto head = tx.exec_params("SELECT last_seq FROM halls WHERE tender_id = $1", tender_id);
    if (!head.empty()) out = head[0][0].as<std::int64_t>();
  };
  co_await priority().run(std::move(job));
  co_return out;
}

net::awaitable<std::string> hall::progress(std::string tender_id) {
  std::string out = "{}";
  // Progress goes to bidders, custodians and the public alike: until the list is published it says
  // neither how many signed in nor which lots have bids (SPEC §13).
  pool::job job = [&](pqxx::connection_base& c) {
    pqxx::read_transaction tx(c);
    const auto r = tx.exec_params(
        "SELECT json_build_object('phase', h.phase, "
        "'signed_in', CASE WHEN h.phase IN ('waiting', 'sealed') THEN NULL ELSE (SELECT count(*) "
        "FROM hall_attendance a WHERE a.tender_id = h.tender_id) END, "
        "'confirmed', (SELECT count(*) FROM hall_confirmations f WHERE f.tender_id = "
        "h.tender_id), "
        "'lots', coalesce((SELECT json_agg(json_build_object('lot', x.lot_no, 'listed', "
        "x.listed, 'waiting', x.waiting, 'decrypting', x.decrypting, 'done', x.done, 'failed', "
        "x.failed) ORDER BY x.lot_no) FROM (SELECT lot_no, count(*) FILTER (WHERE listed) AS "
        "listed, count(*) FILTER (WHERE listed AND status = 'waiting') AS waiting, count(*) "
        "FILTER (WHERE listed AND status = 'decrypting') AS decrypting, count(*) FILTER (WHERE "
        "listed AND status = 'done') AS done, count(*) FILTER (WHERE listed AND status = "
        "'failed') AS failed FROM hall_bids b WHERE b.tender_id = h.tender_id AND h.phase NOT IN "
        "('waiting', 'sealed') GROUP BY lot_no) x), '[]'::json))::text FROM halls h "
        "WHERE h.tender_id = $1",
        tender_id);
    if (!r.empty()) out = r[0][0].as<std::string>();
  };
  co_await priority().run(std::move(job));
  co_return out;
}

// --- actions --------------------------------------------------------------------------------

namespace {

// The issuers' answers about the guarantees stored as valid, asked before the transaction of
// check_guarantees (hall::options::live_status).
using live_check = live_statuses;

struct act_context {
  pqxx::transaction_base& tx;
  locked_hall& h;
  const hall_viewer& who;
  const std::string& action;
  const core::hall_params& p;
  const hall::options& opts;
  hall_act_result& out;
  json::value actor;
  const live_check* live = nullptr;  // check_guarantees: the issuers' answers, asked before
  void audit(const json::object& change) const {
    hall_tx::audit(tx, who.user_id.empty() ? "anonymous" : who.user_id, who.role, action,
                   h.tender_id, change);
  }
};

void schedule_job(pqxx::transaction_base& tx, const char* kind, const std::string& tender_id,
                  const std::string& due_at) {
  tx.exec_params0(
      "INSERT INTO scheduled_jobs (kind, subject, due_at) VALUES ($1, $2, $3::timestamptz) "
      "ON CONFLICT (kind, subject) DO UPDATE SET due_at = EXCLUDED.due_at, fired_at = NULL, "
      "attempts = 0, last_error = NULL",
      std::string(kind), tender_id, due_at);
}

// The per-bidder actions (sign_in, decrypt, confirm) come by the thousand at once, and every
// statement made while the hall's row is locked delays all the others. So they check and read
// what they can first, with the hall row read but not locked (act), then lock it, check again
// what may have changed, and write. The challenge row is locked before the hall's by these three
// actions only (no one else locks a challenge), so the order cannot deadlock.
void lock_now(act_context& c) {
  auto h = hall_tx::lock(c.tx, c.h.tender_id);
  if (!h) fail("tender.not_found", "no tender '" + c.h.tender_id + "'");
  c.h = std::move(*h);
}

void act_challenge(act_context& c) {
  if (c.who.role == "public") fail("hall.forbidden", "sign in to ask for a challenge");
  const std::string id = "hc-" + crypto::to_hex(crypto::as_bytes(random_raw(8)));
  const std::string challenge = random_raw(32);
  const pqxx::binarystring blob(challenge);
  const auto ttl = static_cast<double>(c.opts.challenge_ttl.count());
  const auto r = exec_prepared_sql(
      c.tx, "hall_challenge_new",
      "INSERT INTO hall_challenges (id, tender_id, user_id, challenge, expires_at) VALUES "
      "($1, $2, $3, $4, clock_timestamp() + make_interval(secs => $5)) RETURNING " TENDER_HALL_TIME(
          "expires_at"),
      id, c.h.tender_id, c.who.user_id, blob, ttl)[0];
  c.out.result = {{"challenge_id", id},
                  {"challenge", to_b64(challenge)},
                  {"expires_at", r[0].as<std::string>()}};
}

void act_sign_in(act_context& c) {
  const auto challenge_id = c.p.text("challenge_id");
  const auto key = c.p.text("key");
  const auto signature = raw_param(c.p, "signature");
  const auto commitment = c.p.text("commitment");
  auto check = [&] {
    require_role(c.who, {"bidder"}, "sign in");
    require_phase(c.h, {"waiting", "sealed", "listed"}, "sign_in");
    require_not_held(c.h);
  };
  check();
  const auto already = [] { fail("hall.already_done", "your organisation has already signed in"); };
  if (!exec_prepared_sql(c.tx, "hall_attended",
                         "SELECT 1 FROM hall_attendance WHERE tender_id = $1 AND org_id = $2",
                         c.h.tender_id, c.who.org_id)
           .empty()) {
    already();
  }
  verify_signed(c.tx, c.h.tender_id, c.who, "sign_in", challenge_id, key, signature, commitment,
                c.opts.revocations);
  const auto name = org_name(c.tx, c.who.org_id);
  lock_now(c);
  check();
  const pqxx::binarystring sig(signature);
  // Another user of the same organisation may have signed in since the check above.
  const auto inserted = exec_prepared_sql(
      c.tx, "hall_attend",
      "INSERT INTO hall_attendance (tender_id, org_id, user_id, key, "
      "challenge_id, signature, commitment) VALUES ($1, $2, $3, $4, $5, $6, "
      "$7) ON CONFLICT (tender_id, org_id) DO NOTHING RETURNING " TENDER_HALL_TIME("signed_in_at"),
      c.h.tender_id, c.who.org_id, c.who.user_id, key, challenge_id, sig, commitment);
  if (inserted.empty()) already();
  const auto at = inserted[0][0].as<std::string>();
  // Who signed in is secret until the list is published (SPEC §13): before it, the event is for
  // the organisation and the supervisors; the host counts it (hall_event::counted_by).
  c.out.seq = append_event(c.tx, c.h.tender_id, "signed_in", c.actor,
                           {{"org_id", c.who.org_id}, {"name", name}, {"signed_in_at", at}},
                           list_public(c.h.phase) ? "all" : "own:" + c.who.org_id);
  c.audit({{"org_id", c.who.org_id}, {"key", key}, {"commitment", commitment}, {"at", at}});
  c.out.result = {{"signed_in_at", at}};
}

void act_commit_host(act_context& c) {
  const auto commitment = c.p.text("commitment");
  require_role(c.who, {"host"}, "commit_host");
  require_phase(c.h, {"waiting"}, "commit_host");
  require_not_held(c.h);
  if (c.h.host_commitment) fail("hall.already_done", "the host has already committed");
  c.tx.exec_params0("UPDATE halls SET host_commitment = $2 WHERE tender_id = $1", c.h.tender_id,
                    commitment);
  c.out.seq =
      append_event(c.tx, c.h.tender_id, "host_committed", c.actor, {{"commitment", commitment}});
  c.audit({{"commitment", commitment}});
  c.out.result = json::object{};
}

// The guarantee of each bid from the stored guarantee status (refreshed from the issuers before
// the opening by with_guarantee_recheck) and the cash bonds.
json::array check_guarantees(pqxx::transaction_base& tx, const std::string& tender_id) {
  json::array results;
  for (const auto& r : tx.exec_params(
           "SELECT hb.lot_no, hb.org_id, "
           "CASE WHEN EXISTS (SELECT 1 FROM guarantees g WHERE g.tender_id = hb.tender_id AND "
           "g.lot_no = hb.lot_no AND g.bidder_org = hb.org_id AND g.status = 'valid') THEN 'valid' "
           "WHEN EXISTS (SELECT 1 FROM bonds b WHERE b.tender_id = hb.tender_id AND "
           "b.lot_no = hb.lot_no AND b.bidder_org = hb.org_id) THEN 'cash' "
           "WHEN EXISTS (SELECT 1 FROM guarantees g WHERE g.tender_id = hb.tender_id AND "
           "g.lot_no = hb.lot_no AND g.bidder_org = hb.org_id) THEN 'invalid' ELSE 'none' END "
           "FROM hall_bids hb WHERE hb.tender_id = $1 ORDER BY hb.lot_no, hb.org_id",
           tender_id)) {
    const int lot = r[0].as<int>();
    const auto org = r[1].as<std::string>();
    const auto g = r[2].as<std::string>();
    tx.exec_params0(
        "UPDATE hall_bids SET guarantee = $4 WHERE tender_id = $1 AND lot_no = $2 AND org_id = $3",
        tender_id, lot, org, g);
    results.push_back(json::object{{"lot", lot}, {"org_id", org}, {"guarantee", g}});
  }
  return results;
}

// What the host is told of a guarantee check (hall-protocol.md §5, check_guarantees): per lot, how
// many bids have each guarantee status, and of the live check how many were asked, answered and
// found not valid, and which issuers did not answer. No organisation is named.
json::object guarantee_counts(const json::object& data) {
  std::map<std::pair<std::int64_t, std::string>, std::int64_t> by;
  for (const auto& r : data.at("results").as_array()) {
    const auto& o = r.as_object();
    ++by[{o.at("lot").to_number<std::int64_t>(), std::string(o.at("guarantee").as_string())}];
  }
  json::array counts;
  for (const auto& [key, n] : by)
    counts.push_back(json::object{{"lot", key.first}, {"guarantee", key.second}, {"count", n}});
  json::object out{{"counts", std::move(counts)}};
  if (const auto* live = data.if_contains("live")) {
    const auto& l = live->as_object();
    out["live"] = json::object{{"asked", l.at("asked")},
                               {"answered", l.at("answered")},
                               {"changed", l.at("changed").as_array().size()},
                               {"unreachable", l.at("unreachable")}};
  }
  return out;
}

void act_check_guarantees(act_context& c) {
  require_role(c.who, {"host"}, "check_guarantees");
  require_phase(c.h, {"sealed"}, "check_guarantees");
  require_not_held(c.h);
  json::object data;
  if (c.live != nullptr) {
    json::array changed;
    for (const auto& [id, status] : c.live->status) {
      if (status == "valid" || !record_live_status(c.tx, id, status)) continue;
      const auto r = c.tx.exec_params1(
          "SELECT issuer_org, number, lot_no, bidder_org FROM guarantees WHERE id = $1", id);
      changed.push_back(json::object{{"issuer", r[0].as<std::string>()},
                                     {"number", r[1].as<std::string>()},
                                     {"lot", r[2].as<int>()},
                                     {"org_id", r[3].as<std::string>()},
                                     {"status", status}});
    }
    data["live"] = json::object{{"asked", c.live->asked},
                                {"answered", c.live->status.size()},
                                {"changed", std::move(changed)},
                                {"unreachable", c.live->unreachable}};
  }
  data["results"] = check_guarantees(c.tx, c.h.tender_id);
  // Who bid is secret until the list (SPEC §13): the event naming each bidder's guarantee is for
  // supervisors; the host, who runs the check, gets the counts (hall-protocol.md §2.1).
  c.out.seq = append_event(c.tx, c.h.tender_id, "guarantees_checked", c.actor, data, "supervisors");
  c.audit(data);
  c.out.result = guarantee_counts(data);
}

void fail_tender(pqxx::transaction_base& tx, const locked_hall& h, const std::string& reason,
                 const std::string& actor) {
  const auto to = core::next_state(h.tender_state, core::tender_action::fail);
  if (!to) return;
  tx.exec_params0(
      "UPDATE tenders SET state = 'failed', status_reason = $2, version = version + 1, "
      "updated_at = clock_timestamp() WHERE id = $1",
      h.tender_id, reason);
  const json::object payload{{"reason", reason}, {"tender_id", h.tender_id}};
  feed_tx::append(tx, h.tender_id, "tender.failed", canonical_json(payload));
  (void)actor;
}

void act_publish_list(act_context& c) {
  require_role(c.who, {"host"}, "publish_list");
  require_phase(c.h, {"sealed"}, "publish_list");
  require_not_held(c.h);
  // Lock the tender after the hall (lock order: hall, tender, audit head).
  c.tx.exec_params("SELECT 1 FROM tenders WHERE id = $1 FOR UPDATE", c.h.tender_id);
  check_guarantees(c.tx, c.h.tender_id);
  const int min_bids = pack_of(c.h).min_bids;
  std::map<int, std::pair<int, std::int64_t>> lot_info;  // lot → (valid, bond)
  for (const auto& r : c.tx.exec_params(
           "SELECT l.lot_no, l.bond_amount, count(hb.org_id) FILTER (WHERE l.bond_amount = 0 OR "
           "hb.guarantee IN ('valid', 'cash')) FROM lots l LEFT JOIN hall_bids hb ON "
           "hb.tender_id = l.tender_id AND hb.lot_no = l.lot_no WHERE l.tender_id = $1 "
           "GROUP BY l.lot_no, l.bond_amount ORDER BY l.lot_no",
           c.h.tender_id)) {
    lot_info[r[0].as<int>()] = {r[2].as<int>(), r[1].as<std::int64_t>()};
  }
  bool any_ok = false;
  json::array summary;
  for (const auto& [lot, info] : lot_info) {
    summary.push_back(json::object{{"lot", lot}, {"valid", info.first}});
    if (info.first >= min_bids) any_ok = true;
  }
  if (!any_ok) {
    const std::string reason =
        "fewer than " + std::to_string(min_bids) + " valid bids in every lot (流标)";
    c.tx.exec_params0("UPDATE halls SET phase = 'failed' WHERE tender_id = $1", c.h.tender_id);
    c.out.seq = append_event(c.tx, c.h.tender_id, "failed", c.actor,
                             {{"reason", reason}, {"lots", summary}});
    fail_tender(c.tx, c.h, reason, c.who.user_id);
    c.audit({{"failed", true}, {"lots", summary}, {"min_bids", min_bids}});
    c.out.result = {{"failed", true}, {"lots", std::move(summary)}};
    return;
  }
  // A bid is listed when it is valid and its lot reached min_bids (counted above, once per lot: a
  // count per bid row made this step quadratic, minutes for a hall of 10,000 bids).
  std::vector<int> reached;
  for (const auto& [lot, info] : lot_info) {
    if (info.first >= min_bids) reached.push_back(lot);
  }
  c.tx.exec_params0(
      "UPDATE hall_bids hb SET listed = true FROM lots l WHERE hb.tender_id = $1 AND "
      "l.tender_id = hb.tender_id AND l.lot_no = hb.lot_no AND (l.bond_amount = 0 OR "
      "hb.guarantee IN ('valid', 'cash')) AND hb.lot_no = ANY($2::int[])",
      c.h.tender_id, int_array(reached));
  json::array lots;
  for (const auto& [lot, info] : lot_info) {
    json::array bidders;
    for (const auto& r : c.tx.exec_params(
             "SELECT hb.org_id, o.name, hb.guarantee, hb.escrow_r FROM hall_bids hb JOIN "
             "organisations o ON o.id = hb.org_id WHERE hb.tender_id = $1 AND hb.lot_no = $2 "
             "AND hb.listed ORDER BY hb.org_id",
             c.h.tender_id, lot)) {
      bidders.push_back(
          json::object{{"org_id", r[0].as<std::string>()},
                       {"name", r[1].as<std::string>()},
                       {"guarantee", r[2].as<std::string>()},
                       {"escrow_r", r[3].is_null() ? json::value(nullptr)
                                                   : json::value(r[3].as<std::string>())}});
    }
    lots.push_back(json::object{{"lot", lot},
                                {"valid", info.first},
                                {"failed", info.first < min_bids},
                                {"bidders", std::move(bidders)}});
  }
  c.tx.exec_params0("UPDATE halls SET phase = 'listed' WHERE tender_id = $1", c.h.tender_id);
  c.out.seq = append_event(c.tx, c.h.tender_id, "list_published", c.actor,
                           {{"lots", lots}, {"min_bids", min_bids}});
  c.audit({{"lots", lots}, {"min_bids", min_bids}});
  c.out.result = {{"failed", false}, {"lots", std::move(summary)}};
}

void act_open_window(act_context& c) {
  require_role(c.who, {"host"}, "open_window");
  require_phase(c.h, {"listed"}, "open_window");
  require_not_held(c.h);
  if (!c.h.opening_at || c.h.now < *c.h.opening_at) {
    fail("hall.too_early", "the window opens at or after the tender's opening time");
  }
  std::int64_t seconds = c.h.decryption_window_s.value_or(pack_of(c.h).default_decryption_window_s);
  if (seconds <= 0) seconds = 3600;
  const auto r = c.tx.exec_params1(
      "UPDATE halls SET phase = 'decrypting', window_opens_at = clock_timestamp(), "
      "window_closes_at = clock_timestamp() + make_interval(secs => $2), "
      "last_heartbeat_at = clock_timestamp(), last_heartbeat_node = 'open_window' "
      "WHERE tender_id = $1 RETURNING " TENDER_HALL_TIME("window_opens_at") ", " TENDER_HALL_TIME(
          "window_closes_at") ", window_closes_at::text",
      c.h.tender_id, static_cast<double>(seconds));
  const auto opens = r[0].as<std::string>();
  const auto closes = r[1].as<std::string>();
  schedule_job(c.tx, "hall.window_close", c.h.tender_id, r[2].as<std::string>());
  c.out.seq = append_event(
      c.tx, c.h.tender_id, "window_opened", c.actor,
      {{"window_opens_at", opens}, {"window_closes_at", closes}, {"seconds", seconds}});
  c.audit({{"window_opens_at", opens}, {"window_closes_at", closes}, {"seconds", seconds}});
  c.out.result = {{"window_opens_at", opens}, {"window_closes_at", closes}};
}

struct bid_row {
  std::int64_t bid_id = 0;
  bool listed = false;
  std::string status;
  int attempts = 0;
  std::string blob_digest;
  std::string header;
  std::string header_digest;
  std::optional<std::string> escrow_r;
  std::optional<std::string> bidder_part;
};

std::optional<bid_row> load_bid(pqxx::transaction_base& tx, const std::string& tender_id, int lot,
                                const std::string& org) {
  const auto rows = exec_prepared_sql(
      tx, "hall_load_bid",
      "SELECT hb.bid_id, hb.listed, hb.status, hb.attempts, b.blob_digest, b.header, "
      "b.header_digest, hb.escrow_r, hb.bidder_part FROM hall_bids hb JOIN bids b ON "
      "b.id = hb.bid_id WHERE hb.tender_id = $1 AND hb.lot_no = $2 AND hb.org_id = $3",
      tender_id, lot, org);
  if (rows.empty()) return std::nullopt;
  const auto& r = rows[0];
  bid_row b;
  b.bid_id = r[0].as<std::int64_t>();
  b.listed = r[1].as<bool>();
  b.status = r[2].as<std::string>();
  b.attempts = r[3].as<int>();
  b.blob_digest = r[4].as<std::string>();
  b.header = bytes_text(r[5]);
  b.header_digest = r[6].as<std::string>();
  if (!r[7].is_null()) b.escrow_r = r[7].as<std::string>();
  if (!r[8].is_null()) b.bidder_part = bytes_text(r[8]);
  return b;
}

// Writes an attempt row (before the ack) and returns the work for it; `status`, when given, gets
// the bid's decryption_status data as it now is.
hall_work start_attempt(pqxx::transaction_base& tx, const locked_hall& h, int lot,
                        const std::string& org, const bid_row& b, const std::string& source,
                        const std::string& blob, const std::string& key_material,
                        const std::optional<std::string>& escrow_secret,
                        const std::string& commitment, const std::string& user_id,
                        json::object* status = nullptr) {
  const pqxx::binarystring km(key_material);
  std::int64_t id = 0;
  if (escrow_secret) {
    const pqxx::binarystring es(*escrow_secret);
    id = tx.exec_params1(
               "INSERT INTO hall_attempts (tender_id, lot_no, org_id, source, blob_digest, "
               "key_material, escrow_secret, user_id) VALUES ($1, $2, $3, $4, $5, $6, $7, "
               "NULLIF($8, '')) RETURNING id",
               h.tender_id, lot, org, source, blob, km, es, user_id)[0]
             .as<std::int64_t>();
  } else {
    id = exec_prepared_sql(tx, "hall_attempt_new",
                           "INSERT INTO hall_attempts (tender_id, lot_no, org_id, source, "
                           "blob_digest, key_material, user_id) VALUES ($1, $2, $3, $4, $5, $6, "
                           "NULLIF($7, '')) RETURNING id",
                           h.tender_id, lot, org, source, blob, km, user_id)[0][0]
             .as<std::int64_t>();
  }
  const auto st = exec_prepared_sql(
      tx, "hall_bid_decrypting",
      "UPDATE hall_bids SET status = 'decrypting', attempts = attempts + 1, message = NULL "
      "WHERE tender_id = $1 AND lot_no = $2 AND org_id = $3 RETURNING " TENDER_HALL_BID_STATUS,
      h.tender_id, lot, org)[0];
  if (status != nullptr) *status = bid_status_of(st, lot, org);
  hall_work w;
  w.attempt_id = id;
  w.tender_id = h.tender_id;
  w.lot = lot;
  w.org_id = org;
  w.source = source;
  w.policy = hall_tx::key_policy_name(h.key_policy);
  w.blob_digest = blob;
  w.header = b.header;
  w.key_material = key_material;
  w.escrow_secret = escrow_secret;
  w.commitment_hex = commitment;
  return w;
}

// The context bound into every decryption share of a bid (hall-protocol.md §9).
std::string share_context(const std::string& tender_id, int lot, const std::string& org) {
  return tender_id + "/lot/" + std::to_string(lot) + "/" + org;
}

// The combined escrow secret of a bid once `threshold` valid shares are in.
std::optional<std::string> combined_secret(pqxx::transaction_base& tx, const std::string& tender_id,
                                           int lot, const std::string& org, const bid_row& b,
                                           const escrow_info& e) {
  if (!e.setup || !b.escrow_r) return std::nullopt;
  std::vector<crypto::escrow::decryption_share> shares;
  for (const auto& r : tx.exec_params(
           "SELECT share::text FROM hall_shares WHERE tender_id = $1 AND lot_no = $2 AND "
           "org_id = $3 ORDER BY submitted_at, custodian_id",
           tender_id, lot, org)) {
    shares.push_back(crypto::escrow::decryption_share_from_json(r[0].as<std::string>()));
  }
  if (shares.size() < e.threshold) return std::nullopt;
  const auto eph = crypto::base64_decode(*b.escrow_r);
  const auto context = share_context(tender_id, lot, org);
  const auto s = crypto::escrow::combine(*e.setup, eph, shares, crypto::as_bytes(context));
  return std::string(reinterpret_cast<const char*>(s.data()), s.size());
}

void act_decrypt(act_context& c) {
  const int lot = static_cast<int>(c.p.integer("lot"));
  const auto file = c.p.text("file");
  const auto key_material = raw_param(c.p, "key_material");
  const auto challenge_id = c.p.text("challenge_id");
  const auto key = c.p.text("key");
  const auto signature = raw_param(c.p, "signature");
  if (file != "primary" && file != "backup") {
    fail("hall.bad_message", "parameter 'file' of decrypt must be primary or backup");
  }
  auto check = [&] {
    require_role(c.who, {"bidder"}, "decrypt");
    require_phase(c.h, {"decrypting"}, "decrypt");
    require_not_held(c.h);
    if (!c.h.window_open()) fail("hall.window_closed", "the decryption window is closed");
  };
  auto check_bid = [&](bool listed, const std::string& status, int attempts) {
    if (!listed)
      fail("hall.not_listed", "your organisation has no listed bid in lot " + std::to_string(lot));
    if (status == "done")
      fail("hall.already_done", "your bid in lot " + std::to_string(lot) + " is already decrypted");
    if (status == "decrypting") {
      fail("hall.already_done",
           "a decryption of your bid in lot " + std::to_string(lot) + " is running");
    }
    if (attempts >= static_cast<int>(c.opts.max_attempts)) {
      fail("hall.too_many_attempts",
           "at most " + std::to_string(c.opts.max_attempts) + " attempts per bid");
    }
  };
  check();
  auto b = load_bid(c.tx, c.h.tender_id, lot, c.who.org_id);
  check_bid(b && b->listed, b ? b->status : std::string(), b ? b->attempts : 0);
  std::string blob = b->blob_digest;
  std::string commitment;
  if (file == "backup") {
    const auto bk = c.tx.exec_params(
        "SELECT blob_digest, commitment FROM hall_backups WHERE tender_id = $1 AND lot_no = $2 "
        "AND org_id = $3",
        c.h.tender_id, lot, c.who.org_id);
    if (bk.empty())
      fail("hall.no_backup", "no backup file was uploaded for lot " + std::to_string(lot));
    blob = bk[0][0].as<std::string>();
    commitment = bk[0][1].as<std::string>();
  }
  const std::string payload = std::to_string(lot) + "\n" + file + "\n" + sha256_hex(key_material);
  verify_signed(c.tx, c.h.tender_id, c.who, "decrypt", challenge_id, key, signature, payload,
                c.opts.revocations);
  lock_now(c);
  check();
  {
    // Another attempt (another user of the organisation) or the window's close may have come.
    const auto r = exec_prepared_sql(c.tx, "hall_bid_state",
                                     "SELECT listed, status, attempts FROM hall_bids WHERE "
                                     "tender_id = $1 AND lot_no = $2 AND org_id = $3",
                                     c.h.tender_id, lot, c.who.org_id);
    if (r.size() != 1) fail("hall.not_listed", "your organisation has no bid in this lot");
    b->listed = r[0][0].as<bool>();
    b->status = r[0][1].as<std::string>();
    b->attempts = r[0][2].as<int>();
    check_bid(b->listed, b->status, b->attempts);
  }
  const std::string source = file == "backup" ? "backup" : "bidder";
  json::object status;  // the bid's decryption_status once the attempt is written
  if (c.h.key_policy == "bidder_and_escrow") {
    // The bidder's part; the file opens once the escrow shares are in too.
    const pqxx::binarystring part(key_material);
    c.tx.exec_params0(
        "UPDATE hall_bids SET bidder_part = $4 WHERE tender_id = $1 AND lot_no = $2 AND org_id = "
        "$3",
        c.h.tender_id, lot, c.who.org_id, part);
    const auto e = load_escrow(c.tx, c.h.tender_id);
    const auto secret = combined_secret(c.tx, c.h.tender_id, lot, c.who.org_id, *b, e);
    if (!secret) {
      c.tx.exec_params0(
          "UPDATE hall_bids SET message = 'bidder part received; waiting for the escrow shares' "
          "WHERE tender_id = $1 AND lot_no = $2 AND org_id = $3",
          c.h.tender_id, lot, c.who.org_id);
      c.out.seq = status_event(c.tx, c.h.tender_id, lot, c.who.org_id, c.actor);
      c.audit({{"lot", lot},
               {"file", file},
               {"key_digest", sha256_hex(key_material)},
               {"waiting_for_escrow", true}});
      c.out.result = {{"status", "waiting"}, {"attempt", nullptr}};
      return;
    }
    c.out.work = start_attempt(c.tx, c.h, lot, c.who.org_id, *b, source, blob, key_material, secret,
                               commitment, c.who.user_id, &status);
  } else {
    c.out.work = start_attempt(c.tx, c.h, lot, c.who.org_id, *b, source, blob, key_material,
                               std::nullopt, commitment, c.who.user_id, &status);
  }
  c.out.seq = append_event(c.tx, c.h.tender_id, "decryption_status", c.actor, std::move(status));
  c.audit({{"lot", lot},
           {"file", file},
           {"key_digest", sha256_hex(key_material)},
           {"attempt", c.out.work->attempt_id}});
  c.out.result = {{"status", "decrypting"}, {"attempt", c.out.work->attempt_id}};
}

void act_help(act_context& c) {
  const int lot = static_cast<int>(c.p.integer("lot"));
  const auto text = c.p.text("text");
  require_role(c.who, {"bidder"}, "ask for help");
  require_phase(c.h, {"decrypting", "decrypted"}, "help");
  require_not_held(c.h);
  const auto b = load_bid(c.tx, c.h.tender_id, lot, c.who.org_id);
  if (!b || !b->listed)
    fail("hall.not_listed", "your organisation has no listed bid in lot " + std::to_string(lot));
  const auto id = c.tx.exec_params1(
                          "INSERT INTO hall_help (tender_id, lot_no, org_id, user_id, text) VALUES "
                          "($1, $2, $3, $4, "
                          "$5) RETURNING id",
                          c.h.tender_id, lot, c.who.org_id, c.who.user_id, text)[0]
                      .as<std::int64_t>();
  c.out.seq =
      append_event(c.tx, c.h.tender_id, "help_requested", c.actor,
                   {{"help_id", id}, {"lot", lot}, {"org_id", c.who.org_id}, {"text", text}},
                   "org:" + c.who.org_id);
  c.audit({{"help_id", id}, {"lot", lot}, {"text", text}});
  c.out.result = {{"help_id", id}};
}

void act_share(act_context& c) {
  const int lot = static_cast<int>(c.p.integer("lot"));
  const auto org = c.p.text("org_id");
  const auto share_text = c.p.object_text("share");
  require_role(c.who, {"custodian"}, "submit an escrow share");
  require_phase(c.h, {"decrypting", "decrypted"}, "share");
  require_not_held(c.h);
  if (c.h.key_policy == "bidder_only") fail("hall.no_escrow", "this tender has no escrow");
  const auto e = load_escrow(c.tx, c.h.tender_id);
  if (!e.setup) fail("hall.no_escrow", "this tender has no escrow setup");
  const auto b = load_bid(c.tx, c.h.tender_id, lot, org);
  if (!b || !b->listed)
    fail("hall.not_listed", org + " has no listed bid in lot " + std::to_string(lot));
  if (!b->escrow_r) fail("hall.no_escrow", "the bid has no escrow stanza");
  if (b->status == "done") fail("hall.already_done", "the bid is already decrypted");
  // The custodian: index i is the i-th custodian of the tender's escrow, of the viewer's org.
  crypto::escrow::decryption_share share;
  try {
    share = crypto::escrow::decryption_share_from_json(share_text);
  } catch (const crypto::error& ex) {
    fail("hall.bad_share", std::string("the share is malformed: ") + ex.what());
  }
  if (share.index == 0 || share.index > e.custodians.size() ||
      e.custodians[share.index - 1].second != c.who.org_id) {
    fail("hall.bad_share",
         "share index " + std::to_string(share.index) + " is not a custodian of your organisation");
  }
  const auto custodian_id = e.custodians[share.index - 1].first.empty()
                                ? std::to_string(share.index)
                                : e.custodians[share.index - 1].first;
  const auto context = share_context(c.h.tender_id, lot, org);
  try {
    const auto eph = crypto::base64_decode(*b->escrow_r);
    crypto::escrow::verify_decryption_share(*e.setup, eph, share, crypto::as_bytes(context));
  } catch (const crypto::error& ex) {
    fail("hall.bad_share", std::string("the share does not verify: ") + ex.what());
  }
  const auto canonical = crypto::escrow::decryption_share_to_json(share);
  const auto inserted = c.tx.exec_params(
      "INSERT INTO hall_shares (tender_id, lot_no, org_id, custodian_id, share, submitted_by) "
      "VALUES ($1, $2, $3, $4, $5::jsonb, $6) ON CONFLICT DO NOTHING RETURNING 1",
      c.h.tender_id, lot, org, custodian_id, canonical, c.who.user_id);
  if (inserted.empty())
    fail("hall.already_done", "this custodian's share for the bid is already in");
  const auto count = c.tx.exec_params1(
                             "SELECT count(*) FROM hall_shares WHERE tender_id = $1 AND lot_no = "
                             "$2 AND org_id = $3",
                             c.h.tender_id, lot, org)[0]
                         .as<std::int64_t>();
  c.out.seq = append_event(c.tx, c.h.tender_id, "share_submitted", c.actor,
                           {{"lot", lot},
                            {"org_id", org},
                            {"custodian", custodian_id},
                            {"shares", count},
                            {"threshold", e.threshold}});
  c.audit({{"lot", lot}, {"org_id", org}, {"custodian", custodian_id}, {"shares", count}});
  c.out.result = {{"shares", count}, {"threshold", e.threshold}};
  if (count < static_cast<std::int64_t>(e.threshold) || b->status == "decrypting") return;
  const auto secret = combined_secret(c.tx, c.h.tender_id, lot, org, *b, e);
  if (!secret) return;
  if (c.h.key_policy == "bidder_and_escrow") {
    if (!b->bidder_part) return;  // the bidder's decrypt completes it
    c.out.work = start_attempt(c.tx, c.h, lot, org, *b, "bidder", b->blob_digest, *b->bidder_part,
                               secret, "", "");
  } else {
    c.out.work = start_attempt(c.tx, c.h, lot, org, *b, "escrow", b->blob_digest, std::string(),
                               secret, "", "");
  }
  status_event(c.tx, c.h.tender_id, lot, org, nullptr);
}

void act_extend_window(act_context& c) {
  const auto seconds = c.p.integer("seconds");
  const auto reason = c.p.text("reason");
  require_role(c.who, {"host"}, "extend_window");
  require_phase(c.h, {"decrypting"}, "extend_window");
  // Extending is how the host makes up for a pause or suspension, so it is allowed while paused.
  if (c.h.suspended_reason)
    fail("hall.suspended", "the hall is suspended: " + *c.h.suspended_reason);
  if (!c.h.window_open()) fail("hall.window_closed", "the decryption window is already closed");
  const auto r = c.tx.exec_params1(
      "UPDATE halls SET window_closes_at = window_closes_at + make_interval(secs => $2) "
      "WHERE tender_id = $1 RETURNING " TENDER_HALL_TIME(
          "window_closes_at") ", window_closes_at::text",
      c.h.tender_id, static_cast<double>(seconds));
  const auto closes = r[0].as<std::string>();
  schedule_job(c.tx, "hall.window_close", c.h.tender_id, r[1].as<std::string>());
  c.out.seq =
      append_event(c.tx, c.h.tender_id, "window_extended", c.actor,
                   {{"window_closes_at", closes}, {"seconds", seconds}, {"reason", reason}});
  c.audit({{"window_closes_at", closes}, {"seconds", seconds}, {"reason", reason}});
  c.out.result = {{"window_closes_at", closes}};
}

bool any_discount_candidates(pqxx::transaction_base& tx, const std::string& tender_id) {
  return !tx.exec_params(
                "SELECT 1 FROM lots WHERE tender_id = $1 AND discount_candidates IS NOT NULL AND "
                "jsonb_typeof(discount_candidates) = 'array' AND "
                "jsonb_array_length(discount_candidates) > 0",
                tender_id)
              .empty();
}

// The checkpoint root of the draws: the first signed checkpoint at or after the deadline.
std::string checkpoint_root(pqxx::transaction_base& tx, const std::string& tender_id) {
  const auto r = tx.exec_params(
      "SELECT c.root FROM audit_checkpoints c, tenders t WHERE t.id = $1 AND "
      "c.created_at >= t.deadline_at ORDER BY c.size LIMIT 1",
      tender_id);
  if (r.empty()) {
    fail("hall.too_early", "no signed audit checkpoint since the deadline yet; try again shortly");
  }
  const auto root = bytes_text(r[0][0]);
  return to_b64(root);
}

json::object draw_json(const crypto::draw_result& d) {
  json::array materials;
  for (const auto& m : d.inputs.seed_materials) {
    materials.push_back(json::object{{"label", m.label}, {"value", crypto::hex_encode(m.value)}});
  }
  json::array candidates, selected, exclusions;
  for (const auto& s : d.inputs.candidates)
    candidates.emplace_back(s);
  for (const auto& s : d.inputs.exclusions)
    exclusions.emplace_back(s);
  for (const auto& s : d.selected)
    selected.emplace_back(s);
  return {{"algorithm", "tenderhall/draw/v1"},
          {"seed_materials", std::move(materials)},
          {"candidates", std::move(candidates)},
          {"exclusions", std::move(exclusions)},
          {"count", d.inputs.count},
          {"seed", crypto::to_hex(d.seed)},
          {"selected", std::move(selected)}};
}

std::vector<crypto::draw_seed_material> materials(const std::vector<core::seed_material>& in) {
  std::vector<crypto::draw_seed_material> out;
  for (const auto& [label, value] : in) {
    const auto b = crypto::as_bytes(value);
    out.push_back({label, crypto::bytes(b.begin(), b.end())});
  }
  return out;
}

void act_reveal_host(act_context& c) {
  const auto nonce = c.p.text("nonce");
  require_role(c.who, {"host"}, "reveal_host");
  require_phase(c.h, {"decrypted"}, "reveal_host");
  require_not_held(c.h);
  const auto raw = crypto::hex_decode(nonce);
  const std::string raw_text(raw.begin(), raw.end());
  if (!c.h.host_commitment || sha256_hex(raw_text) != *c.h.host_commitment) {
    fail("hall.commitment_mismatch", "the nonce does not hash to the host's commitment");
  }
  const auto root = checkpoint_root(c.tx, c.h.tender_id);
  // Only sign-ins made before the deadline can be drawn (core::representative_eligible): the
  // candidates are fixed before the checkpoint root exists, so no one can add or hold back a
  // candidate once the root is known.
  std::vector<std::string> candidates;
  for (const auto& r : c.tx.exec_params(
           "SELECT a.org_id, extract(epoch FROM a.signed_in_at)::float8 FROM hall_attendance a "
           "WHERE a.tender_id = $1 AND EXISTS (SELECT 1 FROM hall_bids hb WHERE hb.tender_id = "
           "a.tender_id AND hb.org_id = a.org_id AND hb.listed) ORDER BY a.signed_in_at, a.org_id",
           c.h.tender_id)) {
    if (c.h.deadline_at && core::representative_eligible(r[1].as<double>(), *c.h.deadline_at)) {
      candidates.push_back(r[0].as<std::string>());
    }
  }
  json::value representative = nullptr;
  json::value draw = nullptr;
  if (!candidates.empty()) {
    crypto::draw_inputs in;
    in.seed_materials =
        materials(core::representative_seed_materials(c.h.tender_id, root, raw_text));
    in.candidates = candidates;
    in.count = 1;
    const auto d = crypto::run_draw(in);
    representative = d.selected.front();
    draw = draw_json(d);
  }
  c.tx.exec_params0(
      "UPDATE halls SET phase = 'drawing', host_nonce = $2, host_revealed_at = clock_timestamp(), "
      "checkpoint_root = $3, representative = $4, representative_draw = $5::jsonb WHERE tender_id "
      "= $1",
      c.h.tender_id, nonce, root,
      representative.is_null()
          ? std::optional<std::string>()
          : std::optional<std::string>(std::string(representative.get_string())),
      json::serialize(draw));
  c.out.seq = append_event(c.tx, c.h.tender_id, "host_revealed", c.actor,
                           {{"nonce", nonce}, {"commitment", *c.h.host_commitment}});
  append_event(c.tx, c.h.tender_id, "representative_drawn", nullptr,
               {{"procedure", core::hall_draw_procedure},
                {"draw", draw},
                {"representative", representative}});
  c.audit({{"nonce", nonce}, {"checkpoint_root", root}, {"representative", representative}});
  c.out.result = {{"representative", representative}};
}

void act_reveal_representative(act_context& c) {
  const auto nonce = c.p.text("nonce");
  require_role(c.who, {"bidder"}, "reveal_representative");
  require_phase(c.h, {"drawing"}, "reveal_representative");
  require_not_held(c.h);
  if (!c.h.representative || *c.h.representative != c.who.org_id) {
    fail("hall.forbidden", "only the drawn representative reveals its nonce");
  }
  if (c.h.representative_nonce)
    fail("hall.already_done", "the representative has already revealed");
  const auto commit =
      c.tx.exec_params1(
              "SELECT commitment FROM hall_attendance WHERE tender_id = $1 AND org_id = $2",
              c.h.tender_id, c.who.org_id)[0]
          .as<std::string>();
  const auto raw = crypto::hex_decode(nonce);
  if (sha256_hex(std::string(raw.begin(), raw.end())) != commit) {
    fail("hall.commitment_mismatch", "the nonce does not hash to your sign-in commitment");
  }
  c.tx.exec_params0(
      "UPDATE halls SET representative_nonce = $2, representative_revealed_at = clock_timestamp() "
      "WHERE tender_id = $1",
      c.h.tender_id, nonce);
  c.out.seq = append_event(c.tx, c.h.tender_id, "representative_revealed", c.actor,
                           {{"org_id", c.who.org_id}, {"nonce", nonce}});
  c.audit({{"nonce", nonce}});
  c.out.result = json::object{};
}

// The parameter draw. Its last seed input is the root of a checkpoint signed here, over a log
// whose last event is this draw's own audit event (with 32 fresh random bytes): it exists only
// once the reveal is over, so when the representative chooses between revealing and withholding
// it cannot compute the outcome of either (verifiable-draw.md §10).
void act_draw(act_context& c) {
  require_role(c.who, {"host"}, "draw");
  require_phase(c.h, {"drawing"}, "draw");
  require_not_held(c.h);
  const auto& pack = pack_of(c.h);
  if (!core::may_draw_parameters(c.h.now, c.h.host_revealed_at.value_or(c.h.now),
                                 pack.draw_reveal_s, c.h.representative.has_value(),
                                 c.h.representative_nonce.has_value())) {
    fail("hall.too_early", "the representative has " + std::to_string(pack.draw_reveal_s) +
                               " s to reveal before the host may draw without it");
  }
  if (!c.opts.signer) {
    fail("hall.record_not_ready", "this node has no audit signing key for the draw's checkpoint");
  }
  const auto host = crypto::hex_decode(c.h.host_nonce.value_or(""));
  std::string rep_raw;
  if (c.h.representative_nonce) {
    const auto r = crypto::hex_decode(*c.h.representative_nonce);
    rep_raw.assign(r.begin(), r.end());
  }
  const auto salt = crypto::to_hex(crypto::as_bytes(random_raw(32)));
  const json::object sealed{
      {"representative", c.h.representative ? json::value(*c.h.representative) : nullptr},
      {"representative_nonce",
       c.h.representative_nonce ? json::value(*c.h.representative_nonce) : nullptr},
      {"salt", salt}};
  const auto audit_seq =
      hall_tx::audit(c.tx, c.who.user_id, c.who.role, c.action, c.h.tender_id, sealed);
  const auto cp = audit_tx::checkpoint(c.tx, c.opts.origin, *c.opts.signer);
  if (!cp || cp->size != audit_seq + 1) {
    throw error(audit_codes::corrupt, "the draw's checkpoint does not end at its audit event");
  }
  const auto draw_root = crypto::base64_encode(cp->root);
  const json::object checkpoint{{"size", cp->size},
                                {"root", draw_root},
                                {"note", cp->note},
                                {"audit_seq", audit_seq},
                                {"salt", salt}};
  json::array draws;
  for (const auto& r : c.tx.exec_params(
           "SELECT lot_no, discount_candidates::text FROM lots WHERE tender_id = $1 AND "
           "discount_candidates IS NOT NULL ORDER BY lot_no",
           c.h.tender_id)) {
    const auto cands = json::parse(r[1].as<std::string>());
    if (!cands.is_array() || cands.get_array().empty()) continue;
    core::discount_draw_inputs di;
    di.tender_id = c.h.tender_id;
    di.lot = r[0].as<int>();
    di.checkpoint_root_b64 = c.h.checkpoint_root.value_or("");
    di.host_nonce.assign(host.begin(), host.end());
    di.representative = c.h.representative;
    di.representative_nonce = rep_raw;
    di.draw_checkpoint_b64 = draw_root;
    crypto::draw_inputs in;
    in.seed_materials = materials(core::discount_seed_materials(di));
    for (const auto& v : cands.get_array()) {
      in.candidates.push_back(v.is_string() ? std::string(v.get_string()) : json::serialize(v));
    }
    in.count = 1;
    const auto d = crypto::run_draw(in);
    draws.push_back(json::object{{"lot", di.lot},
                                 {"value", d.selected.front()},
                                 {"draw", draw_json(d)},
                                 {"checkpoint", checkpoint}});
  }
  c.tx.exec_params0("UPDATE halls SET phase = 'drawn', draws = $2::jsonb WHERE tender_id = $1",
                    c.h.tender_id, json::serialize(draws));
  c.out.seq = append_event(c.tx, c.h.tender_id, "parameters_drawn", c.actor,
                           {{"procedure", core::hall_draw_procedure}, {"draws", draws}});
  c.out.result = {{"draws", std::move(draws)}};
}

void finish_one(pqxx::transaction_base& tx, const locked_hall& h, std::int64_t attempt_id, int lot,
                const std::string& org, const std::string& source,
                const hall_work_outcome& outcome);

void act_announce(act_context& c) {
  require_role(c.who, {"host"}, "announce");
  if (c.h.phase == "decrypted") {
    if (any_discount_candidates(c.tx, c.h.tender_id)) {
      fail("hall.wrong_phase", "a lot declares discount candidates: draw before the announcement");
    }
  } else {
    require_phase(c.h, {"drawn"}, "announce");
  }
  require_not_held(c.h);
  // An escrow remedy still running (its shares completed after the close) does not hold the
  // announcement, nor change a row after it: it ends here, on the platform's side, and the bid
  // keeps the final cause it got at the close (hall-protocol.md §10).
  for (const auto& r : c.tx.exec_params(
           "SELECT id, lot_no, org_id, source FROM hall_attempts WHERE tender_id = $1 AND "
           "state = 'decrypting' ORDER BY id",
           c.h.tender_id)) {
    hall_work_outcome cut;
    cut.cause = cause_decryption_incomplete;
    cut.message = "the announcement came before this decryption finished";
    finish_one(c.tx, c.h, r[0].as<std::int64_t>(), r[1].as<int>(), r[2].as<std::string>(),
               r[3].as<std::string>(), cut);
  }
  std::map<int, std::string> draw_values;
  if (const auto d =
          c.tx.exec_params1("SELECT draws::text FROM halls WHERE tender_id = $1", c.h.tender_id);
      !d[0].is_null()) {
    const auto parsed = json::parse(d[0].as<std::string>());
    for (const auto& x : parsed.as_array()) {
      draw_values[static_cast<int>(x.at("lot").as_int64())] =
          std::string(x.at("value").as_string());
    }
  }
  json::array lots;
  for (const auto& l : c.tx.exec_params(
           "SELECT lot_no, ceiling_price FROM lots WHERE tender_id = $1 ORDER BY lot_no",
           c.h.tender_id)) {
    const int lot = l[0].as<int>();
    json::array rows;
    for (const auto& r : c.tx.exec_params(
             "SELECT hb.org_id, o.name, hb.status, hb.summary::text, hb.cause FROM hall_bids hb "
             "JOIN organisations o ON o.id = hb.org_id WHERE hb.tender_id = $1 AND hb.lot_no = $2 "
             "AND hb.listed ORDER BY hb.org_id",
             c.h.tender_id, lot)) {
      rows.push_back(json::object{
          {"org_id", r[0].as<std::string>()},
          {"name", r[1].as<std::string>()},
          {"status", r[2].as<std::string>()},
          {"summary", r[3].is_null() ? json::value(nullptr) : json::parse(r[3].as<std::string>())},
          {"cause", r[4].is_null() ? json::value(nullptr) : json::value(r[4].as<std::string>())}});
    }
    const auto dv = draw_values.find(lot);
    lots.push_back(json::object{
        {"lot", lot},
        {"ceiling_price",
         l[1].is_null() ? json::value(nullptr) : json::value(l[1].as<std::int64_t>())},
        {"draw_value", dv == draw_values.end() ? json::value(nullptr) : json::value(dv->second)},
        {"rows", std::move(rows)}});
  }
  // What bidders confirm: the hex SHA-256 of the canonical JSON of {"lots": …}.
  const json::object signed_part{{"lots", lots}};
  const auto digest = sha256_hex(canonical_json(signed_part));
  std::int64_t seconds =
      c.h.confirmation_window_s.value_or(pack_of(c.h).default_confirmation_window_s);
  if (seconds <= 0) seconds = 3600;
  const auto r = c.tx.exec_params1(
      "UPDATE halls SET phase = 'announced', announced_at = clock_timestamp(), "
      "confirm_closes_at = clock_timestamp() + make_interval(secs => $2), record_digest = $3 "
      "WHERE tender_id = $1 RETURNING " TENDER_HALL_TIME(
          "confirm_closes_at") ", confirm_closes_at::text",
      c.h.tender_id, static_cast<double>(seconds), digest);
  const auto closes = r[0].as<std::string>();
  schedule_job(c.tx, "hall.confirm_close", c.h.tender_id, r[1].as<std::string>());
  json::object data{{"lots", lots}, {"record_digest", digest}, {"confirm_closes_at", closes}};
  c.tx.exec_params0("UPDATE halls SET announcement = $2::jsonb WHERE tender_id = $1", c.h.tender_id,
                    json::serialize(data));
  c.out.seq = append_event(c.tx, c.h.tender_id, "announced", c.actor, data);
  c.audit({{"record_digest", digest}, {"confirm_closes_at", closes}});
  c.out.result = {{"record_digest", digest}, {"confirm_closes_at", closes}};
}

void act_confirm(act_context& c) {
  const auto digest = c.p.text("digest");
  const auto challenge_id = c.p.text("challenge_id");
  const auto key = c.p.text("key");
  const auto signature = raw_param(c.p, "signature");
  auto check = [&] {
    require_role(c.who, {"bidder"}, "confirm");
    require_phase(c.h, {"announced"}, "confirm");
    require_not_held(c.h);
    if (!c.h.confirm_closes_at || c.h.now >= *c.h.confirm_closes_at) {
      fail("hall.window_closed", "the confirmation window is closed");
    }
  };
  check();
  if (c.tx.exec_params("SELECT 1 FROM hall_bids WHERE tender_id = $1 AND org_id = $2 AND listed",
                       c.h.tender_id, c.who.org_id)
          .empty()) {
    fail("hall.not_listed", "your organisation has no listed bid");
  }
  const auto already = [] { fail("hall.already_done", "your organisation has already confirmed"); };
  if (!c.tx.exec_params("SELECT 1 FROM hall_confirmations WHERE tender_id = $1 AND org_id = $2",
                        c.h.tender_id, c.who.org_id)
           .empty()) {
    already();
  }
  if (!c.h.record_digest || digest != *c.h.record_digest) {
    fail("hall.commitment_mismatch", "the digest is not the announcement's record digest");
  }
  const auto ok = verify_signed(c.tx, c.h.tender_id, c.who, "confirm", challenge_id, key, signature,
                                digest, c.opts.revocations);
  lock_now(c);
  check();
  const pqxx::binarystring pk(ok.public_key_der);
  const pqxx::binarystring sig(signature);
  const auto inserted = c.tx.exec_params(
      "INSERT INTO hall_confirmations (tender_id, org_id, user_id, key, public_key, challenge_id, "
      "challenge, signature, digest) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) "
      "ON CONFLICT (tender_id, org_id) DO NOTHING RETURNING " TENDER_HALL_TIME("confirmed_at"),
      c.h.tender_id, c.who.org_id, c.who.user_id, key, pk, challenge_id, ok.challenge_b64, sig,
      digest);
  if (inserted.empty()) already();
  const auto at = inserted[0][0].as<std::string>();
  c.out.seq = append_event(c.tx, c.h.tender_id, "confirmed", c.actor,
                           {{"org_id", c.who.org_id}, {"confirmed_at", at}});
  c.audit({{"org_id", c.who.org_id}, {"digest", digest}, {"key", key}});
  c.out.result = {{"confirmed_at", at}};
}

void act_finish(act_context& c) {
  require_role(c.who, {"host"}, "finish");
  require_phase(c.h, {"announced"}, "finish");
  require_not_held(c.h);
  const bool closed = c.h.confirm_closes_at && c.h.now >= *c.h.confirm_closes_at;
  if (!closed) {
    const auto silent = c.tx.exec_params1(
                                "SELECT count(DISTINCT hb.org_id) FROM hall_bids hb WHERE "
                                "hb.tender_id = $1 AND hb.listed "
                                "AND NOT EXISTS (SELECT 1 FROM hall_confirmations x WHERE "
                                "x.tender_id = hb.tender_id AND "
                                "x.org_id = hb.org_id)",
                                c.h.tender_id)[0]
                            .as<std::int64_t>();
    if (silent > 0) {
      fail("hall.too_early", "the confirmation window is open and " + std::to_string(silent) +
                                 " bidder(s) have not confirmed");
    }
  }
  std::int64_t seq = 0;
  c.out.result = hall_tx::make_record(c.tx, c.h, c.opts, c.who.user_id, c.who.role, &seq);
  c.out.seq = seq;
}

void act_object(act_context& c) {
  const auto text = c.p.text("text");
  const auto lot = c.p.optional_integer("lot");
  require_role(c.who, {"bidder"}, "object");
  require_phase(c.h, {"listed", "decrypting", "decrypted", "drawing", "drawn", "announced"},
                "object");
  const auto n =
      c.tx.exec_params1("SELECT count(*) FROM hall_objections WHERE tender_id = $1 AND org_id = $2",
                        c.h.tender_id, c.who.org_id)[0]
          .as<std::int64_t>();
  if (n >= 200) fail("hall.too_many_attempts", "at most 200 objections per organisation");
  const auto id = c.tx.exec_params1(
                          "INSERT INTO hall_objections (tender_id, org_id, user_id, lot_no, text) "
                          "VALUES ($1, $2, $3, "
                          "$4, $5) RETURNING id",
                          c.h.tender_id, c.who.org_id, c.who.user_id,
                          lot ? std::optional<int>(static_cast<int>(*lot)) : std::nullopt, text)[0]
                      .as<std::int64_t>();
  c.out.seq = append_event(c.tx, c.h.tender_id, "objection_raised", c.actor,
                           {{"objection_id", id},
                            {"org_id", c.who.org_id},
                            {"lot", lot ? json::value(*lot) : json::value(nullptr)},
                            {"text", text}});
  c.audit({{"objection_id", id}, {"text", text}});
  c.out.result = {{"objection_id", id}};
}

void act_answer(act_context& c) {
  const auto id = c.p.integer("objection_id");
  const auto text = c.p.text("text");
  require_role(c.who, {"host"}, "answer");
  require_phase(c.h, {"listed", "decrypting", "decrypted", "drawing", "drawn", "announced"},
                "answer");
  const auto r = c.tx.exec_params(
      "SELECT answer IS NOT NULL FROM hall_objections WHERE id = $1 AND tender_id = $2 FOR UPDATE",
      id, c.h.tender_id);
  if (r.empty()) fail("hall.not_found", "no objection " + std::to_string(id) + " in this hall");
  if (r[0][0].as<bool>())
    fail("hall.already_done", "objection " + std::to_string(id) + " is already answered");
  c.tx.exec_params0(
      "UPDATE hall_objections SET answer = $2, answered_by = $3, answered_at = clock_timestamp() "
      "WHERE id = $1",
      id, text, c.who.user_id);
  c.out.seq = append_event(c.tx, c.h.tender_id, "objection_answered", c.actor,
                           {{"objection_id", id}, {"text", text}});
  c.audit({{"objection_id", id}, {"text", text}});
  c.out.result = json::object{};
}

void act_flag(act_context& c, bool pause_flag, bool set) {
  const auto reason = c.p.text("reason");
  require_role(c.who, {pause_flag ? "host" : "supervisor"}, c.action);
  if (c.h.phase == "failed" || c.h.phase == "recorded" || (pause_flag && c.h.phase == "waiting")) {
    fail("hall.wrong_phase", c.action + " is not possible while the hall is " + c.h.phase);
  }
  const auto& current = pause_flag ? c.h.paused_reason : c.h.suspended_reason;
  if (set == current.has_value()) {
    fail("hall.already_done", std::string("the hall is ") + (set ? "already " : "not ") +
                                  (pause_flag ? "paused" : "suspended"));
  }
  const std::string col = pause_flag ? "paused" : "suspended";
  if (set) {
    c.tx.exec_params0("UPDATE halls SET " + col + "_reason = $2, " + col +
                          "_at = clock_timestamp() WHERE tender_id = $1",
                      c.h.tender_id, reason);
  } else {
    c.tx.exec_params0(
        "UPDATE halls SET " + col + "_reason = NULL, " + col + "_at = NULL WHERE tender_id = $1",
        c.h.tender_id);
  }
  const std::string kind =
      pause_flag ? (set ? "paused" : "resumed") : (set ? "suspended" : "unsuspended");
  c.out.seq = append_event(c.tx, c.h.tender_id, kind, c.actor, {{"reason", reason}});
  c.audit({{"reason", reason}});
  c.out.result = json::object{};
}

}  // namespace

namespace {

// check_guarantees with live_status: the issuer of every guarantee stored as valid is asked
// outside any transaction and holding no connection (a slow issuer must not keep one of the
// pool's connections from the hall's actions). Only while the hall is sealed: in any other phase
// the action is refused anyway.
net::awaitable<live_check> ask_issuers_first(pool& connections, const hall::options& opts,
                                             std::string tender_id) {
  std::vector<held_guarantee> held;
  bool sealed = false;
  co_await connections.run([&](pqxx::connection_base& conn) {
    pqxx::read_transaction tx(conn);
    const auto r = tx.exec_params("SELECT phase FROM halls WHERE tender_id = $1", tender_id);
    sealed = !r.empty() && r[0][0].as<std::string>() == "sealed";
    if (sealed) held = valid_guarantees(tx, tender_id);
  });
  if (!sealed || held.empty()) co_return live_check{};
  auto out = co_await opts.live_status(std::move(held));
  for (const auto& u : out.unreachable) {
    const auto& o = u.as_object();
    core::log::warn(
        "hall guarantee check: an issuer did not answer",
        {{"tender_id", tender_id}, {"issuer", o.at("issuer")}, {"error", o.at("error")}});
  }
  co_return out;
}

}  // namespace

net::awaitable<hall_act_result> hall::act(std::string tender_id, hall_viewer who,
                                          std::string action, json::object params) {
  if (!core::hall_action_params(action)) {
    fail("hall.bad_message", "unknown action '" + action.substr(0, 40) + "'");
  }
  // The role before any transaction: an action the viewer may never take costs no connection and
  // no lock (a flood of them must not delay the bidders' real ones).
  if (auto no = core::hall_role_refusal(action, who.role)) fail(no->code.c_str(), no->message);
  // The parameters too: a malformed act is refused before it costs a connection.
  auto checked = core::check_hall_params(action, params);
  if (auto* no = std::get_if<core::hall_refusal>(&checked)) fail(no->code.c_str(), no->message);
  const auto& p = std::get<core::hall_params>(checked);
  std::optional<live_check> live;
  if (action == "check_guarantees" && who.role == "host" && opts_.live_status) {
    live = co_await ask_issuers_first(pool_, opts_, tender_id);
  }
  hall_act_result out;
  pool::job job = [&](pqxx::connection_base& conn) {
    pqxx::work tx(conn);
    // The session first, in the act's own transaction: no round trip of its own per act.
    if (!who.session_hash.empty() &&
        exec_prepared_sql(tx, "hall_session_live",
                          "SELECT 1 FROM sessions WHERE token_hash = decode($1, 'hex') AND "
                          "revoked_at IS NULL AND expires_at > clock_timestamp()",
                          who.session_hash)
            .empty()) {
      fail("auth.invalid_token", "the session this connection joined with has ended");
    }
    const auto t = exec_prepared_sql(tx, "hall_tender_state",
                                     "SELECT state FROM tenders WHERE id = $1", tender_id);
    if (t.empty() || t[0][0].as<std::string>() == "draft") {
      fail("tender.not_found", "no tender '" + tender_id + "'");
    }
    hall_tx::ensure(tx, tender_id);
    // A challenge only adds its own row: it reads the hall without queueing on its lock. The
    // per-bidder actions lock it themselves once their checks and reads are done (lock_now).
    const bool late =
        action == "challenge" || action == "sign_in" || action == "decrypt" || action == "confirm";
    // The phase before the lock, on the row as read: an action the phase cannot take is refused
    // without queueing on the lock (the action checks the phase again under it).
    auto h = hall_tx::read(tx, tender_id);
    if (!h) fail("tender.not_found", "no tender '" + tender_id + "'");
    if (auto no = core::hall_phase_refusal(action, h->phase)) fail(no->code.c_str(), no->message);
    if (!late) {
      h = hall_tx::lock(tx, tender_id);
      if (!h) fail("tender.not_found", "no tender '" + tender_id + "'");
    }
    act_context c{
        tx, *h, who, action, p, opts_, out, hall_tx::actor_of(who), live ? &*live : nullptr};
    if (action == "challenge")
      act_challenge(c);
    else if (action == "sign_in")
      act_sign_in(c);
    else if (action == "commit_host")
      act_commit_host(c);
    else if (action == "check_guarantees")
      act_check_guarantees(c);
    else if (action == "publish_list")
      act_publish_list(c);
    else if (action == "open_window")
      act_open_window(c);
    else if (action == "decrypt")
      act_decrypt(c);
    else if (action == "help")
      act_help(c);
    else if (action == "share")
      act_share(c);
    else if (action == "extend_window")
      act_extend_window(c);
    else if (action == "reveal_host")
      act_reveal_host(c);
    else if (action == "reveal_representative")
      act_reveal_representative(c);
    else if (action == "draw")
      act_draw(c);
    else if (action == "announce")
      act_announce(c);
    else if (action == "confirm")
      act_confirm(c);
    else if (action == "finish")
      act_finish(c);
    else if (action == "object")
      act_object(c);
    else if (action == "answer")
      act_answer(c);
    else if (action == "pause")
      act_flag(c, true, true);
    else if (action == "resume")
      act_flag(c, true, false);
    else if (action == "suspend")
      act_flag(c, false, true);
    else if (action == "unsuspend")
      act_flag(c, false, false);
    tx.commit();
  };
  co_await pool_.run(std::move(job));
  co_return out;
}

// --- backups, decryption outcomes
// -----------------------------------------------------------------

net::awaitable<json::object> hall::store_backup(hall_viewer who, hall_backup_request req) {
  json::object out;
  pool::job job = [&](pqxx::connection_base& conn) {
    pqxx::work tx(conn);
    auto h = hall_tx::lock(tx, req.tender_id);
    if (!h) fail("tender.not_found", "no tender '" + req.tender_id + "'");
    if (who.role != "bidder") fail("hall.forbidden", "only a bidder uploads a backup file");
    require_phase(*h, {"decrypting"}, "a backup upload");
    require_not_held(*h);
    if (!h->window_open()) fail("hall.window_closed", "the decryption window is closed");
    const auto b = load_bid(tx, req.tender_id, req.lot, who.org_id);
    if (!b || !b->listed)
      fail("hall.not_listed",
           "your organisation has no listed bid in lot " + std::to_string(req.lot));
    if (b->status == "done") fail("hall.already_done", "your bid is already decrypted");
    tx.exec_params0(
        "INSERT INTO hall_backups (tender_id, lot_no, org_id, blob_digest, size, commitment, "
        "uploaded_by) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (tender_id, lot_no, org_id) "
        "DO UPDATE SET blob_digest = EXCLUDED.blob_digest, size = EXCLUDED.size, commitment = "
        "EXCLUDED.commitment, uploaded_by = EXCLUDED.uploaded_by, uploaded_at = clock_timestamp()",
        req.tender_id, req.lot, who.org_id, req.blob_digest, static_cast<std::int64_t>(req.size),
        req.commitment_hex, who.user_id);
    const auto size = static_cast<std::int64_t>(req.size);
    append_event(tx, req.tender_id, "backup_uploaded", hall_tx::actor_of(who),
                 {{"lot", req.lot}, {"org_id", who.org_id}, {"size", size}});
    hall_tx::audit(tx, who.user_id, who.role, "backup", req.tender_id,
                   {{"lot", req.lot},
                    {"blob_digest", req.blob_digest},
                    {"size", size},
                    {"commitment", req.commitment_hex}});
    out = {{"lot", req.lot},
           {"org_id", who.org_id},
           {"size", size},
           {"commitment", req.commitment_hex}};
    tx.commit();
  };
  co_await pool_.run(std::move(job));
  co_return out;
}

net::awaitable<std::string> hall::primary_blob(std::string tender_id, hall_viewer who, int lot) {
  std::string out;
  pool::job job = [&](pqxx::connection_base& conn) {
    pqxx::read_transaction tx(conn);
    const auto b = load_bid(tx, tender_id, lot, who.org_id);
    if (who.role != "bidder" || !b || !b->listed) {
      fail("hall.not_listed", "your organisation has no listed bid in lot " + std::to_string(lot));
    }
    out = b->blob_digest;
  };
  co_await pool_.run(std::move(job));
  co_return out;
}

namespace {

// One outcome of an attempt of `tender_id` whose hall row the caller holds (finish_decryptions).
void finish_one(pqxx::transaction_base& tx, const locked_hall& h, std::int64_t attempt_id, int lot,
                const std::string& org, const std::string& source,
                const hall_work_outcome& outcome) {
  const bool platform = platform_cause(outcome.cause);
  const std::string cause = platform                      ? outcome.cause
                            : outcome.cause == "bad_file" ? "bad_file"
                                                          : "wrong_key";
  const std::string side = platform ? "platform" : "bidder";
  const std::string treatment = platform ? "withdrawn" : "revoked";
  // Only while it is still running: a second report of the same attempt changes nothing.
  const auto a = exec_prepared_sql(
      tx, "hall_attempt_finish",
      "UPDATE hall_attempts SET state = $2, finished_at = clock_timestamp(), message = $3, "
      "cause = $4 WHERE id = $1 AND state = 'decrypting' RETURNING 1",
      attempt_id, std::string(outcome.ok ? "done" : "failed"), outcome.message,
      outcome.ok ? nullptr : cause.c_str());
  if (a.empty()) return;
  pqxx::row status;
  if (outcome.ok) {
    status = exec_prepared_sql(
        tx, "hall_bid_done",
        "UPDATE hall_bids SET status = 'done', via = $4, cause = NULL, side = NULL, treatment = "
        "NULL, message = NULLIF($5, ''), summary = $6::jsonb, file_key = (SELECT key_material "
        "FROM hall_attempts WHERE id = $7), done_at = clock_timestamp() WHERE tender_id = $1 "
        "AND lot_no = $2 AND org_id = $3 RETURNING " TENDER_HALL_BID_STATUS,
        h.tender_id, lot, org, source, outcome.message,
        outcome.summary_json.empty() ? std::string("{}") : outcome.summary_json, attempt_id)[0];
  } else {
    // During the window a failed attempt may be retried; after it the cause is final.
    const bool final = h.phase != "decrypting";
    status = exec_prepared_sql(
        tx, "hall_bid_failed",
        "UPDATE hall_bids SET status = 'failed', cause = CASE WHEN $5 THEN COALESCE(cause, $4) "
        "ELSE $4 END, side = CASE WHEN $5 THEN COALESCE(side, $7) ELSE $7 END, "
        "treatment = CASE WHEN $5 THEN COALESCE(treatment, $8) ELSE NULL END, "
        "message = NULLIF($6, '') WHERE tender_id = $1 AND lot_no = $2 AND org_id = $3 "
        "RETURNING " TENDER_HALL_BID_STATUS,
        h.tender_id, lot, org, cause, final, outcome.message, side, treatment)[0];
  }
  append_event(tx, h.tender_id, "decryption_status", nullptr, bid_status_of(status, lot, org));
  hall_tx::audit(tx, hall_tx::clock_actor, "system", "decryption_finished", h.tender_id,
                 {{"attempt", attempt_id},
                  {"lot", lot},
                  {"org_id", org},
                  {"ok", outcome.ok},
                  {"cause", outcome.ok ? json::value(nullptr) : json::value(cause)},
                  {"message", outcome.message}});
}

}  // namespace

net::awaitable<void> hall::finish_decryption(std::int64_t attempt_id, hall_work_outcome outcome) {
  std::vector<std::pair<std::int64_t, hall_work_outcome>> one;
  one.emplace_back(attempt_id, std::move(outcome));
  co_await finish_decryptions(std::move(one));
}

net::awaitable<void> hall::finish_decryptions(
    std::vector<std::pair<std::int64_t, hall_work_outcome>> outcomes) {
  struct attempt {
    std::string tender_id;
    int lot = 0;
    std::string org;
    std::string source;
  };
  pool::job job = [&](pqxx::connection_base& conn) {
    std::vector<std::int64_t> ids;
    for (const auto& [id, o] : outcomes)
      ids.push_back(id);
    std::map<std::int64_t, attempt> known;
    {
      pqxx::read_transaction tx(conn);
      for (const auto& r : tx.exec_params(
               "SELECT id, tender_id, lot_no, org_id, source FROM hall_attempts WHERE id = "
               "ANY($1::bigint[])",
               int_array(ids))) {
        known[r[0].as<std::int64_t>()] = {r[1].as<std::string>(), r[2].as<int>(),
                                          r[3].as<std::string>(), r[4].as<std::string>()};
      }
    }
    // One transaction per hall, in the order of each hall's first outcome.
    std::vector<std::string> halls;
    for (const auto& [id, o] : outcomes) {
      const auto it = known.find(id);
      if (it == known.end()) {
        core::log::warn("hall decryption outcome for an unknown attempt", {{"attempt_id", id}});
        continue;
      }
      if (std::find(halls.begin(), halls.end(), it->second.tender_id) == halls.end())
        halls.push_back(it->second.tender_id);
    }
    for (const auto& tender_id : halls) {
      pqxx::work tx(conn);
      const auto h = hall_tx::lock(tx, tender_id);
      if (!h) continue;
      for (const auto& [id, o] : outcomes) {
        const auto it = known.find(id);
        if (it == known.end() || it->second.tender_id != tender_id) continue;
        const auto& a = it->second;
        finish_one(tx, *h, id, a.lot, a.org, a.source, o);
      }
      tx.commit();
    }
  };
  co_await pool_.run(std::move(job));
}

net::awaitable<std::vector<hall_work>> hall::pending_work() {
  std::vector<hall_work> out;
  pool::job job = [&](pqxx::connection_base& conn) {
    pqxx::read_transaction tx(conn);
    for (const auto& r : tx.exec(
             "SELECT a.id, a.tender_id, a.lot_no, a.org_id, a.source, a.blob_digest, "
             "a.key_material, a.escrow_secret, b.header, t.key_policy, "
             "COALESCE((SELECT commitment FROM hall_backups k WHERE k.tender_id = a.tender_id AND "
             "k.lot_no = a.lot_no AND k.org_id = a.org_id AND a.source = 'backup'), '') "
             "FROM hall_attempts a JOIN hall_bids hb ON hb.tender_id = a.tender_id AND "
             "hb.lot_no = a.lot_no AND hb.org_id = a.org_id JOIN bids b ON b.id = hb.bid_id "
             "JOIN tenders t ON t.id = a.tender_id WHERE a.state = 'decrypting' ORDER BY a.id")) {
      hall_work w;
      w.attempt_id = r[0].as<std::int64_t>();
      w.tender_id = r[1].as<std::string>();
      w.lot = r[2].as<int>();
      w.org_id = r[3].as<std::string>();
      w.source = r[4].as<std::string>();
      w.blob_digest = r[5].as<std::string>();
      w.key_material = bytes_text(r[6]);
      if (!r[7].is_null()) w.escrow_secret = bytes_text(r[7]);
      w.header = bytes_text(r[8]);
      w.policy = hall_tx::key_policy_name(r[9].as<std::string>());
      w.commitment_hex = r[10].as<std::string>();
      out.push_back(std::move(w));
    }
  };
  co_await pool_.run(std::move(job));
  co_return out;
}

namespace hall_tx {

bool record_gap(pqxx::transaction_base& tx, const std::string& tender_id,
                const std::string& detected_by, double threshold_s) {
  const auto gap = tx.exec_params1(
      "SELECT extract(epoch FROM clock_timestamp() - last_heartbeat_at)::float8, " TENDER_HALL_TIME(
          "last_heartbeat_at") ", " TENDER_HALL_TIME("clock_timestamp()") " FROM halls WHERE "
                                                                          "tender_id = $1",
      tender_id);
  if (gap[0].is_null() || gap[0].as<double>() <= threshold_s) return false;
  const auto from = gap[1].as<std::string>();
  const auto to = gap[2].as<std::string>();
  const double seconds = gap[0].as<double>();
  tx.exec_params0(
      "INSERT INTO hall_outages (tender_id, from_at, to_at, detected_by) SELECT $1, "
      "last_heartbeat_at, clock_timestamp(), $2 FROM halls WHERE tender_id = $1",
      tender_id, detected_by);
  append_event(tx, tender_id, "outage_recorded", nullptr,
               {{"from", from}, {"to", to}, {"seconds", seconds}, {"detected_by", detected_by}});
  audit(tx, clock_actor, "system", "outage", tender_id,
        {{"from", from}, {"to", to}, {"detected_by", detected_by}});
  tx.exec_params0(
      "UPDATE halls SET last_heartbeat_at = clock_timestamp(), last_heartbeat_node = $2 "
      "WHERE tender_id = $1",
      tender_id, detected_by);
  return true;
}

}  // namespace hall_tx

net::awaitable<std::vector<std::string>> hall::heartbeat(std::string node_id) {
  std::vector<std::string> out;
  const double threshold = static_cast<double>(opts_.outage_threshold.count()) / 1000.0;
  pool::job job = [&](pqxx::connection_base& conn) {
    auto beat = [&](pqxx::transaction_base& tx, const std::string& id) {
      if (hall_tx::record_gap(tx, id, node_id, threshold)) out.push_back(id);
      tx.exec_params0(
          "UPDATE halls SET last_heartbeat_at = clock_timestamp(), last_heartbeat_node = $2 "
          "WHERE tender_id = $1",
          id, node_id);
    };
    // Every free hall in one transaction; one that an action holds is not waited for here (this
    // transaction holds other halls' rows and, after an outage, the audit head: waiting would
    // risk a deadlock)...
    std::set<std::string> busy;
    {
      pqxx::work tx(conn);
      for (const auto& r : tx.exec("SELECT tender_id FROM halls WHERE phase = 'decrypting'"))
        busy.insert(r[0].as<std::string>());
      for (const auto& r :
           tx.exec("SELECT tender_id FROM halls WHERE phase = 'decrypting' ORDER BY tender_id "
                   "FOR UPDATE SKIP LOCKED")) {
        const auto id = r[0].as<std::string>();
        busy.erase(id);
        beat(tx, id);
      }
      tx.commit();
    }
    // ...but in a transaction of its own, which locks that hall only (as every action does), so
    // a hall under a stream of actions still gets its heartbeat and is never taken for down.
    for (const auto& id : busy) {
      pqxx::work tx(conn);
      const auto h = hall_tx::lock(tx, id);
      if (!h || h->phase != "decrypting") continue;
      beat(tx, id);
      tx.commit();
    }
  };
  co_await priority().run(std::move(job));
  co_return out;
}

// --- clock handlers ---------------------------------------------------------------------------

job_handler hall_window_close_handler(std::string actor, std::chrono::milliseconds outage_threshold,
                                      std::chrono::milliseconds decrypt_timeout) {
  const double threshold_s = static_cast<double>(outage_threshold.count()) / 1000.0;
  const double timeout_s = static_cast<double>(decrypt_timeout.count()) / 1000.0;
  return [actor = std::move(actor), threshold_s, timeout_s](pqxx::transaction_base& tx,
                                                            const scheduled_job& j) {
    job_outcome out;
    bool busy = false;
    auto h = hall_tx::lock(tx, j.subject, !j.wait, &busy);
    if (!h) {
      if (busy)
        out.busy = true;
      else
        out.note = "no hall for " + j.subject;
      return out;
    }
    if (h->phase != "decrypting") {
      out.note = "the hall is " + h->phase + ": nothing to close";
      return out;
    }
    if (h->window_closes_at && h->now < *h->window_closes_at) {
      out.reschedule_to =
          tx.exec_params1("SELECT window_closes_at::text FROM halls WHERE tender_id = $1",
                          j.subject)[0]
              .as<std::string>();
      return out;
    }
    // Attempts begun inside the window finish before the causes are assigned, but not forever:
    // one still running decrypt_timeout after the close (a stalled worker, a disk that hangs, a
    // node that died holding it) ends on the platform's side, with how long it ran as evidence.
    for (const auto& r : tx.exec_params(
             "SELECT a.id, a.lot_no, a.org_id, a.source, "
             "extract(epoch FROM clock_timestamp() - a.created_at)::float8 FROM hall_attempts a "
             "JOIN halls h ON h.tender_id = a.tender_id WHERE a.tender_id = $1 AND "
             "a.state = 'decrypting' AND clock_timestamp() > h.window_closes_at + "
             "make_interval(secs => $2) ORDER BY a.id",
             j.subject, timeout_s)) {
      hall_work_outcome stalled;
      stalled.cause = cause_decryption_incomplete;
      stalled.message = "the decryption did not finish: still running " +
                        std::to_string(static_cast<std::int64_t>(r[4].as<double>())) +
                        " s after it was submitted and " +
                        std::to_string(static_cast<std::int64_t>(timeout_s)) +
                        " s after the window closed (hall.decrypt_timeout_ms)";
      finish_one(tx, *h, r[0].as<std::int64_t>(), r[1].as<int>(), r[2].as<std::string>(),
                 r[3].as<std::string>(), stalled);
    }
    if (!tx.exec_params(
               "SELECT 1 FROM hall_attempts WHERE tender_id = $1 AND state = 'decrypting' LIMIT 1",
               j.subject)
             .empty()) {
      out.reschedule_to =
          tx.exec("SELECT (clock_timestamp() + interval '1 second')::text")[0][0].as<std::string>();
      return out;
    }
    hall_tx::close_window(tx, *h, actor, threshold_s);
    out.wants_checkpoint = true;
    return out;
  };
}

job_handler hall_confirm_close_handler(std::string actor, hall::options opts) {
  return [actor = std::move(actor), opts = std::move(opts)](pqxx::transaction_base& tx,
                                                            const scheduled_job& j) {
    job_outcome out;
    bool busy = false;
    auto h = hall_tx::lock(tx, j.subject, !j.wait, &busy);
    if (!h) {
      if (busy)
        out.busy = true;
      else
        out.note = "no hall for " + j.subject;
      return out;
    }
    if (h->phase != "announced") {
      out.note = "the hall is " + h->phase + ": nothing to close";
      return out;
    }
    if (h->confirm_closes_at && h->now < *h->confirm_closes_at) {
      out.reschedule_to =
          tx.exec_params1("SELECT confirm_closes_at::text FROM halls WHERE tender_id = $1",
                          j.subject)[0]
              .as<std::string>();
      return out;
    }
    std::int64_t seq = 0;
    hall_tx::make_record(tx, *h, opts, actor, "system", &seq);
    out.wants_checkpoint = true;
    return out;
  };
}

namespace hall_tx {

void close_window(pqxx::transaction_base& tx, locked_hall& h, const std::string& actor,
                  double outage_threshold_s) {
  const bool and_escrow = h.key_policy == "bidder_and_escrow";
  // The platform may have been down across the close (no heartbeat noticed it yet): the gap since
  // the last heartbeat counts as an outage before the causes are assigned.
  record_gap(tx, h.tender_id, actor, outage_threshold_s);
  const auto outage =
      !tx.exec_params(
             "SELECT 1 FROM hall_outages o JOIN halls h ON h.tender_id = o.tender_id "
             "WHERE o.tender_id = $1 AND o.to_at > h.window_opens_at AND "
             "o.from_at < h.window_closes_at LIMIT 1",
             h.tender_id)
           .empty();
  std::int64_t done = 0;
  std::int64_t failed = 0;
  for (const auto& r : tx.exec_params(
           "SELECT hb.lot_no, hb.org_id, hb.status, hb.attempts, hb.bidder_part IS NOT NULL, "
           "la.cause, la.message FROM hall_bids hb LEFT JOIN LATERAL (SELECT a.cause, a.message "
           "FROM hall_attempts a WHERE a.tender_id = hb.tender_id AND a.lot_no = hb.lot_no AND "
           "a.org_id = hb.org_id ORDER BY a.id DESC LIMIT 1) la ON true "
           "WHERE hb.tender_id = $1 AND hb.listed ORDER BY hb.lot_no, hb.org_id",
           h.tender_id)) {
    const int lot = r[0].as<int>();
    const auto org = r[1].as<std::string>();
    if (r[2].as<std::string>() == "done") {
      ++done;
      continue;
    }
    ++failed;
    std::string cause;
    std::string side = "bidder";
    std::string treatment = "revoked";
    std::string message;
    if (outage) {
      cause = "platform_outage";
      side = "platform";
      treatment = "withdrawn";
      message = "an outage of the platform overlapped the decryption window";
    } else if (and_escrow && r[4].as<bool>()) {
      cause = "escrow_incomplete";
      side = "platform";
      treatment = "withdrawn";
      message = "fewer escrow shares than the threshold arrived";
    } else if (r[3].as<int>() == 0 && !r[4].as<bool>()) {
      cause = "no_attempt";
      message = "no key was submitted in the window";
    } else if (!r[5].is_null() && platform_cause(r[5].as<std::string>())) {
      // The last attempt failed on the platform's side; its message is the evidence.
      cause = r[5].as<std::string>();
      side = "platform";
      treatment = "withdrawn";
      message = r[6].is_null() ? std::string("the platform could not open the file")
                               : r[6].as<std::string>();
    } else {
      cause = r[5].is_null() ? "wrong_key" : r[5].as<std::string>();
      message = cause == "bad_file" ? "the file does not decrypt with its own key"
                                    : "the last key did not open the file";
    }
    tx.exec_params0(
        "UPDATE hall_bids SET status = 'failed', cause = $4, side = $5, treatment = $6, "
        "message = $7 WHERE tender_id = $1 AND lot_no = $2 AND org_id = $3",
        h.tender_id, lot, org, cause, side, treatment, message);
    status_event(tx, h.tender_id, lot, org, nullptr);
  }
  tx.exec_params0("UPDATE halls SET phase = 'decrypted' WHERE tender_id = $1", h.tender_id);
  h.phase = "decrypted";
  append_event(tx, h.tender_id, "window_closed", nullptr, {{"done", done}, {"failed", failed}});
  audit(tx, actor, "system", "window_close", h.tender_id,
        {{"done", done}, {"failed", failed}, {"outage", outage}});
}

}  // namespace hall_tx

}  // namespace tender::db
