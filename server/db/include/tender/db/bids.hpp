#pragma once

// Bid submission records (migration 0010_bids.sql, docs/design/submission.md): tus uploads, the
// bids they become, withdrawals, decryption rehearsals and the lists and seals read back. The
// files themselves (partial uploads, blobs) are the caller's (tender::storage); the sealed file is
// verified by the caller before record() is asked to store what was verified.
//
// Every mutation of a bid is one transaction with exactly one audit event (bid.submitted,
// bid.withdrawn, bid.rehearsed). Upload bookkeeping (create, offset, terminate, reject) is not
// audited: only what becomes a bid is, and the seal at the deadline covers the rest.
//
// Refusals throw db::error with a public code name: tender.not_found, auth.forbidden,
// upload.not_found, upload.gone, upload.too_large, upload.quota_exceeded,
// upload.tender_quota_exceeded, upload.incomplete,
// bid.deadline_passed (database clock), bid.not_accepting, bid.not_found,
// bid.rehearsal_failed. Nothing changes on a refusal.

#include <tender/db/identity.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace tender::crypto::note {
class ed25519_signer;
}

namespace pqxx {
class transaction_base;
}

namespace tender::db {

class pool;

struct upload_info {
  std::string id;
  std::string tender_id;
  int lot_no = 0;
  std::string bidder_org;
  std::string user_id;
  std::uint64_t length = 0;
  std::uint64_t offset = 0;
  std::string state;  // open | complete | rejected | terminated | void
  std::optional<std::string> reject_code;
  std::optional<std::string> reject_message;
  std::optional<std::int64_t> bid_id;
  std::optional<std::string> receipt;  // JSON text, when complete
  std::string source_ip;
  std::optional<std::string> client_version;
  std::string created_at;
};

// What completion checks need about the tender of an upload.
struct bid_requirements {
  std::string key_policy;                   // bidder_only | bidder_or_escrow | bidder_and_escrow
  std::optional<std::string> escrow_setup;  // the escrow setup JSON text, when the tender has one
};

// What a verified sealed file contributes to its bid record.
struct verified_bid {
  std::string upload_id;
  std::string blob_digest;        // SHA-256 of the whole file, hex
  std::string ciphertext_digest;  // the trailer's, hex
  std::string header_digest;      // hex
  std::uint64_t size = 0;
  std::string suite;   // sodium | gm
  std::string policy;  // bidder | bidder-or-escrow | bidder-and-escrow
  std::string signer_fingerprint;
  std::string rehearsal_public_key;  // raw bytes
  std::string header;                // the exact header bytes
};

struct recorded_bid {
  std::int64_t bid_id = 0;
  std::string subject;  // "<tender id>/<lot>"
  std::string bidder;   // organisation id
  std::string upload_id;
  std::string ciphertext_digest;
  std::string file_digest;
  std::uint64_t size = 0;
  std::string received_at;  // UTC, microseconds
  std::uint64_t log_index = 0;
  std::string payload;  // the canonical JSON whose digest the audit event carries
};

class bids {
public:
  struct options {
    std::uint64_t max_upload_bytes = 8ull << 30;
    std::uint64_t bidder_quota_bytes = 16ull << 30;
    // Bytes one organisation may have stored for one tender: every bid it submitted (current,
    // replaced or withdrawn: their files are kept until the opening record) and its open uploads.
    std::uint64_t tender_quota_bytes = 32ull << 30;
    // Signs rehearsal confirmations and bid seal notes (the audit log's key). Required.
    std::shared_ptr<const crypto::note::ed25519_signer> signer;
    // The CA revocation lists a signer's certificate is checked against (check_signer).
    revocation_source revocations;
  };

  bids(pool& connections, options opts);

  const options& settings() const { return opts_; }

  struct create_request {
    std::string tender_id;
    int lot_no = 0;
    std::uint64_t length = 0;
    std::string metadata_json = "{}";  // object of decoded Upload-Metadata values
    std::string source_ip;
    std::optional<std::string> client_version;
  };
  // A new open upload. Refused after the deadline, beyond the maximum size or the org's quota.
  boost::asio::awaitable<upload_info> create_upload(principal who, create_request req);

  // The caller's organisation's upload (upload.not_found for any other).
  boost::asio::awaitable<upload_info> upload(principal who, std::string upload_id);

  // Before a PATCH: the upload must be the caller's and open, the tender still taking bids
  // (upload.gone, bid.deadline_passed, bid.not_accepting). Returns the upload.
  boost::asio::awaitable<upload_info> begin_patch(principal who, std::string upload_id);
  // The moment the last byte of an upload arrived, on the database clock, taken before the file
  // is synced and verified so that no queue can make a timely bid late (issue 15 §3). Kept when
  // already set (a retried completion). `late`: at or after the tender's deadline. The statement
  // holds the tender row shared, so the deadline's seal (which locks it) either sees the stamp or
  // comes before it.
  struct last_byte {
    bool late = false;
    std::string at;  // RFC 3339 with microseconds, UTC
  };
  boost::asio::awaitable<last_byte> stamp_last_byte(std::string upload_id);
  // Records the acknowledged (fsynced) offset of an open upload.
  boost::asio::awaitable<void> set_offset(std::string upload_id, std::uint64_t offset);
  // Termination of an unfinished upload (upload.gone when it is not open any more).
  boost::asio::awaitable<void> terminate(principal who, std::string upload_id);
  // A refused completion: the upload becomes rejected with the code and message.
  boost::asio::awaitable<void> reject(std::string upload_id, std::string code, std::string message);

  boost::asio::awaitable<bid_requirements> requirements(std::string tender_id);
  // Whether `fingerprint` may sign a bid of organisation `org` now: an unrevoked key of a user of
  // `org` (else bid.unknown_signer) whose registered certificate, if it has one, is in force
  // (else certificate.expired, certificate.not_yet_valid or certificate.revoked; see
  // certificates.hpp). nullopt when it may.
  struct signer_refusal {
    std::string code;
    std::string message;  // completes "the file is signed by key <fingerprint>, "
  };
  boost::asio::awaitable<std::optional<signer_refusal>> check_signer(std::string org,
                                                                     std::string fingerprint);

  // One SERIALIZABLE transaction (retried on serialization failures): deadline check on the
  // database clock, the previous current bid replaced, the new bid inserted, bid.submitted
  // audited, the upload completed.
  boost::asio::awaitable<recorded_bid> record(principal who, verified_bid bid);
  boost::asio::awaitable<void> store_receipt(std::int64_t bid_id, std::string receipt_json);
  // A recorded bid as record() returned it (to rebuild a receipt lost to a crash).
  boost::asio::awaitable<recorded_bid> recorded(std::int64_t bid_id);

  boost::asio::awaitable<boost::json::object> mine(principal who, std::string tender_id, int lot);
  boost::asio::awaitable<boost::json::object> withdraw(principal who, std::string tender_id,
                                                       int lot);
  boost::asio::awaitable<boost::json::object> rehearsal_challenge(principal who,
                                                                  std::string tender_id, int lot);
  // `signature`: raw bytes.
  boost::asio::awaitable<boost::json::object> rehearse(principal who, std::string tender_id,
                                                       int lot, std::string challenge_id,
                                                       std::string signature);
  boost::asio::awaitable<boost::json::object> list(principal who, std::string tender_id, int lot);
  // The lot's seal (bid.not_found before the deadline has sealed it). Public.
  boost::asio::awaitable<boost::json::object> seal(std::string tender_id, int lot);

  // Garbage collection support: ids of uploads that are open, and every blob digest still
  // needed: current bids, hall backups and attempts, and replaced or withdrawn bids until their
  // tender's signed opening record exists.
  boost::asio::awaitable<std::vector<std::string>> open_upload_ids();
  boost::asio::awaitable<std::vector<std::string>> referenced_blobs();

private:
  pool& pool_;
  options opts_;
};

// The deadline seal inside the scheduler's transaction (called by the tender.deadline handler
// after the tender moved published → closed): open uploads become void, each lot's current bids
// are sealed (bid_seals, audit and feed bids.sealed, note signed with `signer` when given), and
// the tender goes on to failed when no lot has the rule pack's min_bids. Returns true when the
// tender failed.
bool seal_tender_bids(pqxx::transaction_base& tx, const std::string& tender_id,
                      const std::string& actor, const crypto::note::ed25519_signer* signer);

// The note texts (each ends in a newline), shared with tests and verifiers.
std::string bid_receipt_note_text(const recorded_bid& b);
std::string bid_seal_note_text(const std::string& subject, const std::string& deadline,
                               std::int64_t count, const std::string& root_base64);

}  // namespace tender::db
