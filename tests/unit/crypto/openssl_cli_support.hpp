#pragma once

// Running the `openssl` command line from interop tests: a scratch directory that removes itself,
// file helpers, and the exit status of a command. The tests use the CLI as an independent
// implementation, so whatever our code writes must be read by it and vice versa.

#include <tender/crypto/bytes.hpp>

#include <sys/wait.h>
#include <unistd.h>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>

namespace cli_test {

inline constexpr const char* openssl_path = "/usr/bin/openssl";

inline bool have_openssl() {
  return ::access(openssl_path, X_OK) == 0;
}

class scratch_dir {
public:
  scratch_dir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "tenderhall-test-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~scratch_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  scratch_dir(const scratch_dir&) = delete;
  scratch_dir& operator=(const scratch_dir&) = delete;

  std::string file(const std::string& name) const { return (path_ / name).string(); }

  void write(const std::string& name, std::string_view data) const {
    std::ofstream f(file(name), std::ios::binary);
    f.write(data.data(), static_cast<std::streamsize>(data.size()));
  }
  void write(const std::string& name, tender::crypto::byte_view data) const {
    write(name, std::string_view(reinterpret_cast<const char*>(data.data()), data.size()));
  }
  std::string read(const std::string& name) const {
    std::ifstream f(file(name), std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
  }
  tender::crypto::bytes read_bytes(const std::string& name) const {
    const std::string s = read(name);
    return tender::crypto::bytes(s.begin(), s.end());
  }

  // Runs `openssl <args>` in this directory with stdout/stderr discarded unless redirected in
  // `args`; returns the exit status.
  int openssl(const std::string& args) const {
    const std::string cmd =
        "cd '" + path_.string() + "' && " + openssl_path + " " + args +
        (args.find('>') == std::string::npos ? " >/dev/null 2>&1" : " 2>/dev/null");
    const int rc = std::system(cmd.c_str());
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  }

private:
  std::filesystem::path path_;
};

}  // namespace cli_test
