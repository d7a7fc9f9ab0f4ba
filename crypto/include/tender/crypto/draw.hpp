#pragma once

// Verifiable draws (expert draws, social-supervisor draws, the discount-rate draw at opening).
// Everything is specified byte by byte in protocol/docs/verifiable-draw.md so that a supervisor
// can recompute any draw in a few lines of another language. In short (version 1):
//
//   str(s)     = u32be(len(s)) || s
//   transcript = str("tenderhall/draw/v1")
//                || u32be(#materials)  || str(label) || str(value)   for each seed material
//                || u32be(#candidates) || str(id)                    for each candidate
//                || u32be(#exclusions) || str(id)                    for each exclusion
//                || u32be(count)
//   seed       = SHA-256(transcript)
//   stream     = HMAC-SHA256(seed, u64be(0)) || HMAC-SHA256(seed, u64be(1)) || ...
//                read as consecutive big-endian 64-bit words
//   uniform(m) = first word x with x < floor(2^64 / m) * m, reduced mod m   (rejection sampling)
//   pool       = candidates minus exclusions, in the given order
//   for i in 0 .. count-1: swap(pool[i], pool[i + uniform(len(pool) - i)])  (partial Fisher-Yates)
//   selection  = pool[0 .. count-1], in that order
//
// Everything is hashed in the order given: the candidate list is published before the draw, so
// its order is part of what is announced. To get ordered replacements, draw primaries plus
// reserves in one draw (count = k + r): the first k are selected, the rest are the replacements
// in order.

#include <tender/crypto/bytes.hpp>
#include <tender/crypto/digest.hpp>

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace tender::crypto {

// Error codes (crypto::error::code()).
inline constexpr const char* draw_err_no_seed_material = "draw.no_seed_material";
inline constexpr const char* draw_err_bad_seed_label =
    "draw.bad_seed_label";  // empty, not text, too long
inline constexpr const char* draw_err_duplicate_seed_label = "draw.duplicate_seed_label";
inline constexpr const char* draw_err_seed_value_too_long = "draw.seed_value_too_long";
inline constexpr const char* draw_err_too_many_seed_materials = "draw.too_many_seed_materials";
inline constexpr const char* draw_err_empty_id = "draw.empty_id";
inline constexpr const char* draw_err_bad_id = "draw.bad_id";  // not UTF-8, control char, too long
inline constexpr const char* draw_err_duplicate_candidate = "draw.duplicate_candidate";
inline constexpr const char* draw_err_too_many_candidates = "draw.too_many_candidates";
inline constexpr const char* draw_err_duplicate_exclusion = "draw.duplicate_exclusion";
inline constexpr const char* draw_err_unknown_exclusion =
    "draw.unknown_exclusion";                                        // not a candidate
inline constexpr const char* draw_err_bad_count = "draw.bad_count";  // count == 0
inline constexpr const char* draw_err_count_exceeds_candidates = "draw.count_exceeds_candidates";
inline constexpr const char* draw_err_bad_range = "draw.bad_range";  // uniform(0)

// Limits, part of version 1 of the algorithm: a verifier applies the same ones.
inline constexpr std::size_t draw_max_candidates = 100'000;
inline constexpr std::size_t draw_max_id_bytes = 256;
inline constexpr std::size_t draw_max_seed_materials = 64;
inline constexpr std::size_t draw_max_label_bytes = 64;
inline constexpr std::size_t draw_max_value_bytes = 4096;

inline constexpr std::string_view draw_domain = "tenderhall/draw/v1";

// One published input to the seed: {"checkpoint_root", root}, {"host_reveal", nonce},
// {"representative:<id>", nonce}, {"draw_id", ...}. Labels are unique text; values are bytes
// (empty is allowed, e.g. for a reveal that never came, which the transcript then records).
struct draw_seed_material {
  std::string label;
  bytes value;
  friend bool operator==(const draw_seed_material&, const draw_seed_material&) = default;
};

struct draw_inputs {
  std::vector<draw_seed_material> seed_materials;
  std::vector<std::string> candidates;  // ids, unique, in the published order
  std::vector<std::string> exclusions;  // ids of candidates to avoid (conflicts, unavailability)
  std::uint32_t count = 0;
  friend bool operator==(const draw_inputs&, const draw_inputs&) = default;
};

struct draw_result {
  draw_inputs inputs;  // echoed so the published record is self-contained
  sha256_digest seed{};
  std::vector<std::string> selected;  // in draw order
};

// Checks every rule and limit above; throws crypto::error with a draw.* code.
void validate_draw_inputs(const draw_inputs& inputs);
// The canonical transcript (validated) and its hash.
bytes encode_draw_inputs(const draw_inputs& inputs);
sha256_digest draw_seed(const draw_inputs& inputs);

draw_result run_draw(const draw_inputs& inputs);
// Recomputes the draw: true when `claimed` is exactly the selection, in order; false otherwise.
// Throws (like run_draw) when the inputs themselves break the rules.
bool verify_draw(const draw_inputs& inputs, std::span<const std::string> claimed);

// The deterministic bit stream behind a draw, exposed for tests and for tools that show the
// intermediate values of a draw step by step.
class draw_stream {
public:
  explicit draw_stream(const sha256_digest& seed) : seed_(seed) {}
  // The next big-endian 64-bit word of HMAC-SHA256(seed, u64be(0)) || HMAC-SHA256(seed, u64be(1))
  // ...
  std::uint64_t next_word();
  // Uniform in [0, m) by rejection sampling; m >= 1 (draw_err_bad_range otherwise).
  std::uint64_t uniform(std::uint64_t m);
  std::uint64_t words_used() const { return words_used_; }

private:
  sha256_digest seed_;
  std::uint8_t block_[32]{};
  std::uint64_t words_used_ =
      0;  // block counter = words_used_ / 4, word in block = words_used_ % 4
};

}  // namespace tender::crypto
