// Fuzzes what the hall's WebSocket does with a client's text before any state is touched: the
// message decoder (hello, act, ping), then, for an act, the role and phase pre-checks for every
// role and phase, and the action's parameter table with every declared value read back. Any input
// must be decoded or refused with a code — never crash, hang or throw anything else.

#include <tender/core/hall_params.hpp>
#include <tender/core/hall_rules.hpp>
#include <tender/protocol/hall_messages.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <variant>

namespace {

void read_back(const tender::core::hall_params& p) {
  using tender::core::param_kind;
  const auto row = tender::core::hall_action_params(p.action());
  if (!row) std::abort();  // checked parameters of an unknown action
  for (const auto& param : *row) {
    switch (param.kind) {
      case param_kind::integer: {
        const auto v = p.optional_integer(param.key);
        if (v && (*v < param.min || *v > param.max)) std::abort();
        break;
      }
      case param_kind::object:
        if (param.required) (void)p.object_text(param.key);
        break;
      default: {
        const auto v = p.optional_text(param.key);
        if (param.required && !v) std::abort();
        break;
      }
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto m = tender::protocol::decode_hall_message(text);
  const auto* act = std::get_if<tender::protocol::hall_act>(&m);
  if (act == nullptr || !act->action) return 0;
  if (!tender::protocol::valid_hall_act_id(act->id)) std::abort();
  for (const char* role : {"host", "supervisor", "bidder", "custodian", "public", ""})
    (void)tender::core::hall_role_refusal(*act->action, role);
  for (const char* phase : {"waiting", "sealed", "listed", "decrypting", "decrypted", "drawing",
                            "drawn", "announced", "recorded", "failed"})
    (void)tender::core::hall_phase_refusal(*act->action, phase);
  const auto checked = tender::core::check_hall_params(*act->action, act->params);
  if (const auto* p = std::get_if<tender::core::hall_params>(&checked)) read_back(*p);
  return 0;
}
