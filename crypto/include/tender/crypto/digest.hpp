#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace tender::crypto {

using sha256_digest = std::array<std::uint8_t, 32>;

sha256_digest sha256(std::span<const std::uint8_t> data);
sha256_digest sha256(std::string_view data);

// Lower-case hexadecimal, two characters per byte.
std::string to_hex(std::span<const std::uint8_t> bytes);

}  // namespace tender::crypto
