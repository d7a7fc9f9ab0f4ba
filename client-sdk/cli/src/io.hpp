#pragma once

// File and text helpers for the commands that work on local files only (escrow, Merkle proofs,
// checkpoints, draws). Every failure is a cli::error with a stable code.

#include "command.hpp"

#include <tender/crypto/bytes.hpp>
#include <tender/crypto/error.hpp>

#include <boost/json/value.hpp>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tender::cli {

// Read limits, so that a wrong path (a disk image, a device) fails at once instead of filling
// memory. JSON documents (setups, shares, proofs, checkpoints) are small; candidate lists and
// draw records can hold up to 100,000 ids of up to 256 bytes.
inline constexpr std::size_t max_small_file = std::size_t{1} << 20;
inline constexpr std::size_t max_large_file = std::size_t{64} << 20;

// The whole file. Throws codes::io when it cannot be read, codes::bad_input when it is too large.
std::string read_file(const std::filesystem::path& path, std::size_t max_size);

// The same for files holding secrets: the bytes go straight from the kernel into wiping storage,
// with no stream buffer in between that would keep a copy. Regular files only.
crypto::secure_bytes read_secret_file(const std::filesystem::path& path, std::size_t max_size);

struct write_mode {
  bool overwrite = false;   // --force: replace an existing file (otherwise codes::file_exists)
  bool owner_only = false;  // create with mode 0600, for secret shares
};

// Creates the file with the right mode from the start (no window in which a secret file is
// readable by others), writes it completely and syncs it. A failed write removes the partial file.
void write_file(const std::filesystem::path& path, crypto::byte_view data, write_mode mode);
inline void write_file(const std::filesystem::path& path, std::string_view text, write_mode mode) {
  write_file(path, crypto::as_bytes(text), mode);
}

// Lines of a text list: "\n" or "\r\n" endings, a leading UTF-8 byte order mark dropped, blank
// lines skipped. Nothing else is trimmed: ids are hashed exactly as written.
std::vector<std::string> split_lines(std::string_view text);

// Spaces, tabs and line endings removed from both ends.
std::string_view trim(std::string_view text);

// A binary value of exactly `size` bytes given as hex (2·size digits) or as padded base64. The two
// lengths never coincide, so there is no ambiguity. Throws codes::bad_input naming `what`.
crypto::bytes decode_fixed(std::string_view text, std::size_t size, std::string_view what);

// Runs `f`; a crypto::error it throws gets "<path>: " in front of its message, code unchanged, so
// that a failure among several input files says which one.
template <class F>
auto about_file(const std::filesystem::path& path, F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const crypto::error& e) {
    throw crypto::error(e.code(), path.string() + ": " + e.what());
  }
}

// A negative verdict of a verify command: `tender: <message> [<code>]` on stderr and, with --json,
// {"valid":false,"error":"<code>","message":"..."} on stdout. Returns exit_failure.
int report_invalid(context& ctx, bool as_json, const std::string& code, const std::string& message);

// JSON laid out for people: one member or element per line, two spaces per level. Used for
// records that supervisors read, where a single 100 kB line would hide what they need to see.
std::string pretty_json(const boost::json::value& v);

// Strict unsigned decimal (digits only, no sign, no spaces); nullopt when malformed or too large.
std::optional<std::uint64_t> parse_u64(std::string_view text);

}  // namespace tender::cli
