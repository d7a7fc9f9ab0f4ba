#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace tender::crypto {

using bytes = std::vector<std::uint8_t>;
using byte_view = std::span<const std::uint8_t>;

inline byte_view as_bytes(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

// Zeroes memory in a way the optimiser may not remove.
void secure_wipe(void* data, std::size_t size);

// A byte buffer for secrets (file keys, private scalars, shared points): wiped when destroyed or
// reassigned, never printed. Copying is explicit through clone() so secrets do not multiply by
// accident.
class secure_bytes {
public:
  secure_bytes() = default;
  explicit secure_bytes(std::size_t size) : data_(size) {}
  explicit secure_bytes(byte_view from) : data_(from.begin(), from.end()) {}
  secure_bytes(const secure_bytes&) = delete;
  secure_bytes& operator=(const secure_bytes&) = delete;
  secure_bytes(secure_bytes&& other) noexcept : data_(std::move(other.data_)) {}
  secure_bytes& operator=(secure_bytes&& other) noexcept {
    if (this != &other) {
      wipe();
      data_ = std::move(other.data_);
    }
    return *this;
  }
  ~secure_bytes() { wipe(); }

  secure_bytes clone() const { return secure_bytes(view()); }
  std::uint8_t* data() { return data_.data(); }
  const std::uint8_t* data() const { return data_.data(); }
  std::size_t size() const { return data_.size(); }
  bool empty() const { return data_.empty(); }
  byte_view view() const { return {data_.data(), data_.size()}; }
  std::span<std::uint8_t> span() { return {data_.data(), data_.size()}; }
  void resize(std::size_t n);  // wipes the old storage if it moves

private:
  void wipe() {
    if (!data_.empty()) secure_wipe(data_.data(), data_.size());
  }
  std::vector<std::uint8_t> data_;
};

std::string hex_encode(byte_view data);
// Throws crypto::error("encoding.bad_hex") on odd length or a non-hex character.
bytes hex_decode(std::string_view text);
// Standard base64 with padding (RFC 4648 §4).
std::string base64_encode(byte_view data);
// Throws crypto::error("encoding.bad_base64"); accepts padded standard base64 only.
bytes base64_decode(std::string_view text);

// Constant-time equality for MACs and digests.
bool constant_time_equal(byte_view a, byte_view b);

}  // namespace tender::crypto
