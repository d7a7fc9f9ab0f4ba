-- Identities: organisations, their users, the users' public keys, and login by signed challenge
-- (docs/design/server-core.md, "Identity"). Nothing secret is stored: keys are public, challenges
-- are random nonces, and sessions keep only the SHA-256 of their bearer token, so a copy of the
-- database does not let anyone log in.

CREATE TABLE organisations (
    id          text        PRIMARY KEY CHECK (id ~ '^[a-z0-9][a-z0-9._-]{0,63}$'),
    kind        text        NOT NULL CHECK (kind IN ('bidder', 'tenderer', 'agency', 'center',
                                                     'supervision', 'issuer', 'platform')),
    name        text        NOT NULL CHECK (name <> ''),
    created_at  timestamptz NOT NULL DEFAULT clock_timestamp()
);

-- roles is an array so one person can hold several (a center's staff member who is also its
-- admin); the CHECK keeps every element to the known roles.
CREATE TABLE users (
    id          text        PRIMARY KEY CHECK (id ~ '^[a-z0-9][a-z0-9._-]{0,63}$'),
    org_id      text        NOT NULL REFERENCES organisations (id),
    name        text        NOT NULL CHECK (name <> ''),
    roles       text[]      NOT NULL CHECK (
                    cardinality(roles) > 0 AND
                    roles <@ ARRAY['bidder', 'tenderer', 'center_staff', 'supervisor', 'expert',
                                   'issuer', 'admin']::text[]),
    created_at  timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX users_org ON users (org_id);

-- fingerprint = lower-case hex SHA-256 of the DER SubjectPublicKeyInfo, which is the key's
-- identity everywhere (crypto::public_key::fingerprint). A revoked key stays, for the audit trail.
CREATE TABLE user_keys (
    fingerprint text        PRIMARY KEY CHECK (fingerprint ~ '^[0-9a-f]{64}$'),
    user_id     text        NOT NULL REFERENCES users (id),
    algorithm   text        NOT NULL CHECK (algorithm IN ('ed25519', 'sm2')),
    spki        bytea       NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    revoked_at  timestamptz
);
CREATE INDEX user_keys_user ON user_keys (user_id);

-- A challenge is single use: login sets used_at in the same statement that checks it is null and
-- unexpired. user_id is null for a challenge handed to an unknown user id (the answer has the same
-- shape so ids cannot be probed; such a challenge can never be redeemed).
CREATE TABLE login_challenges (
    id          text        PRIMARY KEY,
    user_id     text        REFERENCES users (id),
    challenge   bytea       NOT NULL CHECK (length(challenge) = 32),
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz
);

CREATE TABLE sessions (
    token_hash  bytea       PRIMARY KEY CHECK (length(token_hash) = 32),
    user_id     text        NOT NULL REFERENCES users (id),
    created_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    expires_at  timestamptz NOT NULL,
    revoked_at  timestamptz
);
CREATE INDEX sessions_user ON sessions (user_id);
