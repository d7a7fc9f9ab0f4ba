// Fuzzes the sealed-bid readers that face untrusted bytes before any key is involved: the strict
// header parser, and the keyless whole-file walk (inspect, verify) that the server runs on every
// upload. Any input must either parse or throw tender::crypto::error — never crash, hang, or
// allocate without bound.

#include <tender/crypto/error.hpp>
#include <tender/crypto/init.hpp>
#include <tender/crypto/sealed_bid.hpp>

#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string>

namespace ts = tender::crypto::sealed;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const bool ready = (tender::crypto::init(), true);
  (void)ready;
  try {
    (void)ts::parse_header(tender::crypto::byte_view(data, size));
  } catch (const tender::crypto::error&) {
  }
  const std::string file(reinterpret_cast<const char*>(data), size);
  try {
    std::istringstream in(file);
    (void)ts::inspect(in);
  } catch (const tender::crypto::error&) {
  }
  try {
    std::istringstream in(file);
    (void)ts::verify(in);
  } catch (const tender::crypto::error&) {
  }
  return 0;
}
