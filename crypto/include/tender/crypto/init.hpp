#pragma once

namespace tender::crypto {

// Initialises libsodium and checks that OpenSSL offers the algorithms the suites need.
// Safe to call many times and from many threads; throws std::runtime_error on failure.
void init();

}  // namespace tender::crypto
