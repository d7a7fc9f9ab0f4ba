#pragma once

// The step from a parsed HTTP header to the request handlers see, shared by the sessions and the
// HTTP fuzz target (tests/fuzz/http_request_fuzz.cpp), so that what is fuzzed is what is served.
// Includes Beast's message types: include it only where a Beast header is parsed.

#include <tender/net/http.hpp>

#include <boost/beast/http/message.hpp>

#include <optional>
#include <string>

namespace tender::net {

// Method, target (split at the first '?' into path and query) and headers, in order. The body
// and the route's params are filled in later.
request request_from_header(const boost::beast::http::request_header<>& header,
                            std::string remote_address);

// Why a target cannot be served (a message for request.bad_request), or nullopt: it must be an
// absolute path.
std::optional<std::string> target_refusal(const request& req);

}  // namespace tender::net
