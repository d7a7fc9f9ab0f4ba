#include <tender/db/escrow_ceremonies.hpp>

#include <tender/core/tender_rules.hpp>
#include <tender/crypto/bytes.hpp>
#include <tender/crypto/error.hpp>
#include <tender/crypto/escrow.hpp>
#include <tender/db/error.hpp>
#include <tender/db/tenders.hpp>

#include "audit_tx.hpp"
#include "canonical_json.hpp"
#include "pool.hpp"

#include <boost/json.hpp>

#include <pqxx/pqxx>

#include <algorithm>
#include <optional>
#include <utility>
#include <vector>

namespace net = boost::asio;

namespace tender::db {
namespace json = boost::json;
namespace esc = crypto::escrow;
namespace cer = core::ceremony;

namespace {

#define CEREMONY_UTC(col) \
  "COALESCE(to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), '')"

constexpr const char* lock_tender_sql =
    "SELECT owner_org, state, rule_pack, COALESCE(escrow::text, ''), published_at IS NOT NULL "
    "FROM tenders WHERE id = $1 FOR UPDATE";

constexpr const char* read_tender_sql =
    "SELECT owner_org, state, rule_pack, COALESCE(escrow::text, ''), published_at IS NOT NULL "
    "FROM tenders WHERE id = $1";

constexpr const char* ceremony_columns =
    "SELECT number, grp, threshold, custodians::text, state, COALESCE(setup::text, ''), "
    "COALESCE(failure::text, ''), started_by, " CEREMONY_UTC("started_at") ", " CEREMONY_UTC(
        "ended_at") " FROM escrow_ceremonies WHERE tender_id = $1 ORDER BY number DESC LIMIT 1";

constexpr const char* messages_sql =
    "SELECT kind, idx, body::text FROM escrow_ceremony_messages "
    "WHERE tender_id = $1 AND number = $2 ORDER BY kind, idx";

constexpr const char* org_kind_sql = "SELECT kind FROM organisations WHERE id = $1";

#undef CEREMONY_UTC

struct tender_row {
  std::string owner_org;
  std::string state;
  std::string rule_pack;
  json::object escrow;  // empty when the tender has none
  bool published = false;
};

struct custodian_ref {
  std::string id;
  std::string org_id;
};

struct ceremony_row {
  std::uint32_t number = 0;
  esc::group grp = esc::group::ristretto255;
  std::uint32_t threshold = 0;
  std::vector<custodian_ref> custodians;
  cer::round state = cer::round::keys;
  std::string setup;  // joint setup JSON text, empty before the confirmations round
  std::string failure;
  std::string started_by;
  std::string started_at;
  std::string ended_at;
};

struct stored_message {
  cer::message kind;
  std::uint32_t index;
  json::object body;
};

[[noreturn]] void tender_not_found(const std::string& id) {
  throw error("tender.not_found", "no tender '" + id + "'");
}

[[noreturn]] void bad_message(const std::string& what) {
  throw error("ceremony.bad_message", what);
}

std::optional<tender_row> read_tender(pqxx::transaction_base& tx, const std::string& id,
                                      bool lock) {
  const auto rows = tx.exec_params(lock ? lock_tender_sql : read_tender_sql, id);
  if (rows.empty()) return std::nullopt;
  tender_row t;
  t.owner_org = rows[0][0].as<std::string>();
  t.state = rows[0][1].as<std::string>();
  t.rule_pack = rows[0][2].as<std::string>();
  const auto escrow = rows[0][3].as<std::string>();
  if (!escrow.empty()) {
    if (auto v = json::parse(escrow); v.is_object()) t.escrow = std::move(v.get_object());
  }
  t.published = rows[0][4].as<bool>();
  return t;
}

std::vector<custodian_ref> custodians_of(const json::value& v) {
  std::vector<custodian_ref> out;
  if (!v.is_array()) return out;
  for (const auto& c : v.get_array()) {
    if (!c.is_object()) continue;
    const auto& o = c.get_object();
    const auto* id = o.if_contains("id");
    const auto* org = o.if_contains("org_id");
    out.push_back({id != nullptr && id->is_string() ? std::string(id->get_string()) : "",
                   org != nullptr && org->is_string() ? std::string(org->get_string()) : ""});
  }
  return out;
}

std::int64_t threshold_of(const json::object& escrow) {
  const auto* th = escrow.if_contains("threshold");
  return th != nullptr && th->is_int64() ? th->get_int64() : 0;
}

std::optional<ceremony_row> latest(pqxx::transaction_base& tx, const std::string& id, bool lock) {
  const auto rows = tx.exec_params(std::string(ceremony_columns) + (lock ? " FOR UPDATE" : ""), id);
  if (rows.empty()) return std::nullopt;
  const auto& r = rows[0];
  ceremony_row c;
  c.number = r[0].as<std::uint32_t>();
  c.grp = esc::group_from_name(r[1].as<std::string>());
  c.threshold = r[2].as<std::uint32_t>();
  c.custodians = custodians_of(json::parse(r[3].as<std::string>()));
  c.state = cer::round_from_name(r[4].as<std::string>()).value_or(cer::round::failed);
  c.setup = r[5].as<std::string>();
  c.failure = r[6].as<std::string>();
  c.started_by = r[7].as<std::string>();
  c.started_at = r[8].as<std::string>();
  c.ended_at = r[9].as<std::string>();
  return c;
}

std::vector<stored_message> messages_of(pqxx::transaction_base& tx, const std::string& id,
                                        std::uint32_t number) {
  std::vector<stored_message> out;
  for (const auto& r : tx.exec_params(messages_sql, id, number)) {
    const auto kind = r[0].as<std::string>();
    cer::message m = cer::message::key;
    for (const auto k : {cer::message::key, cer::message::dealing, cer::message::confirmation,
                         cer::message::complaint}) {
      if (cer::message_name(k) == kind) m = k;
    }
    out.push_back({m, r[1].as<std::uint32_t>(), json::parse(r[2].as<std::string>()).as_object()});
  }
  return out;
}

const stored_message* find_message(const std::vector<stored_message>& all, cer::message kind,
                                   std::uint32_t index) {
  for (const auto& m : all)
    if (m.kind == kind && m.index == index) return &m;
  return nullptr;
}

// Whether the caller may see the tender's ceremony: its owner's organisation, a custodian's
// (named by the ceremony or by the tender's escrow now), a supervisor or an admin.
bool participant(const ceremony_actor& who, const tender_row& t,
                 const std::optional<ceremony_row>& c) {
  if (who.reads_all_drafts || who.org_id == t.owner_org) return true;
  const auto holds = [&](const std::vector<custodian_ref>& list) {
    return std::any_of(list.begin(), list.end(),
                       [&](const custodian_ref& r) { return r.org_id == who.org_id; });
  };
  if (c && holds(c->custodians)) return true;
  if (const auto* cs = t.escrow.if_contains("custodians")) return holds(custodians_of(*cs));
  return false;
}

// True when the tender's escrow no longer names the ceremony's threshold and custodians.
bool stale(const tender_row& t, const ceremony_row& c) {
  if (t.escrow.empty()) return true;
  const auto* cs = t.escrow.if_contains("custodians");
  const auto now = cs != nullptr ? custodians_of(*cs) : std::vector<custodian_ref>{};
  if (threshold_of(t.escrow) != c.threshold || now.size() != c.custodians.size()) return true;
  for (std::size_t i = 0; i < now.size(); ++i) {
    if (now[i].id != c.custodians[i].id || now[i].org_id != c.custodians[i].org_id) return true;
  }
  return false;
}

crypto::bytes b64(const json::value& v, const std::string& field) {
  try {
    return crypto::base64_decode(v.as_string());
  } catch (const std::exception&) {
    bad_message("field '" + field + "' is not base64");
  }
}

// Dealer d's public dealing as a setup (labels: the custodian ids).
esc::setup_public dealing_setup(const ceremony_row& c, const json::object& dealing) {
  esc::setup_public pub;
  pub.grp = c.grp;
  pub.threshold = c.threshold;
  pub.custodians = static_cast<std::uint32_t>(c.custodians.size());
  for (const auto& v : dealing.at("commitments").as_array())
    pub.commitments.push_back(b64(v, "commitments"));
  if (!pub.commitments.empty()) pub.public_key = pub.commitments.front();
  for (const auto& r : c.custodians)
    pub.labels.push_back(r.id);
  return pub;
}

esc::sealed_share sealed_of(const json::object& dealing, std::uint32_t recipient) {
  const auto& s = dealing.at("shares").as_array().at(recipient - 1).as_object();
  return {b64(s.at("ephemeral"), "ephemeral"), b64(s.at("masked"), "masked")};
}

esc::decryption_share proof_share(esc::group g, std::uint32_t index, crypto::bytes point,
                                  const json::object& proof) {
  esc::decryption_share d;
  d.grp = g;
  d.index = index;
  d.point = std::move(point);
  d.proof.challenge = b64(proof.at("c"), "proof.c");
  d.proof.response = b64(proof.at("z"), "proof.z");
  return d;
}

void check_key(const ceremony_row& c, const json::object& body) {
  try {
    (void)esc::transport_setup(c.grp, b64(body.at("transport_key"), "transport_key"));
  } catch (const crypto::error& e) {
    bad_message(std::string("the transport key is refused: ") + e.what());
  }
}

void check_dealing(const ceremony_row& c, const json::object& body) {
  const auto n = c.custodians.size();
  const auto& commitments = body.at("commitments").as_array();
  const auto& shares = body.at("shares").as_array();
  if (commitments.size() != c.threshold || shares.size() != n) {
    bad_message("a dealing of this ceremony has " + std::to_string(c.threshold) +
                " commitments and " + std::to_string(n) + " sealed shares, not " +
                std::to_string(commitments.size()) + " and " + std::to_string(shares.size()));
  }
  try {
    esc::validate_setup(dealing_setup(c, body));
    for (std::uint32_t i = 1; i <= n; ++i)
      esc::check_sealed_share(c.grp, sealed_of(body, i));
  } catch (const crypto::error& e) {
    bad_message(std::string("the dealing is refused: ") + e.what());
  }
}

void check_confirmation(const std::string& tender_id, const ceremony_row& c,
                        const json::object& body) {
  const auto index = static_cast<std::uint32_t>(body.at("index").as_int64());
  try {
    const auto joint = esc::setup_from_json(c.setup);
    const auto share =
        proof_share(c.grp, index, esc::public_share(joint, index), body.at("proof").as_object());
    const auto ctx = esc::dkg_confirm_context(tender_id, c.number);
    esc::verify_decryption_share(joint, esc::generator(c.grp), share, crypto::as_bytes(ctx));
  } catch (const crypto::error& e) {
    bad_message(std::string("the confirmation's proof does not verify against the joint "
                            "setup: ") +
                e.what());
  }
}

// An upheld complaint: the reason the ceremony fails. Throws ceremony.bad_message for a reveal
// whose proof fails, ceremony.complaint_rejected when the revealed share is right.
json::object judge_complaint(const std::string& tender_id, const ceremony_row& c,
                             const std::vector<stored_message>& all, const json::object& body) {
  const auto index = static_cast<std::uint32_t>(body.at("index").as_int64());
  const auto dealer = static_cast<std::uint32_t>(body.at("dealer").as_int64());
  if (dealer > c.custodians.size()) {
    bad_message("dealer " + std::to_string(dealer) + " is not a custodian of this ceremony");
  }
  const auto* key = find_message(all, cer::message::key, index);
  const auto* dealing = find_message(all, cer::message::dealing, dealer);
  if (key == nullptr || dealing == nullptr) bad_message("no such dealing or transport key");
  const auto ctx = esc::dkg_share_context(tender_id, c.number, dealer, index);
  const auto sealed = sealed_of(dealing->body, index);
  crypto::bytes shared;
  esc::setup_public transport;
  try {
    transport = esc::transport_setup(c.grp, b64(key->body.at("transport_key"), "transport_key"));
    shared = b64(body.at("shared"), "shared");
    const auto reveal = proof_share(c.grp, 1, shared, body.at("proof").as_object());
    esc::verify_decryption_share(transport, sealed.ephemeral, reveal, crypto::as_bytes(ctx));
  } catch (const crypto::error& e) {
    bad_message(std::string("the complaint's reveal does not verify over the complainer's "
                            "transport key: ") +
                e.what());
  }
  std::string why;
  try {
    const auto x = esc::unmask_share(transport, sealed, shared, index, ctx);
    esc::verify_share(dealing_setup(c, dealing->body), x);
  } catch (const crypto::error& e) {
    why = e.code();
  }
  if (why.empty()) {
    throw error("ceremony.complaint_rejected",
                "the share dealer " + std::to_string(dealer) + " sealed for custodian " +
                    std::to_string(index) +
                    " passes the Feldman check against its commitments; the complaint is false");
  }
  return {{"code", "ceremony.dealer_at_fault"},
          {"message", "custodian " + std::to_string(index) + " showed that dealer " +
                          std::to_string(dealer) + " sealed it a wrong share (" + why +
                          "); start a new ceremony, without that custodian if it does it again"},
          {"dealer", dealer},
          {"complainer", index}};
}

// The joint setup once every dealing is in: Σ of the dealings' commitments.
std::string joint_setup(const ceremony_row& c, const std::vector<stored_message>& all) {
  std::vector<esc::setup_public> dealings;
  for (std::uint32_t d = 1; d <= c.custodians.size(); ++d)
    dealings.push_back(dealing_setup(c, find_message(all, cer::message::dealing, d)->body));
  return esc::setup_to_json(esc::aggregate_setup(dealings));
}

void audit(pqxx::transaction_base& tx, const ceremony_actor& who, const std::string& action,
           const std::string& tender_id, const json::object& payload) {
  audit_tx::append_change(tx, who.user_id, who.role, action, tender_id, payload);
}

json::object view_of(const std::string& tender_id, const ceremony_actor& who, const tender_row& t,
                     const ceremony_row& c, const std::vector<stored_message>& all) {
  json::array members;
  json::array mine;
  for (std::uint32_t i = 1; i <= c.custodians.size(); ++i) {
    const auto& r = c.custodians[i - 1];
    const auto* key = find_message(all, cer::message::key, i);
    members.push_back(json::object{
        {"index", i},
        {"id", r.id},
        {"org_id", r.org_id},
        {"transport_key", key != nullptr ? key->body.at("transport_key") : json::value(nullptr)},
        {"dealt", find_message(all, cer::message::dealing, i) != nullptr},
        {"confirmed", find_message(all, cer::message::confirmation, i) != nullptr}});
    if (r.org_id == who.org_id) mine.emplace_back(i);
  }
  // Dealings are shown once all are in, so that no dealer chooses its own after seeing others'.
  json::array dealings;
  const bool dealt = c.state != cer::round::keys && c.state != cer::round::dealings;
  json::array complaints;
  for (const auto& m : all) {
    if (m.kind == cer::message::dealing && dealt) dealings.push_back(m.body);
    if (m.kind == cer::message::complaint) complaints.push_back(m.body);
  }
  return {{"tender_id", tender_id},
          {"number", c.number},
          {"group", esc::group_name(c.grp)},
          {"threshold", c.threshold},
          {"custodians", c.custodians.size()},
          {"state", cer::round_name(c.state)},
          {"stale", !cer::ended(c.state) && stale(t, c)},
          {"failure", c.failure.empty() ? json::value(nullptr) : json::parse(c.failure)},
          {"setup", c.setup.empty() ? json::value(nullptr) : json::parse(c.setup)},
          {"started_by", c.started_by},
          {"started_at", c.started_at},
          {"ended_at", c.ended_at.empty() ? json::value(nullptr) : json::value(c.ended_at)},
          {"members", std::move(members)},
          {"dealings", std::move(dealings)},
          {"complaints", std::move(complaints)},
          {"your_indices", std::move(mine)}};
}

}  // namespace

escrow_ceremonies::escrow_ceremonies(pool& connections) : pool_(connections) {}

net::awaitable<json::object> escrow_ceremonies::start(ceremony_actor who, std::string tender_id,
                                                      std::string group) {
  json::object out;
  pool::job job = [&](pqxx::connection_base& conn) {
    pqxx::work tx(conn);
    const auto t = read_tender(tx, tender_id, true);
    if (!t) tender_not_found(tender_id);
    if (t->owner_org != who.org_id) {
      if (!t->published) tender_not_found(tender_id);
      throw error("auth.forbidden", "tender '" + tender_id + "' belongs to organisation '" +
                                        t->owner_org + "', not '" + who.org_id + "'");
    }
    if (t->state != "draft") {
      throw error("tender.bad_state", "tender '" + tender_id + "' is " + t->state +
                                          "; its escrow key is made while it is a draft");
    }
    const auto* cs = t->escrow.if_contains("custodians");
    const auto custodians = cs != nullptr ? custodians_of(*cs) : std::vector<custodian_ref>{};
    const auto threshold = threshold_of(t->escrow);
    if (custodians.empty() || threshold < 1 ||
        threshold > static_cast<std::int64_t>(custodians.size())) {
      throw error("tender.bad_input",
                  "tender '" + tender_id +
                      "' needs an escrow naming its custodians and a threshold between 1 and "
                      "their number before the key ceremony can start");
    }
    // The custody rules first: a ceremony among custodians the pack refuses would be wasted.
    core::escrow_spec spec;
    spec.threshold = static_cast<int>(threshold);
    for (const auto& c : custodians) {
      core::custodian k{c.id, c.org_id, {}, {}};
      const auto r = tx.exec_params(org_kind_sql, c.org_id);
      if (!r.empty()) k.org_kind = r[0][0].as<std::string>();
      spec.custodians.push_back(std::move(k));
    }
    const auto* pack = core::find_rule_pack(t->rule_pack);
    if (pack == nullptr)
      throw error("tender.bad_input", "unknown rule pack '" + t->rule_pack + "'");
    if (auto v = core::custody_violations(*pack, spec, t->owner_org); !v.empty()) {
      throw rule_violation(std::move(v));
    }
    tx.exec_params0(
        "UPDATE escrow_ceremonies SET state = 'superseded', ended_at = clock_timestamp() "
        "WHERE tender_id = $1 AND state IN ('keys', 'dealings', 'confirmations')",
        tender_id);
    // The new ceremony makes the key: a setup the tender had (dealt, or an earlier ceremony's)
    // goes now, so that nothing is published with a key the custodians are replacing.
    tx.exec_params0(
        "UPDATE tenders SET escrow = escrow - 'setup' - 'ceremony', version = version + 1, "
        "updated_at = clock_timestamp() WHERE id = $1 AND (escrow ? 'setup' OR escrow ? "
        "'ceremony')",
        tender_id);
    json::array refs;
    for (const auto& c : custodians)
      refs.push_back(json::object{{"id", c.id}, {"org_id", c.org_id}});
    const auto number = tx.exec_params1(
                              "INSERT INTO escrow_ceremonies (tender_id, number, grp, threshold, "
                              "custodians, started_by) SELECT $1, COALESCE(max(number), 0) + 1, "
                              "$2, $3, $4::jsonb, $5 FROM escrow_ceremonies WHERE tender_id = $1 "
                              "RETURNING number",
                              tender_id, group, threshold, json::serialize(refs), who.user_id)[0]
                            .as<std::int64_t>();
    audit(tx, who, "ceremony.start", tender_id,
          {{"tender_id", tender_id},
           {"number", number},
           {"group", group},
           {"threshold", threshold},
           {"custodians", refs}});
    const auto c = latest(tx, tender_id, false);
    out = view_of(tender_id, who, *read_tender(tx, tender_id, false), *c, {});
    tx.commit();
  };
  co_await pool_.run(std::move(job));
  co_return out;
}

net::awaitable<json::object> escrow_ceremonies::view(ceremony_actor who, std::string tender_id) {
  json::object out;
  pool::job job = [&](pqxx::connection_base& conn) {
    pqxx::read_transaction tx(conn);
    const auto t = read_tender(tx, tender_id, false);
    if (!t) tender_not_found(tender_id);
    const auto c = latest(tx, tender_id, false);
    if (!participant(who, *t, c)) tender_not_found(tender_id);
    if (!c) {
      throw error("ceremony.not_found",
                  "tender '" + tender_id + "' has no escrow key ceremony; its owner starts one");
    }
    out = view_of(tender_id, who, *t, *c, messages_of(tx, tender_id, c->number));
  };
  co_await pool_.run(std::move(job));
  co_return out;
}

net::awaitable<json::object> escrow_ceremonies::send(ceremony_actor who, std::string tender_id,
                                                     cer::message kind, json::object body) {
  json::object out;
  pool::job job = [&](pqxx::connection_base& conn) {
    pqxx::work tx(conn);
    const auto t = read_tender(tx, tender_id, true);
    if (!t) tender_not_found(tender_id);
    auto c = latest(tx, tender_id, true);
    if (!participant(who, *t, c)) tender_not_found(tender_id);
    if (!c) {
      throw error("ceremony.not_found",
                  "tender '" + tender_id + "' has no escrow key ceremony; its owner starts one");
    }
    const auto index = static_cast<std::uint32_t>(body.at("index").as_int64());
    if (index > c->custodians.size() || c->custodians[index - 1].org_id != who.org_id) {
      throw error("auth.forbidden", "custodian " + std::to_string(index) +
                                        " of the ceremony is not of your organisation '" +
                                        who.org_id + "'");
    }
    if (auto why = cer::refuse(c->state, kind)) throw error(why->code, why->message);
    if (t->state != "draft") {
      throw error("tender.bad_state", "tender '" + tender_id + "' is " + t->state +
                                          "; its escrow key is made while it is a draft");
    }
    if (stale(*t, *c)) {
      throw error("ceremony.stale", "the tender's escrow changed since ceremony " +
                                        std::to_string(c->number) +
                                        " started; its owner starts a new one");
    }
    const auto all = messages_of(tx, tender_id, c->number);
    if (find_message(all, kind, index) != nullptr) {
      throw error("ceremony.already_sent", "custodian " + std::to_string(index) +
                                               " already sent its " +
                                               std::string(cer::message_name(kind)));
    }
    std::optional<json::object> failure;
    switch (kind) {
      case cer::message::key:
        check_key(*c, body);
        break;
      case cer::message::dealing:
        check_dealing(*c, body);
        break;
      case cer::message::confirmation:
        check_confirmation(tender_id, *c, body);
        break;
      case cer::message::complaint:
        failure = judge_complaint(tender_id, *c, all, body);
        break;
    }
    const std::string kind_name(cer::message_name(kind));
    tx.exec_params0(
        "INSERT INTO escrow_ceremony_messages (tender_id, number, kind, idx, body, sent_by) "
        "VALUES ($1, $2, $3, $4, $5::jsonb, $6)",
        tender_id, c->number, kind_name, index, json::serialize(body), who.user_id);
    audit(tx, who, "ceremony." + kind_name, tender_id,
          {{"tender_id", tender_id}, {"number", c->number}, {"message", body}});
    if (failure) {
      tx.exec_params0(
          "UPDATE escrow_ceremonies SET state = 'failed', failure = $3::jsonb, ended_at = "
          "clock_timestamp() WHERE tender_id = $1 AND number = $2",
          tender_id, c->number, json::serialize(*failure));
    } else {
      const auto count = static_cast<int>(
          std::count_if(all.begin(), all.end(), [&](const auto& m) { return m.kind == kind; }) + 1);
      const auto next = cer::after(c->state, kind, count, static_cast<int>(c->custodians.size()));
      if (next == cer::round::confirmations) {
        auto now = messages_of(tx, tender_id, c->number);
        tx.exec_params0(
            "UPDATE escrow_ceremonies SET state = 'confirmations', setup = $3::jsonb "
            "WHERE tender_id = $1 AND number = $2",
            tender_id, c->number, joint_setup(*c, now));
      } else if (next == cer::round::done) {
        tx.exec_params0(
            "UPDATE escrow_ceremonies SET state = 'done', ended_at = clock_timestamp() "
            "WHERE tender_id = $1 AND number = $2",
            tender_id, c->number);
        tx.exec_params0(
            "UPDATE tenders SET escrow = escrow || jsonb_build_object('setup', $2::jsonb, "
            "'ceremony', $3::int), version = version + 1, updated_at = clock_timestamp() "
            "WHERE id = $1",
            tender_id, c->setup, c->number);
      } else if (next != c->state) {
        tx.exec_params0(
            "UPDATE escrow_ceremonies SET state = $3 WHERE tender_id = $1 AND number = $2",
            tender_id, c->number, std::string(cer::round_name(next)));
      }
    }
    c = latest(tx, tender_id, false);
    out = view_of(tender_id, who, *read_tender(tx, tender_id, false), *c,
                  messages_of(tx, tender_id, c->number));
    tx.commit();
  };
  co_await pool_.run(std::move(job));
  co_return out;
}

}  // namespace tender::db
