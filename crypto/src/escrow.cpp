// Threshold escrow: Feldman dealing, the KEM, DLEQ-proved decryption shares and Lagrange combining.
// Written once over detail::group_ops; see protocol/docs/threshold-escrow.md for the equations.

#include <tender/crypto/escrow.hpp>

#include "escrow_group.hpp"

#include <sodium.h>

#include <set>
#include <string>

namespace tender::crypto::escrow {

using detail::group_ops;
using detail::ops_for;

namespace {

// Domain-separation label of the DLEQ transcript; bump the version if the layout ever changes.
constexpr std::string_view dleq_label = "tenderhall/escrow/dleq/v1";

bytes to_bytes(const secure_bytes& s) {
  return bytes(s.view().begin(), s.view().end());
}

bool same(byte_view a, byte_view b) {
  return constant_time_equal(a, b);
}

void check_parameters(std::uint32_t k, std::uint32_t n) {
  if (k < 1 || n < k || n > max_custodians) {
    throw error(codes::bad_parameters,
                "escrow needs 1 <= k <= n <= " + std::to_string(max_custodians) +
                    ", got k=" + std::to_string(k) + " n=" + std::to_string(n));
  }
}

void check_public_point(const group_ops& g, byte_view p, const std::string& what) {
  if (!g.is_valid_point(p)) {
    throw error(codes::bad_point, what + " is not a valid " + std::string(g.name()) + " point");
  }
  if (g.is_identity(p)) throw error(codes::identity_point, what + " is the identity point");
}

// Same checks, but reported against one custodian's share.
void check_share_point(const group_ops& g, byte_view p, std::uint32_t index,
                       const std::string& what) {
  try {
    check_public_point(g, p, what);
  } catch (const error& e) {
    throw share_error(e.code(),
                      std::string(e.what()) + " (custodian " + std::to_string(index) + ")", index);
  }
}

void check_share_scalar(const group_ops& g, byte_view s, bool allow_zero, std::uint32_t index,
                        const std::string& what) {
  if (!g.is_canonical_scalar(s) || (!allow_zero && g.scalar_is_zero(s))) {
    throw share_error(codes::bad_scalar,
                      what + " of custodian " + std::to_string(index) + " is not a valid " +
                          std::string(g.name()) + " scalar",
                      index);
  }
}

void check_index(const setup_public& pub, std::uint32_t index) {
  if (index < 1 || index > pub.custodians) {
    throw share_error(codes::bad_index,
                      "custodian index " + std::to_string(index) + " is outside 1.." +
                          std::to_string(pub.custodians),
                      index);
  }
}

void check_group(const setup_public& pub, group g, std::uint32_t index) {
  if (g != pub.grp) {
    throw share_error(codes::group_mismatch,
                      "share of custodian " + std::to_string(index) + " is for group " +
                          std::string(group_name(g)) + ", the setup uses " +
                          std::string(group_name(pub.grp)),
                      index);
  }
}

// Y_i = Σ_j i^j·C_j, by Horner's rule in the exponent: ((C_{k-1}·i + C_{k-2})·i + ...)·i + C_0.
// Intermediate values may be the identity for hostile commitments; the group handles that.
secure_bytes derive_public_share(const group_ops& g, const setup_public& pub, std::uint32_t index) {
  const secure_bytes i = g.scalar_from_uint(index);
  secure_bytes acc(pub.commitments.back());
  for (std::size_t j = pub.commitments.size() - 1; j-- > 0;) {
    acc = g.add(g.mul(i.view(), acc.view()).view(), pub.commitments[j]);
  }
  return acc;
}

// Length-prefixed fields, so that no two different transcripts share an encoding.
class transcript {
public:
  void put(byte_view field) {
    put_u32(static_cast<std::uint32_t>(field.size()));
    data_.insert(data_.end(), field.begin(), field.end());
  }
  void put_u32(std::uint32_t v) {
    for (int shift = 24; shift >= 0; shift -= 8)
      data_.push_back(static_cast<std::uint8_t>(v >> shift));
  }
  byte_view view() const { return data_; }

private:
  bytes data_;
};

// c = H(label, group, context, i, G, Y, Y_i, R, D_i, A, B); layout in threshold-escrow.md.
secure_bytes dleq_challenge(const group_ops& g, const setup_public& pub, std::uint32_t index,
                            byte_view context, byte_view y_i, byte_view r, byte_view d, byte_view a,
                            byte_view b) {
  if (context.size() > 0xffffffffu) throw error(codes::bad_parameters, "context too long");
  transcript t;
  t.put(as_bytes(dleq_label));
  t.put(as_bytes(g.name()));
  t.put(context);
  t.put_u32(index);
  t.put(g.generator().view());
  t.put(pub.public_key);
  t.put(y_i);
  t.put(r);
  t.put(d);
  t.put(a);
  t.put(b);
  return g.hash_to_scalar(t.view());
}

// Shared by verify_decryption_share() and combine(); the setup and R are already validated.
void verify_share_proof(const group_ops& g, const setup_public& pub, byte_view ephemeral,
                        const decryption_share& share, byte_view context) {
  check_group(pub, share.grp, share.index);
  check_index(pub, share.index);
  check_share_point(g, share.point, share.index, "decryption share point");
  check_share_scalar(g, share.proof.challenge, true, share.index, "proof challenge");
  check_share_scalar(g, share.proof.response, true, share.index, "proof response");

  const secure_bytes y_i = derive_public_share(g, pub, share.index);
  // A = z·G − c·Y_i and B = z·R − c·D_i are what an honest prover committed to.
  const secure_bytes a = g.sub(g.mul_base(share.proof.response).view(),
                               g.mul(share.proof.challenge, y_i.view()).view());
  const secure_bytes b = g.sub(g.mul(share.proof.response, ephemeral).view(),
                               g.mul(share.proof.challenge, share.point).view());
  // An honest prover's A = w·G and B = w·R with w ≠ 0 are never the identity.
  bool ok = !g.is_identity(a.view()) && !g.is_identity(b.view());
  if (ok) {
    const secure_bytes c = dleq_challenge(g, pub, share.index, context, y_i.view(), ephemeral,
                                          share.point, a.view(), b.view());
    ok = same(c.view(), share.proof.challenge);
  }
  if (!ok) {
    throw share_error(codes::bad_share_proof,
                      "the decryption share of custodian " + std::to_string(share.index) +
                          " fails its proof (wrong share, wrong bid or wrong context)",
                      share.index);
  }
}

// λ_i = Π_{j≠i} j / (j − i), the Lagrange coefficient at 0 for index i within `indices`.
secure_bytes lagrange_at_zero(const group_ops& g, const std::vector<std::uint32_t>& indices,
                              std::uint32_t i) {
  secure_bytes num = g.scalar_from_uint(1);
  secure_bytes den = g.scalar_from_uint(1);
  const secure_bytes si = g.scalar_from_uint(i);
  for (const std::uint32_t j : indices) {
    if (j == i) continue;
    const secure_bytes sj = g.scalar_from_uint(j);
    num = g.scalar_mul(num.view(), sj.view());
    den = g.scalar_mul(den.view(), g.scalar_sub(sj.view(), si.view()).view());
  }
  return g.scalar_mul(num.view(), g.scalar_invert(den.view()).view());
}

}  // namespace

// ---------------------------------------------------------------------------------------------

std::string_view group_name(group g) {
  return ops_for(g).name();
}

group group_from_name(std::string_view name) {
  if (name == "ristretto255") return group::ristretto255;
  if (name == "sm2") return group::sm2;
  throw error(codes::bad_group, "unknown escrow group \"" + std::string(name.substr(0, 64)) + "\"");
}

std::size_t point_size(group g) {
  return ops_for(g).point_size();
}
std::size_t scalar_size(group g) {
  return ops_for(g).scalar_size();
}

void check_point(group g, byte_view encoded) {
  check_public_point(ops_for(g), encoded, "point");
}

encapsulation encapsulate(const public_key& y) {
  const group_ops& g = ops_for(y.grp);
  check_public_point(g, y.point, "escrow public key");
  const secure_bytes r = g.scalar_random();
  encapsulation out;
  out.ephemeral = to_bytes(g.mul_base(r.view()));
  out.shared = g.mul(r.view(), y.point);
  return out;
}

// ---------------------------------------------------------------------------------------------

dealing deal(group grp, std::uint32_t k, std::uint32_t n, std::vector<std::string> labels) {
  const group_ops& g = ops_for(grp);
  check_parameters(k, n);
  if (labels.empty()) {
    for (std::uint32_t i = 1; i <= n; ++i)
      labels.push_back("custodian-" + std::to_string(i));
  }
  if (labels.size() != n) {
    throw error(codes::bad_parameters, "need exactly n = " + std::to_string(n) + " labels");
  }

  for (;;) {
    // f(X) = a_0 + a_1·X + ... + a_{k-1}·X^{k-1}, a_0 = x. Non-zero coefficients keep the degree
    // exactly k-1. The vector of secure_bytes wipes the polynomial when it goes out of scope.
    std::vector<secure_bytes> coefficients;
    coefficients.reserve(k);
    for (std::uint32_t j = 0; j < k; ++j)
      coefficients.push_back(g.scalar_random());

    dealing out;
    out.pub.grp = grp;
    out.pub.threshold = k;
    out.pub.custodians = n;
    for (const secure_bytes& a : coefficients) {
      out.pub.commitments.push_back(to_bytes(g.mul_base(a.view())));
    }
    out.pub.public_key = out.pub.commitments.front();
    out.pub.labels = labels;

    bool zero_share = false;
    for (std::uint32_t i = 1; i <= n; ++i) {
      const secure_bytes si = g.scalar_from_uint(i);
      secure_bytes acc = coefficients.back().clone();
      for (std::size_t j = coefficients.size() - 1; j-- > 0;) {
        acc = g.scalar_add(g.scalar_mul(acc.view(), si.view()).view(), coefficients[j].view());
      }
      // A zero share (probability about n/2^252) would be rejected by every check; deal again.
      zero_share = zero_share || g.scalar_is_zero(acc.view());
      out.shares.push_back(custodian_share{grp, i, std::move(acc)});
    }
    if (!zero_share) return out;
  }
}

void validate_setup(const setup_public& pub) {
  const group_ops& g = ops_for(pub.grp);
  check_parameters(pub.threshold, pub.custodians);
  if (pub.commitments.size() != pub.threshold) {
    throw error(codes::bad_setup,
                "the setup must have exactly k = " + std::to_string(pub.threshold) +
                    " commitments, it has " + std::to_string(pub.commitments.size()));
  }
  check_public_point(g, pub.public_key, "escrow public key");
  for (std::size_t j = 0; j < pub.commitments.size(); ++j) {
    check_public_point(g, pub.commitments[j], "commitment " + std::to_string(j));
  }
  if (!same(pub.commitments.front(), pub.public_key)) {
    throw error(codes::bad_setup, "the escrow public key differs from commitment 0");
  }
  if (pub.labels.size() != pub.custodians) {
    throw error(codes::bad_setup, "the setup must have exactly n = " +
                                      std::to_string(pub.custodians) + " custodian labels");
  }
}

bytes public_share(const setup_public& pub, std::uint32_t index) {
  validate_setup(pub);
  check_index(pub, index);
  const group_ops& g = ops_for(pub.grp);
  const secure_bytes y_i = derive_public_share(g, pub, index);
  // Only hostile commitments can put Y_i at the identity; such a setup cannot be used.
  if (g.is_identity(y_i.view())) {
    throw error(codes::bad_setup,
                "custodian " + std::to_string(index) + "'s public share is the identity point");
  }
  return to_bytes(y_i);
}

void verify_share(const setup_public& pub, const custodian_share& share) {
  validate_setup(pub);
  const group_ops& g = ops_for(pub.grp);
  check_group(pub, share.grp, share.index);
  check_index(pub, share.index);
  check_share_scalar(g, share.scalar.view(), false, share.index, "secret share");
  const secure_bytes expected = derive_public_share(g, pub, share.index);
  const secure_bytes actual = g.mul_base(share.scalar.view());
  if (!same(expected.view(), actual.view())) {
    throw share_error(codes::share_mismatch,
                      "the secret share of custodian " + std::to_string(share.index) +
                          " does not match the published commitments",
                      share.index);
  }
}

// ---------------------------------------------------------------------------------------------

setup_public aggregate_setup(const std::vector<setup_public>& dealings) {
  if (dealings.empty()) throw error(codes::bad_parameters, "no dealings to aggregate");
  const setup_public& first = dealings.front();
  for (const setup_public& d : dealings) {
    validate_setup(d);
    if (d.grp != first.grp) throw error(codes::group_mismatch, "dealings use different groups");
    if (d.threshold != first.threshold || d.custodians != first.custodians) {
      throw error(codes::bad_setup, "dealings use different k or n");
    }
  }
  const group_ops& g = ops_for(first.grp);
  setup_public out;
  out.grp = first.grp;
  out.threshold = first.threshold;
  out.custodians = first.custodians;
  out.labels = first.labels;
  for (std::size_t j = 0; j < first.commitments.size(); ++j) {
    secure_bytes sum = g.identity();
    for (const setup_public& d : dealings)
      sum = g.add(sum.view(), d.commitments[j]);
    if (g.is_identity(sum.view())) {
      throw error(codes::bad_setup,
                  "aggregated commitment " + std::to_string(j) + " is the identity point");
    }
    out.commitments.push_back(to_bytes(sum));
  }
  out.public_key = out.commitments.front();
  return out;
}

custodian_share aggregate_share(const std::vector<setup_public>& dealings,
                                const std::vector<custodian_share>& received) {
  if (dealings.empty() || dealings.size() != received.size()) {
    throw error(codes::bad_parameters, "need exactly one received share per dealing");
  }
  const setup_public& first = dealings.front();
  for (const setup_public& d : dealings) {
    if (d.grp != first.grp) throw error(codes::group_mismatch, "dealings use different groups");
    if (d.threshold != first.threshold || d.custodians != first.custodians) {
      throw error(codes::bad_setup, "dealings use different k or n");
    }
  }
  const group_ops& g = ops_for(first.grp);
  const std::uint32_t index = received.front().index;
  secure_bytes sum(g.scalar_size());
  for (std::size_t d = 0; d < dealings.size(); ++d) {
    const auto dealer = static_cast<std::uint32_t>(d + 1);
    if (received[d].index != index) {
      throw share_error(codes::bad_index, "shares received for different custodian indices",
                        dealer);
    }
    try {
      verify_share(dealings[d], received[d]);
    } catch (const share_error& e) {
      // Name the dealer: it handed out the bad share.
      throw share_error(e.code(), "dealer " + std::to_string(dealer) + ": " + e.what(), dealer);
    }
    sum = g.scalar_add(sum.view(), received[d].scalar.view());
  }
  if (g.scalar_is_zero(sum.view())) throw error(codes::internal, "aggregated share is zero");
  return custodian_share{first.grp, index, std::move(sum)};
}

// ---------------------------------------------------------------------------------------------

decryption_share make_decryption_share(const setup_public& pub, const custodian_share& share,
                                       byte_view ephemeral, byte_view context) {
  verify_share(pub, share);  // also validates the setup, the index and the scalar
  const group_ops& g = ops_for(pub.grp);
  check_public_point(g, ephemeral, "ephemeral point R");

  const secure_bytes y_i = derive_public_share(g, pub, share.index);
  const secure_bytes d = g.mul(share.scalar.view(), ephemeral);

  // Chaum–Pedersen: commit with a fresh w, challenge by Fiat–Shamir, respond z = w + c·x_i.
  const secure_bytes w = g.scalar_random();
  const secure_bytes a = g.mul_base(w.view());
  const secure_bytes b = g.mul(w.view(), ephemeral);
  const secure_bytes c = dleq_challenge(g, pub, share.index, context, y_i.view(), ephemeral,
                                        d.view(), a.view(), b.view());
  const secure_bytes z = g.scalar_add(w.view(), g.scalar_mul(c.view(), share.scalar.view()).view());

  decryption_share out;
  out.grp = pub.grp;
  out.index = share.index;
  out.point = to_bytes(d);
  out.proof.challenge = to_bytes(c);
  out.proof.response = to_bytes(z);
  return out;
}

void verify_decryption_share(const setup_public& pub, byte_view ephemeral,
                             const decryption_share& share, byte_view context) {
  validate_setup(pub);
  const group_ops& g = ops_for(pub.grp);
  check_public_point(g, ephemeral, "ephemeral point R");
  verify_share_proof(g, pub, ephemeral, share, context);
}

secure_bytes combine(const setup_public& pub, byte_view ephemeral,
                     const std::vector<decryption_share>& shares, byte_view context) {
  validate_setup(pub);
  const group_ops& g = ops_for(pub.grp);
  check_public_point(g, ephemeral, "ephemeral point R");

  // Cheap structural checks first, so that "too few" and "twice the same" are reported before
  // any proof is verified.
  std::set<std::uint32_t> seen;
  for (const decryption_share& s : shares) {
    check_group(pub, s.grp, s.index);
    check_index(pub, s.index);
    if (!seen.insert(s.index).second) {
      throw share_error(codes::duplicate_share,
                        "custodian " + std::to_string(s.index) + " appears twice", s.index);
    }
  }
  if (seen.size() < pub.threshold) {
    throw error(codes::not_enough_shares, "need " + std::to_string(pub.threshold) +
                                              " decryption shares, got " +
                                              std::to_string(seen.size()));
  }
  for (const decryption_share& s : shares)
    verify_share_proof(g, pub, ephemeral, s, context);

  // Any k or more valid shares interpolate the same degree-(k-1) polynomial, so all are used.
  const std::vector<std::uint32_t> indices(seen.begin(), seen.end());
  secure_bytes sum = g.identity();
  for (const decryption_share& s : shares) {
    const secure_bytes lambda = lagrange_at_zero(g, indices, s.index);
    sum = g.add(sum.view(), g.mul(lambda.view(), s.point).view());
  }
  if (g.is_identity(sum.view())) {
    throw error(codes::internal, "the combined point is the identity");
  }
  return sum;
}

}  // namespace tender::crypto::escrow

namespace tender::crypto::escrow::detail {

bool group_ops::is_identity(byte_view p) const {
  return p.size() == point_size() && sodium_is_zero(p.data(), p.size()) == 1;
}

bool group_ops::scalar_is_zero(byte_view a) const {
  return a.size() == scalar_size() && sodium_is_zero(a.data(), a.size()) == 1;
}

const group_ops& ops_for(group g) {
  switch (g) {
    case group::ristretto255:
      return ristretto255_ops();
    case group::sm2:
      return sm2_ops();
  }
  throw error(codes::bad_group, "unknown escrow group");
}

}  // namespace tender::crypto::escrow::detail
