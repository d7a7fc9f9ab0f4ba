// Fuzzes the tus upload headers (docs/UPLOADS.md) and the bid rehearsal body: the input's lines
// are the values of Upload-Length, Upload-Metadata, Upload-Offset, Content-Length, Tender-Client
// and Upload-Defer-Length (an empty line leaves the header out), the rest is the body. Any input
// must be read or refused with an api::rejected_request.

#include <tender/api/queries.hpp>
#include <tender/api/rejected.hpp>
#include <tender/api/uploads.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view rest(reinterpret_cast<const char*>(data), size);
  tender::net::request req;
  for (const char* name : {"Upload-Length", "Upload-Metadata", "Upload-Offset", "Content-Length",
                           "Tender-Client", "Upload-Defer-Length"}) {
    const auto nl = rest.find('\n');
    const auto value = rest.substr(0, nl);
    if (!value.empty()) req.headers.emplace_back(name, std::string(value));
    rest = nl == std::string_view::npos ? std::string_view{} : rest.substr(nl + 1);
  }
  try {
    const auto c = tender::api::read_upload_creation(req);
    if (c.length == 0) std::abort();  // refused by the reader
    if (c.client_version && c.client_version->size() > 128) std::abort();
  } catch (const tender::api::rejected_request&) {
  }
  try {
    (void)tender::api::read_upload_patch(req);
  } catch (const tender::api::rejected_request&) {
  }
  req.body = std::string(rest);
  if (!req.body.empty()) {
    try {
      (void)tender::api::read_upload_creation(req);  // a creation with a body is refused
      std::abort();
    } catch (const tender::api::rejected_request&) {
    }
  }
  try {
    (void)tender::api::read_signed_challenge(rest);
  } catch (const tender::api::rejected_request&) {
  }
  try {
    (void)tender::api::lot_number(rest.substr(0, 8));
  } catch (const tender::api::rejected_request&) {
  }
  return 0;
}
