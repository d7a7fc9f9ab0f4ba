// The hall snapshot of hall-protocol.md §7, filtered for one viewer.

#include <tender/db/hall.hpp>

#include "hall_tx.hpp"
#include "pool.hpp"

#include <tender/crypto/bytes.hpp>

#include <boost/json.hpp>

#include <pqxx/pqxx>

#include <map>

namespace net = boost::asio;

namespace tender::db {
namespace json = boost::json;

namespace {

json::value text_or_null(const pqxx::field& f) {
  return f.is_null() ? json::value(nullptr) : json::value(f.as<std::string>());
}

json::value json_or_null(const pqxx::field& f) {
  return f.is_null() ? json::value(nullptr) : json::parse(f.as<std::string>());
}

}  // namespace

net::awaitable<hall_snapshot> hall::snapshot(std::string tender_id, hall_viewer v) {
  hall_snapshot out;
  pool::job job = [&](pqxx::connection_base& c) {
    // One consistent view: every table read at the same snapshot as last_seq.
    pqxx::transaction<pqxx::isolation_level::repeatable_read, pqxx::readwrite_policy::read_only> tx(
        c);
    const auto hr = tx.exec_params(
        "SELECT h.phase, h.paused_reason, " TENDER_HALL_TIME("h.paused_at") ", h.suspended_reason, "
        TENDER_HALL_TIME("h.suspended_at") ", " TENDER_HALL_TIME("clock_timestamp()") ", "
        TENDER_HALL_TIME("h.window_opens_at") ", " TENDER_HALL_TIME("h.window_closes_at") ", "
        TENDER_HALL_TIME("h.confirm_closes_at") ", h.host_commitment, h.host_nonce, "
        "h.representative, h.representative_nonce, h.draws::text, h.announcement::text, "
        "h.record_digest, h.record_file_digest, h.record_log_index, h.last_seq, "
        "t.title, t.project_code, t.key_policy, t.rule_pack, " TENDER_HALL_TIME("t.deadline_at") ", "
        TENDER_HALL_TIME("t.opening_at") ", t.escrow::text, h.representative_draw::text "
        "FROM halls h JOIN tenders t ON t.id = h.tender_id WHERE h.tender_id = $1",
        tender_id);
    if (hr.empty()) hall_tx::fail("tender.not_found", "no hall for tender '" + tender_id + "'");
    const auto& r = hr[0];
    const auto phase = r[0].as<std::string>();
    const bool announced = !r[14].is_null();
    const bool staff = v.is_staff();
    const bool listed_public = phase != "waiting" && phase != "sealed";
    out.seq = r[18].as<std::int64_t>();

    json::array lots;
    for (const auto& l :
         tx.exec_params("SELECT lot_no, title, ceiling_price, summary_fields::text, "
                        "discount_candidates::text FROM lots WHERE tender_id = $1 ORDER BY lot_no",
                        tender_id)) {
      lots.push_back(json::object{
          {"lot", l[0].as<int>()},
          {"title", l[1].as<std::string>()},
          {"ceiling_price",
           l[2].is_null() ? json::value(nullptr) : json::value(l[2].as<std::int64_t>())},
          {"summary_fields", json_or_null(l[3])},
          {"discount_candidates",
           l[4].is_null() ? json::value(json::array{}) : json::parse(l[4].as<std::string>())}});
    }
    json::object tender{{"id", tender_id},
                        {"title", r[19].as<std::string>()},
                        {"project_code", r[20].as<std::string>()},
                        {"key_policy", r[21].as<std::string>()},
                        {"rule_pack", r[22].as<std::string>()},
                        {"deadline_at", text_or_null(r[23])},
                        {"opening_at", text_or_null(r[24])},
                        {"lots", std::move(lots)}};

    json::object view{{"tender", std::move(tender)}, {"phase", phase}};
    view["paused"] = r[1].is_null() ? json::value(nullptr)
                                    : json::value(json::object{{"reason", r[1].as<std::string>()},
                                                               {"at", r[2].as<std::string>()}});
    view["suspended"] = r[3].is_null()
                            ? json::value(nullptr)
                            : json::value(json::object{{"reason", r[3].as<std::string>()},
                                                       {"at", r[4].as<std::string>()}});
    view["times"] = json::object{{"server_time", r[5].as<std::string>()},
                                 {"window_opens_at", text_or_null(r[6])},
                                 {"window_closes_at", text_or_null(r[7])},
                                 {"confirm_closes_at", text_or_null(r[8])}};

    // Who signed in is secret until the list is published (SPEC §13): before it a bidder sees its
    // own organisation's sign-in, the host how many signed in, custodians nothing.
    const bool all_attendance = listed_public || v.role == "supervisor";
    std::int64_t attended = 0;
    json::array attendance;
    for (const auto& a : tx.exec_params(
             "SELECT a.org_id, o.name, " TENDER_HALL_TIME(
                 "a.signed_in_at") " FROM hall_attendance a "
                                   "JOIN organisations o ON o.id = a.org_id WHERE a.tender_id = $1 "
                                   "ORDER BY a.signed_in_at, a.org_id",
             tender_id)) {
      ++attended;
      const auto org = a[0].as<std::string>();
      if (!all_attendance && !(v.role == "bidder" && org == v.org_id)) continue;
      attendance.push_back(json::object{{"org_id", org},
                                        {"name", a[1].as<std::string>()},
                                        {"signed_in_at", a[2].as<std::string>()}});
    }
    view["attendance"] = std::move(attendance);
    if (!all_attendance && v.role == "host") view["attendance_total"] = attended;

    std::map<std::pair<int, std::string>, bool> has_help;
    json::array help;
    for (const auto& hp : tx.exec_params("SELECT id, lot_no, org_id, text, " TENDER_HALL_TIME(
                                             "at") " FROM hall_help "
                                                   "WHERE tender_id = $1 ORDER BY id",
                                         tender_id)) {
      const auto org = hp[2].as<std::string>();
      if (!staff && !(v.role == "bidder" && org == v.org_id)) continue;
      has_help[{hp[1].as<int>(), org}] = true;
      help.push_back(json::object{{"help_id", hp[0].as<std::int64_t>()},
                                  {"lot", hp[1].as<int>()},
                                  {"org_id", org},
                                  {"text", hp[3].as<std::string>()},
                                  {"at", hp[4].as<std::string>()}});
    }

    json::array bidders;
    for (const auto& b : tx.exec_params(
             "SELECT hb.lot_no, hb.org_id, o.name, hb.guarantee, hb.listed, hb.status, "
             "hb.attempts, "
             "hb.via, hb.cause, hb.side, hb.treatment, hb.message, "
             "(SELECT count(*) FROM hall_shares s WHERE s.tender_id = hb.tender_id AND "
             "s.lot_no = hb.lot_no AND s.org_id = hb.org_id), "
             "EXISTS (SELECT 1 FROM hall_confirmations x WHERE x.tender_id = hb.tender_id AND "
             "x.org_id = hb.org_id), hb.escrow_r, hb.summary::text, bd.header "
             "FROM hall_bids hb JOIN organisations o ON o.id = hb.org_id "
             "JOIN bids bd ON bd.id = hb.bid_id WHERE hb.tender_id = $1 "
             "ORDER BY hb.lot_no, hb.org_id",
             tender_id)) {
      const auto org = b[1].as<std::string>();
      const bool own = v.role == "bidder" && org == v.org_id;
      const bool listed = b[4].as<bool>();
      if (!own) {
        // Who bid is secret until the list (SPEC §13): before it only supervisors see the bids of
        // others; the host counts them from the deadline's seal (bids_sealed).
        if (!listed_public && v.role != "supervisor") continue;
        if (listed_public && !listed && !staff) continue;
      }
      json::object row{
          {"lot", b[0].as<int>()},
          {"org_id", org},
          {"name", b[2].as<std::string>()},
          {"guarantee", b[3].as<std::string>()},
          {"listed", listed},
          {"status", b[5].as<std::string>()},
          {"attempts", b[6].as<int>()},
          {"via", text_or_null(b[7])},
          {"cause", text_or_null(b[8])},
          {"side", text_or_null(b[9])},
          {"treatment", text_or_null(b[10])},
          {"message", text_or_null(b[11])},
          {"help", has_help.count({b[0].as<int>(), org}) > 0},
          {"shares", b[12].as<std::int64_t>()},
          {"confirmed", announced ? json::value(b[13].as<bool>()) : json::value(nullptr)},
          {"escrow_r", text_or_null(b[14])}};
      const bool show_summary = announced || v.role == "supervisor" || own;
      row["summary"] = show_summary ? json_or_null(b[15]) : json::value(nullptr);
      if (own) {
        const pqxx::binarystring hdr(b[16]);
        row["header"] = crypto::base64_encode(
            crypto::byte_view(reinterpret_cast<const std::uint8_t*>(hdr.data()), hdr.size()));
      }
      bidders.push_back(std::move(row));
    }
    view["bidders"] = std::move(bidders);

    view["draw"] = json::object{{"host_commitment", text_or_null(r[9])},
                                {"host_nonce", text_or_null(r[10])},
                                {"representative", text_or_null(r[11])},
                                {"representative_draw", json_or_null(r[26])},
                                {"representative_nonce", text_or_null(r[12])},
                                {"draws", r[13].is_null() ? json::value(json::array{})
                                                          : json::parse(r[13].as<std::string>())}};
    view["announcement"] = json_or_null(r[14]);
    view["record_digest"] = text_or_null(r[15]);

    json::array objections;
    for (const auto& o : tx.exec_params(
             "SELECT id, org_id, lot_no, text, answer, " TENDER_HALL_TIME(
                 "raised_at") ", " TENDER_HALL_TIME("answered_at") " FROM hall_objections WHERE "
                                                                   "tender_id = $1 ORDER BY id",
             tender_id)) {
      objections.push_back(
          json::object{{"objection_id", o[0].as<std::int64_t>()},
                       {"org_id", o[1].as<std::string>()},
                       {"lot", o[2].is_null() ? json::value(nullptr) : json::value(o[2].as<int>())},
                       {"text", o[3].as<std::string>()},
                       {"answer", text_or_null(o[4])},
                       {"raised_at", o[5].as<std::string>()},
                       {"answered_at", text_or_null(o[6])}});
    }
    view["objections"] = std::move(objections);
    view["help"] = std::move(help);

    json::array outages;
    for (const auto& o : tx.exec_params("SELECT " TENDER_HALL_TIME("from_at") ", " TENDER_HALL_TIME(
                                            "to_at") ", "
                                                     "extract(epoch FROM to_at - from_at)::float8 "
                                                     "FROM hall_outages WHERE tender_id = $1 "
                                                     "ORDER BY id",
                                        tender_id)) {
      outages.push_back(json::object{{"from", o[0].as<std::string>()},
                                     {"to", o[1].as<std::string>()},
                                     {"seconds", o[2].as<double>()}});
    }
    view["outages"] = std::move(outages);
    view["record"] =
        r[16].is_null()
            ? json::value(nullptr)
            : json::value(json::object{
                  {"record_digest",
                   r[15].is_null() ? json::value(nullptr) : json::value(r[15].as<std::string>())},
                  {"digest", r[16].as<std::string>()},
                  {"log_index", r[17].as<std::int64_t>()},
                  {"url", "/api/v1/tenders/" + tender_id + "/opening-record"}});
    json::value escrow = nullptr;
    if (!r[25].is_null()) {
      const auto e = json::parse(r[25].as<std::string>());
      if (e.is_object()) {
        json::array custodians;
        if (const auto* cs = e.get_object().if_contains("custodians");
            cs != nullptr && cs->is_array()) {
          for (const auto& cu : cs->get_array()) {
            if (!cu.is_object()) continue;
            const auto& co = cu.get_object();
            custodians.push_back(json::object{
                {"id", co.contains("id") ? co.at("id") : json::value(nullptr)},
                {"org_id", co.contains("org_id") ? co.at("org_id") : json::value(nullptr)}});
          }
        }
        json::value threshold = nullptr;
        if (const auto* t = e.get_object().if_contains("threshold")) threshold = *t;
        escrow = json::object{{"threshold", threshold}, {"custodians", std::move(custodians)}};
      }
    }
    view["escrow"] = escrow;
    out.hall = std::move(view);
  };
  co_await pool_.run(std::move(job));
  co_return out;
}

net::awaitable<std::set<std::string>> lists_public(pool& connections,
                                                   std::vector<std::string> tender_ids) {
  std::set<std::string> out;
  if (tender_ids.empty()) co_return out;
  pool::job job = [&](pqxx::connection_base& c) {
    pqxx::read_transaction tx(c);
    for (const auto& id : std::set<std::string>(tender_ids.begin(), tender_ids.end())) {
      if (!tx.exec_params("SELECT 1 FROM halls WHERE tender_id = $1 AND phase NOT IN "
                          "('waiting', 'sealed')",
                          id)
               .empty())
        out.insert(id);
    }
  };
  co_await connections.run(std::move(job));
  co_return out;
}

}  // namespace tender::db
