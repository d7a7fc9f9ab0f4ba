#pragma once

// Who may take a hall action and in which phases it can be taken at all
// (protocol/docs/hall-protocol.md §2, §3, §5), as pure functions: the hall checks them before it
// opens a transaction (the role) and before it locks the hall's row (the phase), so a flood of
// actions the viewer may not take, or that the phase cannot take, never queues on the lock that
// real actions need. The exact checks (paused, window times, one-time actions) still run under the
// lock; these are necessary conditions only.

#include <optional>
#include <string>
#include <string_view>

namespace tender::core {

// Why an action is refused: a stable error code (hall.forbidden, hall.wrong_phase,
// hall.bad_message) and a message for people.
struct hall_refusal {
  std::string code;
  std::string message;
};

// nullopt when a viewer of `role` (host, supervisor, bidder, custodian, public) may take `action`.
std::optional<hall_refusal> hall_role_refusal(std::string_view action, std::string_view role);

// nullopt when `action` can be taken in `phase` (waiting, sealed, listed, decrypting, decrypted,
// drawing, drawn, announced, recorded, failed).
std::optional<hall_refusal> hall_phase_refusal(std::string_view action, std::string_view phase);

}  // namespace tender::core
