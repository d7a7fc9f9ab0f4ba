#include <tender/storage/blob_store.hpp>

#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <functional>
#include <random>
#include <system_error>
#include <utility>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace tender::storage {
namespace fs = std::filesystem;
namespace {

[[noreturn]] void fail(const std::string& what, const fs::path& path, int err) {
  throw storage_error(what + " " + path.string() + ": " + std::strerror(err));
}

bool is_sha256_hex(std::string_view s) {
  return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

void check_digest(std::string_view s) {
  if (!is_sha256_hex(s)) {
    throw storage_error("not a lower-case hex SHA-256 digest: \"" + std::string(s.substr(0, 80)) +
                        "\"");
  }
}

bool is_upload_id(std::string_view s) {
  return !s.empty() && s.size() <= 64 && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
           c == '-';
  });
}

// An open file descriptor, closed on scope exit.
class fd_guard {
public:
  explicit fd_guard(int fd = -1) : fd_(fd) {}
  fd_guard(const fd_guard&) = delete;
  fd_guard& operator=(const fd_guard&) = delete;
  ~fd_guard() { reset(); }
  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }
  void reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

private:
  int fd_;
};

int open_or_fail(const fs::path& path, int flags, mode_t mode = 0600) {
  int fd;
  do {
    fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) fail("cannot open", path, errno);
  return fd;
}

void fsync_or_fail(int fd, const fs::path& path) {
  if (::fsync(fd) != 0) fail("cannot fsync", path, errno);
}

void fsync_directory(const fs::path& dir) {
  fd_guard fd(open_or_fail(dir, O_RDONLY | O_DIRECTORY));
  fsync_or_fail(fd.get(), dir);
}

void fsync_file(const fs::path& path) {
  fd_guard fd(open_or_fail(path, O_RDONLY));
  fsync_or_fail(fd.get(), path);
}

void write_all(int fd, const char* data, std::size_t size, const fs::path& path) {
  while (size > 0) {
    const auto n = ::write(fd, data, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail("cannot write", path, errno);
    }
    data += n;
    size -= static_cast<std::size_t>(n);
  }
}

// Creates `dir` and any missing parents, fsyncing each parent whose entries changed so that the
// new directories survive a crash.
void make_directories(const fs::path& dir) {
  std::error_code ec;
  if (fs::is_directory(dir, ec)) return;
  const auto parent = dir.parent_path();
  if (!parent.empty() && parent != dir) make_directories(parent);
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
    fail("cannot create directory", dir, errno);
  if (!parent.empty()) fsync_directory(parent);
}

std::optional<std::uint64_t> regular_file_size(const fs::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) return std::nullopt;
    fail("cannot stat", path, errno);
  }
  if (!S_ISREG(st.st_mode)) return std::nullopt;
  return static_cast<std::uint64_t>(st.st_size);
}

// Removes `path` and fsyncs its directory; no error when it is already gone.
void remove_file(const fs::path& path) {
  if (::unlink(path.c_str()) != 0) {
    if (errno == ENOENT) return;
    fail("cannot remove", path, errno);
  }
  fsync_directory(path.parent_path());
}

std::string unique_name() {
  static std::atomic<std::uint64_t> counter{0};
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return std::to_string(::getpid()) + "-" + std::to_string(++counter) + "-" +
         std::to_string(rng()) + ".tmp";
}

class sha256_hasher {
public:
  sha256_hasher() : ctx_(EVP_MD_CTX_new()) {
    if (!ctx_ || EVP_DigestInit_ex(ctx_, EVP_sha256(), nullptr) != 1) {
      throw storage_error("cannot initialise SHA-256");
    }
  }
  sha256_hasher(const sha256_hasher&) = delete;
  sha256_hasher& operator=(const sha256_hasher&) = delete;
  ~sha256_hasher() { EVP_MD_CTX_free(ctx_); }
  void update(const char* data, std::size_t size) {
    if (EVP_DigestUpdate(ctx_, data, size) != 1) throw storage_error("SHA-256 update failed");
  }
  std::string hex() {
    std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
    unsigned int len = 0;
    if (EVP_DigestFinal_ex(ctx_, md.data(), &len) != 1) throw storage_error("SHA-256 failed");
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    out.reserve(len * 2);
    for (unsigned i = 0; i < len; ++i) {
      out.push_back(digits[md[i] >> 4]);
      out.push_back(digits[md[i] & 0x0f]);
    }
    return out;
  }

private:
  EVP_MD_CTX* ctx_;
};

// Hashes what `in` holds to its end, handing each chunk to `each` as well (nothing by default).
// The caller checks in.bad() for a read error.
std::string hash_stream(std::istream& in,
                        const std::function<void(const char*, std::size_t)>& each = {}) {
  sha256_hasher hash;
  std::array<char, 64 * 1024> buffer{};
  while (in) {
    in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    const auto n = static_cast<std::size_t>(in.gcount());
    if (n == 0) break;
    hash.update(buffer.data(), n);
    if (each) each(buffer.data(), n);
  }
  return hash.hex();
}

class file_blob_store final : public blob_store {
public:
  explicit file_blob_store(fs::path root) : blobs_(root / "blobs" / "sha256"), tmp_(root / "tmp") {
    make_directories(blobs_);
    make_directories(tmp_);
    remove_stale_staging();
  }

  std::uint64_t adopt(const fs::path& staged, std::string_view sha256_hex) override {
    check_digest(sha256_hex);
    const auto target = path_of(sha256_hex);
    if (auto existing = regular_file_size(target)) {
      // Same name, same bytes: keep the blob that is already durable.
      remove_file(staged);
      return *existing;
    }
    const auto size = regular_file_size(staged);
    if (!size) fail("cannot adopt", staged, ENOENT);
    fsync_file(staged);
    make_directories(target.parent_path());
    if (::rename(staged.c_str(), target.c_str()) != 0)
      fail("cannot move into the store", staged, errno);
    fsync_directory(target.parent_path());
    if (staged.has_parent_path() && staged.parent_path() != target.parent_path()) {
      fsync_directory(staged.parent_path());
    }
    return *size;
  }

  std::string put(std::istream& in) override {
    const auto staged = tmp_ / unique_name();
    try {
      std::string digest;
      {
        fd_guard fd(open_or_fail(staged, O_WRONLY | O_CREAT | O_EXCL));
        digest = hash_stream(
            in, [&](const char* data, std::size_t n) { write_all(fd.get(), data, n, staged); });
        if (in.bad()) throw storage_error("cannot read the blob's source stream");
        fsync_or_fail(fd.get(), staged);
      }
      adopt(staged, digest);
      return digest;
    } catch (...) {
      std::error_code ignored;
      fs::remove(staged, ignored);
      throw;
    }
  }

  std::unique_ptr<std::istream> open(std::string_view sha256_hex) const override {
    check_digest(sha256_hex);
    auto in = std::make_unique<std::ifstream>(path_of(sha256_hex), std::ios::binary);
    if (!*in) return nullptr;
    return in;
  }

  std::optional<std::uint64_t> size(std::string_view sha256_hex) const override {
    check_digest(sha256_hex);
    return regular_file_size(path_of(sha256_hex));
  }

  std::optional<std::string> digest_of(std::string_view sha256_hex) const override {
    check_digest(sha256_hex);
    const auto path = path_of(sha256_hex);
    if (!regular_file_size(path)) return std::nullopt;
    std::ifstream in(path, std::ios::binary);
    if (!in) return std::nullopt;
    auto digest = hash_stream(in);
    if (in.bad()) fail("cannot read", path, EIO);
    return digest;
  }

  bool exists(std::string_view sha256_hex) const override { return size(sha256_hex).has_value(); }

  void remove(std::string_view sha256_hex) override {
    check_digest(sha256_hex);
    remove_file(path_of(sha256_hex));
  }

  std::vector<std::string> list() const override {
    std::vector<std::string> out;
    std::error_code ec;
    for (fs::directory_iterator shard(blobs_, ec), end; !ec && shard != end; shard.increment(ec)) {
      const auto prefix = shard->path().filename().string();
      if (prefix.size() != 2 || !shard->is_directory(ec)) continue;
      std::error_code ec2;
      for (fs::directory_iterator f(shard->path(), ec2); !ec2 && f != end; f.increment(ec2)) {
        const auto name = f->path().filename().string();
        // Only complete blobs have a digest for a name, in the shard of their first two digits.
        if (is_sha256_hex(name) && name.compare(0, 2, prefix) == 0 && f->is_regular_file(ec2)) {
          out.push_back(name);
        }
      }
    }
    if (ec) throw storage_error("cannot list " + blobs_.string() + ": " + ec.message());
    std::sort(out.begin(), out.end());
    return out;
  }

private:
  fs::path path_of(std::string_view hex) const {
    return blobs_ / std::string(hex.substr(0, 2)) / std::string(hex);
  }

  // Staging files left by a crash are never blobs; drop those old enough not to be in use.
  void remove_stale_staging() {
    std::error_code ec;
    const auto now = fs::file_time_type::clock::now();
    for (fs::directory_iterator f(tmp_, ec), end; !ec && f != end; f.increment(ec)) {
      std::error_code ec2;
      const auto when = f->last_write_time(ec2);
      if (!ec2 && now - when > std::chrono::hours(1)) fs::remove(f->path(), ec2);
    }
  }

  fs::path blobs_;
  fs::path tmp_;
};

class file_writer final : public upload_area::writer {
public:
  file_writer(fs::path path, int fd, std::uint64_t offset)
      : path_(std::move(path)), fd_(fd), offset_(offset) {}

  void write(const char* data, std::size_t size) override {
    write_all(fd_.get(), data, size, path_);
    offset_ += size;
  }
  std::uint64_t sync() override {
    fsync_or_fail(fd_.get(), path_);
    return offset_;
  }
  std::uint64_t offset() const override { return offset_; }

private:
  fs::path path_;
  fd_guard fd_;
  std::uint64_t offset_;
};

}  // namespace

std::unique_ptr<blob_store> make_file_blob_store(const fs::path& root) {
  return std::make_unique<file_blob_store>(root);
}

upload_area::upload_area(fs::path root) : dir_(std::move(root) / "uploads") {
  make_directories(dir_);
}

fs::path upload_area::path_of(std::string_view upload_id) const {
  if (!is_upload_id(upload_id)) {
    throw storage_error("invalid upload id \"" + std::string(upload_id.substr(0, 80)) + "\"");
  }
  return dir_ / (std::string(upload_id) + ".part");
}

void upload_area::create(std::string_view upload_id) {
  const auto path = path_of(upload_id);
  {
    fd_guard fd(open_or_fail(path, O_WRONLY | O_CREAT));
    fsync_or_fail(fd.get(), path);
  }
  fsync_directory(dir_);
}

std::unique_ptr<upload_area::writer> upload_area::append_at(std::string_view upload_id,
                                                            std::uint64_t offset) {
  const auto path = path_of(upload_id);
  fd_guard fd(open_or_fail(path, O_WRONLY));
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) fail("cannot stat", path, errno);
  const auto size = static_cast<std::uint64_t>(st.st_size);
  if (size < offset) {
    throw storage_error("partial file " + path.string() + " has " + std::to_string(size) +
                        " bytes, fewer than offset " + std::to_string(offset));
  }
  if (size > offset && ::ftruncate(fd.get(), static_cast<off_t>(offset)) != 0) {
    fail("cannot truncate", path, errno);
  }
  if (::lseek(fd.get(), static_cast<off_t>(offset), SEEK_SET) < 0) fail("cannot seek", path, errno);
  // The writer owns the descriptor from here on.
  return std::make_unique<file_writer>(path, fd.release(), offset);
}

std::optional<std::uint64_t> upload_area::size(std::string_view upload_id) const {
  return regular_file_size(path_of(upload_id));
}

void upload_area::remove(std::string_view upload_id) {
  remove_file(path_of(upload_id));
}

std::vector<std::string> upload_area::list() const {
  std::vector<std::string> out;
  std::error_code ec;
  for (fs::directory_iterator f(dir_, ec), end; !ec && f != end; f.increment(ec)) {
    const auto name = f->path().filename().string();
    static constexpr std::string_view suffix = ".part";
    if (name.size() <= suffix.size() ||
        name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0) {
      continue;
    }
    auto id = name.substr(0, name.size() - suffix.size());
    std::error_code ec2;
    if (is_upload_id(id) && f->is_regular_file(ec2)) out.push_back(std::move(id));
  }
  if (ec) throw storage_error("cannot list " + dir_.string() + ": " + ec.message());
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace tender::storage
