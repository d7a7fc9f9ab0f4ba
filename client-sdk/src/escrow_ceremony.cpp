// The escrow key ceremony calls and the custodian's side of each round (escrow_ceremony.hpp).

#include <tender/client/escrow_ceremony.hpp>

#include "answer_fields.hpp"

#include <boost/json.hpp>

namespace tender::client::ceremony {
namespace json = boost::json;
namespace esc = crypto::escrow;
using detail::bad_shape;
using detail::num;
using detail::str;

namespace {

constexpr std::string_view what = "the escrow ceremony";
constexpr std::string_view secret_type = "tenderhall.escrow.ceremony_secret";

std::string path_of(const std::string& tender_id, std::string_view kind = {}) {
  std::string p = "/api/v1/tenders/" + tender_id + "/escrow/ceremony";
  if (!kind.empty()) p += "/" + std::string(kind);
  return p;
}

view view_of(const http_response& r, unsigned expected) {
  expect_status(r, expected);
  view v;
  v.raw = detail::object_of(r.body, what);
  const auto& o = v.raw;
  try {
    v.tender_id = str(o, "tender_id", what);
    v.number = static_cast<std::uint32_t>(num(o, "number", what));
    v.group = esc::group_from_name(str(o, "group", what));
    v.threshold = static_cast<std::uint32_t>(num(o, "threshold", what));
    v.custodians = static_cast<std::uint32_t>(num(o, "custodians", what));
    v.state = str(o, "state", what);
    v.stale = o.at("stale").as_bool();
    if (const auto& f = o.at("failure"); f.is_object())
      v.failure = str(f.get_object(), "message", what);
    if (const auto& s = o.at("setup"); s.is_object()) v.setup = json::serialize(s);
    for (const auto& mv : o.at("members").as_array()) {
      const auto& m = mv.as_object();
      member x;
      x.index = static_cast<std::uint32_t>(num(m, "index", what));
      x.id = str(m, "id", what);
      x.org_id = str(m, "org_id", what);
      x.transport_key = detail::opt_str(m, "transport_key", what).value_or("");
      x.dealt = m.at("dealt").as_bool();
      x.confirmed = m.at("confirmed").as_bool();
      v.members.push_back(std::move(x));
    }
    for (const auto& i : o.at("your_indices").as_array())
      v.your_indices.push_back(static_cast<std::uint32_t>(i.to_number<std::uint32_t>()));
  } catch (const crypto::error&) {
    bad_shape(what);
  } catch (const std::exception& e) {
    if (dynamic_cast<const error*>(&e) != nullptr) throw;
    bad_shape(what);
  }
  if (v.members.size() != v.custodians) bad_shape(what);
  return v;
}

crypto::bytes b64(const json::value& v) {
  return crypto::base64_decode(v.as_string());
}

std::string b64(crypto::byte_view b) {
  return crypto::base64_encode(b);
}

const json::object& dealing_of(const view& v, std::uint32_t dealer) {
  for (const auto& d : v.raw.at("dealings").as_array()) {
    if (d.at("index").to_number<std::uint32_t>() == dealer) return d.get_object();
  }
  throw error("client.bad_response",
              "the ceremony shows no dealing of custodian " + std::to_string(dealer));
}

// The dealer's public dealing as a setup, labelled with the custodian ids (as the server does).
esc::setup_public dealing_setup(const view& v, const json::object& d) {
  esc::setup_public pub;
  pub.grp = v.group;
  pub.threshold = v.threshold;
  pub.custodians = v.custodians;
  for (const auto& c : d.at("commitments").as_array())
    pub.commitments.push_back(b64(c));
  pub.public_key = pub.commitments.at(0);
  for (const auto& m : v.members)
    pub.labels.push_back(m.id);
  return pub;
}

esc::sealed_share sealed_for(const json::object& d, std::uint32_t index) {
  const auto& s = d.at("shares").as_array().at(index - 1).as_object();
  return {b64(s.at("ephemeral")), b64(s.at("masked"))};
}

json::object proof_json(const esc::dleq_proof& p) {
  return {{"c", b64(p.challenge)}, {"z", b64(p.response)}};
}

}  // namespace

std::uint32_t view::count(bool member::*flag) const {
  std::uint32_t n = 0;
  for (const auto& m : members)
    n += (m.*flag) ? 1 : 0;
  return n;
}

std::uint32_t view::keys_sent() const {
  std::uint32_t n = 0;
  for (const auto& m : members)
    n += m.transport_key.empty() ? 0 : 1;
  return n;
}

view start(client& c, const std::string& tender_id, std::string_view group) {
  const json::object body{{"group", group}};
  return view_of(c.request("POST", path_of(tender_id), json::serialize(body)), 201);
}

view status(client& c, const std::string& tender_id) {
  return view_of(c.request("GET", path_of(tender_id)), 200);
}

view send(client& c, const std::string& tender_id, std::string_view kind, std::string_view body) {
  return view_of(c.request("POST", path_of(tender_id, kind), body), 200);
}

custodian_secret new_secret(const view& v, std::uint32_t index) {
  return {v.tender_id, v.number, index, esc::make_transport_key(v.group)};
}

crypto::secure_bytes secret_to_json(const custodian_secret& s) {
  const auto share = esc::share_to_json(s.key.secret);
  const std::string head =
      json::serialize(json::object{{"type", secret_type},
                                   {"version", 1},
                                   {"tender_id", s.tender_id},
                                   {"number", s.number},
                                   {"index", s.index},
                                   {"transport", json::parse(esc::setup_to_json(s.key.pub))}});
  // {...head..., "secret": <share>}: spliced so that the secret never sits in an unwiped string.
  crypto::secure_bytes out(head.size() - 1 + 10 + share.size() + 1);
  auto* p = out.data();
  p = std::copy(head.begin(), head.end() - 1, p);
  const std::string_view key = ",\"secret\":";
  p = std::copy(key.begin(), key.end(), p);
  p = std::copy(share.view().begin(), share.view().end(), p);
  *p = '}';
  return out;
}

custodian_secret secret_from_json(std::string_view text) {
  const auto bad = [](const std::string& why) -> error {
    return error("client.bad_secret", "not a ceremony secret file: " + why);
  };
  boost::system::error_code ec;
  auto v = json::parse(text, ec);
  if (ec || !v.is_object()) throw bad("not a JSON object");
  auto& o = v.get_object();
  custodian_secret s;
  try {
    if (o.at("type").as_string() != secret_type || o.at("version").as_int64() != 1) {
      throw bad("wrong type or version");
    }
    s.tender_id = std::string(o.at("tender_id").as_string());
    s.number = o.at("number").to_number<std::uint32_t>();
    s.index = o.at("index").to_number<std::uint32_t>();
    s.key.pub = esc::setup_from_json(json::serialize(o.at("transport")));
    auto secret = json::serialize(o.at("secret"));
    s.key.secret = esc::share_from_json(secret);
    crypto::secure_wipe(secret.data(), secret.size());
    auto& share_field = o.at("secret").as_object().at("share").as_string();
    crypto::secure_wipe(share_field.data(), share_field.size());
    esc::verify_share(s.key.pub, s.key.secret);
  } catch (const error&) {
    throw;
  } catch (const std::exception& e) {
    throw bad(e.what());
  }
  return s;
}

std::string key_body(const custodian_secret& s) {
  return json::serialize(
      json::object{{"index", s.index}, {"transport_key", b64(s.key.pub.public_key)}});
}

std::string dealing_body(const view& v, std::uint32_t index) {
  std::vector<std::string> labels;
  for (const auto& m : v.members) {
    if (m.transport_key.empty()) {
      throw error("client.not_ready",
                  "custodian " + std::to_string(m.index) + " has not sent its transport key yet");
    }
    labels.push_back(m.id);
  }
  auto dealt = esc::deal(v.group, v.threshold, v.custodians, labels);
  json::array commitments;
  for (const auto& c : dealt.pub.commitments)
    commitments.emplace_back(b64(c));
  json::array shares;
  for (const auto& m : v.members) {
    const auto transport = esc::transport_setup(v.group, crypto::base64_decode(m.transport_key));
    const auto sealed =
        esc::seal_share(transport, dealt.shares.at(m.index - 1),
                        esc::dkg_share_context(v.tender_id, v.number, index, m.index));
    shares.push_back(
        json::object{{"ephemeral", b64(sealed.ephemeral)}, {"masked", b64(sealed.masked)}});
  }
  return json::serialize(
      json::object{{"index", index}, {"commitments", commitments}, {"shares", shares}});
}

opened open_dealt(const view& v, const custodian_secret& s) {
  std::vector<esc::setup_public> dealings;
  std::vector<esc::custodian_share> received;
  for (std::uint32_t d = 1; d <= v.custodians; ++d) {
    const auto& dealing = dealing_of(v, d);
    auto pub = dealing_setup(v, dealing);
    try {
      esc::validate_setup(pub);
      auto x = esc::open_share(s.key, sealed_for(dealing, s.index), s.index,
                               esc::dkg_share_context(v.tender_id, v.number, d, s.index));
      esc::verify_share(pub, x);
      received.push_back(std::move(x));
    } catch (const crypto::error& e) {
      return opened{std::nullopt, d, e.what()};
    }
    dealings.push_back(std::move(pub));
  }
  return opened{esc::aggregate_share(dealings, received), 0, {}};
}

std::string confirmation_body(const view& v, std::uint32_t index,
                              const esc::custodian_share& joint_share) {
  const auto joint = esc::setup_from_json(v.setup);
  const auto ctx = esc::dkg_confirm_context(v.tender_id, v.number);
  const auto proof = esc::make_decryption_share(joint, joint_share, esc::generator(v.group),
                                                crypto::as_bytes(ctx));
  return json::serialize(json::object{{"index", index}, {"proof", proof_json(proof.proof)}});
}

std::string complaint_body(const view& v, const custodian_secret& s, std::uint32_t dealer) {
  const auto sealed = sealed_for(dealing_of(v, dealer), s.index);
  const auto ctx = esc::dkg_share_context(v.tender_id, v.number, dealer, s.index);
  const auto reveal =
      esc::make_decryption_share(s.key.pub, s.key.secret, sealed.ephemeral, crypto::as_bytes(ctx));
  return json::serialize(json::object{{"index", s.index},
                                      {"dealer", dealer},
                                      {"shared", b64(reveal.point)},
                                      {"proof", proof_json(reveal.proof)}});
}

view send_key(client& c, const custodian_secret& s) {
  return send(c, s.tender_id, "keys", key_body(s));
}

view send_dealing(client& c, const view& v, std::uint32_t index) {
  return send(c, v.tender_id, "dealings", dealing_body(v, index));
}

view send_confirmation(client& c, const view& v, std::uint32_t index,
                       const esc::custodian_share& joint_share) {
  return send(c, v.tender_id, "confirmations", confirmation_body(v, index, joint_share));
}

view send_complaint(client& c, const view& v, const custodian_secret& s, std::uint32_t dealer) {
  return send(c, v.tender_id, "complaints", complaint_body(v, s, dealer));
}

}  // namespace tender::client::ceremony
