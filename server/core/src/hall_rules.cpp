#include <tender/core/hall_rules.hpp>

#include <algorithm>
#include <vector>

namespace tender::core {
namespace {

using list = std::vector<std::string_view>;

// Every action of hall-protocol.md §5: the roles that may take it and the phases in which it can
// be taken (empty: any phase).
struct action_rule {
  std::string_view action;
  list roles;
  list phases;
};

const list objection_phases = {"listed",  "decrypting", "decrypted",
                               "drawing", "drawn",      "announced"};

const action_rule rules[] = {
    {"challenge", {"host", "supervisor", "bidder", "custodian"}, {}},
    {"sign_in", {"bidder"}, {"waiting", "sealed", "listed"}},
    {"commit_host", {"host"}, {"waiting"}},
    {"check_guarantees", {"host"}, {"sealed"}},
    {"publish_list", {"host"}, {"sealed"}},
    {"open_window", {"host"}, {"listed"}},
    {"decrypt", {"bidder"}, {"decrypting"}},
    {"help", {"bidder"}, {"decrypting", "decrypted"}},
    {"share", {"custodian"}, {"decrypting", "decrypted"}},
    {"extend_window", {"host"}, {"decrypting"}},
    {"reveal_host", {"host"}, {"decrypted"}},
    {"reveal_representative", {"bidder"}, {"drawing"}},
    {"draw", {"host"}, {"drawing"}},
    {"announce", {"host"}, {"decrypted", "drawn"}},
    {"confirm", {"bidder"}, {"announced"}},
    {"finish", {"host"}, {"announced"}},
    {"object", {"bidder"}, objection_phases},
    {"answer", {"host"}, objection_phases},
    {"pause",
     {"host"},
     {"sealed", "listed", "decrypting", "decrypted", "drawing", "drawn", "announced"}},
    {"resume",
     {"host"},
     {"sealed", "listed", "decrypting", "decrypted", "drawing", "drawn", "announced"}},
    {"suspend",
     {"supervisor"},
     {"waiting", "sealed", "listed", "decrypting", "decrypted", "drawing", "drawn", "announced"}},
    {"unsuspend",
     {"supervisor"},
     {"waiting", "sealed", "listed", "decrypting", "decrypted", "drawing", "drawn", "announced"}},
};

const action_rule* find_rule(std::string_view action) {
  for (const auto& r : rules)
    if (r.action == action) return &r;
  return nullptr;
}

bool contains(const list& l, std::string_view x) {
  return std::find(l.begin(), l.end(), x) != l.end();
}

hall_refusal unknown(std::string_view action) {
  return {"hall.bad_message", "unknown action '" + std::string(action.substr(0, 64)) + "'"};
}

}  // namespace

std::optional<hall_refusal> hall_role_refusal(std::string_view action, std::string_view role) {
  const auto* r = find_rule(action);
  if (r == nullptr) return unknown(action);
  if (contains(r->roles, role)) return std::nullopt;
  if (role == "public") return hall_refusal{"hall.forbidden", "sign in to act in the hall"};
  return hall_refusal{"hall.forbidden", "a " + std::string(role) + " may not " +
                                            std::string(action) + " in this hall"};
}

std::optional<hall_refusal> hall_phase_refusal(std::string_view action, std::string_view phase) {
  const auto* r = find_rule(action);
  if (r == nullptr) return unknown(action);
  if (r->phases.empty() || contains(r->phases, phase)) return std::nullopt;
  return hall_refusal{
      "hall.wrong_phase",
      std::string(action) + " is not possible while the hall is " + std::string(phase)};
}

}  // namespace tender::core
