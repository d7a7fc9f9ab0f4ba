#pragma once

// Bid submission (docs/SUBMISSION.md): resumable tus 1.0 uploads of sealed bid files, the bid
// receipt, the caller's current bid, withdrawal, the decryption rehearsal, the list of bids and
// the deadline seal. Free functions on a signed-in client. Each throws client::error with the
// server's code (upload.*, bid.*, auth.*, tender.*, request.*) unless the server answers as
// expected, and client.bad_response for an answer of the wrong shape. Nothing here verifies a
// receipt or a seal: that is crypto's job (`tender verify-receipt`, `tender verify-seal`).

#include <tender/client/client.hpp>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tender::client::bids {

// The tus protocol version every request and response carries (Tus-Resumable).
inline constexpr const char* tus_version = "1.0.0";

// The bid subject of a lot: "<tender id>/<lot no>" (what a sealed file's tender_id must be).
std::string subject(const std::string& tender_id, int lot);

// OPTIONS /api/v1/uploads (no login needed).
struct server_capabilities {
  std::string tus_version;              // Tus-Version
  std::vector<std::string> extensions;  // Tus-Extension
  std::uint64_t max_size = 0;           // Tus-Max-Size
};
server_capabilities capabilities(client& c);

struct upload_created {
  std::string upload_id;  // "u-" + 16 hex
  std::string location;   // "/api/v1/uploads/{upload_id}"
  std::uint64_t length = 0;
  std::uint64_t offset = 0;
};

// POST /api/v1/tenders/{id}/lots/{lot}/uploads with Upload-Length = `length`. `filename` and
// `client_version` go into Upload-Metadata (base64 values); the client version is also sent as
// the Tender-Client header.
upload_created create_upload(client& c, const std::string& tender_id, int lot, std::uint64_t length,
                             const std::string& filename = {},
                             const std::string& client_version = {});

// HEAD /api/v1/uploads/{id}: the offset the server has durably stored (resume from there).
struct upload_offset {
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
};
upload_offset head(client& c, const std::string& upload_id);

struct patch_result {
  std::uint64_t offset = 0;  // Upload-Offset of the answer
  // Set by the PATCH that delivered the last byte (the bid is recorded): the receipt's path,
  // "/api/v1/uploads/{id}/receipt" (Tender-Bid-Receipt).
  std::optional<std::string> receipt_location;
};

// PATCH /api/v1/uploads/{id} with `bytes` at `offset` (Content-Type:
// application/offset+octet-stream). A refused completion throws the bid.* code (422).
patch_result patch(client& c, const std::string& upload_id, std::uint64_t offset,
                   std::string_view bytes);

// Called after each acknowledged PATCH with the bytes stored so far and the total.
using progress_fn = std::function<void(std::uint64_t done, std::uint64_t total)>;

// Sends bytes [offset, file size) of `file` in PATCHes of at most `chunk_size` bytes, asking HEAD
// first for the server's offset (so a resumed upload skips what is stored). Returns the last
// PATCH's result (receipt_location set when the upload completed).
patch_result send_file(client& c, const std::string& upload_id, const std::filesystem::path& file,
                       const progress_fn& progress = {},
                       std::size_t chunk_size = std::size_t{8} << 20);

// DELETE /api/v1/uploads/{id}: terminates an unfinished upload.
void terminate(client& c, const std::string& upload_id);

// The receipt of a recorded bid (type tenderhall.bid_receipt, version 1; docs/SUBMISSION.md).
struct receipt {
  std::string json;  // the receipt document as received: keep it, it is what verifiers read
  std::string note;  // the signed receipt note
  std::uint64_t log_index = 0;
  std::string leaf_data;  // raw bytes of the audit leaf
  std::string payload;    // the canonical payload JSON of the bid.submitted event
  std::vector<std::string> inclusion_proof;  // raw 32-byte hashes
  std::string checkpoint;                    // signed checkpoint note covering log_index
};
// Parses a receipt document (client.bad_response when it has the wrong shape).
receipt parse_receipt(std::string_view json);

// GET /api/v1/uploads/{id}
struct upload_status {
  std::string upload_id;
  std::string tender_id;
  int lot = 0;
  std::string state;  // open | complete | rejected | terminated | void
  std::uint64_t length = 0;
  std::uint64_t offset = 0;
  std::optional<std::string> reject_code;
  std::optional<std::string> reject_message;
  std::optional<receipt> bid_receipt;  // when complete
};
upload_status status(client& c, const std::string& upload_id);

// GET /api/v1/uploads/{id}/receipt
receipt get_receipt(client& c, const std::string& upload_id);

// Seals nothing; uploads an already sealed file whole: create (or resume `resume_upload_id`),
// send, and fetch the receipt.
receipt upload_file(client& c, const std::string& tender_id, int lot,
                    const std::filesystem::path& sealed_file, const progress_fn& progress = {},
                    const std::optional<std::string>& resume_upload_id = std::nullopt,
                    const std::string& client_version = {});

// GET /api/v1/tenders/{id}/lots/{lot}/bids/mine (bid.not_found when there is none).
struct my_bid {
  std::int64_t bid_id = 0;
  std::string tender_id;
  int lot = 0;
  std::string status;  // current
  std::string upload_id;
  std::string file_digest;        // SHA-256 of the sealed file, hex
  std::string ciphertext_digest;  // the trailer's, hex
  std::uint64_t size = 0;
  std::string received_at;
  std::uint64_t log_index = 0;
  bool rehearsed = false;
  std::optional<std::string> rehearsed_at;
  receipt bid_receipt;
};
my_bid mine(client& c, const std::string& tender_id, int lot);

// DELETE .../bids/mine
struct withdrawal {
  std::string withdrawn_at;
  std::uint64_t log_index = 0;
};
withdrawal withdraw(client& c, const std::string& tender_id, int lot);

// POST .../bids/mine/rehearsal-challenge
struct rehearsal_challenge {
  std::string challenge_id;
  std::string challenge;  // the raw challenge bytes to sign with the rehearsal key
  std::string expires_at;
};
rehearsal_challenge rehearsal_challenge_for(client& c, const std::string& tender_id, int lot);

// POST .../bids/mine/rehearsal with the raw signature (crypto::sealed::sign_rehearsal).
struct rehearsal_confirmation {
  std::string confirmation;  // signed note
  std::string rehearsed_at;
  std::uint64_t log_index = 0;
};
rehearsal_confirmation confirm_rehearsal(client& c, const std::string& tender_id, int lot,
                                         const std::string& challenge_id,
                                         std::string_view signature);

// GET /api/v1/tenders/{id}/lots/{lot}/bids (tenderer, center staff, supervisor, admin).
struct listed_bid {
  std::string bidder;
  std::string ciphertext_digest;
  std::uint64_t size = 0;
  std::string received_at;
  bool rehearsed = false;
  std::optional<std::string> guarantee_status;
};
struct bid_list {
  std::int64_t count = 0;
  bool deadline_passed = false;
  std::vector<listed_bid>
      bids;  // empty until the bidder list is published (supervisors: the deadline)
};
bid_list list(client& c, const std::string& tender_id, int lot);

// GET /api/v1/tenders/{id}/lots/{lot}/bid-seal (public after the deadline).
struct bid_seal {
  std::string json;  // as received
  std::string subject;
  std::string deadline;
  std::int64_t count = 0;
  std::vector<std::string> digests;  // sorted lower-case hex ciphertext digests
  std::string root;                  // base64
  std::string note;                  // signed note
};
bid_seal parse_seal(std::string_view json);
bid_seal seal(client& c, const std::string& tender_id, int lot);

}  // namespace tender::client::bids
