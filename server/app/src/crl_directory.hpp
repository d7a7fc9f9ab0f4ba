#pragma once

// identity.crl_dir: the CA revocation lists as the directory holds them now. current() is asked
// at every use of a certificate-backed key (login, bid completion, signed hall actions), so a list
// the operator installs or replaces counts from the next use on, on every node that reads it,
// without a restart. Each call compares the directory's listing (name, size, modification time)
// with the last one read; only a difference re-reads the files.

#include <tender/crypto/x509.hpp>
#include <tender/db/certificates.hpp>

#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>

namespace tender::app {

class crl_directory {
public:
  // Reads the directory once: throws std::runtime_error naming the file when the directory
  // cannot be listed or a file is not a CRL signed by one of `roots` (tenderd refuses to start).
  crl_directory(std::filesystem::path dir, std::shared_ptr<const crypto::x509::trust_store> roots);

  // The lists in force. A file that changed and no longer reads or verifies is logged and its
  // previous version kept: a broken download never silently lifts a revocation.
  std::shared_ptr<const db::revocation_lists> current();

  // current() as a db::revocation_source.
  static db::revocation_source source(std::shared_ptr<crl_directory> dir);

private:
  struct file_state {
    std::uintmax_t size = 0;
    std::filesystem::file_time_type mtime;
    crypto::x509::revocation_list list;
  };
  using listing = std::map<std::string, std::pair<std::uintmax_t, std::filesystem::file_time_type>>;

  listing list_files() const;
  crypto::x509::revocation_list read(const std::string& name) const;

  std::filesystem::path dir_;
  std::shared_ptr<const crypto::x509::trust_store> roots_;
  // Held by the one caller re-reading changed files; files_ changes only under it.
  std::mutex reload_mutex_;
  std::map<std::string, file_state> files_;
  // Short: no file is read under it.
  std::mutex mutex_;
  listing listing_;
  std::shared_ptr<const db::revocation_lists> lists_;
};

}  // namespace tender::app
