// Fuzzes the opening-summary parser (salt || JSON object) — the part of a decrypted bid the hall
// reads to announce it — and the header parser on the same bytes.

#include <tender/crypto/error.hpp>
#include <tender/crypto/init.hpp>
#include <tender/crypto/sealed_bid.hpp>

#include <cstddef>
#include <cstdint>

namespace ts = tender::crypto::sealed;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const bool ready = (tender::crypto::init(), true);
  (void)ready;
  try {
    const ts::opened_summary s = ts::parse_summary_plaintext(tender::crypto::byte_view(data, size));
    // A parsed summary always has the salt and a JSON object.
    if (s.salt.size() != ts::salt_size || s.json.size() < 2) __builtin_trap();
  } catch (const tender::crypto::error&) {
  }
  return 0;
}
