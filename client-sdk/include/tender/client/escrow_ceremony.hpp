#pragma once

// The custodians' escrow key ceremony (/api/v1/tenders/{id}/escrow/ceremony,
// protocol/docs/threshold-escrow.md §6.1): the calls, and the custodian's side of each round —
// its transport key, its dealing, the opening and checking of the shares dealt to it, its
// complaint or its confirmation. The server relays; it never sees a share in the clear.
//
// Calls throw client::error with the server's code (ceremony.wrong_round, ceremony.stale,
// ceremony.bad_message, auth.forbidden, tender.not_found, ...); an answer of the wrong shape is
// client.bad_response.

#include <tender/client/client.hpp>
#include <tender/crypto/escrow.hpp>

#include <boost/json/object.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tender::client::ceremony {

struct member {
  std::uint32_t index = 0;
  std::string id;
  std::string org_id;
  std::string transport_key;  // base64, empty until sent
  bool dealt = false;
  bool confirmed = false;
};

// The ceremony as GET shows it.
struct view {
  std::string tender_id;
  std::uint32_t number = 0;
  crypto::escrow::group group = crypto::escrow::group::ristretto255;
  std::uint32_t threshold = 0;
  std::uint32_t custodians = 0;
  std::string state;  // keys | dealings | confirmations | done | failed | superseded
  bool stale = false;
  std::string failure;  // the failure's message, empty unless failed
  std::string setup;    // the joint setup JSON, empty before the confirmations round
  std::vector<member> members;
  std::vector<std::uint32_t> your_indices;
  boost::json::object raw;  // the whole answer (dealings, complaints, ...)

  std::uint32_t count(bool member::*flag) const;
  std::uint32_t keys_sent() const;
};

// POST .../escrow/ceremony (201): the tender's owner starts a ceremony in `group`.
view start(client& c, const std::string& tender_id, std::string_view group);
// GET .../escrow/ceremony.
view status(client& c, const std::string& tender_id);

// A custodian's secret for one ceremony: its transport key. Keep it (mode 0600) until the
// ceremony is done; it opens the shares dealt to you.
struct custodian_secret {
  std::string tender_id;
  std::uint32_t number = 0;
  std::uint32_t index = 0;
  crypto::escrow::transport_key key;
};
custodian_secret new_secret(const view& v, std::uint32_t index);
// {"type":"tenderhall.escrow.ceremony_secret","version":1,"tender_id","number","index",
//  "transport":<setup JSON>,"secret":<share JSON>}
crypto::secure_bytes secret_to_json(const custodian_secret& s);
custodian_secret secret_from_json(std::string_view text);

// Round 1: POST .../keys.
view send_key(client& c, const custodian_secret& s);
// Round 2: deals a fresh polynomial, seals share i for member i's transport key, POST
// .../dealings. The polynomial is wiped when this returns.
view send_dealing(client& c, const view& v, std::uint32_t index);

// Round 3, first half: opens and checks every share dealt to `s.index`. Either the joint share
// (all dealers were honest) or the first dealer whose share fails the Feldman check.
struct opened {
  std::optional<crypto::escrow::custodian_share> share;
  std::uint32_t bad_dealer = 0;
  std::string why;
};
opened open_dealt(const view& v, const custodian_secret& s);
// Round 3: the confirmation (a proof over R = G that you hold your joint share) or the
// complaint that reveals the bad share of `dealer` for everyone to check.
view send_confirmation(client& c, const view& v, std::uint32_t index,
                       const crypto::escrow::custodian_share& joint_share);
view send_complaint(client& c, const view& v, const custodian_secret& s, std::uint32_t dealer);

// The bodies, for callers that send them themselves (tests of a lying dealer, other clients).
std::string key_body(const custodian_secret& s);
std::string dealing_body(const view& v, std::uint32_t index);
std::string confirmation_body(const view& v, std::uint32_t index,
                              const crypto::escrow::custodian_share& joint_share);
std::string complaint_body(const view& v, const custodian_secret& s, std::uint32_t dealer);
// POST .../<kind> with a body made above: kind is keys | dealings | confirmations | complaints.
view send(client& c, const std::string& tender_id, std::string_view kind, std::string_view body);

}  // namespace tender::client::ceremony
