#pragma once

// The canonical text of a JSON value, for hashing and signing: object keys sorted by their bytes
// at every level, no whitespace, every other value as Boost.JSON serialises it. Used for audit
// payload digests (server/db) and for signed guarantee documents (guarantee.hpp).

#include <boost/json/value.hpp>

#include <string>

namespace tender::crypto {

std::string canonical_json(const boost::json::value& v);

}  // namespace tender::crypto
