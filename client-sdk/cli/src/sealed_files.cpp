#include "sealed_files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <system_error>
#include <vector>

namespace tender::cli {
namespace fs = std::filesystem;
namespace sealed = crypto::sealed;

namespace {

std::string errno_text(int e) {
  return std::error_code(e, std::generic_category()).message();
}

// Offsets of the header length field (u16, big-endian) in the fixed part of the header.
constexpr std::size_t length_offset = 12;
constexpr std::size_t fixed_prefix = 14;

}  // namespace

std::ifstream open_input(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw error(codes::io, "cannot read " + path.string() + ": " + errno_text(errno));
  return in;
}

sealed::header read_sealed_header(const fs::path& path) {
  std::ifstream in = open_input(path);
  try {
    std::vector<std::uint8_t> prefix(sealed::max_header_size);
    in.read(reinterpret_cast<char*>(prefix.data()), static_cast<std::streamsize>(prefix.size()));
    const auto got = static_cast<std::size_t>(in.gcount());
    if (in.bad()) throw error(codes::io, "cannot read " + path.string());
    if (got >= fixed_prefix) {
      const std::size_t length =
          (std::size_t{prefix[length_offset]} << 8) | std::size_t{prefix[length_offset + 1]};
      if (length <= got) return sealed::parse_header({prefix.data(), length});
    }
    // Too short for its own length field: the full structural walk reports the exact reason
    // (bad magic, truncated, malformed) with the format's precedence.
    in.clear();
    in.seekg(0);
    return sealed::inspect(in).hdr;
  } catch (const crypto::error& e) {
    throw crypto::error(e.code(), path.string() + ": " + e.what());
  }
}

crypto::bytes sealed_escrow_context(const sealed::header& h) {
  const std::string hex = crypto::hex_encode(sealed::header_digest(h));
  return {hex.begin(), hex.end()};
}

pending_output::pending_output(fs::path destination, bool overwrite, bool owner_only)
    : destination_(std::move(destination)), overwrite_(overwrite) {
  std::error_code ec;
  if (!overwrite_ && fs::exists(fs::symlink_status(destination_, ec))) {
    throw error(codes::file_exists,
                destination_.string() + " already exists (use --force to replace it)");
  }
  // Same directory as the destination, so that the final rename stays on one file system.
  fs::path dir = destination_.parent_path();
  if (dir.empty()) dir = ".";
  std::string pattern = (dir / ("." + destination_.filename().string() + ".tmp-XXXXXX")).string();
  const int fd = ::mkstemp(pattern.data());
  if (fd < 0) {
    throw error(codes::io, "cannot create a file in " + dir.string() + ": " + errno_text(errno));
  }
  // mkstemp creates 0600; a sealed file is public, an opened bid stays owner-only.
  if (!owner_only) ::fchmod(fd, 0644);
  ::close(fd);
  temporary_ = pattern;
  out_.open(temporary_, std::ios::binary | std::ios::trunc);
  if (!out_) {
    fs::remove(temporary_, ec);
    throw error(codes::io, "cannot write " + temporary_.string());
  }
}

pending_output::~pending_output() {
  if (!committed_) {
    out_.close();
    std::error_code ec;
    fs::remove(temporary_, ec);
  }
}

void pending_output::commit() {
  out_.flush();
  const bool written = out_.good();
  out_.close();
  if (!written || out_.fail()) {
    throw error(codes::io, "cannot write " + destination_.string());
  }
  // Sync before the rename, so that a crash never leaves a complete-looking but empty file.
  const int fd = ::open(temporary_.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0 || ::fsync(fd) != 0) {
    const int e = errno;
    if (fd >= 0) ::close(fd);
    throw error(codes::io, "cannot sync " + destination_.string() + ": " + errno_text(e));
  }
  ::close(fd);
  if (overwrite_) {
    if (::rename(temporary_.c_str(), destination_.c_str()) != 0) {
      throw error(codes::io, "cannot create " + destination_.string() + ": " + errno_text(errno));
    }
  } else {
    // link() fails with EEXIST instead of replacing a file that appeared in the meantime.
    if (::link(temporary_.c_str(), destination_.c_str()) != 0) {
      const int e = errno;
      if (e == EEXIST) {
        throw error(codes::file_exists,
                    destination_.string() + " already exists (use --force to replace it)");
      }
      throw error(codes::io, "cannot create " + destination_.string() + ": " + errno_text(e));
    }
    ::unlink(temporary_.c_str());
  }
  committed_ = true;
}

}  // namespace tender::cli
