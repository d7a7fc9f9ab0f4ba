// A libFuzzer target without libFuzzer: the short run of every target in the test suite (the gcc
// build has no -fsanitize=fuzzer). It feeds the target every file of a corpus directory, then a
// fixed number of inputs made from them by seeded mutations (bit flips, byte values, cut,
// duplicated and spliced ranges), so the run is the same every time. A crash or a sanitizer
// report ends the process and fails the test; the campaign proper runs under libFuzzer
// (docs/SECURITY.md §3).

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

struct rng {
  std::uint64_t s;
  std::uint64_t next() {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    return s;
  }
  std::size_t below(std::size_t n) { return n == 0 ? 0 : static_cast<std::size_t>(next() % n); }
};

using input = std::vector<std::uint8_t>;

input mutate(const std::vector<input>& seeds, rng& r, std::size_t max_len) {
  input in = seeds[r.below(seeds.size())];
  const int rounds = 1 + static_cast<int>(r.below(4));
  for (int i = 0; i < rounds; ++i) {
    switch (r.below(6)) {
      case 0:  // flip a bit
        if (!in.empty()) in[r.below(in.size())] ^= static_cast<std::uint8_t>(1u << r.below(8));
        break;
      case 1: {  // an interesting byte
        static const std::uint8_t values[] = {0,   0xff, 0x7f, 0x80, '"', '\\', '{',  '}',  '[',
                                              ']', ',',  ':',  '=',  '&', '%',  '\r', '\n', ' '};
        if (!in.empty()) in[r.below(in.size())] = values[r.below(sizeof values)];
        break;
      }
      case 2: {  // cut a range
        if (in.empty()) break;
        const auto at = r.below(in.size());
        const auto n = 1 + r.below(std::min<std::size_t>(16, in.size() - at));
        in.erase(in.begin() + static_cast<std::ptrdiff_t>(at),
                 in.begin() + static_cast<std::ptrdiff_t>(at + n));
        break;
      }
      case 3: {  // duplicate a range
        if (in.empty()) break;
        const auto at = r.below(in.size());
        const auto n = 1 + r.below(std::min<std::size_t>(64, in.size() - at));
        const input piece(in.begin() + static_cast<std::ptrdiff_t>(at),
                          in.begin() + static_cast<std::ptrdiff_t>(at + n));
        in.insert(in.begin() + static_cast<std::ptrdiff_t>(r.below(in.size() + 1)), piece.begin(),
                  piece.end());
        break;
      }
      case 4: {  // splice the tail of another seed
        const auto& other = seeds[r.below(seeds.size())];
        if (other.empty()) break;
        const auto from = r.below(other.size());
        in.resize(r.below(in.size() + 1));
        in.insert(in.end(), other.begin() + static_cast<std::ptrdiff_t>(from), other.end());
        break;
      }
      default:  // a random byte
        in.insert(in.begin() + static_cast<std::ptrdiff_t>(r.below(in.size() + 1)),
                  static_cast<std::uint8_t>(r.next()));
        break;
    }
  }
  if (in.size() > max_len) in.resize(max_len);
  return in;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || std::strcmp(argv[1], "--help") == 0) {
    std::fprintf(stderr,
                 "usage: %s CORPUS_DIR [MUTATIONS] [SEED]\n"
                 "Runs the fuzz target on every file of CORPUS_DIR, then on MUTATIONS (default\n"
                 "20000) inputs mutated from them with the given SEED (default 1).\n",
                 argv[0]);
    return 2;
  }
  const std::filesystem::path dir = argv[1];
  const unsigned long mutations = argc > 2 ? std::strtoul(argv[2], nullptr, 10) : 20000;
  rng r{argc > 3 ? std::strtoull(argv[3], nullptr, 10) | 1 : 1};
  std::vector<input> seeds;
  std::size_t max_len = 64;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    if (!e.is_regular_file()) continue;
    std::ifstream f(e.path(), std::ios::binary);
    input in((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    max_len = std::max(max_len, in.size() * 2);
    seeds.push_back(std::move(in));
  }
  if (seeds.empty()) {
    std::fprintf(stderr, "no seeds in %s\n", dir.c_str());
    return 2;
  }
  for (const auto& s : seeds)
    LLVMFuzzerTestOneInput(s.data(), s.size());
  for (unsigned long i = 0; i < mutations; ++i) {
    const auto in = mutate(seeds, r, max_len);
    LLVMFuzzerTestOneInput(in.data(), in.size());
  }
  std::printf("%zu seeds and %lu mutated inputs, no crash\n", seeds.size(), mutations);
  return 0;
}
