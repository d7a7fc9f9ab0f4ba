#include <tender/crypto/bytes.hpp>
#include <tender/crypto/draw.hpp>
#include <tender/crypto/error.hpp>
#include <tender/crypto/init.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace tc = tender::crypto;

namespace {

std::string code_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const tc::error& e) {
    return e.code();
  }
  return "";
}

tc::bytes be64(std::uint64_t v) {
  tc::bytes out(8);
  for (int k = 0; k < 8; ++k)
    out[static_cast<std::size_t>(k)] = static_cast<std::uint8_t>(v >> (56 - 8 * k));
  return out;
}

tc::bytes to_bytes(std::string_view s) {
  const auto v = tc::as_bytes(s);
  return {v.begin(), v.end()};
}

// The worked example of protocol/docs/verifiable-draw.md.
tc::draw_inputs worked_example() {
  tc::draw_inputs in;
  in.seed_materials = {
      {"draw_id", to_bytes("T-2024-0001/experts/1")},
      {"checkpoint_root",
       tc::hex_decode("5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328")},
      {"host_reveal", tc::hex_decode("00112233445566778899aabbccddeeff")},
  };
  for (int i = 1; i <= 12; ++i) {
    char id[8];
    std::snprintf(id, sizeof id, "E%03d", i);
    in.candidates.emplace_back(id);
  }
  in.exclusions = {"E004", "E009"};
  in.count = 4;
  return in;
}

double chi_square(const std::vector<std::uint64_t>& counts, double expected) {
  double chi = 0;
  for (const std::uint64_t c : counts) {
    const double d = static_cast<double>(c) - expected;
    chi += d * d / expected;
  }
  return chi;
}

// Chi-square critical values at p = 1e-4 (computed with the regularised incomplete gamma
// function; they agree with the usual tables, e.g. df 6 at p = 0.001 is 22.46). Generous on
// purpose: the seeds are fixed, so the statistics are fixed numbers and the test is not flaky,
// while a real bias (see the negative controls) lands orders of magnitude above them.
constexpr double chi2_df6 = 27.86;
constexpr double chi2_df9 = 33.72;
constexpr double chi2_df719 = 868.65;

}  // namespace

// The pinned vector. Derived once with the independent Python reference implementation printed
// in protocol/docs/verifiable-draw.md (hashlib + hmac from the standard library), not with this
// code; the C++ implementation must reproduce every intermediate value.
TEST(draw, pinned_worked_example) {
  tc::init();
  const auto in = worked_example();
  EXPECT_EQ(
      tc::hex_encode(tc::encode_draw_inputs(in)),
      "0000001274656e64657268616c6c2f647261772f76310000000300000007647261775f696400000015542d"
      "323032342d303030312f657870657274732f310000000f636865636b706f696e745f726f6f74000000205d"
      "c9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff46043280000000b686f73745f726576"
      "65616c0000001000112233445566778899aabbccddeeff0000000c00000004453030310000000445303032"
      "0000000445303033000000044530303400000004453030350000000445303036000000044530303700000004"
      "4530303800000004453030390000000445303130000000044530313100000004453031320000000200000004"
      "45303034000000044530303900000004");
  const auto seed = tc::draw_seed(in);
  EXPECT_EQ(tc::to_hex(seed), "ea5ff0c2e38e07c056b7da3368e8a183046c0aa9f852f0d0f190ed7eb3bd3535");

  tc::draw_stream stream(seed);
  const std::uint64_t words[] = {0x2a66ef2393ec72c3, 0x66d7061c3942a09f, 0x46b4f78cae0fb68e,
                                 0x4169ce245aa2bd79, 0xbea3dcea9de383e2, 0xc47ecd15a408b9eb};
  for (const std::uint64_t w : words)
    EXPECT_EQ(stream.next_word(), w);

  const auto result = tc::run_draw(in);
  const std::vector<std::string> want = {"E007", "E011", "E002", "E005"};
  EXPECT_EQ(result.selected, want);
  EXPECT_EQ(result.seed, seed);
  EXPECT_EQ(result.inputs, in);
  EXPECT_TRUE(tc::verify_draw(in, want));
}

TEST(draw, deterministic_and_sensitive_to_every_input) {
  tc::init();
  const auto in = worked_example();
  const auto first = tc::run_draw(in);
  for (int i = 0; i < 5; ++i)
    EXPECT_EQ(tc::run_draw(in).selected, first.selected);

  std::vector<tc::draw_inputs> variants;
  auto v = in;
  v.seed_materials[2].value.back() ^= 1;  // one bit of a reveal
  variants.push_back(v);
  v = in;
  v.seed_materials[0].label = "draw_iD";
  variants.push_back(v);
  v = in;
  std::swap(v.seed_materials[0], v.seed_materials[1]);  // order of materials
  variants.push_back(v);
  v = in;
  std::swap(v.candidates[0], v.candidates[1]);  // published order of candidates
  variants.push_back(v);
  v = in;
  v.exclusions = {"E009", "E004"};  // order of exclusions
  variants.push_back(v);
  v = in;
  v.count = 3;
  variants.push_back(v);
  v = in;
  v.seed_materials.push_back({"extra", {}});  // an empty value still counts
  variants.push_back(v);
  // Length prefixes: moving a byte from a label to its value changes the transcript.
  v = in;
  v.seed_materials[0].label = "draw_i";
  v.seed_materials[0].value.insert(v.seed_materials[0].value.begin(), 'd');
  variants.push_back(v);

  std::set<std::string> seeds = {tc::to_hex(first.seed)};
  for (const auto& x : variants)
    EXPECT_TRUE(seeds.insert(tc::to_hex(tc::draw_seed(x))).second);
}

TEST(draw, exclusions_are_respected_and_selection_is_distinct) {
  tc::init();
  tc::draw_inputs in = worked_example();
  in.count = 10;  // everyone available
  for (std::uint64_t t = 0; t < 500; ++t) {
    in.seed_materials[2].value = be64(t);
    const auto r = tc::run_draw(in);
    ASSERT_EQ(r.selected.size(), 10u);
    const std::set<std::string> distinct(r.selected.begin(), r.selected.end());
    ASSERT_EQ(distinct.size(), 10u);
    ASSERT_EQ(distinct.count("E004"), 0u);
    ASSERT_EQ(distinct.count("E009"), 0u);
    for (const auto& id : distinct) {
      ASSERT_NE(std::find(in.candidates.begin(), in.candidates.end(), id), in.candidates.end());
    }
  }
  // Ten are available once the two exclusions are removed; eleven is refused.
  in.count = 11;
  EXPECT_EQ(code_of([&] { (void)tc::run_draw(in); }), tc::draw_err_count_exceeds_candidates);
}

TEST(draw, verify_draw_accepts_only_the_exact_selection) {
  tc::init();
  const auto in = worked_example();
  const std::vector<std::string> good = {"E007", "E011", "E002", "E005"};
  EXPECT_TRUE(tc::verify_draw(in, good));
  EXPECT_FALSE(tc::verify_draw(in, std::vector<std::string>{"E011", "E007", "E002", "E005"}));
  EXPECT_FALSE(tc::verify_draw(in, std::vector<std::string>{"E007", "E011", "E002"}));
  EXPECT_FALSE(
      tc::verify_draw(in, std::vector<std::string>{"E007", "E011", "E002", "E005", "E001"}));
  EXPECT_FALSE(tc::verify_draw(in, std::vector<std::string>{"E007", "E011", "E002", "E004"}));
  EXPECT_FALSE(tc::verify_draw(in, {}));
  auto bad = in;
  bad.exclusions.push_back("E999");
  EXPECT_EQ(code_of([&] { (void)tc::verify_draw(bad, good); }), tc::draw_err_unknown_exclusion);
}

TEST(draw, bad_inputs_have_clear_codes) {
  tc::init();
  const auto base = worked_example();
  const auto code = [](const tc::draw_inputs& in) {
    return code_of([&] { (void)tc::run_draw(in); });
  };
  auto in = base;

  EXPECT_EQ(code(base), "");
  in.count = 0;
  EXPECT_EQ(code(in), tc::draw_err_bad_count);
  in = base;
  in.count = 11;
  EXPECT_EQ(code(in), tc::draw_err_count_exceeds_candidates);
  in.count = 10;
  EXPECT_EQ(code(in), "");
  in = base;
  in.candidates.push_back("E003");
  EXPECT_EQ(code(in), tc::draw_err_duplicate_candidate);
  in = base;
  in.candidates.push_back("");
  EXPECT_EQ(code(in), tc::draw_err_empty_id);
  in = base;
  in.candidates.push_back(std::string(257, 'x'));
  EXPECT_EQ(code(in), tc::draw_err_bad_id);
  in.candidates.back() = std::string(256, 'x');
  EXPECT_EQ(code(in), "");
  in.candidates.back() = "tab\there";
  EXPECT_EQ(code(in), tc::draw_err_bad_id);
  in.candidates.back() = "bad\xff";
  EXPECT_EQ(code(in), tc::draw_err_bad_id);
  in.candidates.back() = "\xE4\xB8\x93\xE5\xAE\xB6-7";  // UTF-8 ids are fine
  EXPECT_EQ(code(in), "");
  in = base;
  in.exclusions.push_back("E004");
  EXPECT_EQ(code(in), tc::draw_err_duplicate_exclusion);
  in = base;
  in.exclusions.push_back("E013");
  EXPECT_EQ(code(in), tc::draw_err_unknown_exclusion);
  in = base;
  in.exclusions.push_back("");
  EXPECT_EQ(code(in), tc::draw_err_empty_id);
  in = base;
  in.seed_materials.clear();
  EXPECT_EQ(code(in), tc::draw_err_no_seed_material);
  in = base;
  in.seed_materials.push_back({"host_reveal", {}});
  EXPECT_EQ(code(in), tc::draw_err_duplicate_seed_label);
  in = base;
  in.seed_materials.push_back({"", {}});
  EXPECT_EQ(code(in), tc::draw_err_bad_seed_label);
  in.seed_materials.back().label = std::string(65, 'l');
  EXPECT_EQ(code(in), tc::draw_err_bad_seed_label);
  in.seed_materials.back().label = "big";
  in.seed_materials.back().value = tc::bytes(4097);
  EXPECT_EQ(code(in), tc::draw_err_seed_value_too_long);
  in = base;
  for (int i = 0; i < 62; ++i)
    in.seed_materials.push_back({"m" + std::to_string(i), {}});
  EXPECT_EQ(code(in), tc::draw_err_too_many_seed_materials);
  in = base;
  in.candidates.clear();
  for (std::size_t i = 0; i <= tc::draw_max_candidates; ++i)
    in.candidates.push_back("c" + std::to_string(i));
  in.exclusions.clear();
  EXPECT_EQ(code(in), tc::draw_err_too_many_candidates);
  in.candidates.pop_back();
  EXPECT_EQ(code(in), "");

  // Messages never quote candidate ids: expert identities stay sealed until the draw is settled.
  in = base;
  in.candidates.push_back("SECRET-EXPERT");
  in.candidates.push_back("SECRET-EXPERT");
  try {
    (void)tc::run_draw(in);
    FAIL() << "duplicate accepted";
  } catch (const tc::error& e) {
    EXPECT_EQ(std::string(e.what()).find("SECRET"), std::string::npos) << e.what();
  }
}

// Rejection sampling, checked against the rule written out directly from the raw words: with
// m = 2^63 + 1, floor(2^64 / m) * m = m, so roughly half of all words are rejected.
TEST(draw, uniform_rejects_exactly_the_biased_words) {
  tc::init();
  const std::uint64_t m = (std::uint64_t{1} << 63) + 1;
  int rejections = 0;
  for (std::uint64_t t = 0; t < 64; ++t) {
    const auto seed = tc::sha256(tc::as_bytes("uniform test " + std::to_string(t)));
    tc::draw_stream raw(seed);
    tc::draw_stream sampled(seed);
    for (int call = 0; call < 4; ++call) {
      std::uint64_t x = raw.next_word();
      while (x >= m) {  // limit = 1 * m
        ++rejections;
        x = raw.next_word();
      }
      ASSERT_EQ(sampled.uniform(m), x);
      ASSERT_EQ(sampled.words_used(), raw.words_used());
    }
  }
  EXPECT_GT(rejections, 50);  // both paths were exercised

  // Powers of two never reject; m = 1 still consumes one word; m = 0 is an error.
  tc::draw_stream a(tc::sha256(tc::as_bytes("p2")));
  tc::draw_stream b(tc::sha256(tc::as_bytes("p2")));
  for (int i = 0; i < 100; ++i)
    ASSERT_EQ(a.uniform(std::uint64_t{1} << 40), b.next_word() % (std::uint64_t{1} << 40));
  EXPECT_EQ(a.uniform(1), 0u);
  EXPECT_EQ(a.words_used(), 101u);
  EXPECT_EQ(code_of([&] { (void)a.uniform(0); }), tc::draw_err_bad_range);
  // m = 3: 2^64 mod 3 = 1, so only the single word 2^64 - 1 is rejected.
  tc::draw_stream c(tc::sha256(tc::as_bytes("m3")));
  tc::draw_stream d(tc::sha256(tc::as_bytes("m3")));
  for (int i = 0; i < 100; ++i)
    ASSERT_EQ(c.uniform(3), d.next_word() % 3);
}

// 200,000 draws of 1 from 7 with fixed seeds: the per-candidate frequencies pass a chi-square
// test, and a modulo-biased sampler fed from the same stream fails it.
TEST(draw, statistics_one_of_seven) {
  tc::init();
  constexpr std::uint64_t trials = 200'000;
  tc::draw_inputs in;
  in.seed_materials = {{"suite", tc::bytes{'1', '/', '7'}}, {"trial", {}}};
  in.candidates = {"a", "b", "c", "d", "e", "f", "g"};
  in.count = 1;
  std::vector<std::uint64_t> counts(7, 0);
  std::vector<std::uint64_t> biased(7, 0);
  for (std::uint64_t t = 0; t < trials; ++t) {
    in.seed_materials[1].value = be64(t);
    const auto r = tc::run_draw(in);
    ++counts[static_cast<std::size_t>(r.selected[0][0] - 'a')];
    // Negative control: 3 random bits reduced mod 7 (a caricature of modulo bias).
    tc::draw_stream s(r.seed);
    ++biased[(s.next_word() >> 61) % 7];
  }
  const double chi = chi_square(counts, trials / 7.0);
  EXPECT_LT(chi, chi2_df6) << "chi-square " << chi;
  EXPECT_GT(chi_square(biased, trials / 7.0), 100 * chi2_df6);
}

// 200,000 draws of 3 from 10: membership, each position separately (no position bias) and the
// 720 ordered triples (each permutation prefix equally likely). A textbook Fisher-Yates mistake
// (swapping with any position instead of one not yet fixed) fails the triple test.
TEST(draw, statistics_three_of_ten_without_position_bias) {
  tc::init();
  constexpr std::uint64_t trials = 200'000;
  tc::draw_inputs in;
  in.seed_materials = {{"suite", tc::bytes{'3', '/', '1', '0'}}, {"trial", {}}};
  for (char c = '0'; c <= '9'; ++c)
    in.candidates.emplace_back(1, c);
  in.count = 3;

  std::vector<std::uint64_t> members(10, 0);
  std::array<std::vector<std::uint64_t>, 3> by_position;
  for (auto& p : by_position)
    p.assign(10, 0);
  std::vector<std::uint64_t> triples(1000, 0);
  std::vector<std::uint64_t> naive_triples(1000, 0);
  for (std::uint64_t t = 0; t < trials; ++t) {
    in.seed_materials[1].value = be64(t);
    const auto r = tc::run_draw(in);
    std::size_t key = 0;
    for (std::size_t pos = 0; pos < 3; ++pos) {
      const auto d = static_cast<std::size_t>(r.selected[pos][0] - '0');
      ++members[d];
      ++by_position[pos][d];
      key = key * 10 + d;
    }
    ++triples[key];

    std::array<std::size_t, 10> pool{0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
    tc::draw_stream s(r.seed);
    for (std::size_t i = 0; i < 3; ++i)
      std::swap(pool[i], pool[s.uniform(10)]);
    ++naive_triples[pool[0] * 100 + pool[1] * 10 + pool[2]];
  }
  const double chi_members = chi_square(members, trials * 3 / 10.0);
  EXPECT_LT(chi_members, chi2_df9) << "membership chi-square " << chi_members;
  for (std::size_t pos = 0; pos < 3; ++pos) {
    const double chi = chi_square(by_position[pos], trials / 10.0);
    EXPECT_LT(chi, chi2_df9) << "position " << pos << " chi-square " << chi;
  }
  // Only the 720 keys with three distinct digits are possible.
  std::vector<std::uint64_t> ordered, naive_ordered;
  for (std::size_t key = 0; key < 1000; ++key) {
    const std::size_t a = key / 100, b = key / 10 % 10, c = key % 10;
    if (a == b || b == c || a == c) {
      EXPECT_EQ(triples[key], 0u);
      continue;
    }
    ordered.push_back(triples[key]);
    naive_ordered.push_back(naive_triples[key]);
  }
  ASSERT_EQ(ordered.size(), 720u);
  const double chi_triples = chi_square(ordered, trials / 720.0);
  EXPECT_LT(chi_triples, chi2_df719) << "ordered triples chi-square " << chi_triples;
  EXPECT_GT(chi_square(naive_ordered, trials / 720.0), 10 * chi2_df719);
}
