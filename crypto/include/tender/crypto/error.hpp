#pragma once

#include <stdexcept>
#include <string>

namespace tender::crypto {

// Every failure in tender::crypto is reported as this exception. `code()` is a stable,
// dot-separated identifier ("sealed.chunk_auth_failed", "escrow.bad_share_proof", ...) that
// callers, the CLI and the HTTP API pass on unchanged; `what()` is a human explanation that never
// contains secret material. Each module lists its codes as constants in its own header.
class error : public std::runtime_error {
public:
  error(std::string code, const std::string& message)
      : std::runtime_error(message), code_(std::move(code)) {}
  const std::string& code() const noexcept { return code_; }

private:
  std::string code_;
};

}  // namespace tender::crypto
