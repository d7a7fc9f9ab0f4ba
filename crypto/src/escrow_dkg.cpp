// The DKG through a relay (threshold-escrow.md §6.1): transport keys, sealed dealer shares and
// the unmasking a complaint makes public. The dealing, the Feldman check and the aggregation are
// those of escrow.cpp.

#include <tender/crypto/escrow.hpp>

#include "escrow_group.hpp"

#include <algorithm>
#include <string>

namespace tender::crypto::escrow {

using detail::group_ops;
using detail::ops_for;

namespace {

constexpr std::string_view mask_label = "tenderhall/escrow/dkg/mask/v1";
constexpr std::string_view transport_label = "transport";

// LP(x) = U32(len x) ‖ x, as in the DLEQ transcript; kept in wiping storage because S is secret.
void put(secure_bytes& out, byte_view field) {
  const std::size_t at = out.size();
  out.resize(at + 4 + field.size());
  const auto n = static_cast<std::uint32_t>(field.size());
  for (int i = 0; i < 4; ++i)
    out.data()[at + static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(n >> (24 - 8 * i));
  std::copy(field.begin(), field.end(), out.data() + at + 4);
}

// H(LP(label) ‖ LP(group) ‖ LP(context) ‖ LP(T) ‖ LP(R) ‖ LP(S)).
secure_bytes mask_of(const group_ops& g, std::string_view context, byte_view transport,
                     byte_view ephemeral, byte_view shared) {
  if (context.size() > 0xffffffffu) throw error(codes::bad_parameters, "context too long");
  secure_bytes t;
  put(t, as_bytes(mask_label));
  put(t, as_bytes(g.name()));
  put(t, as_bytes(context));
  put(t, transport);
  put(t, ephemeral);
  put(t, shared);
  return g.hash_to_scalar(t.view());
}

void check_point_named(const group_ops& g, byte_view p, const char* what) {
  if (!g.is_valid_point(p)) {
    throw error(codes::bad_point,
                std::string(what) + " is not a valid " + std::string(g.name()) + " point");
  }
  if (g.is_identity(p)) throw error(codes::identity_point, std::string(what) + " is the identity");
}

}  // namespace

bytes generator(group g) {
  const auto gen = ops_for(g).generator();
  return bytes(gen.view().begin(), gen.view().end());
}

transport_key make_transport_key(group g) {
  auto dealt = deal(g, 1, 1, {std::string(transport_label)});
  return transport_key{std::move(dealt.pub), std::move(dealt.shares.at(0))};
}

setup_public transport_setup(group g, byte_view point) {
  const group_ops& ops = ops_for(g);
  check_point_named(ops, point, "transport key");
  setup_public pub;
  pub.grp = g;
  pub.threshold = 1;
  pub.custodians = 1;
  pub.public_key.assign(point.begin(), point.end());
  pub.commitments = {pub.public_key};
  pub.labels = {std::string(transport_label)};
  return pub;
}

sealed_share seal_share(const setup_public& transport, const custodian_share& share,
                        std::string_view context) {
  const group_ops& g = ops_for(transport.grp);
  if (share.grp != transport.grp) {
    throw error(codes::group_mismatch, "the share and the transport key are of different groups");
  }
  if (!g.is_canonical_scalar(share.scalar.view()) || g.scalar_is_zero(share.scalar.view())) {
    throw error(codes::bad_scalar, "the share to seal is not a non-zero scalar");
  }
  const auto kem = encapsulate(transport.key());
  const auto mask = mask_of(g, context, transport.public_key, kem.ephemeral, kem.shared.view());
  const auto masked = g.scalar_add(share.scalar.view(), mask.view());
  return sealed_share{kem.ephemeral, bytes(masked.view().begin(), masked.view().end())};
}

custodian_share unmask_share(const setup_public& transport, const sealed_share& sealed,
                             byte_view shared, std::uint32_t index, std::string_view context) {
  const group_ops& g = ops_for(transport.grp);
  check_point_named(g, sealed.ephemeral, "sealed share's ephemeral point R");
  check_point_named(g, shared, "shared point S");
  if (!g.is_canonical_scalar(sealed.masked)) {
    throw error(codes::bad_scalar, "the sealed share's masked value is not a canonical scalar");
  }
  const auto mask = mask_of(g, context, transport.public_key, sealed.ephemeral, shared);
  auto x = g.scalar_sub(sealed.masked, mask.view());
  if (g.scalar_is_zero(x.view())) {
    throw error(codes::bad_scalar, "the sealed share unmasks to zero");
  }
  return custodian_share{transport.grp, index, std::move(x)};
}

custodian_share open_share(const transport_key& key, const sealed_share& sealed,
                           std::uint32_t index, std::string_view context) {
  const group_ops& g = ops_for(key.pub.grp);
  check_point_named(g, sealed.ephemeral, "sealed share's ephemeral point R");
  const auto shared = g.mul(key.secret.scalar.view(), sealed.ephemeral);
  return unmask_share(key.pub, sealed, shared.view(), index, context);
}

void check_sealed_share(group g, const sealed_share& sealed) {
  const group_ops& ops = ops_for(g);
  check_point_named(ops, sealed.ephemeral, "sealed share's ephemeral point R");
  if (!ops.is_canonical_scalar(sealed.masked)) {
    throw error(codes::bad_scalar, "the sealed share's masked value is not a canonical scalar");
  }
}

std::string dkg_share_context(std::string_view tender_id, std::uint32_t number,
                              std::uint32_t dealer, std::uint32_t recipient) {
  return "dkg/" + std::string(tender_id) + "/" + std::to_string(number) + "/share/" +
         std::to_string(dealer) + "/" + std::to_string(recipient);
}

std::string dkg_confirm_context(std::string_view tender_id, std::uint32_t number) {
  return "dkg/" + std::string(tender_id) + "/" + std::to_string(number) + "/confirm";
}

}  // namespace tender::crypto::escrow
