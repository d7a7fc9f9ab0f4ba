#pragma once

// Bodies of the escrow key ceremony (/api/v1/tenders/{id}/escrow/ceremony..., threshold-escrow.md
// §6.1), read strictly into normalised JSON for the repository. Binary values must be standard
// padded base64 of at most 64 bytes; whether they are points or scalars of the ceremony's group is
// the repository's check (it knows the group). Refusals throw rejected_request naming the field.

#include <tender/core/escrow_ceremony.hpp>

#include <boost/json/object.hpp>

#include <string>
#include <string_view>

namespace tender::api {

// {"group": "ristretto255" | "sm2"} → the group name.
std::string read_ceremony_start(std::string_view body);

// The message of `kind`, normalised (only its own fields, base64 checked):
//   key          {"index", "transport_key"}
//   dealing      {"index", "commitments": [b64, ... at most 100], "shares": [{"ephemeral",
//                 "masked"}, ... at most 100]}
//   confirmation {"index", "proof": {"c", "z"}}
//   complaint    {"index", "dealer", "shared", "proof": {"c", "z"}}
// Indices are 1..100 (a tender names at most 100 custodians).
boost::json::object read_ceremony_message(core::ceremony::message kind, std::string_view body);

}  // namespace tender::api
