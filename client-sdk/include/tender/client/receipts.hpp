#pragma once

// Offline verification of what a bidder takes home from a submission
// (protocol/docs/bid-receipt.md):
//
//   - a bid receipt (`tenderhall.bid_receipt` v1): the signed receipt note, the audit-log leaf of
//     the `bid.submitted` event, its inclusion proof and a signed checkpoint. Checked with the
//     audit log's verifier key only; optionally against the sealed file itself.
//   - a bid seal (the deadline checkpoint over a lot's sealed-bid digests): the root recomputed
//     from the digests, the signed seal note, and whether a given bid's digest is in the list.
//
// No network: every function here works on the documents and the verifier key. Each failure
// throws receipts::error with one of the stable codes below; nothing returns "false".

#include <tender/protocol/coded_error.hpp>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tender::client::receipts {

namespace codes {
// Receipts.
inline constexpr const char* receipt_malformed = "receipt.malformed";  // not a v1 receipt document
inline constexpr const char* receipt_bad_signature =
    "receipt.bad_signature";  // the receipt note is not signed by the log key
inline constexpr const char* receipt_bad_checkpoint =
    "receipt.bad_checkpoint";  // checkpoint not signed by the log key, or not a checkpoint
inline constexpr const char* receipt_leaf_mismatch =
    "receipt.leaf_mismatch";  // leaf is not this bid's `bid.submitted` event at log_index
inline constexpr const char* receipt_payload_mismatch =
    "receipt.payload_mismatch";  // SHA-256(payload) not in the leaf, or payload fields != note
inline constexpr const char* receipt_proof_mismatch =
    "receipt.proof_mismatch";  // the leaf is not in the checkpoint's tree
inline constexpr const char* receipt_file_mismatch =
    "receipt.file_mismatch";  // the sealed file is not the one the receipt names
// Seals.
inline constexpr const char* seal_malformed = "seal.malformed";  // not a seal document
inline constexpr const char* seal_bad_signature =
    "seal.bad_signature";  // the seal note is not signed by the log key
inline constexpr const char* seal_note_mismatch =
    "seal.note_mismatch";  // the signed note says another subject/deadline/count/root
inline constexpr const char* seal_count_mismatch =
    "seal.count_mismatch";  // count != number of digests
inline constexpr const char* seal_not_sorted =
    "seal.not_sorted";  // digests not in strictly ascending order
inline constexpr const char* seal_root_mismatch =
    "seal.root_mismatch";  // the digests do not give the root
inline constexpr const char* seal_not_included =
    "seal.not_included";  // the bid's digest is not in the sealed list
}  // namespace codes

class error : public protocol::coded_error {
public:
  using coded_error::coded_error;
};

// The facts a receipt attests, as its signed note states them (hex digests in lower case).
struct receipt_facts {
  std::string subject;  // "<tender id>/<lot>"
  std::string tender_id;
  std::uint64_t lot = 0;
  std::string bidder;
  std::string upload_id;
  std::string ciphertext_digest;  // the trailer's ciphertext digest, hex
  std::string file_digest;        // SHA-256 of the whole sealed file, hex
  std::uint64_t size = 0;         // bytes of the sealed file
  std::string received_at;        // "YYYY-MM-DDTHH:MM:SS.ffffffZ", database clock
  std::uint64_t log_index = 0;
};

struct verified_receipt {
  receipt_facts facts;
  std::string signer;  // "<key name>+<8 hex id>" that signed the note
  // From the audit leaf and the payload.
  std::string event_time;  // the audit event's time
  std::string actor;       // the user who uploaded
  std::string role;
  std::optional<std::string> source_ip;
  std::optional<std::string> client_version;
  // The checkpoint the inclusion proof was checked against.
  std::string checkpoint_origin;
  std::uint64_t checkpoint_size = 0;
  std::string checkpoint_root;  // base64, as in the checkpoint
};

// What the verifier needs from a sealed file: its SHA-256, the ciphertext digest and its size.
struct sealed_file_facts {
  std::string file_digest;        // hex
  std::string ciphertext_digest;  // hex, recomputed by crypto::sealed::verify
  std::uint64_t size = 0;
};

// Reads the file once for its SHA-256 and once through crypto::sealed::verify (structure, header
// digest, ciphertext digest, bidder signature). Throws sealed.* (crypto::error) when the file is
// not a valid sealed bid, receipt.file_mismatch when it cannot be read.
sealed_file_facts examine_sealed_file(const std::filesystem::path& path);

// Verifies a receipt document (its JSON text) with the audit log's verifier keys
// ("<name>+<id>+<base64>"; at least one). With `file`, also checks that the sealed file is the
// one received. Throws error (codes above) or crypto::error for an unparsable verifier key.
verified_receipt verify_receipt(std::string_view receipt_json,
                                const std::vector<std::string>& verifier_keys,
                                const std::optional<sealed_file_facts>& file = std::nullopt);

// A lot's deadline seal as GET .../bid-seal returns it.
struct verified_seal {
  std::string subject;
  std::string deadline;  // "YYYY-MM-DDTHH:MM:SSZ"
  std::uint64_t count = 0;
  std::vector<std::string> digests;  // sorted hex ciphertext digests
  std::string root;                  // base64
  std::string signer;
  std::optional<std::uint64_t> position;  // index of the looked-for digest, when one was given
};

// Verifies a seal document with the log's verifier keys; with `digest` (a ciphertext digest, 64
// hex digits, either case), also that it is one of the sealed digests.
verified_seal verify_seal(std::string_view seal_json, const std::vector<std::string>& verifier_keys,
                          const std::optional<std::string>& digest = std::nullopt);

}  // namespace tender::client::receipts
