-- X.509 certificates of users (issue 4, "Identity and access"). A certificate is registered with
-- the key it certifies: its subject public key goes into user_keys (same fingerprint rule, so the
-- user logs in with it), and the certificate itself, verified against the configured CA roots at
-- the database clock time, is kept here beside that key.
CREATE TABLE user_certificates (
    fingerprint     text        PRIMARY KEY CHECK (fingerprint ~ '^[0-9a-f]{64}$'),  -- SHA-256 of the DER
    key_fingerprint text        NOT NULL UNIQUE REFERENCES user_keys (fingerprint),
    user_id         text        NOT NULL REFERENCES users (id),
    subject         text        NOT NULL,
    issuer          text        NOT NULL,
    serial_hex      text        NOT NULL,
    not_before      timestamptz NOT NULL,
    not_after       timestamptz NOT NULL CHECK (not_after > not_before),
    der             bytea       NOT NULL,
    chain_der       bytea[]     NOT NULL DEFAULT '{}',  -- the intermediates given with it
    created_at      timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX user_certificates_user ON user_certificates (user_id);
