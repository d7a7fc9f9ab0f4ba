#pragma once

// RFC 3986 percent-encoding, shared by the server (query parameters, Content-Disposition) and the
// client SDK (path segments, query values).

#include <optional>
#include <string>
#include <string_view>

namespace tender::protocol {

// Keeps the unreserved characters (A-Z a-z 0-9 - . _ ~) and encodes every other byte as %XX.
std::string percent_encode(std::string_view text);
// Decodes %XX escapes ('+' stays a plus sign); nullopt when a '%' is not followed by two hex
// digits.
std::optional<std::string> percent_decode(std::string_view text);

}  // namespace tender::protocol
