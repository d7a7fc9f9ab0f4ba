#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets that read text (tests/fuzz/corpus/<target>/).

The seeds are well-formed requests and messages of each kind, so that the fuzzer starts from
inputs that get past the first checks. The committed corpora also hold what campaigns found
worth keeping (files named by their SHA-1); this script only (re)writes the files named seed-*.
Run from anywhere: python3 tests/fuzz/seeds.py
"""
import base64
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))
HEX = "a" * 64
SIG = base64.b64encode(b"s" * 64).decode()
KEY32 = base64.b64encode(bytes(range(32))).decode()


def write(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(data)


def js(v):
    return json.dumps(v, ensure_ascii=False, separators=(",", ":"))


LOT = {"lot_no": 1, "title": "一标段", "estimated_price": 100000000, "ceiling_price": 120000000,
       "bond_amount": 800000,
       "summary_fields": [{"key": "price", "label": "投标报价", "type": "money"},
                          {"key": "days", "label": "工期", "type": "days"}],
       "discount_candidates": ["0.05", "0.1"]}
TENDER = {"project_code": "JS-2026-001", "title": "道路工程", "kind": "works",
          "rule_pack": "engineering", "deadline_at": "2026-12-30T09:00:00+08:00",
          "opening_at": "2026-12-30T09:00:00+08:00", "time_zone": "Asia/Shanghai",
          "decryption_window_s": 1800, "confirmation_window_s": 600,
          "key_policy": "bidder_only", "evaluation_method": "comprehensive", "lots": [LOT]}
DOC = {"type": "tenderhall.guarantee", "version": 1, "number": "G-2026-1", "kind": "bank",
       "issuer": "bank-a", "applicant": "org-b", "beneficiary": "org-t",
       "tender_code": "JS-2026-001", "lot": 1, "amount": 800000, "currency": "CNY",
       "valid_from": "2026-12-01T00:00:00Z", "valid_until": "2027-06-01T00:00:00Z",
       "issued_at": "2026-12-01T08:00:00Z"}
STATUS = {"type": "tenderhall.guarantee_status", "version": 1, "issuer": "bank-a",
          "number": "G-2026-1", "status": "valid", "as_of": "2026-12-02T00:00:00Z",
          "nonce": "n1"}
EVENT = {"type": "tenderhall.guarantee_event", "version": 1, "event_id": "e-1",
         "issuer": "bank-a", "number": "G-2026-1", "status": "revoked",
         "occurred_at": "2026-12-03T00:00:00Z"}
FP = "sha256:" + HEX


def envelope(field, inner):
    return {field: inner, "signature": SIG, "signer": FP}


# rest_body: the first byte chooses the reader (tests/fuzz/rest_body_fuzz.cpp, in that order).
REST = [
    js(TENDER),
    js({"title": "新标题", "lots": [LOT]}),
    js({"reason": "变更开标时间", "changes": {"opening_at": "2027-01-05T09:00:00+08:00",
                                          "lots": [{"lot_no": 1, "title": "改"}]}}),
    js({"reason": "项目取消"}),
    js({"reason": "恢复"}),
    "{}",
    "state=published&owner=org-t&after=t-0123456789abcdef&limit=20",
    js({"user_id": "alice"}),
    js({"challenge_id": "c-1", "fingerprint": FP, "signature": SIG}),
    js({"id": "org-b", "kind": "bidder", "name": "某建设公司"}),
    js({"id": "bob", "name": "Bob", "roles": ["bidder"]}),
    js({"public_key_pem": "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA\n-----END PUBLIC KEY-----\n"}),
    js({"certificate": "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        "chain": ["-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"]}),
    "",
    js({"challenge_id": "c-1", "signature": SIG}),
    js({"text": "请问工期要求？"}),
    js({"org_id": "bank-a", "base_url": "http://127.0.0.1:9000", "key_fingerprint": FP}),
    js({"guarantee": envelope("document", DOC)}),
    js({"issuer": "bank-a", "application_code": "A-1"}),
    js({"application_id": "ga-1", "guarantee": envelope("document", DOC)}),
    js({"bidder": "org-b", "amount": 800000, "payer_account": "6222", "payer_name": "某公司",
        "paid_at": "2026-12-20T10:00:00+08:00"}),
    "after=10&limit=100",
    "12",
]

HALL = [
    js({"type": "ping"}),
    js({"type": "hello", "token": "tok", "after": 5, "view": "summary"}),
    js({"type": "act", "id": "1", "action": "challenge"}),
    js({"type": "act", "id": "2", "action": "sign_in", "challenge_id": "hc-1", "key": HEX,
        "signature": SIG, "commitment": HEX}),
    js({"type": "act", "id": "3", "action": "decrypt", "lot": 1, "file": "primary",
        "key_material": KEY32, "challenge_id": "hc-2", "key": HEX, "signature": SIG}),
    js({"type": "act", "id": "4", "action": "share", "lot": 1, "org_id": "org-b",
        "share": {"index": 1, "value": "AAAA"}}),
    js({"type": "act", "id": "5", "action": "extend_window", "seconds": 600, "reason": "网络"}),
    js({"type": "act", "id": "6", "action": "confirm", "digest": HEX, "challenge_id": "hc-3",
        "key": HEX, "signature": SIG}),
    js({"type": "act", "id": "7", "action": "object", "text": "异议", "lot": 1}),
    js({"type": "act", "id": "8", "action": "answer", "objection_id": 3, "text": "答复"}),
    js({"type": "act", "id": "9", "action": "pause", "reason": "停电"}),
    js({"type": "act", "id": "a", "action": "reveal_host", "nonce": HEX}),
]

TUS = [
    "1048576\nfilename YmlkLnNlYWxlZA==,client dGVuZGVyLzAuMQ==\n\n\ntender/0.1\n\n",
    "\n\n0\n65536\n\n\n",
    "100\n\n\n\n\n1\n",
    "5\nfilename\n7\n9\nua\n\n" + js({"challenge_id": "c", "signature": SIG}),
]


def http(method, target, headers, body=""):
    lines = [f"{method} {target} HTTP/1.1", "Host: localhost"]
    lines += [f"{k}: {v}" for k, v in headers]
    if body or method in ("POST", "PATCH"):
        lines.append(f"Content-Length: {len(body.encode())}")
    return "\r\n".join(lines) + "\r\n\r\n" + body


HTTP = [
    http("POST", "/api/v1/tenders", [("Content-Type", "application/json")], js(TENDER)),
    http("PATCH", "/api/v1/tenders/t-0123456789abcdef", [("If-Match", '"3"')], js({"title": "x"})),
    http("GET", "/api/v1/tenders?state=published&limit=5", []),
    http("POST", "/api/v1/tenders/t-0123456789abcdef/amend", [], REST[2]),
    http("POST", "/api/v1/auth/login", [], REST[8]),
    http("POST", "/api/v1/tenders/t-0123456789abcdef/lots/1/uploads",
         [("Tus-Resumable", "1.0.0"), ("Upload-Length", "1024"), ("Idempotency-Key", "k1"),
          ("Upload-Metadata", "filename YmlkLnNlYWxlZA==")]),
    http("POST", "/api/v1/guarantee-pushes", [], REST[19]),
    http("GET", "/api/v1/tenders/t-0123456789abcdef/hall/events?after=3&limit=10", []),
    http("GET", "/api/v1/tenders/t-0123456789abcdef/hall/ws",
         [("Connection", "Upgrade"), ("Upgrade", "websocket"), ("Sec-WebSocket-Version", "13"),
          ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")]),
    "POST /api/v1/tenders/t-0123456789abcdef/cancel HTTP/1.1\r\nHost: x\r\n"
    "Transfer-Encoding: chunked\r\n\r\n5\r\n{\"rea\r\n10\r\nson\":\"取消\"}\r\n0\r\n\r\n",
]

GUARANTEE = [js(envelope("document", DOC)), js(envelope("status", STATUS)),
             js(envelope("event", EVENT)), REST[17], REST[19]]

if __name__ == "__main__":
    for i, body in enumerate(REST):
        write("rest_body", f"{i:02d}", bytes([i]) + body.encode())
    for i, m in enumerate(HALL):
        write("hall_message", f"{i:02d}", m)
    for i, t in enumerate(TUS):
        write("tus_headers", f"{i:02d}", t)
    for i, h in enumerate(HTTP):
        write("http_request", f"{i:02d}", h)
    for i, g in enumerate(GUARANTEE):
        write("guarantee", f"{i:02d}", g)
