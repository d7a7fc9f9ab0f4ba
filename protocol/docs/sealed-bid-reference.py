#!/usr/bin/env python3
"""Second implementation of protocol/docs/sealed-bid-format.md (verifier and opener).

Written from the format document: it parses, verifies and opens sealed bid files of both suites
and checks the published test vectors (tests/vectors/sealed-bid-*.json), including the exact
error code of every tampered file. It shares no code with tender::crypto: X25519, Ed25519,
ChaCha20-Poly1305 and SM4 come from pyca/cryptography, SM3 from hashlib, HKDF/HMAC are written out
here, and SM2 (decryption, signature verification, point arithmetic) is plain Python integers.

    python3 protocol/docs/sealed-bid-reference.py tests/vectors/sealed-bid-sodium.json \\
        tests/vectors/sealed-bid-gm.json
    python3 protocol/docs/sealed-bid-reference.py --explain tests/vectors/sealed-bid-sodium.json

Verification only: not constant time, no secret hygiene. Never use it on real bids.
"""
import base64
import hashlib
import hmac
import json
import sys

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305


class Fail(Exception):
    def __init__(self, code, why=''):
        super().__init__(f'{code}: {why}')
        self.code = code


def be(b): return int.from_bytes(b, 'big')
def u32(v): return v.to_bytes(4, 'big')


# ---------------------------------------------------------------- primitives
def hkdf(hname, ikm, salt, info, n):
    prk = hmac.new(salt, ikm, hname).digest()          # an empty salt acts as HashLen zeros
    out, t, i = b'', b'', 1
    while len(out) < n:
        t = hmac.new(prk, t + info + bytes([i]), hname).digest()
        out += t
        i += 1
    return out[:n]


class SM2:
    p = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFF
    a = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFC
    b = 0x28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93
    n = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123
    G = (0x32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7,
         0xBC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0)

    @classmethod
    def add(c, P, Q):
        if P is None: return Q
        if Q is None: return P
        if P[0] == Q[0]:
            if (P[1] + Q[1]) % c.p == 0: return None
            l = (3 * P[0] * P[0] + c.a) * pow(2 * P[1], -1, c.p) % c.p
        else:
            l = (Q[1] - P[1]) * pow(Q[0] - P[0], -1, c.p) % c.p
        x = (l * l - P[0] - Q[0]) % c.p
        return (x, (l * (P[0] - x) - P[1]) % c.p)

    @classmethod
    def mul(c, k, P):
        R = None
        for bit in bin(k)[2:]:
            R = c.add(R, R)
            if bit == '1': R = c.add(R, P)
        return R

    @classmethod
    def on_curve(c, P):
        x, y = P
        return x < c.p and y < c.p and (y * y - x * x * x - c.a * x - c.b) % c.p == 0

    @classmethod
    def point(c, raw):  # 65-byte uncompressed
        if len(raw) != 65 or raw[0] != 4: raise ValueError('not an uncompressed point')
        P = (be(raw[1:33]), be(raw[33:]))
        if not c.on_curve(P): raise ValueError('not on the curve')
        return P

    @classmethod
    def raw(c, P): return b'\x04' + P[0].to_bytes(32, 'big') + P[1].to_bytes(32, 'big')


def sm3(b): return hashlib.new('sm3', b).digest()


def der_items(b):
    """The items of one DER SEQUENCE (tag, value); strict lengths."""
    def item(buf, i):
        tag, ln = buf[i], buf[i + 1]
        i += 2
        if ln & 0x80:
            k = ln & 0x7f
            ln, i = be(buf[i:i + k]), i + k
        return tag, buf[i:i + ln], i + ln
    tag, body, end = item(b, 0)
    if tag != 0x30 or end != len(b): raise ValueError('not one SEQUENCE')
    out, i = [], 0
    while i < len(body):
        t, v, i = item(body, i)
        out.append((t, v))
    return out


def sm2_decrypt(d, der):
    """GM/T 0003.4 decryption of the DER SM2Cipher {x, y, C3, C2}."""
    (t1, x), (t2, y), (t3, c3), (t4, c2) = der_items(der)
    assert (t1, t2, t3, t4) == (2, 2, 4, 4)
    C1 = (be(x), be(y))
    if not SM2.on_curve(C1): raise ValueError('C1 not on the curve')
    x2, y2 = SM2.mul(d, C1)
    z = x2.to_bytes(32, 'big') + y2.to_bytes(32, 'big')
    t = b''.join(sm3(z + u32(i)) for i in range(1, (len(c2) + 31) // 32 + 1))[:len(c2)]
    m = bytes(a ^ b for a, b in zip(c2, t))
    if sm3(z[:32] + m + z[32:]) != c3: raise ValueError('C3 mismatch')
    return m


def sm2_verify(P, msg, der, uid=b'1234567812345678'):
    (t1, r), (t2, s) = der_items(der)
    assert (t1, t2) == (2, 2)
    r, s = be(r), be(s)
    if not (1 <= r < SM2.n and 1 <= s < SM2.n): return False
    ent = (len(uid) * 8).to_bytes(2, 'big')
    z = sm3(ent + uid + b''.join(v.to_bytes(32, 'big') for v in
                                 (SM2.a, SM2.b, SM2.G[0], SM2.G[1], P[0], P[1])))
    e = be(sm3(z + msg))
    t = (r + s) % SM2.n
    if t == 0: return False
    X = SM2.add(SM2.mul(s, SM2.G), SM2.mul(t, P))
    return X is not None and (e + X[0]) % SM2.n == r


class Sodium:
    id, name, hname, key_size, tag = 1, 'sodium', 'sha256', 32, 16
    rehearsal_size, escrow_point = 32, 32
    bidder_stanza, escrow_stanza = 1, 3

    @staticmethod
    def H(b): return hashlib.sha256(b).digest()

    @staticmethod
    def seal(key, nonce, pt): return ChaCha20Poly1305(key).encrypt(nonce, pt, None)

    @staticmethod
    def open(key, nonce, ct):
        try: return ChaCha20Poly1305(key).decrypt(nonce, ct, None)
        except InvalidTag: return None

    @staticmethod
    def signing_public(seed):
        return Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes_raw()

    @staticmethod
    def verify(pub_raw, msg, sig):
        try:
            Ed25519PublicKey.from_public_bytes(pub_raw).verify(sig, msg)
            return True
        except (InvalidSignature, ValueError):
            return False


class GM:
    id, name, hname, key_size, tag = 2, 'gm', 'sm3', 48, 32
    rehearsal_size, escrow_point = 65, 33
    bidder_stanza, escrow_stanza = 2, 4

    H = staticmethod(sm3)

    @staticmethod
    def _ctr(key, nonce, data):
        c = Cipher(algorithms.SM4(key[:16]), modes.CTR(nonce + bytes(4))).encryptor()
        return c.update(data) + c.finalize()

    @classmethod
    def seal(c, key, nonce, pt):
        ct = c._ctr(key, nonce, pt)
        return ct + hmac.new(key[16:], nonce + ct, 'sm3').digest()

    @classmethod
    def open(c, key, nonce, sealed):
        ct, tag = sealed[:-32], sealed[-32:]
        if not hmac.compare_digest(hmac.new(key[16:], nonce + ct, 'sm3').digest(), tag): return None
        return c._ctr(key, nonce, ct)

    @staticmethod
    def signing_public(seed):
        wide = hkdf('sm3', seed, b'', b'tenderhall/suite/v1/sm2-signing-key', 40)
        d = be(wide) % (SM2.n - 2) + 1
        return SM2.raw(SM2.mul(d, SM2.G))

    @staticmethod
    def verify(pub_raw, msg, sig):
        try: return sm2_verify(SM2.point(pub_raw), msg, sig)
        except (ValueError, AssertionError): return False


SUITES = {1: Sodium, 2: GM}
MAGIC = bytes([0x89]) + b'THSB\r\n\x1a'
TRAILER_MAGIC = b'THSB-END'
CHUNK = 65536
L = lambda s: s.encode()          # HKDF info labels: plain ASCII
Z = lambda s: s.encode() + b'\0'  # hashed/signed labels: ASCII then one zero byte


# ---------------------------------------------------------------- reading
class Reader:
    def __init__(self, data): self.d, self.i = data, 0

    def take(self, n):
        if self.i + n > len(self.d): raise Fail('sealed.truncated', 'file ends early')
        out = self.d[self.i:self.i + n]
        self.i += n
        return out


def visible(b, mx): return 1 <= len(b) <= mx and all(0x21 <= c <= 0x7e for c in b)


def parse_header(h):
    bad = lambda why: Fail('sealed.malformed_header', why)
    i = 14

    def take(n):
        nonlocal i
        if i + n > len(h): raise bad('field past the end')
        i += n
        return h[i - n:i]

    suite = SUITES.get(h[9])
    if suite is None: raise bad('suite')
    policy = h[10]
    if policy not in (1, 2, 3): raise bad('policy')
    count = h[11]
    if not 1 <= count <= 8: raise bad('count')
    created = be(take(8))
    if created >= 2 ** 63: raise bad('created')
    hdr = dict(suite=suite, policy=policy, created=created, nonce=take(16), key_check=take(16))
    for name, mx in (('tender_id', 128), ('bidder_id', 128), ('tool_version', 64)):
        hdr[name] = take(take(1)[0])
        if not visible(hdr[name], mx): raise bad(name)
    hdr['rehearsal'] = take(take(1)[0])
    if len(hdr['rehearsal']) != suite.rehearsal_size: raise bad('rehearsal key')
    if suite is GM and hdr['rehearsal'][0] != 4: raise bad('rehearsal key')
    stanzas = []
    for _ in range(count):
        st = dict(type=take(1)[0])
        st['recipient'] = take(take(1)[0])
        st['ephemeral'] = take(take(1)[0])
        st['body'] = take(be(take(2)))
        t, r, e, b = st['type'], st['recipient'], st['ephemeral'], st['body']
        if t == 1: ok = len(r) == 32 and len(e) == 32 and len(b) == 48
        elif t == 2: ok = len(r) == 65 and r[0] == 4 and len(e) == 0 and 96 <= len(b) <= 200
        elif t in (3, 4):
            n = suite.escrow_point
            ok = len(r) == n and len(e) == n and len(b) == 32 + suite.tag
            # (the C++ also checks that R and Y are valid group elements; not repeated here)
        else: raise bad('stanza type')
        if not ok: raise bad('stanza shape')
        stanzas.append(st)
    escrow = policy != 1
    bidders = count - (1 if escrow else 0)
    if bidders == 0: raise bad('no bidder stanza')
    for k, st in enumerate(stanzas):
        want = suite.bidder_stanza if k < bidders else suite.escrow_stanza
        if st['type'] != want: raise bad('stanza type for suite/policy')
    if len({st['recipient'] for st in stanzas}) != count: raise bad('duplicate recipient')
    hdr['stanzas'] = stanzas
    hdr['mac'] = take(32)
    if i != len(h): raise bad('bytes after the MAC')
    hdr['bytes'] = h
    return hdr


def read_header(r):
    head = r.d[:8]
    if head != MAGIC[:len(head)]: raise Fail('sealed.bad_magic')
    prefix = r.take(8) + r.take(6)
    if prefix[8] != 1: raise Fail('sealed.unsupported_version')
    ln = be(prefix[12:14])
    if not 46 <= ln <= 16384: raise Fail('sealed.malformed_header', 'length')
    return parse_header(prefix + r.take(ln - 14))


def read_rest(r, suite):
    """Summary section, frames and trailer, structurally. Returns the pieces."""
    n = be(r.take(4))
    if not 32 + suite.tag <= n <= 32 + 16384 + 32: raise Fail('sealed.malformed_summary')
    summary = r.take(n)
    return summary


def frames(r, suite):
    index = 0
    while True:
        v = be(r.take(4))
        last, ln = bool(v >> 31), v & 0x7fffffff
        if ln > CHUNK: raise Fail('sealed.malformed_body', 'long chunk')
        if not last and ln != CHUNK: raise Fail('sealed.malformed_body', 'short chunk')
        if last and ln == 0 and index != 0: raise Fail('sealed.malformed_body', 'empty last')
        frame = v.to_bytes(4, 'big')
        sealed = r.take(ln + suite.tag)
        yield index, last, ln, frame, sealed
        index += 1
        if last: return


def read_trailer(r):
    start = r.i
    if r.take(8) != TRAILER_MAGIC: raise Fail('sealed.trailing_data', 'no trailer after the last chunk')
    f = r.take(115)
    t = dict(body_size=be(f[0:8]), chunks=be(f[8:16]), header_digest=f[16:48],
             ciphertext_digest=f[48:80], commitment=f[80:112], kind=f[112])
    if t['kind'] not in (1, 2): raise Fail('sealed.malformed_trailer', 'signer kind')
    sl = be(f[113:115])
    if not 1 <= sl <= 8192: raise Fail('sealed.malformed_trailer', 'signer length')
    t['signer'] = r.take(sl)
    signed = r.d[start:r.i]
    gl = be(r.take(2))
    if not 1 <= gl <= 128: raise Fail('sealed.malformed_trailer', 'signature length')
    t['signature'] = r.take(gl)
    if r.i != len(r.d): raise Fail('sealed.trailing_data', 'bytes after the trailer')
    t['signed'] = signed
    return t


def check_trailer(hdr, t, chunks, plain_size, ct_digest):
    s = hdr['suite']
    if t['chunks'] != chunks or t['body_size'] != plain_size:
        raise Fail('sealed.malformed_trailer', 'sizes')
    if s.H(hdr['bytes']) != t['header_digest']: raise Fail('sealed.header_mismatch')
    if ct_digest is not None and ct_digest != t['ciphertext_digest']:
        raise Fail('sealed.ciphertext_mismatch')
    if t['kind'] != 1: raise Fail('sealed.bad_signer', 'certificates: not in this reference')
    signer = t['signer']
    if s is Sodium and len(signer) != 32: raise Fail('sealed.bad_signer')
    if s is GM:
        try: SM2.point(signer)
        except ValueError: raise Fail('sealed.bad_signer')
    if not s.verify(signer, Z('tenderhall/sealed/v1/signature') + t['signed'], t['signature']):
        raise Fail('sealed.bad_signature')


def verify(data):
    r = Reader(data)
    hdr = read_header(r)
    s = hdr['suite']
    h = hashlib.new(s.hname)
    start = r.i
    read_rest(r, s)
    chunks = plain = 0
    for _, _, ln, _, _ in frames(r, s):
        chunks, plain = chunks + 1, plain + ln
    h.update(data[start:r.i])
    t = read_trailer(r)
    check_trailer(hdr, t, chunks, plain, h.digest())
    return hdr, t


# ---------------------------------------------------------------- keys and opening
def derive(s, ikm, salt, label, n): return hkdf(s.hname, ikm, salt, L(label), n)


def check_file_key(hdr, fk):
    s = hdr['suite']
    if len(fk) != 32 or derive(s, fk, b'', 'tenderhall/sealed/v1/key-check', 16) != hdr['key_check']:
        raise Fail('sealed.wrong_key')
    mk = derive(s, fk, b'', 'tenderhall/sealed/v1/header', 32)
    if hmac.new(mk, hdr['bytes'][:-32], s.hname).digest() != hdr['mac']: raise Fail('sealed.header_mac')


def unwrap_bidder(hdr, private_raw):
    """Returns the 32 bytes in the bidder's stanza (file key, or part_b under bidder-and-escrow)."""
    s = hdr['suite']
    if s is Sodium:
        k = X25519PrivateKey.from_private_bytes(private_raw)
        me = k.public_key().public_bytes_raw()
    else:
        d = be(private_raw)
        me = SM2.raw(SM2.mul(d, SM2.G))
    st = next((x for x in hdr['stanzas'] if x['type'] in (1, 2) and x['recipient'] == me), None)
    if st is None: raise Fail('sealed.wrong_key')
    if s is Sodium:
        shared = k.exchange(X25519PublicKey.from_public_bytes(st['ephemeral']))
        wrap = hkdf('sha256', shared, st['ephemeral'] + st['recipient'], L('tenderhall/sealed/v1/x25519'), 32)
        key = Sodium.open(wrap, bytes(12), st['body'])
        if key is None: raise Fail('sealed.bad_stanza')
    else:
        key = sm2_decrypt(d, st['body'])
    return key


def escrow_part(hdr, S):
    s = hdr['suite']
    st = hdr['stanzas'][-1]
    info = L('tenderhall/sealed/v1/escrow') + bytes([s.id]) + st['ephemeral'] + st['recipient']
    part = s.open(hkdf(s.hname, S, b'', info, s.key_size), bytes(12), st['body'])
    if part is None: raise Fail('sealed.wrong_key')
    return part


def and_file_key(s, part_b, part_e): return derive(s, part_b + part_e, b'', 'tenderhall/sealed/v1/and-escrow', 32)


def rehearsal_public(hdr, source):
    s = hdr['suite']
    return s.signing_public(derive(s, source, hdr['nonce'], 'tenderhall/sealed/v1/rehearsal-key', 32))


def open_file(data, fk):
    r = Reader(data)
    hdr = read_header(r)
    s = hdr['suite']
    check_file_key(hdr, fk)
    sealed_summary = read_rest(r, s)
    sk = derive(s, fk, hdr['nonce'], 'tenderhall/sealed/v1/summary', s.key_size)
    plain = s.open(sk, bytes(12), sealed_summary)
    if plain is None: raise Fail('sealed.summary_auth_failed')
    if not 34 <= len(plain) <= 32 + 16384: raise Fail('sealed.malformed_summary')
    salt, summary = plain[:32], plain[32:]
    if not isinstance(json.loads(summary), dict): raise Fail('sealed.malformed_summary')
    pk = derive(s, fk, hdr['nonce'], 'tenderhall/sealed/v1/payload', s.key_size)
    body, chunks = [], 0
    for index, last, ln, _, sealed in frames(r, s):
        nonce = index.to_bytes(11, 'big') + bytes([1 if last else 0])
        p = s.open(pk, nonce, sealed)
        if p is None: raise Fail('sealed.chunk_auth_failed', f'chunk {index}')
        body.append(p)
        chunks += 1
    body = b''.join(body)
    t = read_trailer(r)
    check_trailer(hdr, t, chunks, len(body), None)
    c = s.H(Z('tenderhall/sealed/v1/commitment') + salt + u32(len(summary)) + summary + s.H(body))
    if c != t['commitment']: raise Fail('sealed.commitment_mismatch')
    return hdr, salt, summary, body


# ---------------------------------------------------------------- vectors
def mutate(doc, m, f, base_header_size):
    k = m['kind']
    if k == 'flip':
        f = bytearray(f); f[m['offset']] ^= m['mask']; return bytes(f)
    if k == 'truncate': return f[:m['length']]
    if k == 'remove': return f[:m['offset']] + f[m['offset'] + m['length']:]
    if k == 'insert': return f[:m['offset']] + f[m['from']:m['from'] + m['length']] + f[m['offset']:]
    if k == 'append_hex': return f + bytes.fromhex(m['hex'])
    if k == 'header_from':
        o = next(v for v in doc['valid'] if v['name'] == m['vector'])
        return base64.b64decode(o['file_base64'])[:o['layout']['header_size']] + f[base_header_size:]
    assert k == 'none'
    return f


def code(fn):
    try:
        fn()
        return ''
    except Fail as e:
        return e.code


def check(path):
    doc = json.load(open(path))
    keys = doc['bidder']
    enc = bytes.fromhex(keys['encryption_private_hex'])
    signer = bytes.fromhex(keys['signing_public_hex'])
    n = 0
    for v in doc['valid']:
        data = base64.b64decode(v['file_base64'])
        hdr, t = verify(data)
        s = hdr['suite']
        assert t['signer'] == signer, v['name']
        assert s.H(hdr['bytes']).hex() == v['header_digest_hex']
        assert t['commitment'].hex() == v['commitment_hex']
        got = unwrap_bidder(hdr, enc)
        fk = bytes.fromhex(v['file_key_hex'])
        if hdr['policy'] == 3:
            assert got.hex() == v['bidder_part_hex']
            part_e = escrow_part(hdr, bytes.fromhex(v['escrow_shared_hex']))
            assert and_file_key(s, got, part_e) == fk
        else:
            assert got == fk
            if hdr['policy'] == 2:
                assert escrow_part(hdr, bytes.fromhex(v['escrow_shared_hex'])) == fk
        assert rehearsal_public(hdr, got) == hdr['rehearsal']
        assert s.verify(hdr['rehearsal'], Z('tenderhall/sealed/v1/rehearsal') +
                        bytes.fromhex(v['rehearsal_challenge_hex']),
                        bytes.fromhex(v['rehearsal_signature_hex']))
        _, salt, summary, body = open_file(data, fk)
        assert salt.hex() == v['salt_hex'] and summary.decode() == v['summary_json']
        assert body == bytes(i % 251 for i in range(v['body_size']))
        n += 1
    for bad in doc['invalid']:
        base = next(v for v in doc['valid'] if v['name'] == bad['base'])
        data = mutate(doc, bad['mutation'], base64.b64decode(base['file_base64']),
                      base['layout']['header_size'])
        fk = bytes.fromhex(bad.get('open_key_hex') or base['file_key_hex'])
        got_v, got_o = code(lambda: verify(data)), code(lambda: open_file(data, fk))
        assert (got_v, got_o) == (bad['verify_error'], bad['open_error']), \
            f"{bad['name']}: got {got_v!r}/{got_o!r}, want {bad['verify_error']!r}/{bad['open_error']!r}"
        n += 1
    print(f'{path}: {n} vectors OK ({doc["suite"]})')


def explain(path):
    """Prints the derivations of the first valid vector: the worked example of the document."""
    doc = json.load(open(path))
    v = doc['valid'][0]
    data = base64.b64decode(v['file_base64'])
    hdr, t = verify(data)
    s = hdr['suite']
    fk = bytes.fromhex(v['file_key_hex'])
    h = hdr['bytes']
    print('file', len(data), 'bytes; header', len(h))
    print('header prefix      ', h[:14].hex())
    print('created_at         ', h[14:22].hex(), hdr['created'])
    print('payload_nonce      ', hdr['nonce'].hex())
    print('key_check          ', hdr['key_check'].hex())
    print('rest of header     ', h[54:-32].hex())
    print('header_mac         ', hdr['mac'].hex())
    print('file_key           ', fk.hex())
    print('key_check (derived)', derive(s, fk, b'', 'tenderhall/sealed/v1/key-check', 16).hex())
    print('header mac key     ', derive(s, fk, b'', 'tenderhall/sealed/v1/header', 32).hex())
    print('summary key        ', derive(s, fk, hdr['nonce'], 'tenderhall/sealed/v1/summary', s.key_size).hex())
    print('payload key        ', derive(s, fk, hdr['nonce'], 'tenderhall/sealed/v1/payload', s.key_size).hex())
    seed = derive(s, fk, hdr['nonce'], 'tenderhall/sealed/v1/rehearsal-key', 32)
    print('rehearsal seed     ', seed.hex())
    print('rehearsal public   ', s.signing_public(seed).hex())
    st = hdr['stanzas'][0]
    print('stanza ephemeral   ', st['ephemeral'].hex())
    print('stanza body        ', st['body'].hex())
    hs = len(h)
    n = be(data[hs:hs + 4])
    print('summary section    ', data[hs:hs + 4].hex(), data[hs + 4:hs + 4 + n].hex())
    b = hs + 4 + n
    print('body frame         ', data[b:b + 4].hex(), data[b + 4:b + 4 + s.tag].hex())
    print('trailer            ', data[b + 4 + s.tag:].hex())
    print('commitment         ', t['commitment'].hex())
    _, salt, summary, body = open_file(data, fk)
    print('salt               ', salt.hex())
    print('summary            ', summary.decode())
    print('H(body)            ', s.H(body).hex())


if __name__ == '__main__':
    args = sys.argv[1:]
    if args and args[0] == '--explain':
        explain(args[1])
    else:
        for p in args or ['tests/vectors/sealed-bid-sodium.json', 'tests/vectors/sealed-bid-gm.json']:
            check(p)
