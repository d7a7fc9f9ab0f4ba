#include "crl_directory.hpp"

#include <tender/core/log.hpp>
#include <tender/crypto/error.hpp>

#include <fstream>
#include <iterator>
#include <stdexcept>
#include <system_error>

namespace tender::app {

namespace fs = std::filesystem;

crl_directory::crl_directory(fs::path dir, std::shared_ptr<const crypto::x509::trust_store> roots)
    : dir_(std::move(dir)), roots_(std::move(roots)) {
  if (!roots_) roots_ = std::make_shared<crypto::x509::trust_store>();
  listing_ = list_files();
  auto lists = std::make_shared<db::revocation_lists>();
  for (const auto& [name, stat] : listing_) {
    try {
      file_state f{stat.first, stat.second, read(name)};
      lists->push_back(f.list);
      files_.emplace(name, std::move(f));
    } catch (const std::exception& e) {
      throw std::runtime_error("identity.crl_dir: " + (dir_ / name).string() + ": " + e.what());
    }
  }
  lists_ = std::move(lists);
}

crl_directory::listing crl_directory::list_files() const {
  listing out;
  std::error_code ec;
  for (fs::directory_iterator it(dir_, ec), end; !ec && it != end; it.increment(ec)) {
    // Hidden files are an editor's or a downloader's scratch, not lists.
    const auto name = it->path().filename().string();
    if (name.empty() || name[0] == '.' || !it->is_regular_file()) continue;
    std::error_code e1, e2;
    const auto size = it->file_size(e1);
    const auto mtime = it->last_write_time(e2);
    if (!e1 && !e2) out.emplace(name, std::make_pair(size, mtime));
  }
  if (ec) throw std::runtime_error("cannot list " + dir_.string() + ": " + ec.message());
  return out;
}

crypto::x509::revocation_list crl_directory::read(const std::string& name) const {
  std::ifstream in(dir_ / name, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read the file");
  const std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  try {
    auto list = crypto::x509::revocation_list::parse(crypto::as_bytes(data));
    list.verify(*roots_);
    return list;
  } catch (const crypto::error& e) {
    throw std::runtime_error(std::string("not a revocation list of a configured CA root [") +
                             e.code() + "]: " + e.what());
  }
}

std::shared_ptr<const db::revocation_lists> crl_directory::current() {
  listing now;
  try {
    now = list_files();
  } catch (const std::exception& e) {
    // The directory went away or cannot be read: keep what was read last.
    core::log::error("identity.crl_dir unreadable; keeping the lists read before",
                     {{"error", e.what()}});
    std::lock_guard lock(mutex_);
    return lists_;
  }
  {
    std::lock_guard lock(mutex_);
    if (now == listing_) return lists_;
  }
  std::lock_guard reloading(reload_mutex_);
  {
    std::lock_guard lock(mutex_);
    if (now == listing_) return lists_;  // another caller re-read them meanwhile
  }
  std::map<std::string, file_state> files;
  for (const auto& [name, stat] : now) {
    const auto old = files_.find(name);
    if (old != files_.end() && old->second.size == stat.first && old->second.mtime == stat.second) {
      files.emplace(name, old->second);
      continue;
    }
    try {
      files.emplace(name, file_state{stat.first, stat.second, read(name)});
      core::log::info("revocation list loaded", {{"file", (dir_ / name).string()}});
    } catch (const std::exception& e) {
      core::log::error("revocation list not loaded; keeping its previous version, if any",
                       {{"file", (dir_ / name).string()}, {"error", e.what()}});
      if (old != files_.end()) files.emplace(name, old->second);
    }
  }
  auto lists = std::make_shared<db::revocation_lists>();
  for (const auto& [name, f] : files)
    lists->push_back(f.list);
  files_ = std::move(files);
  std::lock_guard lock(mutex_);
  listing_ = std::move(now);
  lists_ = std::move(lists);
  return lists_;
}

db::revocation_source crl_directory::source(std::shared_ptr<crl_directory> dir) {
  return [dir = std::move(dir)] { return dir->current(); };
}

}  // namespace tender::app
