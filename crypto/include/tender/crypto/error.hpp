#pragma once

#include <tender/protocol/coded_error.hpp>

namespace tender::crypto {

// Every failure in tender::crypto is reported as this exception. `code()` is a stable,
// dot-separated identifier ("sealed.chunk_auth_failed", "escrow.bad_share_proof", ...) that
// callers, the CLI and the HTTP API pass on unchanged; `what()` is a human explanation that never
// contains secret material. Each module lists its codes as constants in its own header.
class error : public protocol::coded_error {
public:
  using coded_error::coded_error;
};

}  // namespace tender::crypto
