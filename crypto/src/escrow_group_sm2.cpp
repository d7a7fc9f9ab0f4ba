// The SM2 curve (GB/T 32918.5, NID_sm2) through OpenSSL 3.0's EC_GROUP / EC_POINT / BIGNUM API:
// points 33 bytes SEC1 compressed, scalars 32 bytes big-endian mod n. SM2 has cofactor 1, so
// every point on the curve other than infinity is in the prime-order group.

#include "escrow_group.hpp"

#include <tender/crypto/error.hpp>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>

#include <array>
#include <memory>

namespace tender::crypto::escrow::detail {
namespace {

constexpr std::size_t point_len = 33;
constexpr std::size_t scalar_len = 32;

[[noreturn]] void fail(const char* what) {
  throw error(codes::internal, what);
}

struct bn_ctx_free {
  void operator()(BN_CTX* c) const { BN_CTX_free(c); }
};
struct bn_clear_free {
  void operator()(BIGNUM* b) const { BN_clear_free(b); }
};
struct point_clear_free {
  void operator()(EC_POINT* p) const { EC_POINT_clear_free(p); }
};
struct group_free {
  void operator()(EC_GROUP* g) const { EC_GROUP_free(g); }
};
struct md_ctx_free {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
using ctx_ptr = std::unique_ptr<BN_CTX, bn_ctx_free>;
using bn_ptr = std::unique_ptr<BIGNUM, bn_clear_free>;
using point_ptr = std::unique_ptr<EC_POINT, point_clear_free>;

ctx_ptr new_ctx() {
  // The secure variant keeps temporaries on the secure heap when one is configured and clears
  // them on release; scalars here are often secret.
  ctx_ptr c(BN_CTX_secure_new());
  if (!c) fail("sm2: out of memory");
  return c;
}

bn_ptr new_bn() {
  bn_ptr b(BN_secure_new());
  if (!b) fail("sm2: out of memory");
  // Ask OpenSSL for its constant-time code paths (inversion, exponentiation, ladders).
  BN_set_flags(b.get(), BN_FLG_CONSTTIME);
  return b;
}

class sm2_group final : public group_ops {
public:
  sm2_group() : group_(EC_GROUP_new_by_curve_name(NID_sm2)) {
    if (!group_) fail("sm2: OpenSSL does not offer the SM2 curve");
    order_ = EC_GROUP_get0_order(group_.get());
    if (order_ == nullptr || BN_num_bytes(order_) != static_cast<int>(scalar_len)) {
      fail("sm2: unexpected group order");
    }
    auto ctx = new_ctx();
    generator_ = encode(EC_GROUP_get0_generator(group_.get()), ctx.get());
  }

  group id() const override { return group::sm2; }
  std::string_view name() const override { return "sm2"; }
  std::size_t point_size() const override { return point_len; }
  std::size_t scalar_size() const override { return scalar_len; }

  bool is_valid_point(byte_view p) const override {
    if (p.size() != point_len) return false;
    if (is_identity(p)) return true;
    if (p[0] != 0x02 && p[0] != 0x03) return false;  // compressed form only
    auto ctx = new_ctx();
    point_ptr pt(EC_POINT_new(group_.get()));
    if (!pt) fail("sm2: out of memory");
    if (EC_POINT_oct2point(group_.get(), pt.get(), p.data(), p.size(), ctx.get()) != 1) {
      return false;
    }
    // Re-encoding and comparing rejects any encoding that is not the canonical one (x >= p).
    secure_bytes again = encode(pt.get(), ctx.get());
    return constant_time_equal(again.view(), p);
  }

  bool is_canonical_scalar(byte_view s) const override {
    if (s.size() != scalar_len) return false;
    bn_ptr v = to_bn(s);
    return BN_cmp(v.get(), order_) < 0;
  }

  secure_bytes generator() const override { return generator_.clone(); }

  secure_bytes scalar_random() const override {
    bn_ptr r = new_bn();
    do {
      if (BN_priv_rand_range(r.get(), order_) != 1) {
        throw error(codes::internal, "sm2: the random generator failed");
      }
    } while (BN_is_zero(r.get()));
    return from_bn(r.get());
  }

  secure_bytes scalar_from_uint(std::uint64_t v) const override {
    secure_bytes s(scalar_len);
    for (std::size_t i = 0; i < 8; ++i) {
      s.data()[scalar_len - 1 - i] = static_cast<std::uint8_t>(v >> (8 * i));
    }
    return s;  // v < 2^64 < n
  }

  secure_bytes scalar_add(byte_view a, byte_view b) const override {
    return binary_op(a, b, [this](BIGNUM* r, const BIGNUM* x, const BIGNUM* y, BN_CTX* c) {
      return BN_mod_add(r, x, y, order_, c);
    });
  }

  secure_bytes scalar_sub(byte_view a, byte_view b) const override {
    return binary_op(a, b, [this](BIGNUM* r, const BIGNUM* x, const BIGNUM* y, BN_CTX* c) {
      return BN_mod_sub(r, x, y, order_, c);
    });
  }

  secure_bytes scalar_mul(byte_view a, byte_view b) const override {
    return binary_op(a, b, [this](BIGNUM* r, const BIGNUM* x, const BIGNUM* y, BN_CTX* c) {
      return BN_mod_mul(r, x, y, order_, c);
    });
  }

  secure_bytes scalar_invert(byte_view a) const override {
    bn_ptr x = to_scalar_bn(a);
    if (BN_is_zero(x.get())) fail("sm2: inverse of zero");
    auto ctx = new_ctx();
    bn_ptr r = new_bn();
    if (BN_mod_inverse(r.get(), x.get(), order_, ctx.get()) == nullptr) fail("sm2: inversion");
    return from_bn(r.get());
  }

  secure_bytes hash_to_scalar(byte_view message) const override {
    // SM3 has a 32-byte output; two blocks with a counter give 64 bytes, so the reduction mod n
    // (a 256-bit prime) has negligible bias:
    //   h = SM3(00000001 || m) || SM3(00000002 || m), read big-endian, reduced mod n.
    secure_bytes wide(64);
    std::unique_ptr<EVP_MD_CTX, md_ctx_free> md(EVP_MD_CTX_new());
    if (!md) fail("sm2: out of memory");
    for (std::uint8_t counter = 1; counter <= 2; ++counter) {
      const std::array<std::uint8_t, 4> prefix{0, 0, 0, counter};
      unsigned int out_len = 0;
      if (EVP_DigestInit_ex(md.get(), EVP_sm3(), nullptr) != 1 ||
          EVP_DigestUpdate(md.get(), prefix.data(), prefix.size()) != 1 ||
          EVP_DigestUpdate(md.get(), message.data(), message.size()) != 1 ||
          EVP_DigestFinal_ex(md.get(), wide.data() + 32 * (counter - 1), &out_len) != 1 ||
          out_len != 32) {
        fail("sm2: SM3 failed");
      }
    }
    bn_ptr h = new_bn();
    if (BN_bin2bn(wide.data(), static_cast<int>(wide.size()), h.get()) == nullptr) fail("sm2: bn");
    auto ctx = new_ctx();
    bn_ptr r = new_bn();
    if (BN_nnmod(r.get(), h.get(), order_, ctx.get()) != 1) fail("sm2: reduction");
    return from_bn(r.get());
  }

  secure_bytes mul_base(byte_view scalar) const override {
    bn_ptr k = to_scalar_bn(scalar);
    auto ctx = new_ctx();
    point_ptr r = new_point();
    if (EC_POINT_mul(group_.get(), r.get(), k.get(), nullptr, nullptr, ctx.get()) != 1) {
      fail("sm2: base multiplication");
    }
    return encode(r.get(), ctx.get());
  }

  secure_bytes mul(byte_view scalar, byte_view point) const override {
    bn_ptr k = to_scalar_bn(scalar);
    auto ctx = new_ctx();
    point_ptr p = decode(point, ctx.get());
    point_ptr r = new_point();
    if (EC_POINT_mul(group_.get(), r.get(), nullptr, p.get(), k.get(), ctx.get()) != 1) {
      fail("sm2: multiplication");
    }
    return encode(r.get(), ctx.get());
  }

  secure_bytes add(byte_view p, byte_view q) const override {
    auto ctx = new_ctx();
    point_ptr a = decode(p, ctx.get());
    point_ptr b = decode(q, ctx.get());
    point_ptr r = new_point();
    if (EC_POINT_add(group_.get(), r.get(), a.get(), b.get(), ctx.get()) != 1) {
      fail("sm2: addition");
    }
    return encode(r.get(), ctx.get());
  }

  secure_bytes sub(byte_view p, byte_view q) const override {
    auto ctx = new_ctx();
    point_ptr a = decode(p, ctx.get());
    point_ptr b = decode(q, ctx.get());
    if (EC_POINT_invert(group_.get(), b.get(), ctx.get()) != 1) fail("sm2: negation");
    point_ptr r = new_point();
    if (EC_POINT_add(group_.get(), r.get(), a.get(), b.get(), ctx.get()) != 1) {
      fail("sm2: subtraction");
    }
    return encode(r.get(), ctx.get());
  }

private:
  point_ptr new_point() const {
    point_ptr p(EC_POINT_new(group_.get()));
    if (!p) fail("sm2: out of memory");
    return p;
  }

  // Our encoding → EC_POINT; all-zero is the identity (point at infinity).
  point_ptr decode(byte_view p, BN_CTX* ctx) const {
    if (p.size() != point_len) fail("sm2: point of the wrong length");
    point_ptr pt = new_point();
    if (is_identity(p)) {
      if (EC_POINT_set_to_infinity(group_.get(), pt.get()) != 1) fail("sm2: infinity");
      return pt;
    }
    if ((p[0] != 0x02 && p[0] != 0x03) ||
        EC_POINT_oct2point(group_.get(), pt.get(), p.data(), p.size(), ctx) != 1) {
      fail("sm2: invalid point in arithmetic");
    }
    return pt;
  }

  secure_bytes encode(const EC_POINT* pt, BN_CTX* ctx) const {
    if (EC_POINT_is_at_infinity(group_.get(), pt) == 1) return identity();
    secure_bytes out(point_len);
    if (EC_POINT_point2oct(group_.get(), pt, POINT_CONVERSION_COMPRESSED, out.data(), out.size(),
                           ctx) != point_len) {
      fail("sm2: point encoding");
    }
    return out;
  }

  static bn_ptr to_bn(byte_view s) {
    bn_ptr b = new_bn();
    if (BN_bin2bn(s.data(), static_cast<int>(s.size()), b.get()) == nullptr) fail("sm2: bn");
    return b;
  }

  // Scalars reaching arithmetic have been validated by the caller; this is a last guard.
  bn_ptr to_scalar_bn(byte_view s) const {
    if (s.size() != scalar_len) fail("sm2: scalar of the wrong length");
    bn_ptr b = to_bn(s);
    if (BN_cmp(b.get(), order_) >= 0) fail("sm2: scalar not reduced");
    return b;
  }

  static secure_bytes from_bn(const BIGNUM* b) {
    secure_bytes out(scalar_len);
    if (BN_bn2binpad(b, out.data(), static_cast<int>(out.size())) != static_cast<int>(scalar_len)) {
      fail("sm2: scalar encoding");
    }
    return out;
  }

  template <typename op>
  secure_bytes binary_op(byte_view a, byte_view b, op f) const {
    bn_ptr x = to_scalar_bn(a);
    bn_ptr y = to_scalar_bn(b);
    auto ctx = new_ctx();
    bn_ptr r = new_bn();
    if (f(r.get(), x.get(), y.get(), ctx.get()) != 1) fail("sm2: scalar arithmetic");
    return from_bn(r.get());
  }

  std::unique_ptr<EC_GROUP, group_free> group_;
  const BIGNUM* order_ = nullptr;  // owned by group_
  secure_bytes generator_;         // encoded once: it goes into every proof transcript
};

}  // namespace

const group_ops& sm2_ops() {
  static const sm2_group instance;
  return instance;
}

}  // namespace tender::crypto::escrow::detail
