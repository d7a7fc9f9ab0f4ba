// Bid submission records: uploads, bids, withdrawals, rehearsals, lists and seals (bids.hpp,
// docs/design/submission.md).

#include <tender/db/bids.hpp>

#include <tender/db/audit_log.hpp>
#include <tender/db/error.hpp>

#include "audit_tx.hpp"
#include "canonical_json.hpp"
#include "certificate_tx.hpp"
#include "feed_tx.hpp"
#include "pool.hpp"

#include <tender/core/tender_rules.hpp>
#include <tender/crypto/bytes.hpp>
#include <tender/crypto/error.hpp>
#include <tender/crypto/merkle.hpp>
#include <tender/crypto/sealed_bid.hpp>
#include <tender/crypto/signed_note.hpp>
#include <tender/crypto/suite.hpp>

#include <boost/json.hpp>

#include <pqxx/pqxx>

#include <algorithm>
#include <array>
#include <span>
#include <utility>
#include <vector>

namespace net = boost::asio;

namespace tender::db {
namespace json = boost::json;

namespace {

#define TENDER_BID_TIME(col) \
  "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"

// The tender and lot as bids need them; `past`: the deadline has passed on PostgreSQL's clock.
constexpr const char* select_tender_sql =
    "SELECT t.state, t.owner_org, COALESCE(t.deadline_at <= clock_timestamp(), false), "
    "EXISTS (SELECT 1 FROM lots l WHERE l.tender_id = t.id AND l.lot_no = $2) "
    "FROM tenders t WHERE t.id = $1";
// Held until commit: the deadline job locks the tender FOR UPDATE (SKIP LOCKED), so it cannot
// seal while a bid that passed the deadline check is being recorded.
constexpr const char* lock_tender_sql =
    "SELECT t.state, t.owner_org, COALESCE(t.deadline_at <= clock_timestamp(), false), "
    "EXISTS (SELECT 1 FROM lots l WHERE l.tender_id = t.id AND l.lot_no = $2) "
    "FROM tenders t WHERE t.id = $1 FOR SHARE OF t";

#define TENDER_UPLOAD_COLUMNS                                                               \
  "u.id, u.tender_id, u.lot_no, u.bidder_org, u.user_id, u.length, u.\"offset\", u.state, " \
  "u.reject_code, u.reject_message, u.bid_id, b.receipt::text, u.source_ip, "               \
  "u.client_version, " TENDER_BID_TIME("u.created_at")

constexpr const char* select_upload_sql =
    "SELECT " TENDER_UPLOAD_COLUMNS
    " FROM uploads u LEFT JOIN bids b ON b.id = u.bid_id WHERE u.id = $1";

constexpr const char* lock_org_sql = "SELECT 1 FROM organisations WHERE id = $1 FOR UPDATE";

constexpr const char* open_total_sql =
    "SELECT COALESCE(sum(length), 0)::bigint FROM uploads WHERE bidder_org = $1 AND state = "
    "'open'";

// What the organisation holds for one tender: the files of its bids (a replaced or withdrawn bid
// keeps its file) and its open uploads.
constexpr const char* tender_stored_sql =
    "SELECT (SELECT COALESCE(sum(size), 0) FROM bids WHERE tender_id = $1 AND bidder_org = $2) + "
    "(SELECT COALESCE(sum(length), 0) FROM uploads WHERE tender_id = $1 AND bidder_org = $2 AND "
    "state = 'open')";

constexpr const char* insert_upload_sql =
    "INSERT INTO uploads (id, tender_id, lot_no, bidder_org, user_id, length, metadata, "
    "source_ip, client_version) VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8, $9)";

constexpr const char* set_offset_sql =
    "UPDATE uploads SET \"offset\" = $2, updated_at = clock_timestamp() "
    "WHERE id = $1 AND state = 'open'";

// The tender row FOR SHARE first (see last_byte in bids.hpp), then the upload's stamp.
constexpr const char* stamp_last_byte_sql =
    "WITH t AS (SELECT t.id, t.deadline_at FROM tenders t JOIN uploads u ON u.tender_id = t.id "
    "WHERE u.id = $1 FOR SHARE OF t) "
    "UPDATE uploads u SET last_byte_at = COALESCE(u.last_byte_at, clock_timestamp()), "
    "updated_at = clock_timestamp() FROM t WHERE u.id = $1 AND u.tender_id = t.id AND "
    "u.state = 'open' RETURNING COALESCE(t.deadline_at <= u.last_byte_at, false), " TENDER_BID_TIME(
        "u.last_byte_at") ", u.last_byte_at::text";

// A completion resumed after the deadline is still let in when its last byte came before it.
constexpr const char* stamped_in_time_sql =
    "SELECT 1 FROM uploads u JOIN tenders t ON t.id = u.tender_id WHERE u.id = $1 AND "
    "u.state = 'open' AND u.last_byte_at < t.deadline_at";

constexpr const char* terminate_sql =
    "UPDATE uploads SET state = 'terminated', updated_at = clock_timestamp() "
    "WHERE id = $1 AND state = 'open'";

constexpr const char* reject_sql =
    "UPDATE uploads SET state = 'rejected', reject_code = $2, reject_message = $3, "
    "updated_at = clock_timestamp() WHERE id = $1 AND state = 'open'";

constexpr const char* requirements_sql =
    "SELECT key_policy, (escrow -> 'setup')::text FROM tenders WHERE id = $1";

constexpr const char* signer_sql =
    "SELECT 1 FROM user_keys k JOIN users u ON u.id = k.user_id "
    "WHERE k.fingerprint = $1 AND u.org_id = $2 AND k.revoked_at IS NULL";

constexpr const char* lock_upload_sql =
    "SELECT tender_id, lot_no, bidder_org, state, length, source_ip, client_version "
    "FROM uploads WHERE id = $1 FOR UPDATE";

constexpr const char* now_sql =
    "SELECT " TENDER_BID_TIME("x.ts") ", x.ts::text FROM (SELECT clock_timestamp() AS ts) x";

constexpr const char* replace_current_sql =
    "UPDATE bids SET status = 'replaced' WHERE tender_id = $1 AND lot_no = $2 AND bidder_org = "
    "$3 AND status = 'current'";

constexpr const char* insert_bid_sql =
    "INSERT INTO bids (tender_id, lot_no, bidder_org, upload_id, blob_digest, ciphertext_digest, "
    "header_digest, size, suite, policy, signer_fingerprint, rehearsal_public_key, header, "
    "received_at, log_index, source_ip, client_version) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, "
    "$9, $10, $11, $12, $13, $14::timestamptz, $15, $16, $17) RETURNING id";

constexpr const char* complete_upload_sql =
    "UPDATE uploads SET state = 'complete', \"offset\" = length, bid_id = $2, "
    "updated_at = clock_timestamp() WHERE id = $1";

constexpr const char* recorded_sql =
    "SELECT tender_id, lot_no, bidder_org, upload_id, ciphertext_digest, blob_digest, size, "
    "to_char(received_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), log_index, "
    "source_ip, client_version FROM bids WHERE id = $1";

constexpr const char* store_receipt_sql = "UPDATE bids SET receipt = $2::jsonb WHERE id = $1";

#define TENDER_CURRENT_BID \
  "SELECT b.id, b.upload_id, b.blob_digest, b.ciphertext_digest, b.size, " TENDER_BID_TIME(      \
      "b.received_at") ", b.log_index, b.receipt::text, b.status, "                               \
                       "(SELECT " TENDER_BID_TIME("max(r.rehearsed_at)")                          \
                       " FROM bid_rehearsals r WHERE r.bid_id = b.id AND r.rehearsed_at IS NOT " \
                       "NULL), b.header "                                                         \
                       "FROM bids b WHERE b.tender_id = $1 AND b.lot_no = $2 AND b.bidder_org = " \
                       "$3 AND b.status = 'current'"

constexpr const char* current_bid_sql = TENDER_CURRENT_BID;
constexpr const char* lock_current_bid_sql = TENDER_CURRENT_BID " FOR UPDATE OF b";

constexpr const char* withdraw_sql =
    "UPDATE bids SET status = 'withdrawn', withdrawn_at = clock_timestamp() WHERE id = $1 "
    "RETURNING " TENDER_BID_TIME("withdrawn_at");

constexpr const char* insert_challenge_sql =
    "INSERT INTO bid_rehearsals (id, bid_id, challenge, expires_at) VALUES ($1, $2, $3, "
    "clock_timestamp() + interval '10 minutes') RETURNING " TENDER_BID_TIME("expires_at");

constexpr const char* lock_challenge_sql =
    "SELECT challenge, expires_at > clock_timestamp(), rehearsed_at IS NOT NULL "
    "FROM bid_rehearsals WHERE id = $1 AND bid_id = $2 FOR UPDATE";

constexpr const char* confirm_rehearsal_sql =
    "UPDATE bid_rehearsals SET signature = $2, confirmation = $3, rehearsed_at = $4::timestamptz, "
    "log_index = $5 WHERE id = $1";

constexpr const char* count_current_sql =
    "SELECT count(*) FROM bids WHERE tender_id = $1 AND lot_no = $2 AND status = 'current'";

constexpr const char* list_current_sql =
    "SELECT b.bidder_org, b.ciphertext_digest, b.size, " TENDER_BID_TIME("b.received_at")
    ", EXISTS (SELECT 1 FROM bid_rehearsals r WHERE r.bid_id = b.id AND r.rehearsed_at IS NOT "
    "NULL), b.source_ip, b.client_version FROM bids b WHERE b.tender_id = $1 AND b.lot_no = $2 "
    "AND b.status = 'current' ORDER BY b.received_at, b.id";

constexpr const char* select_seal_sql =
    "SELECT deadline, count, digests::text, root, note FROM bid_seals WHERE tender_id = $1 AND "
    "lot_no = $2";

constexpr const char* store_seal_note_sql =
    "UPDATE bid_seals SET note = $3 WHERE tender_id = $1 AND lot_no = $2 AND note IS NULL";

constexpr const char* open_ids_sql = "SELECT id FROM uploads WHERE state = 'open'";
// Every blob a record still names: bids (current, replaced and withdrawn alike: rows are never
// deleted), the hall's backup files, and the files of decryption attempts (a backup replaced by a
// second upload is still what an earlier attempt opened). A blob missing under an attempt would
// leave the opening without the evidence of that attempt.
// A replaced or withdrawn bid's file is kept until the tender's signed opening record exists
// (hall_record.cpp sets record_log_index with it): until then it may still be asked about, and
// after it only the bids that were opened matter. A current bid's file is kept for good, and so
// is any file a hall backup or decryption attempt names.
constexpr const char* referenced_blobs_sql =
    "SELECT b.blob_digest FROM bids b WHERE b.status = 'current' OR NOT EXISTS ("
    "SELECT 1 FROM halls h WHERE h.tender_id = b.tender_id AND h.record_log_index IS NOT NULL) "
    "UNION SELECT blob_digest FROM hall_backups UNION SELECT blob_digest FROM hall_attempts";

// The deadline seal.
constexpr const char* seal_tender_sql =
    "SELECT to_char(deadline_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), rule_pack "
    "FROM tenders WHERE id = $1";
constexpr const char* void_uploads_sql =
    "UPDATE uploads SET state = 'void', updated_at = clock_timestamp() "
    "WHERE tender_id = $1 AND state = 'open'";
constexpr const char* lots_sql = "SELECT lot_no FROM lots WHERE tender_id = $1 ORDER BY lot_no";
constexpr const char* lot_digests_sql =
    "SELECT ciphertext_digest FROM bids WHERE tender_id = $1 AND lot_no = $2 AND status = "
    "'current'";
constexpr const char* insert_seal_sql =
    "INSERT INTO bid_seals (tender_id, lot_no, deadline, count, digests, root, note, log_index) "
    "VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7, $8)";
constexpr const char* fail_tender_sql =
    "UPDATE tenders SET state = 'failed', status_reason = $2, version = version + 1, "
    "updated_at = clock_timestamp() WHERE id = $1 AND state = 'closed'";

#undef TENDER_CURRENT_BID
#undef TENDER_UPLOAD_COLUMNS
#undef TENDER_BID_TIME

[[noreturn]] void fail(const char* code, const std::string& message) {
  throw error(code, message);
}

std::string subject_of(const std::string& tender_id, int lot) {
  return tender_id + "/" + std::to_string(lot);
}

std::string random_id(const char* prefix) {
  std::array<std::uint8_t, 8> raw{};
  crypto::system_random().fill(std::span<std::uint8_t>(raw.data(), raw.size()));
  return prefix + crypto::hex_encode(crypto::byte_view(raw.data(), raw.size()));
}

struct tender_row {
  std::string state;
  std::string owner_org;
  bool past_deadline = false;
  bool lot_exists = false;
};

tender_row load_tender(pqxx::transaction_base& tx, const principal& who, const std::string& id,
                       int lot, bool lock) {
  const auto rows = tx.exec_params(lock ? lock_tender_sql : select_tender_sql, id, lot);
  if (rows.empty()) fail("tender.not_found", "no tender '" + id + "'");
  tender_row t{rows[0][0].as<std::string>(), rows[0][1].as<std::string>(), rows[0][2].as<bool>(),
               rows[0][3].as<bool>()};
  if (t.state == "draft" && t.owner_org != who.org.id) {
    fail("tender.not_found", "no tender '" + id + "'");
  }
  if (!t.lot_exists) {
    fail("tender.not_found", "tender '" + id + "' has no lot " + std::to_string(lot));
  }
  return t;
}

// Bids are made by users with role bidder of organisations of kind bidder.
void require_bidder(const principal& who) {
  if (!who.who.has_role("bidder") || who.org.kind != "bidder") {
    fail("auth.forbidden",
         "bids are made by users with the 'bidder' role of a bidder organisation");
  }
}

void require_published(const tender_row& t, const std::string& id) {
  if (t.state != "published") {
    fail("bid.not_accepting", "tender '" + id + "' is " + t.state + " and takes no bids");
  }
}

// The tender takes bids: before its deadline (database clock) and published.
void require_accepting(const tender_row& t, const std::string& id) {
  if (t.past_deadline) {
    fail("bid.deadline_passed", "the submission deadline of tender '" + id + "' has passed");
  }
  require_published(t, id);
}

json::value null_or(const pqxx::field& f) {
  if (f.is_null()) return nullptr;
  return json::value(f.as<std::string>());
}

json::value parsed_or_null(const pqxx::field& f) {
  if (f.is_null()) return nullptr;
  boost::system::error_code ec;
  auto v = json::parse(f.as<std::string>(), ec);
  if (ec) return nullptr;
  return v;
}

upload_info upload_of(const pqxx::row& r) {
  upload_info u;
  u.id = r[0].as<std::string>();
  u.tender_id = r[1].as<std::string>();
  u.lot_no = r[2].as<int>();
  u.bidder_org = r[3].as<std::string>();
  u.user_id = r[4].as<std::string>();
  u.length = r[5].as<std::uint64_t>();
  u.offset = r[6].as<std::uint64_t>();
  u.state = r[7].as<std::string>();
  if (!r[8].is_null()) u.reject_code = r[8].as<std::string>();
  if (!r[9].is_null()) u.reject_message = r[9].as<std::string>();
  if (!r[10].is_null()) u.bid_id = r[10].as<std::int64_t>();
  if (!r[11].is_null()) u.receipt = r[11].as<std::string>();
  u.source_ip = r[12].as<std::string>();
  if (!r[13].is_null()) u.client_version = r[13].as<std::string>();
  u.created_at = r[14].as<std::string>();
  return u;
}

upload_info own_upload(pqxx::transaction_base& tx, const principal& who, const std::string& id) {
  const auto rows = tx.exec_params(select_upload_sql, id);
  if (rows.empty() || rows[0][3].as<std::string>() != who.org.id) {
    fail("upload.not_found", "no upload '" + id + "' of organisation '" + who.org.id + "'");
  }
  return upload_of(rows[0]);
}

std::uint64_t audit(pqxx::transaction_base& tx, const std::string& actor, const std::string& role,
                    const char* action, const std::string& subject, const std::string& payload) {
  audit_entry e;
  e.actor = actor;
  e.role = role;
  e.action = action;
  e.subject = subject;
  e.payload_digest = audit_payload_digest(payload);
  return audit_tx::append(tx, e).seq;
}

std::string sign_note(const crypto::note::ed25519_signer& signer, const std::string& text) {
  const crypto::note::ed25519_signer* signers[] = {&signer};
  return crypto::note::sign(text, signers);
}

std::string rehearsal_note_text(const std::string& subject, const std::string& bidder,
                                const std::string& ciphertext_digest,
                                const std::string& challenge_id, const std::string& rehearsed_at,
                                std::uint64_t log_index) {
  return "tenderhall/bid-rehearsal/v1\nsubject " + subject + "\nbidder " + bidder +
         "\nciphertext-digest " + ciphertext_digest + "\nchallenge " + challenge_id +
         "\nrehearsed-at " + rehearsed_at + "\nlog-index " + std::to_string(log_index) + "\n";
}

// The bid.submitted payload (docs/design/submission.md, "Audit payloads").
std::string submitted_payload(const recorded_bid& b, const std::string& tender_id, int lot,
                              const std::string& source_ip,
                              const std::optional<std::string>& client_version) {
  const json::object payload{
      {"bidder", b.bidder},
      {"ciphertext_digest", b.ciphertext_digest},
      {"client_version", client_version ? json::value(*client_version) : json::value()},
      {"file_digest", b.file_digest},
      {"lot", lot},
      {"received_at", b.received_at},
      {"size", b.size},
      {"source_ip", source_ip},
      {"tender_id", tender_id},
      {"upload_id", b.upload_id}};
  return canonical_json(payload);
}

std::string binary(const pqxx::field& f) {
  return pqxx::binarystring(f).str();
}

}  // namespace

std::string bid_receipt_note_text(const recorded_bid& b) {
  return "tenderhall/bid-receipt/v1\nsubject " + b.subject + "\nbidder " + b.bidder + "\nupload " +
         b.upload_id + "\nciphertext-digest " + b.ciphertext_digest + "\nfile-digest " +
         b.file_digest + "\nsize " + std::to_string(b.size) + "\nreceived-at " + b.received_at +
         "\nlog-index " + std::to_string(b.log_index) + "\n";
}

std::string bid_seal_note_text(const std::string& subject, const std::string& deadline,
                               std::int64_t count, const std::string& root_base64) {
  return "tenderhall/bid-seal/v1\nsubject " + subject + "\ndeadline " + deadline + "\ncount " +
         std::to_string(count) + "\nroot " + root_base64 + "\n";
}

bids::bids(pool& connections, options opts) : pool_(connections), opts_(std::move(opts)) {}

net::awaitable<upload_info> bids::create_upload(principal who, create_request req) {
  require_bidder(who);
  if (req.length > opts_.max_upload_bytes) {
    fail("upload.too_large", "Upload-Length " + std::to_string(req.length) +
                                 " is above the maximum of " +
                                 std::to_string(opts_.max_upload_bytes) + " bytes");
  }
  upload_info out;
  pool::job job = [&](pqxx::connection_base& c) {
    pqxx::work tx(c);
    // One creation per organisation at a time, so the quota holds under concurrency.
    tx.exec_params(lock_org_sql, who.org.id);
    const auto t = load_tender(tx, who, req.tender_id, req.lot_no, true);
    require_accepting(t, req.tender_id);
    const auto open = tx.exec_params1(open_total_sql, who.org.id)[0].as<std::uint64_t>();
    if (open + req.length > opts_.bidder_quota_bytes) {
      fail("upload.quota_exceeded",
           "organisation '" + who.org.id + "' has " + std::to_string(open) +
               " bytes in open uploads; " + std::to_string(req.length) +
               " more would pass its quota of " + std::to_string(opts_.bidder_quota_bytes));
    }
    const auto stored =
        tx.exec_params1(tender_stored_sql, req.tender_id, who.org.id)[0].as<std::uint64_t>();
    if (stored + req.length > opts_.tender_quota_bytes) {
      fail("upload.tender_quota_exceeded",
           "organisation '" + who.org.id + "' has " + std::to_string(stored) +
               " bytes stored for tender '" + req.tender_id +
               "' (its bids, replaced ones too, and " + "open uploads); " +
               std::to_string(req.length) + " more would pass the quota of " +
               std::to_string(opts_.tender_quota_bytes));
    }
    const auto id = random_id("u-");
    const std::optional<std::string>& cv = req.client_version;
    tx.exec_params0(insert_upload_sql, id, req.tender_id, req.lot_no, who.org.id, who.who.id,
                    static_cast<std::int64_t>(req.length), req.metadata_json, req.source_ip, cv);
    out = upload_of(tx.exec_params1(select_upload_sql, id));
    tx.commit();
  };
  co_await pool_.run(std::move(job));
  co_return out;
}

net::awaitable<upload_info> bids::upload(principal who, std::string upload_id) {
  upload_info out;
  pool::job job = [&](pqxx::connection_base& c) {
    pqxx::read_transaction tx(c);
    out = own_upload(tx, who, upload_id);
  };
  co_await pool_.run(std::move(job));
  co_return out;
}

net::awaitable<upload_info> bids::begin_patch(principal who, std::string upload_id) {
  upload_info out;
  pool::job job = [&](pqxx::connection_base& c) {
    pqxx::read_transaction tx(c);
    out = own_upload(tx, who, upload_id);
    const auto t = load_tender(tx, who, out.tender_id, out.lot_no, false);
    // After the deadline only a completion whose last byte came before it goes on (a retry of
    // one interrupted by a crash or a dropped connection).
    if (!t.past_deadline || tx.exec_params(stamped_in_time_sql, upload_id).empty()) {
      require_accepting(t, out.tender_id);
    }
    require_published(t, out.tender_id);
    if (out.state != "open") {
      fail("upload.gone", "upload '" + upload_id + "' is " + out.state + " and takes no bytes");
    }
  };
  co_await pool_.run(std::move(job));
  co_return out;
}

net::awaitable<bids::last_byte> bids::stamp_last_byte(std::string upload_id) {
  last_byte out;
  pool::job job = [&](pqxx::connection_base& c) {
    pqxx::work tx(c);
    const auto r = tx.exec_params(stamp_last_byte_sql, upload_id);
    if (r.empty()) fail("upload.gone", "upload '" + upload_id + "' is not open");
    out.late = r[0][0].as<bool>();
    out.at = r[0][1].as<std::string>();
    tx.commit();
  };
  co_await pool_.run(std::move(job));
  co_return out;
}

net::awaitable<void> bids::set_offset(std::string upload_id, std::uint64_t offset) {
  pool::job job = [&](pqxx::connection_base& c) {
    pqxx::work tx(c);
    tx.exec_params0(set_offset_sql, upload_id, static_cast<std::int64_t>(offset));
    tx.commit();
  };
  co_await pool_.run(std::move(job));
}

net::awaitable<void> bids::terminate(principal who, std::string upload_id) {
  pool::job job = [&](pqxx::connection_base& c) {
    pqxx::work tx(c);
    const auto u = own_upload(tx, who, upload_id);
    if (u.state != "open") {
      fail("upload.gone", "upload '" + upload_id + "' is " + u.state + " and cannot be terminated");
    }
    tx.exec_params0(terminate_sql, upload_id);
    tx.commit();
  };
  co_await pool_.run(std::move(job));
}

net::awaitable<void> bids::reject(std::string upload_id, std::string code, std::string message) {
  if (message.size() > 2000) message.resize(2000);
  pool::job job = [&](pqxx::connection_base& c) {
    pqxx::work tx(c);
    tx.exec_params0(reject_sql, upload_id, code, message);
    tx.commit();
  };
  co_await pool_.run(std::move(job));
}

net::awaitable<bid_requirements> bids::requirements(std::string tender_id) {
  bid_requirements out;
  pool::job job = [&](pqxx::connection_base& c) {
    pqxx::read_transaction tx(c);
    const auto rows = tx.exec_params(requirements_sql, tender_id);
    if (rows.empty()) fail("tender.not_found", "no tender '" + tender_id + "'");
    out.key_policy = rows[0][0].as<std::string>();
    if (!rows[0][1].is_null()) out.escrow_setup = rows[0][1].as<std::string>();
  };
  co_await pool_.run(std::move(job));
  co_return out;
}

net::awaitable<std::optional<bids::signer_refusal>> bids::check_signer(std::string org,
                                                                       std::string fingerprint) {
  std::optional<signer_refusal> out;
  pool::job job = [&](pqxx::connection_base& c) {
    pqxx::read_transaction tx(c);
    if (tx.exec_params(signer_sql, fingerprint, org).empty()) {
      out = signer_refusal{"bid.unknown_signer",
                           "which is not an active key of organisation '" + org + "'"};
      return;
    }
    if (auto r = certificate_tx::check_key(tx, fingerprint, opts_.revocations)) {
      out = signer_refusal{r->code, "but " + r->message};
    }
  };
  co_await pool_.run(std::move(job));
  co_return out;
}

namespace {

// Holds the advisory lock that orders bid completions for as long as it lives (see record()).
// When the connection breaks, PostgreSQL drops the lock with the session.
class completion_queue {
public:
  explicit completion_queue(pqxx::connection_base& c) : c_(c) {
    pqxx::nontransaction n(c_);
    n.exec(lock_sql);
  }
  ~completion_queue() {
    try {
      pqxx::nontransaction n(c_);
      n.exec(unlock_sql);
    } catch (...) {
      // A broken connection released the lock already; the pool replaces the connection.
    }
  }
  completion_queue(const completion_queue&) = delete;
  completion_queue& operator=(const completion_queue&) = delete;

private:
  static constexpr const char* lock_sql =
      "SELECT pg_advisory_lock(hashtext('tenderhall/bid-completion'))";
  static constexpr const char* unlock_sql =
      "SELECT pg_advisory_unlock(hashtext('tenderhall/bid-completion'))";
  pqxx::connection_base& c_;
};

}  // namespace

net::awaitable<recorded_bid> bids::record(principal who, verified_bid bid) {
  recorded_bid out;
  pool::job job = [&](pqxx::connection_base& c) {
    // Completions queue on a session-level advisory lock taken BEFORE the serializable
    // transaction begins, so each one's snapshot already sees the previous one's commit. They all
    // serialize on audit_head anyway; without this queue a surge of completions on one tender made
    // SSI abort most of them (500 concurrent completions ran out of retries in the bench).
    completion_queue queue(c);
    for (int attempt = 1;; ++attempt) {
      try {
        pqxx::transaction<pqxx::serializable> tx(c);
        const auto ur = tx.exec_params(lock_upload_sql, bid.upload_id);
        if (ur.empty() || ur[0][2].as<std::string>() != who.org.id) {
          fail("upload.not_found", "no upload '" + bid.upload_id + "'");
        }
        const auto tender_id = ur[0][0].as<std::string>();
        const auto lot = ur[0][1].as<int>();
        const auto state = ur[0][3].as<std::string>();
        const auto t = load_tender(tx, who, tender_id, lot, true);
        if (state != "open") {
          fail("upload.gone", "upload '" + bid.upload_id + "' is " + state);
        }
        // Judged by the last byte (stamped before verification; stamped now if it was not): the
        // deadline verdict, received_at and the audit payload's time are that one statement's.
        const auto stamp = tx.exec_params1(stamp_last_byte_sql, bid.upload_id);
        if (stamp[0].as<bool>()) {
          fail("bid.deadline_passed",
               "the submission deadline of tender '" + tender_id + "' has passed");
        }
        require_published(t, tender_id);
        const auto source_ip = ur[0][5].as<std::string>();
        std::optional<std::string> client_version;
        if (!ur[0][6].is_null()) client_version = ur[0][6].as<std::string>();
        const auto& now = stamp;
        out.subject = subject_of(tender_id, lot);
        out.bidder = who.org.id;
        out.upload_id = bid.upload_id;
        out.ciphertext_digest = bid.ciphertext_digest;
        out.file_digest = bid.blob_digest;
        out.size = bid.size;
        out.received_at = now[1].as<std::string>();
        out.payload = submitted_payload(out, tender_id, lot, source_ip, client_version);
        tx.exec_params0(replace_current_sql, tender_id, lot, who.org.id);
        out.log_index = audit(tx, who.who.id, "bidder", "bid.submitted", out.subject, out.payload);
        const pqxx::binarystring rehearsal_key(bid.rehearsal_public_key);
        const pqxx::binarystring header(bid.header);
        out.bid_id =
            tx.exec_params1(insert_bid_sql, tender_id, lot, who.org.id, bid.upload_id,
                            bid.blob_digest, bid.ciphertext_digest, bid.header_digest,
                            static_cast<std::int64_t>(bid.size), bid.suite, bid.policy,
                            bid.signer_fingerprint, rehearsal_key, header, now[2].as<std::string>(),
                            static_cast<std::int64_t>(out.log_index), source_ip, client_version)[0]
                .as<std::int64_t>();
        tx.exec_params0(complete_upload_sql, bid.upload_id, out.bid_id);
        tx.commit();
        return;
      } catch (const pqxx::serialization_failure&) {
        if (attempt >= 20) throw;
      } catch (const pqxx::unique_violation&) {
        // A concurrent completion of the same bidder and lot won the index: try again.
        if (attempt >= 20) throw;
      }
    }
  };
  co_await pool_.run(std::move(job));
  co_return out;
}

net::awaitable<void> bids::store_receipt(std::int64_t bid_id, std::string receipt_json) {
  pool::job job = [&](pqxx::connection_base& c) {
    pqxx::work tx(c);
    tx.exec_params0(store_receipt_sql, bid_id, receipt_json);
    tx.commit();
  };
  co_await pool_.run(std::move(job));
}

net::awaitable<recorded_bid> bids::recorded(std::int64_t bid_id) {
  recorded_bid out;
  pool::job job = [&](pqxx::connection_base& c) {
    pqxx::read_transaction tx(c);
    const auto rows = tx.exec_params(recorded_sql, bid_id);
    if (rows.empty()) fail("bid.not_found", "no bid " + std::to_string(bid_id));
    const auto& r = rows[0];
    const auto tender_id = r[0].as<std::string>();
    const auto lot = r[1].as<int>();
    out.bid_id = bid_id;
    out.subject = subject_of(tender_id, lot);
    out.bidder = r[2].as<std::string>();
    out.upload_id = r[3].as<std::string>();
    out.ciphertext_digest = r[4].as<std::string>();
    out.file_digest = r[5].as<std::string>();
    out.size = r[6].as<std::uint64_t>();
    out.received_at = r[7].as<std::string>();
    out.log_index = r[8].as<std::uint64_t>();
    out.payload =
        submitted_payload(out, tender_id, lot, r[9].as<std::string>(),
                          r[10].is_null() ? std::nullopt : std::optional(r[10].as<std::string>()));
  };
  co_await pool_.run(std::move(job));
  co_return out;
}

net::awaitable<json::object> bids::mine(principal who, std::string tender_id, int lot) {
  require_bidder(who);
  json::object out;
  pool::job job = [&](pqxx::connection_base& c) {
    pqxx::read_transaction tx(c);
    load_tender(tx, who, tender_id, lot, false);
    const auto rows = tx.exec_params(current_bid_sql, tender_id, lot, who.org.id);
    if (rows.empty()) {
      fail("bid.not_found", "organisation '" + who.org.id + "' has no current bid for lot " +
                                std::to_string(lot) + " of tender '" + tender_id + "'");
    }
    const auto& r = rows[0];
    out = {{"bid_id", r[0].as<std::int64_t>()},
           {"tender_id", tender_id},
           {"lot", lot},
           {"status", r[8].as<std::string>()},
           {"upload_id", r[1].as<std::string>()},
           {"file_digest", r[2].as<std::string>()},
           {"ciphertext_digest", r[3].as<std::string>()},
           {"size", r[4].as<std::int64_t>()},
           {"received_at", r[5].as<std::string>()},
           {"log_index", r[6].as<std::int64_t>()},
           {"receipt", parsed_or_null(r[7])},
           {"rehearsed", !r[9].is_null()},
           {"rehearsed_at", null_or(r[9])}};
  };
  co_await pool_.run(std::move(job));
  co_return out;
}

net::awaitable<json::object> bids::withdraw(principal who, std::string tender_id, int lot) {
  require_bidder(who);
  json::object out;
  pool::job job = [&](pqxx::connection_base& c) {
    pqxx::work tx(c);
    const auto t = load_tender(tx, who, tender_id, lot, true);
    require_accepting(t, tender_id);
    const auto rows = tx.exec_params(lock_current_bid_sql, tender_id, lot, who.org.id);
    if (rows.empty()) {
      fail("bid.not_found", "organisation '" + who.org.id + "' has no current bid for lot " +
                                std::to_string(lot) + " of tender '" + tender_id + "'");
    }
    const auto bid_id = rows[0][0].as<std::int64_t>();
    const auto digest = rows[0][3].as<std::string>();
    const auto at = tx.exec_params1(withdraw_sql, bid_id)[0].as<std::string>();
    const json::object payload{
        {"bid_id", bid_id}, {"bidder", who.org.id},   {"ciphertext_digest", digest},
        {"lot", lot},       {"tender_id", tender_id}, {"withdrawn_at", at}};
    const auto seq = audit(tx, who.who.id, "bidder", "bid.withdrawn", subject_of(tender_id, lot),
                           canonical_json(payload));
    out = {{"withdrawn_at", at}, {"log_index", seq}};
    tx.commit();
  };
  co_await pool_.run(std::move(job));
  co_return out;
}

net::awaitable<json::object> bids::rehearsal_challenge(principal who, std::string tender_id,
                                                       int lot) {
  require_bidder(who);
  json::object out;
  pool::job job = [&](pqxx::connection_base& c) {
    pqxx::work tx(c);
    const auto t = load_tender(tx, who, tender_id, lot, true);
    require_accepting(t, tender_id);
    const auto rows = tx.exec_params(current_bid_sql, tender_id, lot, who.org.id);
    if (rows.empty()) {
      fail("bid.not_found", "organisation '" + who.org.id + "' has no current bid for lot " +
                                std::to_string(lot) + " of tender '" + tender_id + "'");
    }
    std::array<std::uint8_t, 16> nonce{};
    crypto::system_random().fill(std::span<std::uint8_t>(nonce.data(), nonce.size()));
    const std::string challenge = "tenderhall/rehearsal-challenge/v1\n" +
                                  subject_of(tender_id, lot) + "\n" + who.org.id + "\n" +
                                  rows[0][3].as<std::string>() + "\n" +
                                  crypto::hex_encode(crypto::byte_view(nonce.data(), nonce.size()));
    const auto id = random_id("r-");
    const pqxx::binarystring raw(challenge);
    const auto expires =
        tx.exec_params1(insert_challenge_sql, id, rows[0][0].as<std::int64_t>(), raw)[0]
            .as<std::string>();
    out = {{"challenge_id", id},
           {"challenge", crypto::base64_encode(crypto::as_bytes(challenge))},
           {"expires_at", expires}};
    tx.commit();
  };
  co_await pool_.run(std::move(job));
  co_return out;
}

net::awaitable<json::object> bids::rehearse(principal who, std::string tender_id, int lot,
                                            std::string challenge_id, std::string signature) {
  require_bidder(who);
  json::object out;
  pool::job job = [&](pqxx::connection_base& c) {
    pqxx::work tx(c);
    const auto t = load_tender(tx, who, tender_id, lot, true);
    require_accepting(t, tender_id);
    const auto rows = tx.exec_params(lock_current_bid_sql, tender_id, lot, who.org.id);
    if (rows.empty()) {
      fail("bid.not_found", "organisation '" + who.org.id + "' has no current bid for lot " +
                                std::to_string(lot) + " of tender '" + tender_id + "'");
    }
    const auto bid_id = rows[0][0].as<std::int64_t>();
    const auto digest = rows[0][3].as<std::string>();
    const auto ch = tx.exec_params(lock_challenge_sql, challenge_id, bid_id);
    if (ch.empty()) {
      fail("bid.rehearsal_failed",
           "no rehearsal challenge '" + challenge_id + "' for the current bid");
    }
    if (!ch[0][1].as<bool>() || ch[0][2].as<bool>()) {
      fail("bid.rehearsal_failed",
           "rehearsal challenge '" + challenge_id + "' has expired or was already used");
    }
    const auto challenge = binary(ch[0][0]);
    const auto header_bytes = binary(rows[0][10]);
    bool ok = false;
    try {
      const auto h = crypto::sealed::parse_header(crypto::as_bytes(header_bytes));
      ok = crypto::sealed::verify_rehearsal(h, crypto::as_bytes(challenge),
                                            crypto::as_bytes(signature));
    } catch (const crypto::error&) {
      ok = false;
    }
    if (!ok) {
      fail("bid.rehearsal_failed",
           "the signature does not verify with the rehearsal key of the bid's sealed header");
    }
    const auto now = tx.exec1(now_sql);
    const auto at = now[0].as<std::string>();
    const json::object payload{{"bid_id", bid_id},
                               {"bidder", who.org.id},
                               {"challenge_id", challenge_id},
                               {"ciphertext_digest", digest},
                               {"lot", lot},
                               {"rehearsed_at", at},
                               {"tender_id", tender_id}};
    const auto subject = subject_of(tender_id, lot);
    const auto seq =
        audit(tx, who.who.id, "bidder", "bid.rehearsed", subject, canonical_json(payload));
    const auto text = rehearsal_note_text(subject, who.org.id, digest, challenge_id, at, seq);
    const auto note = sign_note(*opts_.signer, text);
    const pqxx::binarystring sig(signature);
    tx.exec_params0(confirm_rehearsal_sql, challenge_id, sig, note, now[1].as<std::string>(),
                    static_cast<std::int64_t>(seq));
    out = {{"confirmation", note}, {"rehearsed_at", at}, {"log_index", seq}};
    tx.commit();
  };
  co_await pool_.run(std::move(job));
  co_return out;
}

net::awaitable<json::object> bids::list(principal who, std::string tender_id, int lot) {
  json::object out;
  pool::job job = [&](pqxx::connection_base& c) {
    pqxx::read_transaction tx(c);
    const auto t = load_tender(tx, who, tender_id, lot, false);
    const bool staff = who.who.has_role("center_staff") || who.who.has_role("supervisor") ||
                       who.who.has_role("admin");
    if (!staff && !(who.who.has_role("tenderer") && who.org.id == t.owner_org)) {
      fail("auth.forbidden", "only the tenderer of tender '" + tender_id +
                                 "', center staff and supervisors see its bids");
    }
    const auto n = tx.exec_params1(count_current_sql, tender_id, lot)[0].as<std::int64_t>();
    out = {
        {"tender_id", tender_id}, {"lot", lot}, {"deadline_passed", t.past_deadline}, {"count", n}};
    // Who bid is secret until the bidder list is published (SPEC §13, 招标投标法 art. 22), not
    // merely until the deadline: before it only supervisors see the bids, the others count them.
    const bool list_public = !tx.exec_params(
                                    "SELECT 1 FROM halls WHERE tender_id = $1 AND phase NOT IN "
                                    "('waiting', 'sealed')",
                                    tender_id)
                                  .empty();
    if (t.past_deadline && (who.who.has_role("supervisor") || list_public)) {
      json::array list;
      for (const auto& r : tx.exec_params(list_current_sql, tender_id, lot)) {
        list.push_back(json::object{{"bidder", r[0].as<std::string>()},
                                    {"ciphertext_digest", r[1].as<std::string>()},
                                    {"size", r[2].as<std::int64_t>()},
                                    {"received_at", r[3].as<std::string>()},
                                    {"rehearsed", r[4].as<bool>()},
                                    {"source_ip", r[5].as<std::string>()},
                                    {"client_version", null_or(r[6])},
                                    {"guarantee_status", nullptr}});
      }
      out["bids"] = std::move(list);
    }
  };
  co_await pool_.run(std::move(job));
  co_return out;
}

net::awaitable<json::object> bids::seal(std::string tender_id, int lot) {
  json::object out;
  auto signer = opts_.signer;
  pool::job job = [&](pqxx::connection_base& c) {
    pqxx::work tx(c);
    const auto rows = tx.exec_params(select_seal_sql, tender_id, lot);
    if (rows.empty()) {
      fail("bid.not_found", "lot " + std::to_string(lot) + " of tender '" + tender_id +
                                "' is not sealed (its deadline has not been reached)");
    }
    const auto subject = subject_of(tender_id, lot);
    const auto deadline = rows[0][0].as<std::string>();
    const auto count = rows[0][1].as<std::int64_t>();
    const auto root = rows[0][3].as<std::string>();
    std::string note;
    if (rows[0][4].is_null()) {
      // Sealed by a scheduler without a signer: sign now, once.
      if (!signer) fail("db.usage", "no signer for bid seal notes");
      note = sign_note(*signer, bid_seal_note_text(subject, deadline, count, root));
      tx.exec_params0(store_seal_note_sql, tender_id, lot, note);
    } else {
      note = rows[0][4].as<std::string>();
    }
    out = {{"subject", subject}, {"deadline", deadline},
           {"count", count},     {"digests", json::parse(rows[0][2].as<std::string>())},
           {"root", root},       {"note", note}};
    tx.commit();
  };
  co_await pool_.run(std::move(job));
  co_return out;
}

net::awaitable<std::vector<std::string>> bids::open_upload_ids() {
  std::vector<std::string> out;
  pool::job job = [&](pqxx::connection_base& c) {
    pqxx::read_transaction tx(c);
    for (const auto& r : tx.exec(open_ids_sql))
      out.push_back(r[0].as<std::string>());
  };
  co_await pool_.run(std::move(job));
  co_return out;
}

net::awaitable<std::vector<std::string>> bids::referenced_blobs() {
  std::vector<std::string> out;
  pool::job job = [&](pqxx::connection_base& c) {
    pqxx::read_transaction tx(c);
    for (const auto& r : tx.exec(referenced_blobs_sql))
      out.push_back(r[0].as<std::string>());
  };
  co_await pool_.run(std::move(job));
  co_return out;
}

bool seal_tender_bids(pqxx::transaction_base& tx, const std::string& tender_id,
                      const std::string& actor, const crypto::note::ed25519_signer* signer) {
  const auto t = tx.exec_params1(seal_tender_sql, tender_id);
  const auto deadline = t[0].is_null() ? std::string() : t[0].as<std::string>();
  const auto* pack = core::find_rule_pack(t[1].as<std::string>());
  const int min_bids = pack != nullptr ? pack->min_bids : 3;
  tx.exec_params0(void_uploads_sql, tender_id);
  std::int64_t most = 0;
  std::vector<int> lots;
  for (const auto& r : tx.exec_params(lots_sql, tender_id))
    lots.push_back(r[0].as<int>());
  for (const int lot : lots) {
    std::vector<std::string> digests;
    for (const auto& r : tx.exec_params(lot_digests_sql, tender_id, lot))
      digests.push_back(r[0].as<std::string>());
    std::sort(digests.begin(), digests.end());
    std::vector<crypto::merkle::hash> leaves;
    json::array list;
    for (const auto& d : digests) {
      const auto raw = crypto::hex_decode(d);
      leaves.push_back(crypto::merkle::leaf_hash(raw));
      list.emplace_back(d);
    }
    const auto root = leaves.empty() ? crypto::merkle::empty_root()
                                     : crypto::merkle::root_from_leaf_hashes(leaves);
    const auto root_b64 = crypto::base64_encode(crypto::byte_view(root.data(), root.size()));
    const auto count = static_cast<std::int64_t>(digests.size());
    most = std::max(most, count);
    const json::object payload{
        {"count", count}, {"lot", lot}, {"root", root_b64}, {"tender_id", tender_id}};
    const auto text = canonical_json(payload);
    const auto subject = subject_of(tender_id, lot);
    const auto seq = audit(tx, actor, "system", "bids.sealed", subject, text);
    feed_tx::append(tx, tender_id, "bids.sealed", text);
    std::optional<std::string> note;
    if (signer != nullptr) {
      note = sign_note(*signer, bid_seal_note_text(subject, deadline, count, root_b64));
    }
    tx.exec_params0(insert_seal_sql, tender_id, lot, deadline, count, json::serialize(list),
                    root_b64, note, static_cast<std::int64_t>(seq));
  }
  if (most >= min_bids) return false;
  const std::string reason = "fewer than " + std::to_string(min_bids) +
                             " bids at the deadline in every lot (流标): at most " +
                             std::to_string(most);
  if (tx.exec_params(fail_tender_sql, tender_id, reason).affected_rows() != 1) return false;
  const json::object payload{
      {"min_bids", min_bids}, {"most_bids", most}, {"reason", reason}, {"tender_id", tender_id}};
  const auto text = canonical_json(payload);
  audit(tx, actor, "system", "tender.failed", tender_id, text);
  feed_tx::append(tx, tender_id, "tender.failed", text);
  return true;
}

}  // namespace tender::db
