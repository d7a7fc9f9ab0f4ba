#pragma once

// The opening hall's draw procedure as pure rules (hall-protocol.md §11, verifiable-draw.md §10):
// who may be drawn as the representative, when the host may draw, and the seed materials of each
// draw in their order. The algorithm that turns the materials into a selection is
// tenderhall/draw/v1 (crypto/draw.hpp); this file only says what goes in. Times are seconds since
// the epoch from PostgreSQL's clock, passed in; values are raw bytes held in std::string.

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tender::core {

// The version of the procedure, published with every parameter draw. v1 (records made before
// it was named) drew the representative among every organisation signed in when the host
// revealed, and drew the discount from inputs the representative all knew when it chose
// whether to reveal.
inline constexpr std::string_view hall_draw_procedure = "tenderhall/hall-draw/v2";

// An organisation can be drawn as the representative only if it signed in strictly before the
// deadline: the first seed input of that draw (the root of the first checkpoint signed at or
// after the deadline) is then unknown to everyone while the set of candidates can still change.
// A later sign-in attends the hall but is never a candidate.
inline bool representative_eligible(double signed_in_at, double deadline_at) {
  return signed_in_at < deadline_at;
}

// Whether the host may run the parameter draw now: at once when nobody was drawn as the
// representative or it revealed; otherwise only once `reveal_s` passed since the host's reveal.
inline bool may_draw_parameters(double now, double host_revealed_at, long long reveal_s,
                                bool has_representative, bool representative_revealed) {
  return !has_representative || representative_revealed ||
         now >= host_revealed_at + static_cast<double>(reveal_s);
}

using seed_material = std::pair<std::string, std::string>;  // label, raw value

// The representative's draw: candidates are the eligible organisations with a listed bid, in
// sign-in order; count 1.
std::vector<seed_material> representative_seed_materials(std::string_view tender_id,
                                                         std::string_view checkpoint_root_b64,
                                                         std::string_view host_nonce);

struct discount_draw_inputs {
  std::string tender_id;
  int lot = 0;
  std::string checkpoint_root_b64;  // the first checkpoint signed at or after the deadline
  std::string host_nonce;           // raw 32 bytes
  std::optional<std::string> representative;  // org id; nullopt when nobody could be drawn
  std::string representative_nonce;           // raw; empty when it did not reveal in time
  std::string draw_checkpoint_b64;            // the checkpoint signed in the draw's own transaction
};

// The discount draw of one lot, in this order: checkpoint_root, host_reveal,
// [representative:<org>], draw_checkpoint, draw_id. A withheld reveal stays in the list as an
// empty value, so withholding is visible in the published draw.
std::vector<seed_material> discount_seed_materials(const discount_draw_inputs& in);

}  // namespace tender::core
