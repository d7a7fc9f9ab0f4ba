// Fuzzes every JSON body reader and query reader of the REST API (tender::api). The first byte
// chooses the reader, the rest is the body or query string. Any input must be read or refused
// with an api::rejected_request naming the field — never crash, hang, or throw anything else.

#include <tender/api/body.hpp>
#include <tender/api/guarantees.hpp>
#include <tender/api/identity.hpp>
#include <tender/api/queries.hpp>
#include <tender/api/rejected.hpp>
#include <tender/api/tenders.hpp>
#include <tender/api/uploads.hpp>
#include <tender/crypto/init.hpp>

#include <boost/json.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <string_view>

namespace api = tender::api;

namespace {

using reader = std::function<void(std::string_view)>;

const reader readers[] = {
    [](std::string_view b) {
      const auto t = api::tender_create(b);
      // A create is complete: the rule pack's defaults are filled in.
      for (const char* k : {"title", "rule_pack", "deadline_at", "lots", "key_policy"})
        if (!t.contains(k)) std::abort();
    },
    [](std::string_view b) {
      if (api::tender_patch(b).empty()) std::abort();
    },
    [](std::string_view b) {
      if (api::read_tender_amendment(b).changes.empty()) std::abort();
    },
    [](std::string_view b) { (void)api::reason_body(b); },
    [](std::string_view b) { (void)api::optional_reason_body(b); },
    [](std::string_view b) { api::empty_body(b); },
    [](std::string_view q) {
      const auto l = api::read_tender_list_query(q);
      if (l.limit < 1 || l.limit > 200) std::abort();
    },
    [](std::string_view b) { (void)api::challenge_request(b); },
    [](std::string_view b) { (void)api::read_login_request(b); },
    [](std::string_view b) { (void)api::read_organisation_request(b); },
    [](std::string_view b) { (void)api::read_user_request(b); },
    [](std::string_view b) { (void)api::key_request(b); },
    [](std::string_view b) {
      if (api::read_certificate_request(b).chain.size() > api::max_chain_certificates) std::abort();
    },
    [](std::string_view b) { api::no_identity_fields(b); },
    [](std::string_view b) { (void)api::read_signed_challenge(b); },
    [](std::string_view b) { (void)api::single_text(b, "text", 4000); },
    [](std::string_view b) { (void)api::read_issuer_registration(b); },
    [](std::string_view b) { (void)api::read_guarantee_attachment(b); },
    [](std::string_view b) { (void)api::read_guarantee_application(b); },
    [](std::string_view b) { (void)api::read_guarantee_push(b); },
    [](std::string_view b) {
      const auto r = api::read_bond_record(b);
      if (r.amount < 1) std::abort();
    },
    [](std::string_view q) {
      const auto e = api::read_events_query(q, 100, 1000);
      if (e.limit < 1 || e.limit > 1000 || e.after < 0) std::abort();
    },
    [](std::string_view s) { (void)api::lot_number(s); },
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const bool ready = (tender::crypto::init(), true);
  (void)ready;
  if (size == 0) return 0;
  const auto& read = readers[data[0] % std::size(readers)];
  try {
    read(std::string_view(reinterpret_cast<const char*>(data) + 1, size - 1));
  } catch (const api::rejected_request&) {
  }
  return 0;
}
