#include <tender/crypto/bytes.hpp>
#include <tender/crypto/error.hpp>

#include <sodium.h>

namespace tender::crypto {

void secure_wipe(void* data, std::size_t size) {
  sodium_memzero(data, size);
}

void secure_bytes::resize(std::size_t n) {
  if (n <= data_.capacity()) {
    if (n < data_.size()) secure_wipe(data_.data() + n, data_.size() - n);
    data_.resize(n);
    return;
  }
  std::vector<std::uint8_t> bigger(n);
  std::copy(data_.begin(), data_.end(), bigger.begin());
  wipe();
  data_ = std::move(bigger);
}

std::string hex_encode(byte_view data) {
  std::string out(data.size() * 2 + 1, '\0');
  sodium_bin2hex(out.data(), out.size(), data.data(), data.size());
  out.pop_back();
  return out;
}

bytes hex_decode(std::string_view text) {
  if (text.size() % 2 != 0) throw error("encoding.bad_hex", "hex text has an odd length");
  bytes out(text.size() / 2);
  std::size_t len = 0;
  const char* end = nullptr;
  if (sodium_hex2bin(out.data(), out.size(), text.data(), text.size(), nullptr, &len, &end) != 0 ||
      len != out.size() || end != text.data() + text.size()) {
    throw error("encoding.bad_hex", "hex text contains a character that is not a hex digit");
  }
  return out;
}

std::string base64_encode(byte_view data) {
  const std::size_t n = sodium_base64_encoded_len(data.size(), sodium_base64_VARIANT_ORIGINAL);
  std::string out(n, '\0');
  sodium_bin2base64(out.data(), n, data.data(), data.size(), sodium_base64_VARIANT_ORIGINAL);
  out.resize(n - 1);
  return out;
}

bytes base64_decode(std::string_view text) {
  bytes out(text.size() / 4 * 3 + 3);
  std::size_t len = 0;
  const char* end = nullptr;
  if (sodium_base642bin(out.data(), out.size(), text.data(), text.size(), nullptr, &len, &end,
                        sodium_base64_VARIANT_ORIGINAL) != 0 ||
      end != text.data() + text.size()) {
    throw error("encoding.bad_base64", "text is not valid padded base64");
  }
  out.resize(len);
  return out;
}

bool constant_time_equal(byte_view a, byte_view b) {
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace tender::crypto
