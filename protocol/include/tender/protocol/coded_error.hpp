#pragma once

#include <stdexcept>
#include <string>
#include <utility>

namespace tender::protocol {

// The base of every error that reaches a user: `code()` is a stable, dot-separated identifier
// ("sealed.chunk_auth_failed", "db.unreachable", "client.connect_failed", ...) that callers, the
// CLI and the HTTP API pass on unchanged; `what()` is a human explanation that never contains
// secret material. Each layer derives its own type so a catch can tell where an error came from.
class coded_error : public std::runtime_error {
public:
  coded_error(std::string code, const std::string& message)
      : std::runtime_error(message), code_(std::move(code)) {}
  const std::string& code() const noexcept { return code_; }

private:
  std::string code_;
};

}  // namespace tender::protocol
