// The opening record (开标记录) of hall-protocol.md §12: built, signed and published in the
// transaction that closes the confirmation window; served as JSON and as a printable page.

#include <tender/db/hall.hpp>

#include <tender/db/audit_log.hpp>

#include "audit_tx.hpp"
#include "canonical_json.hpp"
#include "feed_tx.hpp"
#include "hall_tx.hpp"
#include "pool.hpp"

#include <tender/core/hall_draw.hpp>
#include <tender/core/tender_rules.hpp>
#include <tender/crypto/bytes.hpp>
#include <tender/crypto/opening_record.hpp>
#include <tender/crypto/signed_note.hpp>

#include <boost/json.hpp>

#include <pqxx/pqxx>

#include <algorithm>

namespace net = boost::asio;

namespace tender::db {
namespace json = boost::json;

namespace {

json::value text_or_null(const pqxx::field& f) {
  return f.is_null() ? json::value(nullptr) : json::value(f.as<std::string>());
}

std::string bytes_b64(const pqxx::field& f) {
  const pqxx::binarystring b(f);
  return crypto::base64_encode(
      crypto::byte_view(reinterpret_cast<const std::uint8_t*>(b.data()), b.size()));
}

json::object build_record(pqxx::transaction_base& tx, const std::string& tender_id,
                          json::array& silent_out) {
  const auto t = tx.exec_params1(
      "SELECT t.title, t.project_code, t.key_policy, t.rule_pack, " TENDER_HALL_TIME(
          "t.deadline_at") ", " TENDER_HALL_TIME("t.opening_at") ", o.name, "
      "h.announcement::text, h.representative_draw::text, h.draws::text, h.host_commitment, "
      "h.host_nonce, h.representative, h.representative_nonce, h.checkpoint_root, h.record_digest, "
      TENDER_HALL_TIME("h.window_opens_at") ", " TENDER_HALL_TIME("h.window_closes_at") ", "
      TENDER_HALL_TIME("h.announced_at") ", " TENDER_HALL_TIME("h.confirm_closes_at")
      " FROM tenders t JOIN organisations o ON o.id = t.owner_org JOIN halls h ON "
      "h.tender_id = t.id WHERE t.id = $1",
      tender_id);
  json::object tender{{"id", tender_id},
                      {"title", t[0].as<std::string>()},
                      {"project_code", t[1].as<std::string>()},
                      {"key_policy", t[2].as<std::string>()},
                      {"rule_pack", t[3].as<std::string>()},
                      {"deadline_at", text_or_null(t[4])},
                      {"opening_at", text_or_null(t[5])},
                      {"tenderer", t[6].as<std::string>()},
                      {"window_opens_at", text_or_null(t[16])},
                      {"window_closes_at", text_or_null(t[17])},
                      {"announced_at", text_or_null(t[18])},
                      {"confirm_closes_at", text_or_null(t[19])}};
  json::array lots;
  if (!t[7].is_null()) {
    const auto a = json::parse(t[7].as<std::string>());
    if (a.is_object() && a.get_object().contains("lots")) lots = a.at("lots").as_array();
  }
  json::array seals;
  for (const auto& r :
       tx.exec_params("SELECT lot_no, count, root, deadline, log_index, note FROM bid_seals "
                      "WHERE tender_id = $1 ORDER BY lot_no",
                      tender_id)) {
    seals.push_back(json::object{{"lot", r[0].as<int>()},
                                 {"count", r[1].as<int>()},
                                 {"root", r[2].as<std::string>()},
                                 {"deadline", r[3].as<std::string>()},
                                 {"log_index", r[4].as<std::int64_t>()},
                                 {"note", text_or_null(r[5])}});
  }
  json::array attendance;
  for (const auto& r :
       tx.exec_params("SELECT a.org_id, o.name, " TENDER_HALL_TIME(
                          "a.signed_in_at") ", a.key, a.commitment "
                                            "FROM hall_attendance a JOIN organisations o ON o.id = "
                                            "a.org_id WHERE a.tender_id = $1 "
                                            "ORDER BY a.signed_in_at, a.org_id",
                      tender_id)) {
    attendance.push_back(json::object{{"org_id", r[0].as<std::string>()},
                                      {"name", r[1].as<std::string>()},
                                      {"signed_in_at", r[2].as<std::string>()},
                                      {"key", r[3].as<std::string>()},
                                      {"commitment", r[4].as<std::string>()}});
  }
  json::array decryption;
  for (const auto& r : tx.exec_params(
           "SELECT hb.lot_no, hb.org_id, o.name, hb.guarantee, hb.status, hb.via, hb.cause, "
           "hb.side, hb.treatment, hb.attempts, hb.listed, hb.message FROM hall_bids hb JOIN "
           "organisations o "
           "ON o.id = hb.org_id WHERE hb.tender_id = $1 ORDER BY hb.lot_no, hb.org_id",
           tender_id)) {
    decryption.push_back(json::object{{"lot", r[0].as<int>()},
                                      {"org_id", r[1].as<std::string>()},
                                      {"name", r[2].as<std::string>()},
                                      {"guarantee", r[3].as<std::string>()},
                                      {"status", r[4].as<std::string>()},
                                      {"via", text_or_null(r[5])},
                                      {"cause", text_or_null(r[6])},
                                      {"side", text_or_null(r[7])},
                                      {"treatment", text_or_null(r[8])},
                                      {"attempts", r[9].as<int>()},
                                      {"listed", r[10].as<bool>()},
                                      // Why it failed, in words: for a platform-side cause the
                                      // evidence (which file, what was read, how long it ran).
                                      {"message", text_or_null(r[11])}});
  }
  json::array outages;
  for (const auto& r :
       tx.exec_params("SELECT " TENDER_HALL_TIME("from_at") ", " TENDER_HALL_TIME(
                          "to_at") ", detected_by "
                                   "FROM hall_outages WHERE tender_id = $1 ORDER BY id",
                      tender_id)) {
    outages.push_back(json::object{{"from", r[0].as<std::string>()},
                                   {"to", r[1].as<std::string>()},
                                   {"detected_by", r[2].as<std::string>()}});
  }
  json::array parameters;
  if (!t[9].is_null()) parameters = json::parse(t[9].as<std::string>()).as_array();
  // A parameter draw without its own checkpoint was made by the first procedure (a hall drawn
  // before the upgrade); the verifier must know which rules to hold it to.
  const bool v1 = std::any_of(parameters.begin(), parameters.end(), [](const json::value& p) {
    return p.is_object() && !p.get_object().contains("checkpoint");
  });
  json::object draws{
      {"procedure", v1 ? std::string_view("tenderhall/hall-draw/v1") : core::hall_draw_procedure},
      {"checkpoint_root", text_or_null(t[14])},
      {"host_commitment", text_or_null(t[10])},
      {"host_nonce", text_or_null(t[11])},
      {"representative", text_or_null(t[12])},
      {"representative_nonce", text_or_null(t[13])},
      {"representative_draw",
       t[8].is_null() ? json::value(nullptr) : json::parse(t[8].as<std::string>())},
      {"parameters", std::move(parameters)}};
  json::array confirmations;
  for (const auto& r :
       tx.exec_params("SELECT org_id, " TENDER_HALL_TIME(
                          "confirmed_at") ", signature, key, public_key, "
                                          "challenge_id, challenge FROM hall_confirmations WHERE "
                                          "tender_id = $1 ORDER BY org_id",
                      tender_id)) {
    confirmations.push_back(json::object{{"org_id", r[0].as<std::string>()},
                                         {"confirmed_at", r[1].as<std::string>()},
                                         {"signature", bytes_b64(r[2])},
                                         {"key", r[3].as<std::string>()},
                                         {"public_key", bytes_b64(r[4])},
                                         {"challenge_id", r[5].as<std::string>()},
                                         {"challenge", r[6].as<std::string>()}});
  }
  json::array silent;
  for (const auto& r : tx.exec_params(
           "SELECT DISTINCT hb.org_id FROM hall_bids hb WHERE hb.tender_id = $1 AND hb.listed AND "
           "NOT EXISTS (SELECT 1 FROM hall_confirmations x WHERE x.tender_id = hb.tender_id AND "
           "x.org_id = hb.org_id) ORDER BY hb.org_id",
           tender_id)) {
    silent.emplace_back(r[0].as<std::string>());
  }
  silent_out = silent;
  json::array objections;
  for (const auto& r : tx.exec_params(
           "SELECT id, org_id, lot_no, text, answer, " TENDER_HALL_TIME(
               "raised_at") ", " TENDER_HALL_TIME("answered_at") " FROM hall_objections WHERE "
                                                                 "tender_id = $1 ORDER BY id",
           tender_id)) {
    objections.push_back(
        json::object{{"objection_id", r[0].as<std::int64_t>()},
                     {"org_id", r[1].as<std::string>()},
                     {"lot", r[2].is_null() ? json::value(nullptr) : json::value(r[2].as<int>())},
                     {"text", r[3].as<std::string>()},
                     {"answer", text_or_null(r[4])},
                     {"raised_at", r[5].as<std::string>()},
                     {"answered_at", text_or_null(r[6])}});
  }
  json::array steps;
  for (const auto& r :
       tx.exec_params("SELECT seq, kind, " TENDER_HALL_TIME(
                          "at") ", COALESCE(actor::text, 'null') "
                                "FROM hall_events WHERE tender_id = $1 ORDER BY seq",
                      tender_id)) {
    steps.push_back(json::object{{"seq", r[0].as<std::int64_t>()},
                                 {"kind", r[1].as<std::string>()},
                                 {"at", r[2].as<std::string>()},
                                 {"actor", json::parse(r[3].as<std::string>())}});
  }
  return {{"format", std::string(crypto::record_format)},
          {"tender", std::move(tender)},
          {"lots", std::move(lots)},
          {"seals", std::move(seals)},
          {"attendance", std::move(attendance)},
          {"decryption", std::move(decryption)},
          {"outages", std::move(outages)},
          {"draws", std::move(draws)},
          {"confirmations", std::move(confirmations)},
          {"silent", std::move(silent)},
          {"objections", std::move(objections)},
          {"steps", std::move(steps)},
          {"record_digest", text_or_null(t[15])}};
}

}  // namespace

namespace hall_tx {

json::object make_record(pqxx::transaction_base& tx, locked_hall& h, const hall::options& opts,
                         const std::string& actor, const std::string& role, std::int64_t* seq) {
  if (!opts.signer) fail("hall.record_not_ready", "this node has no signing key for the record");
  json::array silent;
  json::array confirmed;
  for (const auto& r :
       tx.exec_params("SELECT org_id FROM hall_confirmations WHERE tender_id = $1 ORDER BY org_id",
                      h.tender_id)) {
    confirmed.emplace_back(r[0].as<std::string>());
  }
  // The confirmation window's end is a step of the record too.
  {
    json::array s;
    for (const auto& r : tx.exec_params(
             "SELECT DISTINCT hb.org_id FROM hall_bids hb WHERE hb.tender_id = $1 AND hb.listed "
             "AND NOT EXISTS (SELECT 1 FROM hall_confirmations x WHERE x.tender_id = "
             "hb.tender_id AND x.org_id = hb.org_id) ORDER BY hb.org_id",
             h.tender_id)) {
      s.emplace_back(r[0].as<std::string>());
    }
    append_event(tx, h.tender_id, "confirmation_closed", nullptr,
                 {{"confirmed", confirmed}, {"silent", s}});
  }
  auto record = build_record(tx, h.tender_id, silent);
  const json::value record_value = record;
  const auto digest = crypto::record_digest(record_value);
  const auto* signer = opts.signer.get();
  const crypto::note::ed25519_signer* signers[] = {signer};
  const auto note = crypto::note::sign(crypto::note_text(h.tender_id, digest), signers);

  // The tender: opening → opened (closed first moves to opening when the scheduler lags).
  tx.exec_params("SELECT 1 FROM tenders WHERE id = $1 FOR UPDATE", h.tender_id);
  const auto state =
      tx.exec_params1("SELECT state FROM tenders WHERE id = $1", h.tender_id)[0].as<std::string>();
  if (state == "closed" || state == "opening") {
    tx.exec_params0(
        "UPDATE tenders SET state = 'opened', version = version + 1, updated_at = "
        "clock_timestamp() WHERE id = $1",
        h.tender_id);
    const json::object payload{{"record_digest", digest}, {"tender_id", h.tender_id}};
    feed_tx::append(tx, h.tender_id, "tender.opened", canonical_json(payload));
  }

  audit_entry e;
  e.actor = actor;
  e.role = role;
  e.action = "hall.finish";
  e.subject = h.tender_id;
  e.payload_digest = digest;
  const auto log_index = static_cast<std::int64_t>(audit_tx::append(tx, e).seq);

  const json::object file{
      {"record", record}, {"digest", digest}, {"note", note}, {"log_index", log_index}};
  tx.exec_params0(
      "UPDATE halls SET phase = 'recorded', record_json = $2, record_file_digest = $3, "
      "record_note = $4, record_log_index = $5 WHERE tender_id = $1",
      h.tender_id, json::serialize(file), digest, note, log_index);
  h.phase = "recorded";
  const json::value announcement =
      h.record_digest ? json::value(*h.record_digest) : json::value(nullptr);
  const std::string url = "/api/v1/tenders/" + h.tender_id + "/opening-record";
  *seq = append_event(tx, h.tender_id, "recorded", nullptr,
                      {{"record_digest", announcement},
                       {"digest", digest},
                       {"log_index", log_index},
                       {"url", url}});
  return {{"record_digest", announcement}, {"digest", digest}, {"log_index", log_index}};
}

}  // namespace hall_tx

net::awaitable<std::string> hall::record_json(std::string tender_id) {
  std::string out;
  pool::job job = [&](pqxx::connection_base& c) {
    pqxx::read_transaction tx(c);
    const auto r = tx.exec_params("SELECT record_json FROM halls WHERE tender_id = $1", tender_id);
    if (r.empty() || r[0][0].is_null()) {
      hall_tx::fail("hall.record_not_ready",
                    "the opening record of '" + tender_id + "' is not published yet");
    }
    out = r[0][0].as<std::string>();
  };
  co_await pool_.run(std::move(job));
  co_return out;
}

net::awaitable<std::string> hall::record_html(std::string tender_id) {
  auto text = co_await record_json(tender_id);
  const auto v = json::parse(text);
  co_return hall_tx::record_html_page(v.as_object());
}

}  // namespace tender::db
