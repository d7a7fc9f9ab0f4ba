#pragma once

// The escrow key ceremony run through the server (threshold-escrow.md §6.1): which message a
// ceremony takes in which round, and the round that follows. Pure: the repository feeds it the
// counts it reads under the ceremony's row lock. The cryptographic checks of each message are the
// repository's (they need the dealings); the order of the rounds is here.

#include <optional>
#include <string>
#include <string_view>

namespace tender::core::ceremony {

// keys: every custodian publishes its transport key. dealings: every custodian deals.
// confirmations: every custodian checks the shares dealt to it and confirms (or complains).
// done: all n confirmed; the joint setup is the tender's escrow setup. failed: an upheld
// complaint named a dealer. superseded: the tenderer started another ceremony.
enum class round { keys, dealings, confirmations, done, failed, superseded };

enum class message { key, dealing, confirmation, complaint };

std::string_view round_name(round r);
std::optional<round> round_from_name(std::string_view name);
std::string_view message_name(message m);

struct refusal {
  std::string code;  // ceremony.wrong_round
  std::string message;
};

// Why a `m` cannot be taken in round `r`, nullopt when it can. Keys in `keys`, dealings in
// `dealings`, confirmations and complaints in `confirmations`; nothing once the ceremony ended.
std::optional<refusal> refuse(round r, message m);

// The round after one more `m` has been taken in round `r`, when `count` messages of that kind
// (this one included) are in out of `n` custodians. A complaint is not counted here: an upheld
// one fails the ceremony, a false one is refused before it is stored.
round after(round r, message m, int count, int n);

// True when the ceremony's round accepts no more messages.
bool ended(round r);

}  // namespace tender::core::ceremony
