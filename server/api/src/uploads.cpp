#include <tender/api/body.hpp>
#include <tender/api/queries.hpp>
#include <tender/api/uploads.hpp>

#include <tender/crypto/bytes.hpp>
#include <tender/crypto/error.hpp>

#include <boost/json.hpp>

namespace tender::api {
namespace json = boost::json;
using protocol::errc;

namespace {

std::uint64_t header_number(const net::request& req, const char* name) {
  const auto h = req.header(name);
  if (!h) refuse(errc::upload_bad_request, std::string(name) + " is required");
  const auto v = decimal(*h);
  if (!v) refuse(errc::upload_bad_request, std::string(name) + " must be a decimal number");
  return *v;
}

// Upload-Metadata: comma-separated "key base64value" pairs (tus 1.0). Only filename and client
// are kept.
json::object metadata_of(const net::request& req) {
  json::object out;
  const auto h = req.header("Upload-Metadata");
  if (!h) return out;
  std::string_view rest = *h;
  while (!rest.empty()) {
    const auto comma = rest.find(',');
    std::string_view pair = rest.substr(0, comma);
    while (!pair.empty() && pair.front() == ' ')
      pair.remove_prefix(1);
    const auto space = pair.find(' ');
    const auto key = pair.substr(0, space);
    std::string value;
    if (space != std::string_view::npos) {
      try {
        const auto raw = crypto::base64_decode(pair.substr(space + 1));
        value.assign(raw.begin(), raw.end());
      } catch (const crypto::error&) {
        refuse(errc::upload_bad_request,
               "Upload-Metadata value of '" + std::string(key.substr(0, 40)) + "' is not base64");
      }
    }
    if ((key == "filename" || key == "client") && value.size() <= 256) {
      out[key] = value;
    }
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  return out;
}

std::optional<std::string> client_version_of(const net::request& req, const json::object& meta) {
  auto clip = [](std::string_view v) { return std::string(v.substr(0, 128)); };
  if (const auto h = req.header("Tender-Client"); h && !h->empty()) return clip(*h);
  if (const auto h = req.header("User-Agent"); h && !h->empty()) return clip(*h);
  if (const auto* c = meta.if_contains("client"); c != nullptr && c->is_string()) {
    return clip(c->get_string());
  }
  return std::nullopt;
}

}  // namespace

upload_creation read_upload_creation(const net::request& req) {
  if (!req.body.empty()) {
    refuse(errc::upload_bad_request, "creation takes no body (send the bytes with PATCH)");
  }
  if (req.header("Upload-Defer-Length")) {
    refuse(errc::upload_bad_request, "Upload-Defer-Length is not supported: send Upload-Length");
  }
  upload_creation out;
  out.length = header_number(req, "Upload-Length");
  if (out.length == 0) refuse(errc::upload_bad_request, "Upload-Length must be at least 1");
  const auto meta = metadata_of(req);
  out.metadata_json = json::serialize(meta);
  out.client_version = client_version_of(req, meta);
  return out;
}

upload_patch read_upload_patch(const net::request& req) {
  upload_patch out;
  out.offset = header_number(req, "Upload-Offset");
  if (const auto cl = req.header("Content-Length")) out.content_length = decimal(*cl);
  return out;
}

signed_challenge read_signed_challenge(std::string_view body) {
  const body_reader b(body, {"challenge_id", "signature"});
  signed_challenge out;
  out.challenge_id = b.text("challenge_id", 64);
  const auto sig_b64 = b.text("signature", 1024);
  try {
    const auto raw = crypto::base64_decode(sig_b64);
    out.signature.assign(raw.begin(), raw.end());
  } catch (const crypto::error&) {
    refuse(errc::request_bad_json, "field 'signature' must be standard base64");
  }
  return out;
}

}  // namespace tender::api
