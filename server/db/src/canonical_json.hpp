#pragma once

// The canonical text of a JSON value that the db layer hashes into audit payload digests: object
// keys sorted (by bytes) at every level, no whitespace, values as Boost.JSON serialises them.
// Private to the db layer.

#include <boost/json/value.hpp>

#include <string>

namespace tender::db {

std::string canonical_json(const boost::json::value& v);

}  // namespace tender::db
