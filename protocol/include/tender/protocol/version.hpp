#pragma once

#include <string_view>

namespace tender::protocol {

// The product version (from CMake's project version) and the HTTP API version the server speaks.
std::string_view product_version();
inline constexpr std::string_view api_version = "v1";

}  // namespace tender::protocol
