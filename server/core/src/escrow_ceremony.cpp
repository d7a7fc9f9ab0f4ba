#include <tender/core/escrow_ceremony.hpp>

#include <array>
#include <utility>

namespace tender::core::ceremony {

namespace {

constexpr std::array<std::pair<round, std::string_view>, 6> round_names = {{
    {round::keys, "keys"},
    {round::dealings, "dealings"},
    {round::confirmations, "confirmations"},
    {round::done, "done"},
    {round::failed, "failed"},
    {round::superseded, "superseded"},
}};

// The round in which each message is taken.
round round_of(message m) {
  switch (m) {
    case message::key:
      return round::keys;
    case message::dealing:
      return round::dealings;
    case message::confirmation:
    case message::complaint:
      return round::confirmations;
  }
  return round::done;
}

}  // namespace

std::string_view round_name(round r) {
  for (const auto& [v, name] : round_names)
    if (v == r) return name;
  return "unknown";
}

std::optional<round> round_from_name(std::string_view name) {
  for (const auto& [v, n] : round_names)
    if (n == name) return v;
  return std::nullopt;
}

std::string_view message_name(message m) {
  switch (m) {
    case message::key:
      return "key";
    case message::dealing:
      return "dealing";
    case message::confirmation:
      return "confirmation";
    case message::complaint:
      return "complaint";
  }
  return "unknown";
}

bool ended(round r) {
  return r == round::done || r == round::failed || r == round::superseded;
}

std::optional<refusal> refuse(round r, message m) {
  const round wanted = round_of(m);
  if (r == wanted) return std::nullopt;
  const std::string what(message_name(m));
  if (ended(r)) {
    return refusal{"ceremony.wrong_round", "the ceremony is " + std::string(round_name(r)) +
                                               "; it takes no " + what + " any more"};
  }
  const bool early = static_cast<int>(r) < static_cast<int>(wanted);
  return refusal{"ceremony.wrong_round",
                 "the ceremony is in its " + std::string(round_name(r)) + " round; a " + what +
                     (early ? " comes in the " + std::string(round_name(wanted)) +
                                  " round, once every custodian has sent its " +
                                  (wanted == round::dealings ? "transport key" : "dealing")
                            : " was due in the " + std::string(round_name(wanted)) + " round")};
}

round after(round r, message m, int count, int n) {
  if (refuse(r, m) || m == message::complaint || count < n) return r;
  switch (r) {
    case round::keys:
      return round::dealings;
    case round::dealings:
      return round::confirmations;
    case round::confirmations:
      return round::done;
    default:
      return r;
  }
}

}  // namespace tender::core::ceremony
