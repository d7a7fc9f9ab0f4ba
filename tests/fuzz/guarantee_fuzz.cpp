// Fuzzes the guarantee messages that come from outside (protocol/docs/guarantee-api.md): the
// request readers of an attachment, a push and a callback, then the envelope, the strict parse of
// each inner message (document, status answer, event) and the signature check against a fixed
// key. Any input must be read or refused with a crypto::error or api::rejected_request.

#include <tender/api/guarantees.hpp>
#include <tender/api/rejected.hpp>
#include <tender/crypto/error.hpp>
#include <tender/crypto/guarantee.hpp>
#include <tender/crypto/init.hpp>
#include <tender/crypto/keys.hpp>

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace g = tender::crypto::guarantee;

namespace {

const tender::crypto::public_key& issuer_key() {
  static const auto key = [] {
    tender::crypto::init();
    return tender::crypto::private_key::generate(tender::crypto::key_type::ed25519).public_part();
  }();
  return key;
}

void open_all(const boost::json::value& v) {
  struct kind {
    const char* field;
    std::string_view domain;
  };
  for (const kind k : {kind{"document", g::document_domain}, kind{"status", g::status_domain},
                       kind{"event", g::event_domain}}) {
    try {
      const auto env = g::open(v, k.field);
      if (std::string_view(k.field) == "document") (void)g::parse_document(env.inner);
      if (std::string_view(k.field) == "status") (void)g::parse_status(env.inner);
      if (std::string_view(k.field) == "event") (void)g::parse_event(env.inner);
      g::verify(env, k.domain, issuer_key());
    } catch (const tender::crypto::error&) {
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  (void)issuer_key();
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  try {
    open_all(tender::api::read_guarantee_callback(body));
  } catch (const tender::api::rejected_request&) {
  }
  try {
    open_all(tender::api::read_guarantee_attachment(body));
  } catch (const tender::api::rejected_request&) {
  }
  try {
    open_all(tender::api::read_guarantee_push(body).guarantee);
  } catch (const tender::api::rejected_request&) {
  }
  return 0;
}
