#pragma once

// Private helpers shared by the signed-note parser and the draw input checks. Both publish text
// that other implementations (Go, Python) must read byte for byte the same way, so both insist on
// strict UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF.

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace tender::crypto::detail {

// Decodes one code point starting at text[pos]. On success stores it in `cp`, advances `pos`
// and returns true; on any malformed sequence returns false and leaves `pos` unchanged.
inline bool next_code_point(std::string_view text, std::size_t& pos, char32_t& cp) {
  const auto byte_at = [&](std::size_t i) { return static_cast<std::uint8_t>(text[i]); };
  const std::uint8_t b0 = byte_at(pos);
  std::size_t len = 0;
  char32_t min = 0;
  if (b0 < 0x80) {
    cp = b0;
    ++pos;
    return true;
  }
  if ((b0 & 0xe0) == 0xc0) {
    len = 2;
    cp = b0 & 0x1f;
    min = 0x80;
  } else if ((b0 & 0xf0) == 0xe0) {
    len = 3;
    cp = b0 & 0x0f;
    min = 0x800;
  } else if ((b0 & 0xf8) == 0xf0) {
    len = 4;
    cp = b0 & 0x07;
    min = 0x10000;
  } else {
    return false;
  }
  if (text.size() - pos < len) return false;
  for (std::size_t i = 1; i < len; ++i) {
    const std::uint8_t b = byte_at(pos + i);
    if ((b & 0xc0) != 0x80) return false;
    cp = (cp << 6) | (b & 0x3f);
  }
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
  pos += len;
  return true;
}

// Valid UTF-8 in which no code point is below U+0020 except the ones `allowed_control` lets
// through.
template <typename Allow>
bool valid_utf8_without_controls(std::string_view text, Allow allowed_control) {
  std::size_t pos = 0;
  while (pos < text.size()) {
    char32_t cp = 0;
    if (!next_code_point(text, pos, cp)) return false;
    if (cp < 0x20 && !allowed_control(cp)) return false;
  }
  return true;
}

inline bool valid_utf8_no_controls(std::string_view text) {
  return valid_utf8_without_controls(text, [](char32_t) { return false; });
}

// The code points Go's unicode.IsSpace reports: the C2SP note spec forbids "Unicode spaces" in key
// names, and the Go implementation is the de-facto reference for what that means.
inline bool is_unicode_space(char32_t cp) {
  switch (cp) {
    case U'\t':
    case U'\n':
    case U'\v':
    case U'\f':
    case U'\r':
    case U' ':
    case 0x85:
    case 0xa0:
    case 0x1680:
    case 0x2028:
    case 0x2029:
    case 0x202f:
    case 0x205f:
    case 0x3000:
      return true;
    default:
      return cp >= 0x2000 && cp <= 0x200a;
  }
}

}  // namespace tender::crypto::detail
