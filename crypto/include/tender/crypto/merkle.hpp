#pragma once

// RFC 6962 / RFC 9162 Merkle tree hashing, inclusion and consistency proofs, and an incremental
// frontier for an append-only log. No storage here: the server keeps leaf (or node) hashes in
// PostgreSQL and hands them to these functions through a node_reader callback.
//
//   leaf hash  = SHA-256(0x00 || entry)
//   node hash  = SHA-256(0x01 || left || right)
//   empty tree = SHA-256("")
//   MTH(D[n])  splits at k = the largest power of two strictly below n.
//
// Every verifier throws tender::crypto::error with one of the codes below; it never returns a
// "false" that a caller could forget to check.

#include <tender/crypto/bytes.hpp>
#include <tender/crypto/digest.hpp>

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

namespace tender::crypto::merkle {

using hash = sha256_digest;

// Error codes (crypto::error::code()).
inline constexpr const char* err_index_out_of_range = "merkle.index_out_of_range";  // index >= size
inline constexpr const char* err_empty_tree = "merkle.empty_tree";  // size 0 where a tree is needed
inline constexpr const char* err_size_order = "merkle.size_order";  // old size > new size
inline constexpr const char* err_bad_proof_length = "merkle.bad_proof_length";
inline constexpr const char* err_root_mismatch =
    "merkle.root_mismatch";                                     // proof does not lead to the root
inline constexpr const char* err_bad_hash = "merkle.bad_hash";  // not 32 bytes
inline constexpr const char* err_bad_frontier =
    "merkle.bad_frontier";                                        // restored frontier inconsistent
inline constexpr const char* err_reader = "merkle.reader";        // node_reader returned bad data
inline constexpr const char* err_too_large = "merkle.too_large";  // size beyond 2^63

hash leaf_hash(byte_view entry);
hash node_hash(const hash& left, const hash& right);
hash empty_root();
// Converts 32 raw bytes (from a database column or a decoded proof) into a hash; throws bad_hash.
hash hash_from_bytes(byte_view raw);

// ---- Building from leaf hashes in memory -------------------------------------------------------

// MTH over the given leaf hashes (already leaf-hashed with leaf_hash()).
hash root_from_leaf_hashes(std::span<const hash> leaves);
// Audit path for leaves[index] in the tree of all `leaves` (RFC 6962 §2.1.1 PATH).
std::vector<hash> inclusion_proof(std::span<const hash> leaves, std::uint64_t index);
// Proof that the first `old_size` leaves are a prefix of all `leaves` (RFC 6962 §2.1.2 PROOF).
// Requires 0 < old_size <= leaves.size(); empty when old_size == leaves.size().
std::vector<hash> consistency_proof(std::span<const hash> leaves, std::uint64_t old_size);

// ---- Building from storage ---------------------------------------------------------------------

// Every proof element and every root is a combination of *perfect* subtrees: the subtree at
// `level` with `index` covers leaves [index << level, (index + 1) << level). A reader returns the
// hash of such a subtree; level 0 is a leaf hash. The server can back it by a table of leaf
// hashes (see reader_from_leaf_ranges) or by a table of stored perfect nodes, which the frontier
// reports as they complete. The functions below only ever ask for subtrees that lie entirely
// inside the tree size they were given.
struct node_id {
  unsigned level = 0;
  std::uint64_t index = 0;
  friend bool operator==(const node_id&, const node_id&) = default;
};
using node_reader = std::function<hash(node_id)>;

// Fetches the leaf hashes [begin, end) in order. The adapter below calls it once per perfect
// subtree it needs (O(log n) calls, each of at most half the tree) and checks the count returned.
using leaf_range_fetcher = std::function<std::vector<hash>(std::uint64_t begin, std::uint64_t end)>;
node_reader reader_from_leaf_ranges(leaf_range_fetcher fetch);
// A reader over leaf hashes held in memory (the span must outlive the reader).
node_reader reader_from_leaf_hashes(std::span<const hash> leaves);

hash root(std::uint64_t size, const node_reader& read);
std::vector<hash> inclusion_proof(std::uint64_t index, std::uint64_t size, const node_reader& read);
std::vector<hash> consistency_proof(std::uint64_t old_size, std::uint64_t new_size,
                                    const node_reader& read);

// Number of hashes a valid proof has; the verifiers reject any other length up front.
std::size_t inclusion_proof_length(std::uint64_t index, std::uint64_t size);
std::size_t consistency_proof_length(std::uint64_t old_size, std::uint64_t new_size);

// ---- Verification (RFC 9162 §2.1.3.2 and §2.1.4.2) ---------------------------------------------

// Recomputes the root that `proof` implies for `leaf` at `index` in a tree of `size`.
hash root_from_inclusion_proof(std::uint64_t index, std::uint64_t size, const hash& leaf,
                               std::span<const hash> proof);
// Throws unless `proof` shows `leaf` at `index` in the tree of `size` whose root is `root`.
// Note: the proof binds index and root; the size is bound to the root only by a signed
// checkpoint, so always verify against a checkpoint's (size, root) pair.
void verify_inclusion(std::uint64_t index, std::uint64_t size, const hash& leaf,
                      std::span<const hash> proof, const hash& root);
// Throws unless `proof` shows the tree (old_size, old_root) is a prefix of (new_size, new_root).
// old_size == new_size needs an empty proof and equal roots. old_size == 0 is rejected
// (err_empty_tree): the empty tree is a prefix of everything, so there is nothing to prove, and a
// caller asking is almost certainly confused about which checkpoint it holds.
void verify_consistency(std::uint64_t old_size, std::uint64_t new_size, const hash& old_root,
                        const hash& new_root, std::span<const hash> proof);

// Non-throwing forms for auditors replaying many proofs: nullptr when the proof holds, otherwise
// the err_* code the throwing form above would raise. Same checks, same order.
const char* inclusion_error(std::uint64_t index, std::uint64_t size, const hash& leaf,
                            std::span<const hash> proof, const hash& root) noexcept;
const char* consistency_error(std::uint64_t old_size, std::uint64_t new_size, const hash& old_root,
                              const hash& new_root, std::span<const hash> proof) noexcept;

// ---- Incremental frontier ("compact range" [0, size)) -----------------------------------------

// The roots of the perfect subtrees that make up [0, size), largest (leftmost) first: one per set
// bit of size, so at most 64 hashes whatever the log's length. Appending a leaf merges equal-sized
// neighbours; the root folds the frontier right to left.
class frontier {
public:
  // Called for every perfect subtree completed by an append, the leaf itself (level 0) first and
  // then each merged parent, so storage can keep every node a reader may ask for.
  using node_sink = std::function<void(node_id, const hash&)>;

  frontier() = default;
  // Rebuilds a frontier saved with size() and nodes(); throws bad_frontier if the node count does
  // not match popcount(size).
  static frontier restore(std::uint64_t size, std::vector<hash> nodes);
  static frontier from_leaf_hashes(std::span<const hash> leaves);
  // Node ids of the frontier of a given size, in the same order as nodes().
  static std::vector<node_id> node_ids(std::uint64_t size);

  void append(const hash& leaf, const node_sink& on_node = {});
  std::uint64_t size() const { return size_; }
  const std::vector<hash>& nodes() const { return nodes_; }
  hash root() const;

private:
  std::uint64_t size_ = 0;
  std::vector<hash> nodes_;
};

}  // namespace tender::crypto::merkle
