#include <tender/crypto/draw.hpp>
#include <tender/crypto/error.hpp>

#include "text_checks.hpp"

#include <sodium.h>

#include <algorithm>
#include <limits>
#include <unordered_set>
#include <utility>

namespace tender::crypto {

namespace {

void put_u32(bytes& out, std::uint64_t v) {
  for (int shift = 24; shift >= 0; shift -= 8)
    out.push_back(static_cast<std::uint8_t>(v >> shift));
}

void put_str(bytes& out, byte_view s) {
  put_u32(out, s.size());
  out.insert(out.end(), s.begin(), s.end());
}

// Messages name positions, never ids: expert identities stay sealed until a draw is settled, and
// error text travels to logs and clients.
void check_id(const std::string& id, const char* list, std::size_t position) {
  if (id.empty()) {
    throw error(draw_err_empty_id,
                std::string(list) + " #" + std::to_string(position) + " is empty");
  }
  // Ids are hashed as their UTF-8 bytes; insisting on clean text keeps them unambiguous in the
  // published record and in any other language's string type.
  if (id.size() > draw_max_id_bytes || !detail::valid_utf8_no_controls(id)) {
    throw error(draw_err_bad_id,
                std::string(list) + " #" + std::to_string(position) +
                    " is longer than 256 bytes, not UTF-8 or has a control character");
  }
}

}  // namespace

void validate_draw_inputs(const draw_inputs& inputs) {
  if (inputs.seed_materials.empty()) {
    throw error(draw_err_no_seed_material, "a draw needs at least one seed material");
  }
  if (inputs.seed_materials.size() > draw_max_seed_materials) {
    throw error(draw_err_too_many_seed_materials, "too many seed materials");
  }
  std::unordered_set<std::string_view> labels;
  for (const auto& m : inputs.seed_materials) {
    // Labels are public protocol names ("host_reveal"), so they may appear in messages.
    if (m.label.empty() || m.label.size() > draw_max_label_bytes ||
        !detail::valid_utf8_no_controls(m.label)) {
      throw error(draw_err_bad_seed_label, "seed labels are 1 to 64 bytes of text");
    }
    if (!labels.insert(m.label).second) {
      throw error(draw_err_duplicate_seed_label, "seed label \"" + m.label + "\" appears twice");
    }
    if (m.value.size() > draw_max_value_bytes) {
      throw error(draw_err_seed_value_too_long,
                  "seed value \"" + m.label + "\" exceeds 4096 bytes");
    }
  }

  if (inputs.candidates.size() > draw_max_candidates) {
    throw error(draw_err_too_many_candidates, "more than 100000 candidates");
  }
  std::unordered_set<std::string_view> candidates;
  candidates.reserve(inputs.candidates.size());
  for (std::size_t i = 0; i < inputs.candidates.size(); ++i) {
    const std::string& id = inputs.candidates[i];
    check_id(id, "candidate", i);
    if (!candidates.insert(id).second) {
      throw error(draw_err_duplicate_candidate,
                  "candidate #" + std::to_string(i) + " repeats an earlier one");
    }
  }
  std::unordered_set<std::string_view> excluded;
  for (std::size_t i = 0; i < inputs.exclusions.size(); ++i) {
    const std::string& id = inputs.exclusions[i];
    check_id(id, "exclusion", i);
    if (!excluded.insert(id).second) {
      throw error(draw_err_duplicate_exclusion,
                  "exclusion #" + std::to_string(i) + " repeats an earlier one");
    }
    // An exclusion that names no candidate is most likely a typo, and a typo here would let the
    // very person who had to be avoided be drawn.
    if (candidates.count(id) == 0) {
      throw error(draw_err_unknown_exclusion,
                  "exclusion #" + std::to_string(i) + " is not a candidate");
    }
  }

  if (inputs.count == 0) throw error(draw_err_bad_count, "a draw selects at least one candidate");
  const std::size_t available = inputs.candidates.size() - inputs.exclusions.size();
  if (inputs.count > available) {
    throw error(draw_err_count_exceeds_candidates, "cannot draw " + std::to_string(inputs.count) +
                                                       " from " + std::to_string(available) +
                                                       " available candidates");
  }
}

bytes encode_draw_inputs(const draw_inputs& inputs) {
  validate_draw_inputs(inputs);
  bytes out;
  put_str(out, as_bytes(draw_domain));
  put_u32(out, inputs.seed_materials.size());
  for (const auto& m : inputs.seed_materials) {
    put_str(out, as_bytes(m.label));
    put_str(out, m.value);
  }
  put_u32(out, inputs.candidates.size());
  for (const auto& id : inputs.candidates)
    put_str(out, as_bytes(id));
  put_u32(out, inputs.exclusions.size());
  for (const auto& id : inputs.exclusions)
    put_str(out, as_bytes(id));
  put_u32(out, inputs.count);
  return out;
}

sha256_digest draw_seed(const draw_inputs& inputs) {
  return sha256(encode_draw_inputs(inputs));
}

draw_result run_draw(const draw_inputs& inputs) {
  draw_result result;
  result.seed = draw_seed(inputs);  // validates
  result.inputs = inputs;

  const std::unordered_set<std::string_view> excluded(inputs.exclusions.begin(),
                                                      inputs.exclusions.end());
  std::vector<const std::string*> pool;
  pool.reserve(inputs.candidates.size());
  for (const auto& id : inputs.candidates) {
    if (excluded.count(id) == 0) pool.push_back(&id);
  }

  draw_stream stream(result.seed);
  const std::uint64_t n = pool.size();
  for (std::uint64_t i = 0; i < inputs.count; ++i) {
    const std::uint64_t j = i + stream.uniform(n - i);
    std::swap(pool[i], pool[j]);
  }
  result.selected.reserve(inputs.count);
  for (std::uint64_t i = 0; i < inputs.count; ++i)
    result.selected.push_back(*pool[i]);
  return result;
}

bool verify_draw(const draw_inputs& inputs, std::span<const std::string> claimed) {
  const draw_result recomputed = run_draw(inputs);
  return std::equal(recomputed.selected.begin(), recomputed.selected.end(), claimed.begin(),
                    claimed.end());
}

std::uint64_t draw_stream::next_word() {
  const std::uint64_t word_in_block = words_used_ % 4;
  if (word_in_block == 0) {
    const std::uint64_t counter = words_used_ / 4;
    std::uint8_t message[8];
    for (int k = 0; k < 8; ++k)
      message[k] = static_cast<std::uint8_t>(counter >> (56 - 8 * k));
    static_assert(crypto_auth_hmacsha256_KEYBYTES == 32);
    crypto_auth_hmacsha256(block_, message, sizeof message, seed_.data());
  }
  std::uint64_t word = 0;
  for (std::uint64_t k = 0; k < 8; ++k)
    word = (word << 8) | block_[word_in_block * 8 + k];
  ++words_used_;
  return word;
}

std::uint64_t draw_stream::uniform(std::uint64_t m) {
  if (m == 0) throw error(draw_err_bad_range, "uniform() needs a non-empty range");
  // 2^64 mod m, computed without 128-bit arithmetic: (2^64 - m) mod m. Words at or above
  // 2^64 - rem = floor(2^64 / m) * m would make the low residues more likely; they are redrawn.
  const std::uint64_t rem = (std::uint64_t{0} - m) % m;
  const std::uint64_t max_accepted = std::numeric_limits<std::uint64_t>::max() - rem;
  for (;;) {
    const std::uint64_t x = next_word();
    if (x <= max_accepted) return x % m;
  }
}

}  // namespace tender::crypto
