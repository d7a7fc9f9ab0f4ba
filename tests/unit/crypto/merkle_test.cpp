#include <tender/crypto/bytes.hpp>
#include <tender/crypto/error.hpp>
#include <tender/crypto/init.hpp>
#include <tender/crypto/merkle.hpp>

#include <gtest/gtest.h>

#include <bit>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace tc = tender::crypto;
namespace mk = tender::crypto::merkle;

namespace {

mk::hash h(std::string_view hex) {
  return mk::hash_from_bytes(tc::hex_decode(hex));
}

std::vector<mk::hash> hs(std::initializer_list<std::string_view> hexes) {
  std::vector<mk::hash> out;
  for (auto x : hexes)
    out.push_back(h(x));
  return out;
}

// The eight entries of the certificate-transparency reference tests (merkle_tree_test).
std::vector<mk::hash> reference_leaves() {
  const char* entries[] = {"",
                           "00",
                           "10",
                           "2021",
                           "3031",
                           "40414243",
                           "5051525354555657",
                           "606162636465666768696a6b6c6d6e6f"};
  std::vector<mk::hash> out;
  for (const char* e : entries)
    out.push_back(mk::leaf_hash(tc::hex_decode(e)));
  return out;
}

// MTH(D[n]) of the reference entries for n = 0..8.
const char* const reference_roots[] = {
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
};

// Runs f and returns the crypto::error code it threw, or "" if it did not throw.
std::string code_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const tc::error& e) {
    return e.code();
  }
  return "";
}

void flip(mk::hash& x, std::size_t bit) {
  x[bit / 8] ^= static_cast<std::uint8_t>(1u << (bit % 8));
}

std::vector<mk::hash> numbered_leaves(std::size_t n) {
  std::vector<mk::hash> out;
  for (std::size_t i = 0; i < n; ++i)
    out.push_back(mk::leaf_hash(tc::as_bytes("entry #" + std::to_string(i))));
  return out;
}

}  // namespace

TEST(merkle, reference_roots_for_sizes_0_to_8) {
  tc::init();
  const auto leaves = reference_leaves();
  EXPECT_EQ(tc::to_hex(mk::empty_root()), reference_roots[0]);
  EXPECT_EQ(tc::to_hex(leaves[1]),
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7");
  mk::frontier f;
  EXPECT_EQ(tc::to_hex(f.root()), reference_roots[0]);
  for (std::size_t n = 0; n <= 8; ++n) {
    const std::span<const mk::hash> prefix(leaves.data(), n);
    EXPECT_EQ(tc::to_hex(mk::root_from_leaf_hashes(prefix)), reference_roots[n]) << n;
    EXPECT_EQ(tc::to_hex(mk::root(n, mk::reader_from_leaf_hashes(prefix))), reference_roots[n])
        << n;
    if (n > 0) {
      f.append(leaves[n - 1]);
      EXPECT_EQ(f.size(), n);
      EXPECT_EQ(tc::to_hex(f.root()), reference_roots[n]) << n;
    }
  }
}

TEST(merkle, reference_inclusion_paths) {
  tc::init();
  const auto leaves = reference_leaves();
  struct vec {
    std::uint64_t index, size;
    std::vector<mk::hash> path;
  };
  const std::vector<vec> vectors = {
      {0, 1, {}},
      {0, 8,
       hs({"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
           "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
           "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"})},
      {5, 8,
       hs({"bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
           "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
           "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"})},
      {2, 3, hs({"fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"})},
      {1, 5,
       hs({"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
           "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
           "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"})},
  };
  for (const auto& v : vectors) {
    const std::span<const mk::hash> tree(leaves.data(), v.size);
    EXPECT_EQ(mk::inclusion_proof(tree, v.index), v.path) << v.index << "/" << v.size;
    EXPECT_NO_THROW(
        mk::verify_inclusion(v.index, v.size, leaves[v.index], v.path, h(reference_roots[v.size])));
  }
}

TEST(merkle, reference_consistency_proofs) {
  tc::init();
  const auto leaves = reference_leaves();
  struct vec {
    std::uint64_t old_size, new_size;
    std::vector<mk::hash> proof;
  };
  const std::vector<vec> vectors = {
      {1, 1, {}},
      {1, 8,
       hs({"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
           "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
           "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"})},
      {6, 8,
       hs({"0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
           "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
           "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"})},
      {2, 5,
       hs({"5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
           "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"})},
  };
  for (const auto& v : vectors) {
    const std::span<const mk::hash> tree(leaves.data(), v.new_size);
    EXPECT_EQ(mk::consistency_proof(tree, v.old_size), v.proof) << v.old_size << "->" << v.new_size;
    EXPECT_NO_THROW(mk::verify_consistency(v.old_size, v.new_size, h(reference_roots[v.old_size]),
                                           h(reference_roots[v.new_size]), v.proof));
  }
}

TEST(merkle, malformed_arguments_have_clear_codes) {
  tc::init();
  const auto leaves = reference_leaves();
  const mk::hash r8 = h(reference_roots[8]);
  const mk::hash r1 = h(reference_roots[1]);
  const std::vector<mk::hash> none;

  // Inclusion: empty tree, index beyond size, wrong proof lengths.
  EXPECT_EQ(code_of([&] { mk::verify_inclusion(0, 0, leaves[0], none, mk::empty_root()); }),
            mk::err_empty_tree);
  EXPECT_EQ(code_of([&] { mk::verify_inclusion(1, 1, leaves[0], none, r1); }),
            mk::err_index_out_of_range);
  EXPECT_EQ(code_of([&] { mk::verify_inclusion(8, 8, leaves[0], none, r8); }),
            mk::err_index_out_of_range);
  EXPECT_EQ(code_of([&] { mk::verify_inclusion(0, 8, leaves[0], none, r8); }),
            mk::err_bad_proof_length);
  EXPECT_EQ(code_of([&] { mk::verify_inclusion(0, 1, leaves[0], std::vector<mk::hash>{r1}, r1); }),
            mk::err_bad_proof_length);
  EXPECT_NO_THROW(mk::verify_inclusion(0, 1, leaves[0], none, r1));
  EXPECT_EQ(code_of([&] { mk::verify_inclusion(0, 1, leaves[1], none, r1); }),
            mk::err_root_mismatch);
  EXPECT_EQ(code_of([&] { (void)mk::inclusion_proof(leaves, 8); }), mk::err_index_out_of_range);
  EXPECT_EQ(code_of([&] { (void)mk::inclusion_proof(std::span<const mk::hash>{}, 0); }),
            mk::err_empty_tree);

  // Consistency: old > new, old == 0, equal sizes.
  EXPECT_EQ(code_of([&] { mk::verify_consistency(2, 1, r8, r1, none); }), mk::err_size_order);
  EXPECT_EQ(code_of([&] { mk::verify_consistency(0, 8, mk::empty_root(), r8, none); }),
            mk::err_empty_tree);
  EXPECT_EQ(
      code_of([&] { mk::verify_consistency(0, 0, mk::empty_root(), mk::empty_root(), none); }),
      mk::err_empty_tree);
  EXPECT_EQ(code_of([&] { mk::verify_consistency(1, 2, r1, h(reference_roots[2]), none); }),
            mk::err_bad_proof_length);
  EXPECT_NO_THROW(mk::verify_consistency(8, 8, r8, r8, none));
  EXPECT_EQ(code_of([&] { mk::verify_consistency(8, 8, r8, r1, none); }), mk::err_root_mismatch);
  EXPECT_EQ(code_of([&] { mk::verify_consistency(8, 8, r8, r8, std::vector<mk::hash>{r8}); }),
            mk::err_bad_proof_length);
  EXPECT_EQ(code_of([&] { (void)mk::consistency_proof(leaves, 9); }), mk::err_size_order);
  EXPECT_EQ(code_of([&] { (void)mk::consistency_proof(leaves, 0); }), mk::err_empty_tree);

  // Raw hashes and sizes.
  EXPECT_EQ(code_of([&] { (void)mk::hash_from_bytes(tc::bytes(31)); }), mk::err_bad_hash);
  EXPECT_EQ(code_of([&] { (void)mk::inclusion_proof_length(0, (std::uint64_t{1} << 63) + 1); }),
            mk::err_too_large);
}

// Every proof of every tree of 1..64 leaves verifies, and every corruption of it is refused:
// a single flipped bit anywhere in the proof, the leaf or the root; a missing, extra or
// duplicated hash; a wrong index; a wrong size together with that size's real root.
TEST(merkle, exhaustive_inclusion_sizes_1_to_64) {
  tc::init();
  constexpr std::uint64_t max_n = 64;
  const auto leaves = numbered_leaves(max_n);
  std::vector<mk::hash> roots;
  for (std::uint64_t n = 0; n <= max_n; ++n)
    roots.push_back(mk::root_from_leaf_hashes({leaves.data(), n}));

  for (std::uint64_t n = 1; n <= max_n; ++n) {
    const std::span<const mk::hash> tree(leaves.data(), n);
    const auto reader = mk::reader_from_leaf_hashes(tree);
    for (std::uint64_t i = 0; i < n; ++i) {
      SCOPED_TRACE("index " + std::to_string(i) + " size " + std::to_string(n));
      const auto proof = mk::inclusion_proof(tree, i);
      ASSERT_EQ(proof.size(), mk::inclusion_proof_length(i, n));
      ASSERT_EQ(mk::inclusion_proof(i, n, reader), proof);
      ASSERT_NO_THROW(mk::verify_inclusion(i, n, leaves[i], proof, roots[n]));

      ASSERT_EQ(mk::inclusion_error(i, n, leaves[i], proof, roots[n]), nullptr);

      // Single-bit flips in every proof hash, the leaf and the root. The non-throwing form keeps
      // these ~3 million rejections fast; the throwing form is checked once per flipped proof.
      auto bad = proof;
      for (std::size_t p = 0; p < bad.size(); ++p) {
        for (std::size_t bit = 0; bit < 256; ++bit) {
          flip(bad[p], bit);
          ASSERT_STREQ(mk::inclusion_error(i, n, leaves[i], bad, roots[n]), mk::err_root_mismatch)
              << "hash " << p << " bit " << bit;
          if (bit == 255) {
            EXPECT_EQ(code_of([&] { mk::verify_inclusion(i, n, leaves[i], bad, roots[n]); }),
                      mk::err_root_mismatch);
          }
          flip(bad[p], bit);
        }
      }
      auto leaf = leaves[i];
      auto root = roots[n];
      for (std::size_t bit = 0; bit < 256; ++bit) {
        flip(leaf, bit);
        flip(root, bit);
        ASSERT_STREQ(mk::inclusion_error(i, n, leaf, proof, roots[n]), mk::err_root_mismatch);
        ASSERT_STREQ(mk::inclusion_error(i, n, leaves[i], proof, root), mk::err_root_mismatch);
        flip(leaf, bit);
        flip(root, bit);
      }

      // Truncation, extension at either end, duplication.
      if (!proof.empty()) {
        const std::vector<mk::hash> shorter(proof.begin(), proof.end() - 1);
        const std::vector<mk::hash> no_first(proof.begin() + 1, proof.end());
        EXPECT_EQ(code_of([&] { mk::verify_inclusion(i, n, leaves[i], shorter, roots[n]); }),
                  mk::err_bad_proof_length);
        EXPECT_EQ(code_of([&] { mk::verify_inclusion(i, n, leaves[i], no_first, roots[n]); }),
                  mk::err_bad_proof_length);
        auto doubled = proof;
        doubled.push_back(proof.back());
        EXPECT_EQ(code_of([&] { mk::verify_inclusion(i, n, leaves[i], doubled, roots[n]); }),
                  mk::err_bad_proof_length);
      }
      auto longer = proof;
      longer.push_back(roots[n]);
      EXPECT_EQ(code_of([&] { mk::verify_inclusion(i, n, leaves[i], longer, roots[n]); }),
                mk::err_bad_proof_length);
      auto prefixed = proof;
      prefixed.insert(prefixed.begin(), leaves[i]);
      EXPECT_EQ(code_of([&] { mk::verify_inclusion(i, n, leaves[i], prefixed, roots[n]); }),
                mk::err_bad_proof_length);

      // Another index in the same tree: the path from the root names exactly one leaf.
      for (std::uint64_t j = 0; j < n; ++j) {
        if (j == i) continue;
        EXPECT_NE(code_of([&] { mk::verify_inclusion(j, n, leaves[i], proof, roots[n]); }), "")
            << "accepted at index " << j;
      }
      EXPECT_EQ(code_of([&] { mk::verify_inclusion(n, n, leaves[i], proof, roots[n]); }),
                mk::err_index_out_of_range);
      // Another size with that size's own root: the proof never proves inclusion there.
      for (std::uint64_t m = i + 1; m <= max_n; ++m) {
        if (m == n) continue;
        EXPECT_NE(code_of([&] { mk::verify_inclusion(i, m, leaves[i], proof, roots[m]); }), "")
            << "accepted in size " << m;
      }
    }
  }
}

// Same for consistency proofs between every pair 1 <= old <= new <= 64.
TEST(merkle, exhaustive_consistency_sizes_1_to_64) {
  tc::init();
  constexpr std::uint64_t max_n = 64;
  const auto leaves = numbered_leaves(max_n);
  std::vector<mk::hash> roots;
  for (std::uint64_t n = 0; n <= max_n; ++n)
    roots.push_back(mk::root_from_leaf_hashes({leaves.data(), n}));
  const auto reader = mk::reader_from_leaf_hashes(leaves);

  for (std::uint64_t n = 1; n <= max_n; ++n) {
    const std::span<const mk::hash> tree(leaves.data(), n);
    for (std::uint64_t m = 1; m <= n; ++m) {
      SCOPED_TRACE("old " + std::to_string(m) + " new " + std::to_string(n));
      const auto proof = mk::consistency_proof(tree, m);
      ASSERT_EQ(proof.size(), mk::consistency_proof_length(m, n));
      ASSERT_EQ(mk::consistency_proof(m, n, reader), proof);
      ASSERT_NO_THROW(mk::verify_consistency(m, n, roots[m], roots[n], proof));

      ASSERT_EQ(mk::consistency_error(m, n, roots[m], roots[n], proof), nullptr);

      auto bad = proof;
      for (std::size_t p = 0; p < bad.size(); ++p) {
        for (std::size_t bit = 0; bit < 256; ++bit) {
          flip(bad[p], bit);
          ASSERT_STREQ(mk::consistency_error(m, n, roots[m], roots[n], bad), mk::err_root_mismatch)
              << "hash " << p << " bit " << bit;
          if (bit == 255) {
            EXPECT_EQ(code_of([&] { mk::verify_consistency(m, n, roots[m], roots[n], bad); }),
                      mk::err_root_mismatch);
          }
          flip(bad[p], bit);
        }
      }
      auto old_root = roots[m];
      auto new_root = roots[n];
      for (std::size_t bit = 0; bit < 256; ++bit) {
        flip(old_root, bit);
        flip(new_root, bit);
        ASSERT_STREQ(mk::consistency_error(m, n, old_root, roots[n], proof), mk::err_root_mismatch);
        ASSERT_STREQ(mk::consistency_error(m, n, roots[m], new_root, proof), mk::err_root_mismatch);
        flip(old_root, bit);
        flip(new_root, bit);
      }

      if (!proof.empty()) {
        const std::vector<mk::hash> shorter(proof.begin(), proof.end() - 1);
        const std::vector<mk::hash> no_first(proof.begin() + 1, proof.end());
        EXPECT_EQ(code_of([&] { mk::verify_consistency(m, n, roots[m], roots[n], shorter); }),
                  mk::err_bad_proof_length);
        EXPECT_EQ(code_of([&] { mk::verify_consistency(m, n, roots[m], roots[n], no_first); }),
                  mk::err_bad_proof_length);
        auto doubled = proof;
        doubled.insert(doubled.begin(), proof.front());
        EXPECT_EQ(code_of([&] { mk::verify_consistency(m, n, roots[m], roots[n], doubled); }),
                  mk::err_bad_proof_length);
      }
      auto longer = proof;
      longer.push_back(roots[n]);
      EXPECT_EQ(code_of([&] { mk::verify_consistency(m, n, roots[m], roots[n], longer); }),
                mk::err_bad_proof_length);
      if (m != n) {
        EXPECT_EQ(code_of([&] { mk::verify_consistency(m, n, roots[n], roots[m], proof); }),
                  mk::err_root_mismatch);
        EXPECT_EQ(code_of([&] { mk::verify_consistency(n, m, roots[n], roots[m], proof); }),
                  mk::err_size_order);
      }

      // Other sizes, each with its own real root: the proof proves nothing about them.
      for (std::uint64_t m2 = 1; m2 <= n; ++m2) {
        if (m2 == m) continue;
        EXPECT_NE(code_of([&] { mk::verify_consistency(m2, n, roots[m2], roots[n], proof); }), "")
            << "accepted for old size " << m2;
      }
      for (std::uint64_t n2 = m; n2 <= max_n; ++n2) {
        if (n2 == n) continue;
        EXPECT_NE(code_of([&] { mk::verify_consistency(m, n2, roots[m], roots[n2], proof); }), "")
            << "accepted for new size " << n2;
      }
    }
  }
}

TEST(merkle, frontier_reports_stored_nodes_that_serve_proofs) {
  tc::init();
  constexpr std::uint64_t n = 45;
  const auto leaves = numbered_leaves(n);
  std::map<std::pair<unsigned, std::uint64_t>, mk::hash> stored;
  mk::frontier f;
  for (std::uint64_t i = 0; i < n; ++i) {
    f.append(leaves[i], [&](mk::node_id id, const mk::hash& value) {
      EXPECT_TRUE(stored.emplace(std::pair{id.level, id.index}, value).second)
          << "node reported twice";
    });
    const std::span<const mk::hash> prefix(leaves.data(), i + 1);
    ASSERT_EQ(f.root(), mk::root_from_leaf_hashes(prefix));
    ASSERT_EQ(f.nodes().size(), static_cast<std::size_t>(std::popcount(i + 1)));
  }
  // A perfect binary forest over n leaves has 2n - popcount(n) nodes.
  EXPECT_EQ(stored.size(), 2 * n - static_cast<std::size_t>(std::popcount(n)));

  // The stored nodes alone answer every query: a reader backed by them, as the server's table
  // would be, gives the same roots and proofs as the in-memory leaves.
  std::size_t reads = 0;
  const mk::node_reader from_table = [&](mk::node_id id) {
    ++reads;
    const auto it = stored.find({id.level, id.index});
    if (it == stored.end()) throw std::runtime_error("node not stored");
    return it->second;
  };
  for (std::uint64_t size = 1; size <= n; ++size) {
    const std::span<const mk::hash> prefix(leaves.data(), size);
    ASSERT_EQ(mk::root(size, from_table), mk::root_from_leaf_hashes(prefix));
    for (std::uint64_t i = 0; i < size; ++i) {
      ASSERT_EQ(mk::inclusion_proof(i, size, from_table), mk::inclusion_proof(prefix, i));
    }
    for (std::uint64_t old_size = 1; old_size <= size; ++old_size) {
      ASSERT_EQ(mk::consistency_proof(old_size, size, from_table),
                mk::consistency_proof(prefix, old_size));
    }
  }
  // O(log n) reads per proof, not O(n).
  reads = 0;
  (void)mk::inclusion_proof(0, n, from_table);
  EXPECT_LE(reads, 12u);

  // The frontier's node ids match what was stored, and a restored frontier continues the log.
  const auto ids = mk::frontier::node_ids(f.size());
  ASSERT_EQ(ids.size(), f.nodes().size());
  for (std::size_t k = 0; k < ids.size(); ++k) {
    EXPECT_EQ(stored.at({ids[k].level, ids[k].index}), f.nodes()[k]);
  }
  auto restored = mk::frontier::restore(f.size(), f.nodes());
  const auto extra = mk::leaf_hash(tc::as_bytes("one more"));
  restored.append(extra);
  auto all = leaves;
  all.push_back(extra);
  EXPECT_EQ(restored.root(), mk::root_from_leaf_hashes(all));
  EXPECT_EQ(mk::frontier::from_leaf_hashes(all).root(), restored.root());

  auto too_few = f.nodes();
  too_few.pop_back();
  EXPECT_EQ(code_of([&] { (void)mk::frontier::restore(f.size(), too_few); }), mk::err_bad_frontier);
  EXPECT_EQ(code_of([&] { (void)mk::frontier::restore(0, f.nodes()); }), mk::err_bad_frontier);
}

TEST(merkle, leaf_range_reader_fetches_perfect_ranges_and_checks_counts) {
  tc::init();
  const auto leaves = numbered_leaves(13);
  std::vector<std::pair<std::uint64_t, std::uint64_t>> calls;
  const auto reader = mk::reader_from_leaf_ranges([&](std::uint64_t begin, std::uint64_t end) {
    calls.emplace_back(begin, end);
    return std::vector<mk::hash>(leaves.begin() + static_cast<std::ptrdiff_t>(begin),
                                 leaves.begin() + static_cast<std::ptrdiff_t>(end));
  });
  EXPECT_EQ(mk::root(13, reader), mk::root_from_leaf_hashes(leaves));
  // 13 = 8 + 4 + 1: three perfect ranges.
  const std::vector<std::pair<std::uint64_t, std::uint64_t>> want = {{0, 8}, {8, 12}, {12, 13}};
  EXPECT_EQ(calls, want);
  EXPECT_EQ(mk::inclusion_proof(11, 13, reader), mk::inclusion_proof(leaves, 11));
  EXPECT_EQ(mk::consistency_proof(5, 13, reader), mk::consistency_proof(leaves, 5));

  const auto short_reader = mk::reader_from_leaf_ranges(
      [&](std::uint64_t, std::uint64_t) { return std::vector<mk::hash>(1); });
  EXPECT_EQ(code_of([&] { (void)mk::root(13, short_reader); }), mk::err_reader);
}
