#pragma once

// Files that tenderd keeps outside PostgreSQL: the content-addressed blobs of sealed bids and the
// partial files of unfinished uploads (docs/design/submission.md, "Blob store"). PostgreSQL holds
// the records; a file here is only referenced by its digest (blobs) or its upload id (partials).
//
// Every write that is acknowledged is durable: a blob appears atomically (temp file, fsync, rename,
// directory fsync) and a partial file is fsynced before its new offset is recorded. All methods
// block on disk I/O: call them from a worker thread, never from an I/O thread.

#include <cstdint>
#include <filesystem>
#include <istream>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace tender::storage {

// Thrown for I/O failures and bad arguments; what() names the path and the cause.
struct storage_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Content-addressed, immutable blobs named by the lower-case hex SHA-256 of their bytes. One
// interface, so an object store can replace the file system later.
class blob_store {
public:
  virtual ~blob_store() = default;

  // Moves `staged` (a complete file on the same file system, e.g. a finished partial upload) into
  // the store under `sha256_hex`, which the caller has computed over the file's bytes. The file is
  // fsynced, renamed into place and the directory fsynced; if the blob already exists the staged
  // file is removed and the existing blob kept. Returns the blob's size.
  virtual std::uint64_t adopt(const std::filesystem::path& staged, std::string_view sha256_hex) = 0;

  // Stores bytes read from `in` to its end (hashing them) and returns the digest.
  virtual std::string put(std::istream& in) = 0;

  // A binary stream over the blob; nullptr when absent.
  virtual std::unique_ptr<std::istream> open(std::string_view sha256_hex) const = 0;
  virtual std::optional<std::uint64_t> size(std::string_view sha256_hex) const = 0;
  // The SHA-256 of the bytes stored under `sha256_hex` now, read again from the store (nullopt:
  // absent). A file that no longer opens is damaged here when this differs from its name: the
  // platform's fault, not its author's.
  virtual std::optional<std::string> digest_of(std::string_view sha256_hex) const = 0;
  virtual bool exists(std::string_view sha256_hex) const = 0;
  // Removes the blob (no error when absent).
  virtual void remove(std::string_view sha256_hex) = 0;
  // Every blob digest (for garbage collection against the database's references).
  virtual std::vector<std::string> list() const = 0;
};

// Blobs as files under `<root>/blobs/sha256/<2 hex>/<64 hex>`; staging under `<root>/tmp`.
std::unique_ptr<blob_store> make_file_blob_store(const std::filesystem::path& root);

// The partial files of resumable uploads: `<root>/uploads/<upload id>.part`. Ids are checked
// ([A-Za-z0-9_-]{1,64}) so a caller cannot escape the directory.
class upload_area {
public:
  explicit upload_area(std::filesystem::path root);

  const std::filesystem::path& directory() const { return dir_; }
  std::filesystem::path path_of(std::string_view upload_id) const;

  // Creates an empty partial file (fsynced, with its directory). Idempotent.
  void create(std::string_view upload_id);
  // Opens the partial file for appending at `offset`, truncating anything after it (bytes a
  // crashed PATCH wrote but never acknowledged). Throws when the file is shorter than `offset`.
  class writer;
  std::unique_ptr<writer> append_at(std::string_view upload_id, std::uint64_t offset);
  // Current size on disk; nullopt when the file does not exist.
  std::optional<std::uint64_t> size(std::string_view upload_id) const;
  void remove(std::string_view upload_id);
  // Every upload id that has a partial file (for cleanup of voided uploads).
  std::vector<std::string> list() const;

private:
  std::filesystem::path dir_;
};

// An open partial file. write() appends (buffered by the kernel); sync() makes every byte written
// so far durable and returns the new size. Not thread-safe; one writer per upload at a time.
class upload_area::writer {
public:
  virtual ~writer() = default;
  virtual void write(const char* data, std::size_t size) = 0;
  virtual std::uint64_t sync() = 0;
  virtual std::uint64_t offset() const = 0;
};

}  // namespace tender::storage
