#pragma once

// The opening record file of hall-protocol.md §12, checked offline.
//
// The file is {"record":{…},"digest":"<hex>","note":"<signed note>","log_index":N}. `digest` is
// the hex SHA-256 of the canonical JSON (canonical_json.hpp) of `record`; the note, signed by the
// audit log's key, has the text note_text(tender_id, digest). Each confirmation in
// record.confirmations carries the bidder's signature over the hall-protocol.md §8 message of
// `confirm` (payload: record.record_digest) and the signing key, so it can be checked too.

#include <tender/crypto/signed_note.hpp>

#include <boost/json/value.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace tender::crypto {

inline constexpr const char* record_err_bad_format = "record.bad_format";
inline constexpr const char* record_err_digest_mismatch = "record.digest_mismatch";
inline constexpr const char* record_err_bad_note = "record.bad_note";
inline constexpr const char* record_err_bad_signature = "record.bad_signature";
inline constexpr const char* record_err_confirmation_bad_signature =
    "record.confirmation_bad_signature";

inline constexpr std::string_view record_format = "tenderhall-opening-record/v1";

// Hex SHA-256 of the canonical JSON of `record` (an object).
std::string record_digest(const boost::json::value& record);

// "tenderhall opening record v1\n<tender_id>\n<digest>\n"
std::string note_text(std::string_view tender_id, std::string_view digest);

// The hall-protocol.md §8 message a signed hall action signs.
std::string hall_signed_message(std::string_view tender_id, std::string_view action,
                                std::string_view challenge_id, std::string_view challenge_b64,
                                std::string_view payload);

struct record_check {
  std::string tender_id;
  std::string digest;         // of the record (verified)
  std::string record_digest;  // of the announcement (what bidders signed)
  std::int64_t log_index = 0;
  std::string signed_by;                   // the note key's name
  std::size_t confirmations = 0;           // in the record
  std::size_t confirmations_verified = 0;  // whose signature was checked and holds
};

// Parses `text` as a record file and checks: the format, the digest, the note's text and its
// signature by `log_key`, and every confirmation signature (each must verify). Throws
// crypto::error with a record.* code on the first failure.
record_check verify_record_file(std::string_view text, const note::verifier_key& log_key);

}  // namespace tender::crypto
