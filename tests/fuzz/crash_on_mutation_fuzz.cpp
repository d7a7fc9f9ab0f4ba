// Not a fuzz target of the product: it aborts on the third input it is given. Run on a corpus of
// two seeds (corpus/sealed_summary), the third input is the first mutated one, so the replay
// harness (replay_main.cpp) must report the crash: the test expects it to fail.

#include <cstddef>
#include <cstdint>
#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t*, std::size_t) {
  static int calls = 0;
  if (++calls == 3) std::abort();
  return 0;
}
