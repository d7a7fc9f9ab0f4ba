#include <tender/crypto/error.hpp>
#include <tender/crypto/merkle.hpp>

#include <sodium.h>

#include <algorithm>
#include <bit>
#include <optional>
#include <string>
#include <utility>

namespace tender::crypto::merkle {

namespace {

// Sizes above 2^63 would let (index + 1) << level overflow; no log here gets anywhere near.
constexpr std::uint64_t max_tree_size = std::uint64_t{1} << 63;

void check_size(std::uint64_t size) {
  if (size > max_tree_size) throw error(err_too_large, "tree size exceeds 2^63 leaves");
}

// k in RFC 6962: the largest power of two strictly below n (n >= 2).
std::uint64_t split_point(std::uint64_t n) {
  return std::uint64_t{1} << (std::bit_width(n - 1) - 1);
}

bool is_power_of_two(std::uint64_t n) {
  return std::has_single_bit(n);
}

// MTH(D[begin:end]) from perfect subtrees. Ranges produced by the RFC recursion always start at a
// multiple of the largest power of two not above their length, so each perfect piece is a node.
hash subtree_root(std::uint64_t begin, std::uint64_t end, const node_reader& read) {
  const std::uint64_t n = end - begin;
  if (is_power_of_two(n)) {
    const auto level = static_cast<unsigned>(std::countr_zero(n));
    return read(node_id{level, begin >> level});
  }
  const std::uint64_t k = split_point(n);
  // Left before right, in two statements: argument evaluation order is unspecified, and storage
  // behind the reader should see a predictable access order.
  const hash left = subtree_root(begin, begin + k, read);
  return node_hash(left, subtree_root(begin + k, end, read));
}

// PATH(m, D[begin:end]) with m absolute; deepest sibling first, as in RFC 6962 §2.1.1.
void append_path(std::uint64_t index, std::uint64_t begin, std::uint64_t end,
                 const node_reader& read, std::vector<hash>& out) {
  const std::uint64_t n = end - begin;
  if (n == 1) return;
  const std::uint64_t k = split_point(n);
  if (index < begin + k) {
    append_path(index, begin, begin + k, read, out);
    out.push_back(subtree_root(begin + k, end, read));
  } else {
    append_path(index, begin + k, end, read, out);
    out.push_back(subtree_root(begin, begin + k, read));
  }
}

// SUBPROOF(m, D[begin:end], complete) of RFC 6962 §2.1.2, m relative to begin.
void append_subproof(std::uint64_t m, std::uint64_t begin, std::uint64_t end, bool complete,
                     const node_reader& read, std::vector<hash>& out) {
  const std::uint64_t n = end - begin;
  if (m == n) {
    if (!complete) out.push_back(subtree_root(begin, end, read));
    return;
  }
  const std::uint64_t k = split_point(n);
  if (m <= k) {
    append_subproof(m, begin, begin + k, complete, read, out);
    out.push_back(subtree_root(begin + k, end, read));
  } else {
    append_subproof(m - k, begin + k, end, false, read, out);
    out.push_back(subtree_root(begin, begin + k, read));
  }
}

hash mth(std::span<const hash> leaves) {
  if (leaves.empty()) return empty_root();
  if (leaves.size() == 1) return leaves[0];
  const auto k = static_cast<std::size_t>(split_point(leaves.size()));
  return node_hash(mth(leaves.first(k)), mth(leaves.subspan(k)));
}

// The argument checks return the error code instead of throwing so that the non-throwing
// verifiers can share them; the throwing wrappers add the numbers to the message.
const char* inclusion_args_error(std::uint64_t index, std::uint64_t size) noexcept {
  if (size > max_tree_size) return err_too_large;
  if (size == 0) return err_empty_tree;
  if (index >= size) return err_index_out_of_range;
  return nullptr;
}

const char* consistency_args_error(std::uint64_t old_size, std::uint64_t new_size) noexcept {
  if (new_size > max_tree_size) return err_too_large;
  if (old_size > new_size) return err_size_order;
  if (old_size == 0) return err_empty_tree;
  return nullptr;
}

[[noreturn]] void throw_args(const char* code, std::uint64_t a, std::uint64_t b) {
  const std::string c(code);
  if (c == err_too_large) throw error(code, "tree size exceeds 2^63 leaves");
  if (c == err_empty_tree) throw error(code, "the empty tree has nothing to prove");
  if (c == err_index_out_of_range) {
    throw error(code,
                "leaf index " + std::to_string(a) + " is not below tree size " + std::to_string(b));
  }
  throw error(code, "old tree size " + std::to_string(a) + " is larger than new tree size " +
                        std::to_string(b));
}

void check_inclusion_args(std::uint64_t index, std::uint64_t size) {
  if (const char* code = inclusion_args_error(index, size)) throw_args(code, index, size);
}

void check_consistency_args(std::uint64_t old_size, std::uint64_t new_size) {
  if (const char* code = consistency_args_error(old_size, new_size)) {
    throw_args(code, old_size, new_size);
  }
}

// Below bit `inner` the paths to `index` and to the last leaf differ, so every level has a
// sibling; above it they share the right border, where only set bits of index have a left
// sibling (RFC 9162's loop skips the levels where the node is the last one).
std::size_t inclusion_length_unchecked(std::uint64_t index, std::uint64_t size) noexcept {
  const auto inner = static_cast<unsigned>(std::bit_width(index ^ (size - 1)));
  const auto border = static_cast<unsigned>(std::popcount(index >> inner));
  return inner + border;
}

// The proof is the inclusion path of the old tree's last perfect subtree inside the new tree,
// preceded by that subtree's own hash unless it is the whole old tree (old_size a power of two).
std::size_t consistency_length_unchecked(std::uint64_t old_size, std::uint64_t new_size) noexcept {
  if (old_size == new_size) return 0;
  const auto level = static_cast<unsigned>(std::countr_zero(old_size));
  const std::uint64_t node = (old_size - 1) >> level;
  const std::uint64_t width = ((new_size - 1) >> level) + 1;
  return inclusion_length_unchecked(node, width) + (is_power_of_two(old_size) ? 0 : 1);
}

void shift_both(std::uint64_t& fn, std::uint64_t& sn) noexcept {
  fn >>= 1;
  sn >>= 1;
}

// RFC 9162 §2.1.3.2, step by step; arguments already checked. Returns nullopt when the proof
// length does not fit the tree shape (the RFC's "sn is 0" guards, which stop one proof from
// validating several tree sizes). The exact-length check done first makes that unreachable;
// the guards stay as a second line of defence.
std::optional<hash> inclusion_root_unchecked(std::uint64_t index, std::uint64_t size,
                                             const hash& leaf,
                                             std::span<const hash> proof) noexcept {
  std::uint64_t fn = index;
  std::uint64_t sn = size - 1;
  hash r = leaf;
  for (const hash& p : proof) {
    if (sn == 0) return std::nullopt;
    if ((fn & 1) != 0 || fn == sn) {
      r = node_hash(p, r);
      while ((fn & 1) == 0 && fn != 0)
        shift_both(fn, sn);
    } else {
      r = node_hash(r, p);
    }
    shift_both(fn, sn);
  }
  if (sn != 0) return std::nullopt;
  return r;
}

}  // namespace

const char* inclusion_error(std::uint64_t index, std::uint64_t size, const hash& leaf,
                            std::span<const hash> proof, const hash& root) noexcept {
  if (const char* code = inclusion_args_error(index, size)) return code;
  if (proof.size() != inclusion_length_unchecked(index, size)) return err_bad_proof_length;
  const auto computed = inclusion_root_unchecked(index, size, leaf, proof);
  if (!computed) return err_bad_proof_length;
  if (*computed != root) return err_root_mismatch;
  return nullptr;
}

const char* consistency_error(std::uint64_t old_size, std::uint64_t new_size, const hash& old_root,
                              const hash& new_root, std::span<const hash> proof) noexcept {
  if (const char* code = consistency_args_error(old_size, new_size)) return code;
  if (proof.size() != consistency_length_unchecked(old_size, new_size)) return err_bad_proof_length;
  if (old_size == new_size) return old_root == new_root ? nullptr : err_root_mismatch;

  // RFC 9162 §2.1.4.2. When the old tree is a perfect subtree its root is the path's first node;
  // otherwise the proof starts with the old tree's last perfect subtree.
  const bool prepend_old_root = is_power_of_two(old_size);
  const auto node_at = [&](std::size_t i) -> const hash& {
    if (prepend_old_root) return i == 0 ? old_root : proof[i - 1];
    return proof[i];
  };
  const std::size_t path_size = proof.size() + (prepend_old_root ? 1 : 0);

  std::uint64_t fn = old_size - 1;
  std::uint64_t sn = new_size - 1;
  while ((fn & 1) != 0)
    shift_both(fn, sn);
  hash fr = node_at(0);
  hash sr = node_at(0);
  for (std::size_t i = 1; i < path_size; ++i) {
    const hash& c = node_at(i);
    if (sn == 0) return err_bad_proof_length;
    if ((fn & 1) != 0 || fn == sn) {
      fr = node_hash(c, fr);
      sr = node_hash(c, sr);
      while ((fn & 1) == 0 && fn != 0)
        shift_both(fn, sn);
    } else {
      sr = node_hash(sr, c);
    }
    shift_both(fn, sn);
  }
  if (sn != 0) return err_bad_proof_length;
  if (fr != old_root || sr != new_root) return err_root_mismatch;
  return nullptr;
}

hash leaf_hash(byte_view entry) {
  crypto_hash_sha256_state st;
  crypto_hash_sha256_init(&st);
  const std::uint8_t prefix = 0x00;
  crypto_hash_sha256_update(&st, &prefix, 1);
  crypto_hash_sha256_update(&st, entry.data(), entry.size());
  hash out{};
  crypto_hash_sha256_final(&st, out.data());
  return out;
}

hash node_hash(const hash& left, const hash& right) {
  std::uint8_t buf[1 + 2 * 32];
  buf[0] = 0x01;
  std::copy(left.begin(), left.end(), buf + 1);
  std::copy(right.begin(), right.end(), buf + 1 + 32);
  hash out{};
  crypto_hash_sha256(out.data(), buf, sizeof buf);
  return out;
}

hash empty_root() {
  return sha256(std::string_view{});
}

hash hash_from_bytes(byte_view raw) {
  if (raw.size() != 32) {
    throw error(err_bad_hash, "a Merkle hash is 32 bytes, got " + std::to_string(raw.size()));
  }
  hash out{};
  std::copy(raw.begin(), raw.end(), out.begin());
  return out;
}

hash root_from_leaf_hashes(std::span<const hash> leaves) {
  check_size(leaves.size());
  return mth(leaves);
}

std::vector<hash> inclusion_proof(std::span<const hash> leaves, std::uint64_t index) {
  return inclusion_proof(index, leaves.size(), reader_from_leaf_hashes(leaves));
}

std::vector<hash> consistency_proof(std::span<const hash> leaves, std::uint64_t old_size) {
  return consistency_proof(old_size, leaves.size(), reader_from_leaf_hashes(leaves));
}

namespace {

// The leaves [begin, end) under a node, refusing ids that would reach past 2^63 leaves.
std::pair<std::uint64_t, std::uint64_t> leaf_range(node_id id) {
  if (id.level > 63 || id.index >= (max_tree_size >> id.level)) {
    throw error(err_reader, "node id outside any supported tree");
  }
  const std::uint64_t begin = id.index << id.level;
  return {begin, begin + (std::uint64_t{1} << id.level)};
}

}  // namespace

node_reader reader_from_leaf_hashes(std::span<const hash> leaves) {
  return [leaves](node_id id) {
    const auto [begin, end] = leaf_range(id);
    if (end > leaves.size()) throw error(err_reader, "node outside the leaves held in memory");
    return mth(leaves.subspan(begin, end - begin));
  };
}

node_reader reader_from_leaf_ranges(leaf_range_fetcher fetch) {
  return [fetch = std::move(fetch)](node_id id) {
    const auto [begin, end] = leaf_range(id);
    const std::vector<hash> leaves = fetch(begin, end);
    if (leaves.size() != end - begin) {
      throw error(err_reader, "leaf fetch for [" + std::to_string(begin) + ", " +
                                  std::to_string(end) + ") returned " +
                                  std::to_string(leaves.size()) + " hashes");
    }
    return mth(leaves);
  };
}

hash root(std::uint64_t size, const node_reader& read) {
  check_size(size);
  if (size == 0) return empty_root();
  return subtree_root(0, size, read);
}

std::vector<hash> inclusion_proof(std::uint64_t index, std::uint64_t size,
                                  const node_reader& read) {
  check_inclusion_args(index, size);
  std::vector<hash> out;
  out.reserve(inclusion_proof_length(index, size));
  append_path(index, 0, size, read, out);
  return out;
}

std::vector<hash> consistency_proof(std::uint64_t old_size, std::uint64_t new_size,
                                    const node_reader& read) {
  check_consistency_args(old_size, new_size);
  std::vector<hash> out;
  if (old_size == new_size) return out;
  out.reserve(consistency_proof_length(old_size, new_size));
  append_subproof(old_size, 0, new_size, true, read, out);
  return out;
}

std::size_t inclusion_proof_length(std::uint64_t index, std::uint64_t size) {
  check_inclusion_args(index, size);
  return inclusion_length_unchecked(index, size);
}

std::size_t consistency_proof_length(std::uint64_t old_size, std::uint64_t new_size) {
  check_consistency_args(old_size, new_size);
  return consistency_length_unchecked(old_size, new_size);
}

hash root_from_inclusion_proof(std::uint64_t index, std::uint64_t size, const hash& leaf,
                               std::span<const hash> proof) {
  const std::size_t want = inclusion_proof_length(index, size);
  if (proof.size() != want) {
    throw error(err_bad_proof_length, "inclusion proof has " + std::to_string(proof.size()) +
                                          " hashes, expected " + std::to_string(want));
  }
  const auto computed = inclusion_root_unchecked(index, size, leaf, proof);
  if (!computed) throw error(err_bad_proof_length, "inclusion proof does not fit the tree shape");
  return *computed;
}

void verify_inclusion(std::uint64_t index, std::uint64_t size, const hash& leaf,
                      std::span<const hash> proof, const hash& root) {
  if (root_from_inclusion_proof(index, size, leaf, proof) != root) {
    throw error(err_root_mismatch, "inclusion proof for leaf " + std::to_string(index) +
                                       " does not lead to the tree root");
  }
}

void verify_consistency(std::uint64_t old_size, std::uint64_t new_size, const hash& old_root,
                        const hash& new_root, std::span<const hash> proof) {
  const std::size_t want = consistency_proof_length(old_size, new_size);
  if (proof.size() != want) {
    throw error(err_bad_proof_length, "consistency proof has " + std::to_string(proof.size()) +
                                          " hashes, expected " + std::to_string(want));
  }
  if (old_size == new_size && old_root != new_root) {
    throw error(err_root_mismatch, "two checkpoints of the same size have different roots");
  }
  if (consistency_error(old_size, new_size, old_root, new_root, proof) != nullptr) {
    throw error(err_root_mismatch, "consistency proof from size " + std::to_string(old_size) +
                                       " to " + std::to_string(new_size) +
                                       " does not lead to the checkpoint roots");
  }
}

// ---- frontier ----------------------------------------------------------------------------------

frontier frontier::restore(std::uint64_t size, std::vector<hash> nodes) {
  check_size(size);
  if (nodes.size() != static_cast<std::size_t>(std::popcount(size))) {
    throw error(err_bad_frontier, "a frontier of size " + std::to_string(size) + " has " +
                                      std::to_string(std::popcount(size)) + " nodes, got " +
                                      std::to_string(nodes.size()));
  }
  frontier f;
  f.size_ = size;
  f.nodes_ = std::move(nodes);
  return f;
}

frontier frontier::from_leaf_hashes(std::span<const hash> leaves) {
  check_size(leaves.size());
  frontier f;
  for (const hash& leaf : leaves)
    f.append(leaf);
  return f;
}

std::vector<node_id> frontier::node_ids(std::uint64_t size) {
  check_size(size);
  std::vector<node_id> ids;
  for (int level = 63; level >= 0; --level) {
    if (((size >> level) & 1) != 0) {
      ids.push_back(node_id{static_cast<unsigned>(level), (size >> level) - 1});
    }
  }
  return ids;
}

void frontier::append(const hash& leaf, const node_sink& on_node) {
  if (size_ >= max_tree_size) throw error(err_too_large, "log is full");
  hash current = leaf;
  unsigned level = 0;
  std::uint64_t index = size_;
  if (on_node) on_node(node_id{level, index}, current);
  // Each set low bit of the old size is a perfect subtree of the same height waiting on the left.
  while (((size_ >> level) & 1) != 0) {
    current = node_hash(nodes_.back(), current);
    nodes_.pop_back();
    ++level;
    index >>= 1;
    if (on_node) on_node(node_id{level, index}, current);
  }
  nodes_.push_back(current);
  ++size_;
}

hash frontier::root() const {
  if (nodes_.empty()) return empty_root();
  hash r = nodes_.back();
  for (std::size_t i = nodes_.size() - 1; i-- > 0;)
    r = node_hash(nodes_[i], r);
  return r;
}

}  // namespace tender::crypto::merkle
