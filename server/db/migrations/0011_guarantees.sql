-- Electronic guarantees (电子保函) and cash bid bonds (投标保证金): docs/GUARANTEES.md, the
-- issuer protocol in protocol/docs/guarantee-api.md. Times come from PostgreSQL's clock.

-- The service of a guarantee issuer (an organisation of kind 'issuer'), registered by an admin:
-- where the platform asks for live status and applies, and which key signs its documents.
CREATE TABLE guarantee_issuers (
    org_id           text        PRIMARY KEY REFERENCES organisations (id),
    base_url         text        NOT NULL CHECK (base_url ~ '^https?://[^ ]+$'),
    key_fingerprint  text        NOT NULL CHECK (key_fingerprint ~ '^[0-9a-f]{64}$'),
    registered_by    text        NOT NULL REFERENCES users (id),
    registered_at    timestamptz NOT NULL DEFAULT clock_timestamp()
);

-- An application of the integrated flow: the bidder applies from the platform with the code the
-- issuer gave it; the issuer pushes the guarantee back (state issued) or never does.
CREATE TABLE guarantee_applications (
    id                text        PRIMARY KEY CHECK (id ~ '^ga-[0-9a-f]{16}$'),
    tender_id         text        NOT NULL REFERENCES tenders (id),
    lot_no            integer     NOT NULL,
    bidder_org        text        NOT NULL REFERENCES organisations (id),
    user_id           text        NOT NULL REFERENCES users (id),
    issuer_org        text        NOT NULL REFERENCES guarantee_issuers (org_id),
    application_code  text        NOT NULL,
    state             text        NOT NULL DEFAULT 'pending' CHECK (state IN (
                          'pending', 'issued', 'refused')),
    guarantee_id      bigint,
    refusal_code      text,
    refusal_message   text,
    created_at        timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at        timestamptz NOT NULL DEFAULT clock_timestamp(),
    FOREIGN KEY (tender_id, lot_no) REFERENCES lots (tender_id, lot_no)
);
CREATE INDEX guarantee_applications_bidder ON guarantee_applications (tender_id, lot_no, bidder_org);

-- An attached guarantee, verified when attached (open flow) or pushed (integrated flow).
-- `signed` is the envelope exactly as received; status follows the issuer's answers and callbacks.
CREATE TABLE guarantees (
    id                bigserial   PRIMARY KEY,
    tender_id         text        NOT NULL REFERENCES tenders (id),
    lot_no            integer     NOT NULL,
    bidder_org        text        NOT NULL REFERENCES organisations (id),
    issuer_org        text        NOT NULL REFERENCES guarantee_issuers (org_id),
    number            text        NOT NULL,
    kind              text        NOT NULL,
    flow              text        NOT NULL CHECK (flow IN ('open', 'integrated')),
    application_id    text        REFERENCES guarantee_applications (id),
    amount            bigint      NOT NULL CHECK (amount > 0),
    currency          text        NOT NULL,
    valid_from        timestamptz NOT NULL,
    valid_until       timestamptz NOT NULL,
    issued_at         timestamptz NOT NULL,
    signed            jsonb       NOT NULL,
    status            text        NOT NULL CHECK (status IN ('valid', 'revoked', 'claimed', 'released')),
    status_checked_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    attached_by       text        REFERENCES users (id),
    attached_at       timestamptz NOT NULL DEFAULT clock_timestamp(),
    UNIQUE (issuer_org, number),
    FOREIGN KEY (tender_id, lot_no) REFERENCES lots (tender_id, lot_no)
);
CREATE INDEX guarantees_bidder ON guarantees (tender_id, lot_no, bidder_org);

-- Signed status callbacks received, by the issuer's event id (a replay is answered, not applied).
CREATE TABLE guarantee_events (
    issuer_org   text        NOT NULL REFERENCES guarantee_issuers (org_id),
    event_id     text        NOT NULL,
    number       text        NOT NULL,
    status       text        NOT NULL,
    occurred_at  timestamptz NOT NULL,
    signed       jsonb       NOT NULL,
    received_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (issuer_org, event_id)
);

-- Cash bonds recorded by the trading center's staff. The paying account is kept for collusion
-- checks (one account paying for several bidders); it never disqualifies anyone by itself.
CREATE TABLE bonds (
    id             bigserial   PRIMARY KEY,
    tender_id      text        NOT NULL REFERENCES tenders (id),
    lot_no         integer     NOT NULL,
    bidder_org     text        NOT NULL REFERENCES organisations (id),
    amount         bigint      NOT NULL CHECK (amount > 0),
    payer_account  text        NOT NULL CHECK (octet_length(payer_account) BETWEEN 1 AND 64),
    payer_name     text        NOT NULL CHECK (octet_length(payer_name) BETWEEN 1 AND 200),
    paid_at        timestamptz NOT NULL,
    recorded_by    text        NOT NULL REFERENCES users (id),
    recorded_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
    FOREIGN KEY (tender_id, lot_no) REFERENCES lots (tender_id, lot_no)
);
CREATE INDEX bonds_lot ON bonds (tender_id, lot_no);
CREATE INDEX bonds_payer ON bonds (tender_id, payer_account);
