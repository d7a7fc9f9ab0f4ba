#pragma once

// Shared by the CLI tests: run `tender` in process and capture what it prints, and throwaway
// directories for the files commands read and write.

#include <tender/cli/cli.hpp>

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

namespace tender::test {

struct cli_result {
  int code;
  std::string out;
  std::string err;
};

// Runs `tender <args...>` through tender::cli::run, as the binary's main() would.
inline cli_result run_cli(std::vector<std::string> args) {
  args.insert(args.begin(), "tender");
  std::vector<char*> argv;
  argv.reserve(args.size());
  for (auto& a : args)
    argv.push_back(a.data());
  std::ostringstream out;
  std::ostringstream err;
  const int code = tender::cli::run(static_cast<int>(argv.size()), argv.data(), out, err);
  return {code, out.str(), err.str()};
}

inline bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

inline std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// A fresh directory, removed with everything in it at the end of the test.
class temp_dir {
public:
  temp_dir() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "tender-cli-test-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string operator/(const std::string& name) const { return (path_ / name).string(); }
  const std::filesystem::path& path() const { return path_; }

private:
  std::filesystem::path path_;
};

}  // namespace tender::test
