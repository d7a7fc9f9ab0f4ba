#!/usr/bin/env python3
"""Second implementation of protocol/docs/threshold-escrow.md, written from the document alone.

It uses only Python integers and hashlib (SHA-512, and SM3 through hashlib's OpenSSL backend):
no libsodium and no OpenSSL EC, so it shares no code with tender::crypto. It re-derives the
public shares, the Feldman checks, every DLEQ transcript and challenge, and the Lagrange
combination of the published vectors, to show that the document is complete enough to
re-implement and that the C++ code follows it.

    python3 protocol/docs/threshold-escrow-reference.py protocol/docs/threshold-escrow-vectors.json

Verification only (no secret-hygiene, not constant time): never use it on real shares.
"""
import base64, hashlib, json, sys

def b64(s): return base64.b64decode(s, validate=True)
def u32(v): return v.to_bytes(4, 'big')
def lp(b): return u32(len(b)) + b

# ---------------- SM2 ----------------
class SM2:
    name = 'sm2'
    p = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFF
    a = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFC
    b = 0x28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93
    q = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123
    G = (0x32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7,
         0xBC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0)
    O = None
    def add(s, P, Q):
        p = s.p
        if P is None: return Q
        if Q is None: return P
        if P[0] == Q[0]:
            if (P[1] + Q[1]) % p == 0: return None
            l = (3 * P[0] * P[0] + s.a) * pow(2 * P[1], -1, p) % p
        else:
            l = (Q[1] - P[1]) * pow(Q[0] - P[0], -1, p) % p
        x = (l * l - P[0] - Q[0]) % p
        return (x, (l * (P[0] - x) - P[1]) % p)
    def neg(s, P): return None if P is None else (P[0], (-P[1]) % s.p)
    def mul(s, k, P):
        R = None
        for bit in bin(k % s.q)[2:]:
            R = s.add(R, R)
            if bit == '1': R = s.add(R, P)
        return R
    def enc(s, P):
        assert P is not None
        return bytes([2 + (P[1] & 1)]) + P[0].to_bytes(32, 'big')
    def dec(s, e):
        assert len(e) == 33 and e[0] in (2, 3), 'bad prefix'
        x = int.from_bytes(e[1:], 'big'); assert x < s.p
        rhs = (x**3 + s.a * x + s.b) % s.p
        y = pow(rhs, (s.p + 1) // 4, s.p)          # p ≡ 3 mod 4
        assert y * y % s.p == rhs, 'not on curve'
        if (y & 1) != (e[0] & 1): y = s.p - y
        P = (x, y); assert s.enc(P) == e
        return P
    def scalar(s, e): assert len(e) == 32; v = int.from_bytes(e, 'big'); assert v < s.q; return v
    def h(s, T):
        d = hashlib.new('sm3', u32(1) + T).digest() + hashlib.new('sm3', u32(2) + T).digest()
        return int.from_bytes(d, 'big') % s.q
    def senc(s, v): return v.to_bytes(32, 'big')

# ---------------- ristretto255 (RFC 9496) ----------------
P25519 = 2**255 - 19
D = (-121665 * pow(121666, -1, P25519)) % P25519
SQRT_M1 = pow(2, (P25519 - 1) // 4, P25519)
INVSQRT_A_MINUS_D = 54469307008909316920995813868745141605393597292927456921205312896311721017578
def neg_(x): return (x % P25519) & 1 == 1
def abs_(x): x %= P25519; return P25519 - x if neg_(x) else x
def sqrt_ratio_m1(u, v):
    p = P25519
    r = (u * pow(v, 3, p)) * pow(u * pow(v, 7, p), (p - 5) // 8, p) % p
    check = v * r * r % p
    correct = check == u % p
    flipped = check == (-u) % p
    flipped_i = check == (-u * SQRT_M1) % p
    if flipped or flipped_i: r = r * SQRT_M1 % p
    return (correct or flipped), abs_(r)

class R255:
    name = 'ristretto255'
    q = 2**252 + 27742317777372353535851937790883648493
    def __init__(s):
        p = P25519
        y = 4 * pow(5, -1, p) % p
        # x from -x^2 + y^2 = 1 + d x^2 y^2  =>  x^2 = (y^2 - 1) / (d y^2 + 1)
        ok, x = sqrt_ratio_m1((y * y - 1) % p, (D * y * y + 1) % p)
        assert ok
        s.G = (x, y)                                 # x even ("positive")
    def add(s, P, Q):
        p = P25519
        (x1, y1), (x2, y2) = P, Q
        t = D * x1 * x2 * y1 * y2 % p
        return ((x1 * y2 + y1 * x2) * pow(1 + t, -1, p) % p, (y1 * y2 + x1 * x2) * pow(1 - t, -1, p) % p)
    def neg(s, P): return ((-P[0]) % P25519, P[1])
    def mul(s, k, P):
        R = (0, 1)
        for bit in bin(k % s.q)[2:]:
            R = s.add(R, R)
            if bit == '1': R = s.add(R, P)
        return R
    def enc(s, P):
        p = P25519
        x0, y0 = P; z0 = 1; t0 = x0 * y0 % p
        u1 = (z0 + y0) * (z0 - y0) % p
        u2 = x0 * y0 % p
        _, invsqrt = sqrt_ratio_m1(1, u1 * u2 * u2 % p)
        den1 = invsqrt * u1 % p; den2 = invsqrt * u2 % p
        z_inv = den1 * den2 * t0 % p
        rotate = neg_(t0 * z_inv)
        if rotate: x, y, den_inv = y0 * SQRT_M1 % p, x0 * SQRT_M1 % p, den1 * INVSQRT_A_MINUS_D % p
        else: x, y, den_inv = x0, y0, den2
        if neg_(x * z_inv): y = (-y) % p
        return abs_(den_inv * (z0 - y)).to_bytes(32, 'little')
    def dec(s, e):
        p = P25519
        assert len(e) == 32
        sv = int.from_bytes(e, 'little'); assert sv < p and not neg_(sv), 'non-canonical'
        ss = sv * sv % p
        u1 = (1 - ss) % p; u2 = (1 + ss) % p; u2s = u2 * u2 % p
        v = (-(D * u1 * u1) - u2s) % p
        ok, invsqrt = sqrt_ratio_m1(1, v * u2s % p)
        den_x = invsqrt * u2 % p; den_y = invsqrt * den_x * v % p
        x = abs_(2 * sv * den_x); y = u1 * den_y % p
        assert ok and not neg_(x * y) and y != 0, 'invalid'
        P = (x, y); assert s.enc(P) == e
        return P
    def scalar(s, e): assert len(e) == 32; v = int.from_bytes(e, 'little'); assert v < s.q; return v
    def h(s, T): return int.from_bytes(hashlib.sha512(T).digest(), 'little') % s.q
    def senc(s, v): return v.to_bytes(32, 'little')

def sub(g, P, Q): return g.add(P, g.neg(Q))

def check(vec):
    g = {'sm2': SM2(), 'ristretto255': R255()}[vec['group']]
    setup = vec['setup']; k, n = setup['threshold'], setup['custodians']
    C = [g.dec(b64(c)) for c in setup['commitments']]
    assert len(C) == k and setup['public_key'] == setup['commitments'][0]
    Y = C[0]
    def Yi(i):
        acc = C[-1]
        for j in range(k - 2, -1, -1): acc = g.add(g.mul(i, acc), C[j])
        return acc
    # Horner == plain sum
    for i in range(1, n + 1):
        plain = None if g.name == 'sm2' else (0, 1)
        for j, Cj in enumerate(C): plain = g.add(plain, g.mul(pow(i, j, g.q), Cj))
        assert g.enc(plain) == g.enc(Yi(i))
    for s in vec['custodian_shares']:
        i = s['index']; xi = g.scalar(b64(s['share']))
        assert g.enc(g.mul(xi, g.G)) == g.enc(Yi(i)), 'feldman'
    ctx = vec['context'].encode(); Renc = b64(vec['ephemeral']); R = g.dec(Renc)
    idx, Ds = [], []
    for d in vec['decryption_shares']:
        i = d['index']; Denc = b64(d['point']); Di = g.dec(Denc)
        c = g.scalar(b64(d['proof']['c'])); z = g.scalar(b64(d['proof']['z']))
        A = sub(g, g.mul(z, g.G), g.mul(c, Yi(i)))
        B = sub(g, g.mul(z, R), g.mul(c, Di))
        T = (lp(b'tenderhall/escrow/dleq/v1') + lp(g.name.encode()) + lp(ctx) + u32(i) +
             b''.join(lp(e) for e in [g.enc(g.G), g.enc(Y), g.enc(Yi(i)), Renc, Denc, g.enc(A), g.enc(B)]))
        assert len(T) == (305 if g.name == 'ristretto255' else 303) + len(ctx)
        assert g.senc(g.h(T)) == b64(d['proof']['c']), 'proof of %d' % i
        idx.append(i); Ds.append(Di)
    S = None if g.name == 'sm2' else (0, 1)
    for i, Di in zip(idx, Ds):
        lam = 1
        for j in idx:
            if j != i: lam = lam * j * pow(j - i, -1, g.q) % g.q
        S = g.add(S, g.mul(lam, Di))
    assert g.enc(S) == b64(vec['shared']), 'combine'
    print(vec['group'], 'OK: G =', g.enc(g.G).hex())

def check_dkg(vec):
    # Section 6.1: T = t*G, S = t*R, share = masked - H(M) mod q.
    g = {'sm2': SM2(), 'ristretto255': R255()}[vec['group']]
    t = g.scalar(b64(vec['transport_secret']))
    Tenc = b64(vec['transport_key']); Renc = b64(vec['ephemeral'])
    assert g.enc(g.mul(t, g.G)) == Tenc, 'transport key'
    S = g.mul(t, g.dec(Renc))
    assert g.enc(S) == b64(vec['shared']), 'shared point'
    M = (lp(b'tenderhall/escrow/dkg/mask/v1') + lp(g.name.encode()) + lp(vec['context'].encode()) +
         lp(Tenc) + lp(Renc) + lp(g.enc(S)))
    x = (g.scalar(b64(vec['masked'])) - g.h(M)) % g.q
    assert g.senc(x) == b64(vec['share']), 'unmasked share'
    print(vec['group'], 'dkg OK')

if __name__ == '__main__':
    doc = json.load(open(sys.argv[1]))
    for v in doc['vectors']:
        check(v)
    for v in doc.get('dkg', []):
        check_dkg(v)
