#pragma once

// Threshold (k-of-n) escrow for sealed bids: threshold ElGamal over a prime-order group.
//
// A tender's escrow key Y = x·G is split among n custodians with Feldman verifiable secret sharing.
// A bidder wraps the bid's file key with the output of encapsulate(Y): a fresh R = r·G travels in
// the sealed file and S = r·Y is the wrapping secret. At the opening, k custodians each publish a
// decryption share D_i = x_i·R with a Chaum–Pedersen (DLEQ) proof; anyone can check the proofs and
// combine k shares into S by Lagrange interpolation in the exponent. The escrow secret x itself is
// never rebuilt, and each D_i opens only the bid whose R it was made for.
//
// Two groups: ristretto255 (libsodium, for the `sodium` suite) and the SM2 curve (OpenSSL, for the
// `gm` suite). The exact encodings, equations and transcript bytes are in
// protocol/docs/threshold-escrow.md.
//
// Every failure throws tender::crypto::error with one of the codes below; failures tied to one
// custodian's share throw share_error, which also carries that custodian's index.

#include <tender/crypto/bytes.hpp>
#include <tender/crypto/error.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tender::crypto::escrow {

// Stable error codes (tender::crypto::error::code()).
namespace codes {
// Unknown group name.
inline constexpr const char* bad_group = "escrow.bad_group";
// Objects from two different groups used together.
inline constexpr const char* group_mismatch = "escrow.group_mismatch";
// k or n out of range, wrong number of labels, context too long.
inline constexpr const char* bad_parameters = "escrow.bad_parameters";
// Wrong length, not on the curve, or not the canonical encoding.
inline constexpr const char* bad_point = "escrow.bad_point";
// The identity (neutral element) where a real point is needed.
inline constexpr const char* identity_point = "escrow.identity_point";
// Wrong length, not below the group order, or zero where zero is not allowed.
inline constexpr const char* bad_scalar = "escrow.bad_scalar";
// Custodian index 0 or greater than n.
inline constexpr const char* bad_index = "escrow.bad_index";
// Inconsistent public setup (commitment count, C_0 != Y, labels).
inline constexpr const char* bad_setup = "escrow.bad_setup";
// Feldman check failed: a secret share does not match the commitments.
inline constexpr const char* share_mismatch = "escrow.share_mismatch";
// DLEQ proof of a decryption share failed.
inline constexpr const char* bad_share_proof = "escrow.bad_share_proof";
// The same custodian twice in one combination.
inline constexpr const char* duplicate_share = "escrow.duplicate_share";
// Fewer than k distinct custodians.
inline constexpr const char* not_enough_shares = "escrow.not_enough_shares";
// Malformed serialized form.
inline constexpr const char* bad_json = "escrow.bad_json";
// Library or random-generator failure.
inline constexpr const char* internal = "escrow.internal";
}  // namespace codes

// An error about one custodian's share (bad_index, share_mismatch, bad_share_proof,
// duplicate_share, group_mismatch), naming that custodian so the opening hall can show who failed.
class share_error : public error {
public:
  share_error(std::string code, const std::string& message, std::uint32_t index)
      : error(std::move(code), message), index_(index) {}
  std::uint32_t index() const noexcept { return index_; }

private:
  std::uint32_t index_;
};

enum class group { ristretto255, sm2 };

// "ristretto255" / "sm2": the names used in JSON and in the proof transcript.
std::string_view group_name(group g);
// Throws codes::bad_group for any other name.
group group_from_name(std::string_view name);
// Encoded sizes: ristretto255 points 32 bytes, scalars 32 bytes little-endian mod L;
// sm2 points 33 bytes (SEC1 compressed), scalars 32 bytes big-endian mod n.
std::size_t point_size(group g);
std::size_t scalar_size(group g);

// Checks that `encoded` is the canonical encoding of a group element other than the identity.
// Throws codes::bad_point or codes::identity_point. Use it on any point read from outside.
void check_point(group g, byte_view encoded);

// Upper bound on n, so that a hostile setup file cannot make verification run for ever.
inline constexpr std::uint32_t max_custodians = 1000;

// ---------------------------------------------------------------------------------------------
// KEM for sealing: the contract the sealed-bid format codes against.

struct public_key {
  group grp;
  bytes point;  // Y, encoded as above
};

struct encapsulation {
  bytes ephemeral;      // R = r·G, encoded; goes into the sealed file
  secure_bytes shared;  // S = r·Y, the encoded point; feed it to HKDF to derive the wrap key
};

// Fresh random r (wiped after use). Throws bad_point / identity_point / bad_group on a bad key.
encapsulation encapsulate(const public_key& y);

// ---------------------------------------------------------------------------------------------
// Dealer ceremony (Feldman VSS).

// Everything about the escrow key that is public: published with the tender.
struct setup_public {
  group grp = group::ristretto255;
  std::uint32_t threshold = 0;      // k: shares needed to open
  std::uint32_t custodians = 0;     // n: shares dealt, indices 1..n
  bytes public_key;                 // Y = x·G (equal to commitments[0])
  std::vector<bytes> commitments;   // C_j = a_j·G for j = 0..k-1
  std::vector<std::string> labels;  // n custodian names; labels[i-1] belongs to index i

  escrow::public_key key() const { return {grp, public_key}; }
};

// Custodian i's secret share x_i = f(i). Move-only: the scalar wipes itself.
struct custodian_share {
  group grp = group::ristretto255;
  std::uint32_t index = 0;
  secure_bytes scalar;  // x_i, encoded as a scalar of grp
};

struct dealing {
  setup_public pub;
  std::vector<custodian_share> shares;  // shares[i-1] is for custodian i; send each privately
};

// Draws a random secret x and a random polynomial f of degree k-1 with f(0) = x, returns the
// commitments and the n shares f(1..n). The polynomial is wiped before returning. `labels` is
// either empty (labels become "custodian-1".."custodian-n") or exactly n names.
// Throws codes::bad_parameters unless 1 <= k <= n <= max_custodians.
//
// The dealer knows x. For custodians who do not want to trust one dealer, see the DKG below.
dealing deal(group g, std::uint32_t k, std::uint32_t n, std::vector<std::string> labels = {});

// Checks that the setup is self-consistent: 1 <= k <= n <= max_custodians, k commitments, all
// valid non-identity points, commitments[0] == public_key, n labels. Throws bad_setup,
// bad_parameters, bad_point or identity_point.
void validate_setup(const setup_public& pub);

// Y_i = Σ_j i^j·C_j: custodian i's public share, derived from the commitments alone.
bytes public_share(const setup_public& pub, std::uint32_t index);

// Custodian-side Feldman check: x_i·G == Y_i. Throws share_error with codes::share_mismatch when
// the dealer handed out a wrong share (or codes::bad_index / group_mismatch / bad_scalar).
void verify_share(const setup_public& pub, const custodian_share& share);

// ---------------------------------------------------------------------------------------------
// Simple distributed key generation (joint Feldman): every custodian runs deal() with the same
// k and n and sends share i of its dealing to custodian i. Custodian i then calls
// aggregate_share() with all public dealings and the shares it received (one per dealer, same
// order); everyone computes the joint setup with aggregate_setup(). Nobody ever knows x.
// A bad share is reported as share_error(share_mismatch) whose index() is the *dealer's* position
// in `dealings` plus one.

// Sums the dealings' commitments component-wise. All dealings must have the same group, k and n;
// labels are taken from the first one.
setup_public aggregate_setup(const std::vector<setup_public>& dealings);
// Verifies each received share against its dealer's commitments, then sums them.
custodian_share aggregate_share(const std::vector<setup_public>& dealings,
                                const std::vector<custodian_share>& received);

// ---------------------------------------------------------------------------------------------
// The DKG through a relay (threshold-escrow.md §6.1): custodians exchange their dealings through
// the server, which must not learn the shares. Each custodian publishes a transport key T = t·G
// for the ceremony; a dealer seals share f_d(i) for custodian i with the group's own KEM
// (R = r·G, S = r·T) and an additive mask: masked = f_d(i) + H(mask transcript) mod q. Nothing
// but the Feldman check protects the plaintext's integrity, and nothing else is needed: a wrong
// share is caught by it. To complain, custodian i reveals S with a DLEQ proof over its transport
// key (make_decryption_share with transport_setup(), R and the same context), so that anyone can
// unmask the share and redo the Feldman check.

// The encoding of the group's generator G.
bytes generator(group g);

// A custodian's transport key for one ceremony: the 1-of-1 setup of T (label "transport") and the
// secret t as its only share (index 1).
struct transport_key {
  setup_public pub;
  custodian_share secret;
};
transport_key make_transport_key(group g);
// The 1-of-1 setup of a published transport key T (validated: bad_point / identity_point).
setup_public transport_setup(group g, byte_view point);

struct sealed_share {
  bytes ephemeral;  // R = r·G
  bytes masked;     // f_d(i) + H(M) mod q, a scalar
};

// Dealer side: seals `share` (its scalar; the index is not sent) for the holder of `transport`.
// `context` names dealer, recipient and ceremony and must be the recipient's too.
sealed_share seal_share(const setup_public& transport, const custodian_share& share,
                        std::string_view context);
// Recipient side: S = t·R, then unmask_share(). The result carries `index` (the recipient's).
custodian_share open_share(const transport_key& key, const sealed_share& sealed,
                           std::uint32_t index, std::string_view context);
// Anyone holding S (revealed by a complaint): x = masked − H(M) mod q. Throws bad_point for a bad
// R or S and bad_scalar for a masked value that is not canonical or unmasks to zero. Check the
// result with verify_share() against the dealer's setup.
custodian_share unmask_share(const setup_public& transport, const sealed_share& sealed,
                             byte_view shared, std::uint32_t index, std::string_view context);

// Checks a sealed share's form: R a valid non-identity point, `masked` a canonical scalar
// (bad_point / identity_point / bad_scalar).
void check_sealed_share(group g, const sealed_share& sealed);

// The context strings of a ceremony run through the server (§6.1): the share dealer `dealer`
// seals for `recipient` ("dkg/<tender>/<number>/share/<dealer>/<recipient>"), and the
// confirmation every custodian proves over R = G ("dkg/<tender>/<number>/confirm").
std::string dkg_share_context(std::string_view tender_id, std::uint32_t number,
                              std::uint32_t dealer, std::uint32_t recipient);
std::string dkg_confirm_context(std::string_view tender_id, std::uint32_t number);

// ---------------------------------------------------------------------------------------------
// Decryption shares (at the opening).

// Non-interactive Chaum–Pedersen proof that log_G(Y_i) == log_R(D_i): challenge c, response
// z = w + c·x_i. Both are encoded scalars.
struct dleq_proof {
  bytes challenge;
  bytes response;
};

struct decryption_share {
  group grp = group::ristretto255;
  std::uint32_t index = 0;  // custodian i
  bytes point;              // D_i = x_i·R
  dleq_proof proof;
};

// Custodian i's share for one sealed bid. `ephemeral` is the bid's R; `context` is bound into the
// proof (for instance tender id and bid digest) and must be the same when verifying.
// Checks the custodian's own share against the setup first (share_mismatch if it is wrong).
decryption_share make_decryption_share(const setup_public& pub, const custodian_share& share,
                                       byte_view ephemeral, byte_view context = {});

// Throws share_error (bad_share_proof, bad_index, group_mismatch, bad_point, identity_point,
// bad_scalar) naming share.index if the share is not a correct share for `ephemeral`.
void verify_decryption_share(const setup_public& pub, byte_view ephemeral,
                             const decryption_share& share, byte_view context = {});

// Verifies every share (the first bad one throws, naming its custodian), requires at least k
// distinct indices (codes::not_enough_shares; a repeated index is codes::duplicate_share), and
// returns S = Σ λ_i·D_i — the same bytes encapsulate() returned as `shared`.
secure_bytes combine(const setup_public& pub, byte_view ephemeral,
                     const std::vector<decryption_share>& shares, byte_view context = {});

// ---------------------------------------------------------------------------------------------
// Serialization (JSON, UTF-8). Binary values are standard padded base64 of the encodings above.
// Parsers reject anything malformed with codes::bad_json, and bad values with the codes above.
// Inputs larger than max_json_size are rejected.
//
// setup:            {"type":"tenderhall.escrow.setup","version":1,"group":"sm2","threshold":3,
//                    "custodians":5,"public_key":"<Y>","commitments":["<C_0>",...],
//                    "labels":["center",...]}
// custodian share:  {"type":"tenderhall.escrow.share","version":1,"group":"sm2","index":2,
//                    "share":"<x_i>"}       (SECRET: store with owner-only permissions)
// decryption share: {"type":"tenderhall.escrow.decryption_share","version":1,"group":"sm2",
//                    "index":2,"point":"<D_i>","proof":{"c":"<c>","z":"<z>"}}

inline constexpr std::size_t max_json_size = 1 << 20;

std::string setup_to_json(const setup_public& pub);
setup_public setup_from_json(std::string_view text);  // also runs validate_setup()

// The share file is returned in wiping storage, because it contains the secret scalar.
secure_bytes share_to_json(const custodian_share& share);
custodian_share share_from_json(std::string_view text);

std::string decryption_share_to_json(const decryption_share& share);
decryption_share decryption_share_from_json(std::string_view text);

}  // namespace tender::crypto::escrow
