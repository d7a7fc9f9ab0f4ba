-- Bid submission (issue 5, docs/design/submission.md): resumable uploads of sealed bid files,
-- the bids they became, decryption rehearsals and the seal of each lot's bid set at the deadline.
-- The files themselves live outside PostgreSQL (storage.data_dir): partial uploads by upload id,
-- complete sealed files as blobs named by their SHA-256 (bids.blob_digest).

-- A tus upload of one sealed file for one lot. offset is what is acknowledged (fsynced) on disk.
CREATE TABLE uploads (
    id              text        PRIMARY KEY CHECK (id ~ '^u-[0-9a-f]{16}$'),
    tender_id       text        NOT NULL REFERENCES tenders (id),
    lot_no          integer     NOT NULL,
    bidder_org      text        NOT NULL REFERENCES organisations (id),
    user_id         text        NOT NULL REFERENCES users (id),
    length          bigint      NOT NULL CHECK (length >= 1),
    "offset"        bigint      NOT NULL DEFAULT 0 CHECK ("offset" >= 0 AND "offset" <= length),
    state           text        NOT NULL DEFAULT 'open' CHECK (state IN (
                                    'open', 'complete', 'rejected', 'terminated', 'void')),
    reject_code     text,
    reject_message  text,
    metadata        jsonb       NOT NULL DEFAULT '{}',
    source_ip       text        NOT NULL,
    client_version  text,
    created_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
    bid_id          bigint,
    FOREIGN KEY (tender_id, lot_no) REFERENCES lots (tender_id, lot_no)
);
CREATE INDEX uploads_open ON uploads (tender_id, bidder_org) WHERE state = 'open';

-- A recorded bid. At most one current bid per bidder and lot; a replacement marks the previous
-- one replaced, a withdrawal marks it withdrawn. Rows are never deleted.
CREATE TABLE bids (
    id                    bigserial   PRIMARY KEY,
    tender_id             text        NOT NULL REFERENCES tenders (id),
    lot_no                integer     NOT NULL,
    bidder_org            text        NOT NULL REFERENCES organisations (id),
    upload_id             text        NOT NULL UNIQUE REFERENCES uploads (id),
    blob_digest           text        NOT NULL CHECK (blob_digest ~ '^[0-9a-f]{64}$'),
    ciphertext_digest     text        NOT NULL CHECK (ciphertext_digest ~ '^[0-9a-f]+$'),
    header_digest         text        NOT NULL CHECK (header_digest ~ '^[0-9a-f]+$'),
    size                  bigint      NOT NULL CHECK (size >= 1),
    suite                 text        NOT NULL,
    policy                text        NOT NULL,
    signer_fingerprint    text        NOT NULL,
    rehearsal_public_key  bytea       NOT NULL,
    -- The sealed file's exact header bytes (at most 16 KiB): rehearsals are checked against it.
    header                bytea       NOT NULL,
    status                text        NOT NULL DEFAULT 'current' CHECK (status IN (
                                          'current', 'replaced', 'withdrawn')),
    received_at           timestamptz NOT NULL,
    log_index             bigint      NOT NULL,
    source_ip             text        NOT NULL,
    client_version        text,
    withdrawn_at          timestamptz,
    receipt               jsonb,
    FOREIGN KEY (tender_id, lot_no) REFERENCES lots (tender_id, lot_no)
);
CREATE UNIQUE INDEX bids_one_current ON bids (tender_id, lot_no, bidder_org)
    WHERE status = 'current';
CREATE INDEX bids_blob ON bids (blob_digest);

ALTER TABLE uploads ADD FOREIGN KEY (bid_id) REFERENCES bids (id);

-- Rehearsal challenges (single use, 10 minutes) and confirmations.
CREATE TABLE bid_rehearsals (
    id            text        PRIMARY KEY CHECK (id ~ '^r-[0-9a-f]{16}$'),
    bid_id        bigint      NOT NULL REFERENCES bids (id),
    challenge     bytea       NOT NULL,
    expires_at    timestamptz NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
    signature     bytea,
    confirmation  text,
    rehearsed_at  timestamptz,
    log_index     bigint,
    CHECK ((signature IS NULL) = (rehearsed_at IS NULL))
);
CREATE INDEX bid_rehearsals_bid ON bid_rehearsals (bid_id);

-- The seal of one lot's current bids at the deadline: sorted ciphertext digests and their
-- RFC 6962 root, with a signed note (signed with the audit log's key).
CREATE TABLE bid_seals (
    tender_id   text        NOT NULL REFERENCES tenders (id),
    lot_no      integer     NOT NULL,
    sealed_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
    deadline    text        NOT NULL,
    count       integer     NOT NULL CHECK (count >= 0),
    digests     jsonb       NOT NULL,
    root        text        NOT NULL,
    note        text,
    log_index   bigint      NOT NULL,
    PRIMARY KEY (tender_id, lot_no),
    FOREIGN KEY (tender_id, lot_no) REFERENCES lots (tender_id, lot_no)
);
