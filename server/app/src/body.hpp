#pragma once

// The request readers of tender::api, under the names the routes use.

#include <tender/api/body.hpp>

namespace tender::app {
using api::body_limits;
using api::body_reader;
using api::etag;
using api::idempotency_key;
using api::json_type_name;
using api::request_digest;
using api::required_if_match;
}  // namespace tender::app
