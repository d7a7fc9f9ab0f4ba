#pragma once

// The db layer hashes audit payloads in the canonical JSON form of tender::crypto.

#include <tender/crypto/canonical_json.hpp>

namespace tender::db {

using crypto::canonical_json;

}  // namespace tender::db
