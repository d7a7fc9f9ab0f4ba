#include <tender/crypto/digest.hpp>

#include <sodium.h>

namespace tender::crypto {

sha256_digest sha256(std::span<const std::uint8_t> data) {
  sha256_digest out{};
  crypto_hash_sha256(out.data(), data.data(), data.size());
  return out;
}

sha256_digest sha256(std::string_view data) {
  return sha256(std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(data.data()),
                                              data.size()));
}

std::string to_hex(std::span<const std::uint8_t> bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (const std::uint8_t b : bytes) {
    out.push_back(digits[b >> 4]);
    out.push_back(digits[b & 0x0f]);
  }
  return out;
}

}  // namespace tender::crypto
