#pragma once

// Internal: the prime-order group behind the escrow, so that dealing, proofs and combining are
// written once for ristretto255 and SM2.
//
// Points and scalars cross this interface as their canonical encodings (see escrow.hpp). Inside
// the arithmetic the identity element is allowed and is encoded as point_size() zero bytes, a
// string that no valid non-identity point has in either group (ristretto255 encodes the identity
// that way itself; for SM2 the SEC1 prefix byte of a real point is 02 or 03). Callers that read
// points from outside must use check_point() to reject the identity.
//
// Results are secure_bytes because some of them are secrets (shares, S = r·Y); the cost is
// negligible next to a scalar multiplication.

#include <tender/crypto/bytes.hpp>
#include <tender/crypto/escrow.hpp>

#include <cstdint>
#include <string_view>

namespace tender::crypto::escrow::detail {

class group_ops {
public:
  virtual ~group_ops() = default;

  virtual group id() const = 0;
  virtual std::string_view name() const = 0;
  virtual std::size_t point_size() const = 0;
  virtual std::size_t scalar_size() const = 0;

  // True if `p` has the right length and canonically encodes a group element (identity included).
  virtual bool is_valid_point(byte_view p) const = 0;
  // True if `s` has the right length and encodes an integer in [0, q).
  virtual bool is_canonical_scalar(byte_view s) const = 0;

  virtual secure_bytes generator() const = 0;
  virtual secure_bytes identity() const { return secure_bytes(point_size()); }
  bool is_identity(byte_view p) const;

  virtual secure_bytes scalar_random() const = 0;  // uniform in [1, q)
  virtual secure_bytes scalar_from_uint(std::uint64_t v) const = 0;
  virtual secure_bytes scalar_add(byte_view a, byte_view b) const = 0;
  virtual secure_bytes scalar_sub(byte_view a, byte_view b) const = 0;
  virtual secure_bytes scalar_mul(byte_view a, byte_view b) const = 0;
  // Throws codes::internal for zero (callers never invert zero: indices are distinct and non-zero).
  virtual secure_bytes scalar_invert(byte_view a) const = 0;
  bool scalar_is_zero(byte_view a) const;

  // The group's hash to scalar (escrow.md §hash-to-scalar): 64 bytes of hash reduced mod q.
  virtual secure_bytes hash_to_scalar(byte_view message) const = 0;

  virtual secure_bytes mul_base(byte_view scalar) const = 0;
  virtual secure_bytes mul(byte_view scalar, byte_view point) const = 0;
  virtual secure_bytes add(byte_view p, byte_view q) const = 0;
  virtual secure_bytes sub(byte_view p, byte_view q) const = 0;
};

const group_ops& ops_for(group g);
const group_ops& ristretto255_ops();
const group_ops& sm2_ops();

}  // namespace tender::crypto::escrow::detail
