// ristretto255 through libsodium 1.0.18: points 32 bytes, scalars 32 bytes little-endian mod
// L = 2^252 + 27742317777372353535851937790883648493.

#include "escrow_group.hpp"

#include <tender/crypto/error.hpp>

#include <sodium.h>

#include <array>
#include <cstring>

namespace tender::crypto::escrow::detail {
namespace {

constexpr std::size_t point_len = crypto_core_ristretto255_BYTES;
constexpr std::size_t scalar_len = crypto_core_ristretto255_SCALARBYTES;
static_assert(point_len == 32 && scalar_len == 32);

[[noreturn]] void fail(const char* what) {
  throw error(codes::internal, what);
}

void require_scalar(byte_view s) {
  if (s.size() != scalar_len) fail("ristretto255: scalar of the wrong length");
}

void require_point(byte_view p) {
  if (p.size() != point_len) fail("ristretto255: point of the wrong length");
}

class ristretto255_group final : public group_ops {
public:
  group id() const override { return group::ristretto255; }
  std::string_view name() const override { return "ristretto255"; }
  std::size_t point_size() const override { return point_len; }
  std::size_t scalar_size() const override { return scalar_len; }

  bool is_valid_point(byte_view p) const override {
    // is_valid_point accepts exactly the canonical encodings, identity (all zero) included.
    return p.size() == point_len && crypto_core_ristretto255_is_valid_point(p.data()) == 1;
  }

  bool is_canonical_scalar(byte_view s) const override {
    // libsodium 1.0.18 has no public "is canonical" test: reduce the zero-extended value and see
    // whether it changed.
    if (s.size() != scalar_len) return false;
    secure_bytes wide(crypto_core_ristretto255_NONREDUCEDSCALARBYTES);
    std::memcpy(wide.data(), s.data(), scalar_len);
    secure_bytes reduced(scalar_len);
    crypto_core_ristretto255_scalar_reduce(reduced.data(), wide.data());
    return sodium_memcmp(reduced.data(), s.data(), scalar_len) == 0;
  }

  secure_bytes generator() const override {
    // The canonical encoding of the ristretto255 base point (RFC 9496), equal to mul_base(1).
    static constexpr std::array<std::uint8_t, point_len> encoded{
        0xe2, 0xf2, 0xae, 0x0a, 0x6a, 0xbc, 0x4e, 0x71, 0xa8, 0x84, 0xa9,
        0x61, 0xc5, 0x00, 0x51, 0x5f, 0x58, 0xe3, 0x0b, 0x6a, 0xa5, 0x82,
        0xdd, 0x8d, 0xb6, 0xa6, 0x59, 0x45, 0xe0, 0x8d, 0x2d, 0x76};
    return secure_bytes(byte_view(encoded));
  }

  secure_bytes scalar_random() const override {
    secure_bytes s(scalar_len);
    crypto_core_ristretto255_scalar_random(s.data());  // uniform in [1, L)
    return s;
  }

  secure_bytes scalar_from_uint(std::uint64_t v) const override {
    secure_bytes s(scalar_len);
    for (std::size_t i = 0; i < 8; ++i)
      s.data()[i] = static_cast<std::uint8_t>(v >> (8 * i));
    return s;  // v < 2^64 < L, so this is already canonical
  }

  secure_bytes scalar_add(byte_view a, byte_view b) const override {
    require_scalar(a);
    require_scalar(b);
    secure_bytes r(scalar_len);
    crypto_core_ristretto255_scalar_add(r.data(), a.data(), b.data());
    return r;
  }

  secure_bytes scalar_sub(byte_view a, byte_view b) const override {
    require_scalar(a);
    require_scalar(b);
    secure_bytes r(scalar_len);
    crypto_core_ristretto255_scalar_sub(r.data(), a.data(), b.data());
    return r;
  }

  secure_bytes scalar_mul(byte_view a, byte_view b) const override {
    require_scalar(a);
    require_scalar(b);
    secure_bytes r(scalar_len);
    crypto_core_ristretto255_scalar_mul(r.data(), a.data(), b.data());
    return r;
  }

  secure_bytes scalar_invert(byte_view a) const override {
    require_scalar(a);
    secure_bytes r(scalar_len);
    if (crypto_core_ristretto255_scalar_invert(r.data(), a.data()) != 0) {
      fail("ristretto255: inverse of zero");
    }
    return r;
  }

  secure_bytes hash_to_scalar(byte_view message) const override {
    // SHA-512 of the message, read as a 512-bit little-endian integer, reduced mod L.
    std::array<std::uint8_t, crypto_hash_sha512_BYTES> digest{};
    crypto_hash_sha512(digest.data(), message.data(), message.size());
    secure_bytes s(scalar_len);
    crypto_core_ristretto255_scalar_reduce(s.data(), digest.data());
    sodium_memzero(digest.data(), digest.size());
    return s;
  }

  secure_bytes mul_base(byte_view scalar) const override {
    require_scalar(scalar);
    secure_bytes r(point_len);
    // Returns -1 only when the result is the identity (scalar ≡ 0); r is then left all zero,
    // which is our identity encoding.
    if (crypto_scalarmult_ristretto255_base(r.data(), scalar.data()) != 0) return identity();
    return r;
  }

  secure_bytes mul(byte_view scalar, byte_view point) const override {
    require_scalar(scalar);
    if (!is_valid_point(point)) fail("ristretto255: invalid point in multiplication");
    secure_bytes r(point_len);
    // -1 means the result is the identity (the point was checked above); the group has prime
    // order, so that happens only for a zero scalar or the identity point.
    if (crypto_scalarmult_ristretto255(r.data(), scalar.data(), point.data()) != 0) {
      return identity();
    }
    return r;
  }

  secure_bytes add(byte_view p, byte_view q) const override {
    require_point(p);
    require_point(q);
    secure_bytes r(point_len);
    if (crypto_core_ristretto255_add(r.data(), p.data(), q.data()) != 0) {
      fail("ristretto255: invalid point in addition");
    }
    return r;
  }

  secure_bytes sub(byte_view p, byte_view q) const override {
    require_point(p);
    require_point(q);
    secure_bytes r(point_len);
    if (crypto_core_ristretto255_sub(r.data(), p.data(), q.data()) != 0) {
      fail("ristretto255: invalid point in subtraction");
    }
    return r;
  }
};

}  // namespace

const group_ops& ristretto255_ops() {
  static const ristretto255_group instance;
  return instance;
}

}  // namespace tender::crypto::escrow::detail
