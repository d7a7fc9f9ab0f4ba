#pragma once

// The headers of the tus 1.0 bid uploads (docs/UPLOADS.md) and the small bodies around bids.
// Refusals throw rejected_request (upload.bad_request, request.bad_json).

#include <tender/net/http.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tender::api {

// A creation (POST …/uploads): no body, Upload-Length ≥ 1 (no Upload-Defer-Length), and
// Upload-Metadata's filename and client (each at most 256 bytes; other keys are ignored).
struct upload_creation {
  std::uint64_t length = 0;
  std::string metadata_json;                  // {"filename"?,"client"?}
  std::optional<std::string> client_version;  // Tender-Client, User-Agent or metadata client
};
upload_creation read_upload_creation(const net::request& req);

// A PATCH's Upload-Offset, and its Content-Length when it is a number.
struct upload_patch {
  std::uint64_t offset = 0;
  std::optional<std::uint64_t> content_length;
};
upload_patch read_upload_patch(const net::request& req);

// POST …/bids/mine/rehearsal {"challenge_id","signature"(base64)}
struct signed_challenge {
  std::string challenge_id;
  std::string signature;  // raw bytes
};
signed_challenge read_signed_challenge(std::string_view body);

}  // namespace tender::api
