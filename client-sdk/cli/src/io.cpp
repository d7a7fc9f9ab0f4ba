#include "io.hpp"

#include <boost/json.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <system_error>

namespace tender::cli {
namespace fs = std::filesystem;

namespace {

std::string errno_text(int e) {
  return std::error_code(e, std::generic_category()).message();
}

[[noreturn]] void io_failure(const std::string& what, const fs::path& path, int e) {
  throw error(codes::io, "cannot " + what + " " + path.string() + ": " + errno_text(e));
}

[[noreturn]] void too_large(const fs::path& path, std::size_t max_size) {
  throw error(codes::bad_input,
              path.string() + " is larger than " + std::to_string(max_size) + " bytes");
}

// Closes the descriptor on every path out of a function.
class fd_guard {
public:
  explicit fd_guard(int fd) : fd_(fd) {}
  fd_guard(const fd_guard&) = delete;
  fd_guard& operator=(const fd_guard&) = delete;
  ~fd_guard() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }
  // Closes now and reports the result, because close() can be where a write error shows up.
  int close_now() {
    const int rc = ::close(fd_);
    fd_ = -1;
    return rc;
  }

private:
  int fd_;
};

int open_for_reading(const fs::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) io_failure("read", path, errno);
  return fd;
}

// read() that retries on EINTR; returns the byte count, 0 at end of file.
std::size_t read_some(int fd, void* buf, std::size_t size, const fs::path& path) {
  for (;;) {
    const ssize_t n = ::read(fd, buf, size);
    if (n >= 0) return static_cast<std::size_t>(n);
    if (errno != EINTR) io_failure("read", path, errno);
  }
}

bool is_hex_digit(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

}  // namespace

std::string read_file(const fs::path& path, std::size_t max_size) {
  fd_guard fd(open_for_reading(path));
  std::string out;
  char buf[64 * 1024];
  for (;;) {
    const std::size_t n = read_some(fd.get(), buf, sizeof buf, path);
    if (n == 0) break;
    if (out.size() + n > max_size) too_large(path, max_size);
    out.append(buf, n);
  }
  return out;
}

crypto::secure_bytes read_secret_file(const fs::path& path, std::size_t max_size) {
  fd_guard fd(open_for_reading(path));
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) io_failure("read", path, errno);
  if (!S_ISREG(st.st_mode)) {
    throw error(codes::bad_input, path.string() + " is not a regular file");
  }
  if (static_cast<std::uintmax_t>(st.st_size) > max_size) too_large(path, max_size);
  // The size is known, so the buffer never grows (growing would leave unwiped copies behind).
  crypto::secure_bytes out(static_cast<std::size_t>(st.st_size));
  std::size_t done = 0;
  while (done < out.size()) {
    const std::size_t n = read_some(fd.get(), out.data() + done, out.size() - done, path);
    if (n == 0) break;
    done += n;
  }
  std::uint8_t extra = 0;
  if (done != out.size() || read_some(fd.get(), &extra, 1, path) != 0) {
    throw error(codes::io, path.string() + " changed while it was being read");
  }
  return out;
}

void write_file(const fs::path& path, crypto::byte_view data, write_mode mode) {
  if (mode.overwrite && ::unlink(path.c_str()) != 0 && errno != ENOENT) {
    io_failure("replace", path, errno);
  }
  // O_EXCL: never write through a file (or a symlink) that someone else put there.
  const int raw =
      ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode.owner_only ? 0600 : 0644);
  if (raw < 0) {
    if (errno == EEXIST) {
      throw error(codes::file_exists,
                  path.string() + " already exists (use --force to replace it)");
    }
    io_failure("create", path, errno);
  }
  fd_guard fd(raw);
  auto fail = [&](int e) {
    ::unlink(path.c_str());
    io_failure("write", path, e);
  };
  std::size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd.get(), data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail(errno);
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd.get()) != 0) fail(errno);
  if (fd.close_now() != 0) fail(errno);
}

std::vector<std::string> split_lines(std::string_view text) {
  constexpr std::string_view bom = "\xEF\xBB\xBF";
  if (text.substr(0, bom.size()) == bom) text.remove_prefix(bom.size());
  std::vector<std::string> lines;
  while (!text.empty()) {
    const std::size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (!line.empty()) lines.emplace_back(line);
  }
  return lines;
}

std::string_view trim(std::string_view text) {
  constexpr std::string_view space = " \t\r\n";
  const std::size_t begin = text.find_first_not_of(space);
  if (begin == std::string_view::npos) return {};
  const std::size_t end = text.find_last_not_of(space);
  return text.substr(begin, end - begin + 1);
}

crypto::bytes decode_fixed(std::string_view text, std::size_t size, std::string_view what) {
  text = trim(text);
  bool hex = text.size() == 2 * size;
  for (std::size_t i = 0; hex && i < text.size(); ++i)
    hex = is_hex_digit(text[i]);
  if (hex) return crypto::hex_decode(text);
  try {
    crypto::bytes raw = crypto::base64_decode(text);
    if (raw.size() == size) return raw;
  } catch (const crypto::error&) {
    // Reported below with the expected forms, which says more than "bad base64".
  }
  throw error(codes::bad_input, std::string(what) + " must be " + std::to_string(size) +
                                    " bytes, as " + std::to_string(2 * size) +
                                    " hex digits or in base64");
}

int report_invalid(context& ctx, bool as_json, const std::string& code,
                   const std::string& message) {
  ctx.err << "tender: " << message << " [" << code << "]\n";
  if (as_json) {
    ctx.out << boost::json::serialize(
                   boost::json::object{{"valid", false}, {"error", code}, {"message", message}})
            << "\n";
  }
  return exit_failure;
}

namespace {

void append_pretty(std::string& out, const boost::json::value& v, std::size_t depth) {
  const std::string pad(2 * (depth + 1), ' ');
  if (const auto* o = v.if_object(); o != nullptr && !o->empty()) {
    out += "{\n";
    bool first = true;
    for (const auto& member : *o) {
      if (!first) out += ",\n";
      first = false;
      out += pad + boost::json::serialize(boost::json::string(member.key())) + ": ";
      append_pretty(out, member.value(), depth + 1);
    }
    out += "\n" + std::string(2 * depth, ' ') + "}";
  } else if (const auto* a = v.if_array(); a != nullptr && !a->empty()) {
    out += "[\n";
    bool first = true;
    for (const auto& element : *a) {
      if (!first) out += ",\n";
      first = false;
      out += pad;
      append_pretty(out, element, depth + 1);
    }
    out += "\n" + std::string(2 * depth, ' ') + "]";
  } else {
    out += boost::json::serialize(v);
  }
}

}  // namespace

std::string pretty_json(const boost::json::value& v) {
  std::string out;
  append_pretty(out, v, 0);
  return out;
}

std::optional<std::uint64_t> parse_u64(std::string_view text) {
  std::uint64_t v = 0;
  if (text.empty()) return std::nullopt;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return v;
}

}  // namespace tender::cli
