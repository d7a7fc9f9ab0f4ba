-- The opening hall (不见面开标大厅): protocol/docs/hall-protocol.md, docs/design/hall.md. One row
-- of halls per tender, created lazily; every change appends numbered hall_events in the same
-- transaction. Times come from PostgreSQL's clock.

-- A tender whose opening record is made is 'opened'.
ALTER TABLE tenders DROP CONSTRAINT tenders_state_check;
ALTER TABLE tenders ADD CONSTRAINT tenders_state_check CHECK (state IN (
    'draft', 'published', 'closed', 'opening', 'opened', 'failed', 'cancelled', 'suspended'));

CREATE TABLE halls (
    tender_id                  text        PRIMARY KEY REFERENCES tenders (id),
    phase                      text        NOT NULL DEFAULT 'waiting' CHECK (phase IN (
                                   'waiting', 'sealed', 'listed', 'decrypting', 'decrypted',
                                   'drawing', 'drawn', 'announced', 'recorded', 'failed')),
    paused_reason              text,
    paused_at                  timestamptz,
    suspended_reason           text,
    suspended_at               timestamptz,
    window_opens_at            timestamptz,
    window_closes_at           timestamptz,
    announced_at               timestamptz,
    confirm_closes_at          timestamptz,
    host_commitment            text        CHECK (host_commitment ~ '^[0-9a-f]{64}$'),
    host_nonce                 text,
    host_revealed_at           timestamptz,
    -- The representative drawn among the signed-in bidders (§11), its draw and its reveal.
    representative             text,
    representative_draw        jsonb,
    representative_nonce       text,
    representative_revealed_at timestamptz,
    -- The checkpoint root (base64) every draw of this hall used.
    checkpoint_root            text,
    draws                      jsonb,
    -- The announcement (the data of event 'announced') and its digest, which bidders confirm.
    announcement               jsonb,
    record_digest              text,
    -- The published record file (§12): its canonical record, digest, signed note, log index.
    record_json                text,
    record_file_digest         text,
    record_note                text,
    record_log_index           bigint,
    last_seq                   bigint      NOT NULL DEFAULT 0,
    last_heartbeat_at          timestamptz,
    last_heartbeat_node        text,
    created_at                 timestamptz NOT NULL DEFAULT clock_timestamp(),
    CHECK ((paused_reason IS NULL) = (paused_at IS NULL)),
    CHECK ((suspended_reason IS NULL) = (suspended_at IS NULL))
);
CREATE INDEX halls_decrypting ON halls (phase) WHERE phase = 'decrypting';

-- audience: 'all', 'staff', or 'org:<org id>' (staff and that organisation).
CREATE TABLE hall_events (
    tender_id  text        NOT NULL REFERENCES halls (tender_id),
    seq        bigint      NOT NULL CHECK (seq >= 1),
    kind       text        NOT NULL,
    at         timestamptz NOT NULL DEFAULT clock_timestamp(),
    actor      jsonb,
    data       jsonb       NOT NULL,
    audience   text        NOT NULL DEFAULT 'all' CHECK (audience = 'all' OR audience = 'staff'
                               OR audience LIKE 'org:%'),
    PRIMARY KEY (tender_id, seq)
);

-- Single-use challenges of the signed actions (§8), bound to the user and the hall.
CREATE TABLE hall_challenges (
    id          text        PRIMARY KEY CHECK (id ~ '^hc-[0-9a-f]{16}$'),
    tender_id   text        NOT NULL REFERENCES halls (tender_id),
    user_id     text        NOT NULL REFERENCES users (id),
    challenge   bytea       NOT NULL,
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz,
    created_at  timestamptz NOT NULL DEFAULT clock_timestamp()
);

-- Sign-ins (签到), one per organisation, with the representative-nonce commitment.
CREATE TABLE hall_attendance (
    tender_id     text        NOT NULL REFERENCES halls (tender_id),
    org_id        text        NOT NULL REFERENCES organisations (id),
    user_id       text        NOT NULL REFERENCES users (id),
    key           text        NOT NULL,
    challenge_id  text        NOT NULL REFERENCES hall_challenges (id),
    signature     bytea       NOT NULL,
    commitment    text        NOT NULL CHECK (commitment ~ '^[0-9a-f]{64}$'),
    signed_in_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (tender_id, org_id)
);

-- One row per current bid at the deadline (written by the deadline), listed by publish_list.
CREATE TABLE hall_bids (
    tender_id  text        NOT NULL REFERENCES halls (tender_id),
    lot_no     integer     NOT NULL,
    org_id     text        NOT NULL REFERENCES organisations (id),
    bid_id     bigint      NOT NULL REFERENCES bids (id),
    guarantee  text        NOT NULL DEFAULT 'none' CHECK (guarantee IN (
                               'valid', 'invalid', 'none', 'cash', 'not_required')),
    listed     boolean     NOT NULL DEFAULT false,
    status     text        NOT NULL DEFAULT 'waiting' CHECK (status IN (
                               'waiting', 'decrypting', 'done', 'failed')),
    attempts   integer     NOT NULL DEFAULT 0,
    via        text        CHECK (via IN ('bidder', 'backup', 'escrow')),
    cause      text        CHECK (cause IN ('no_attempt', 'wrong_key', 'bad_file',
                               'escrow_incomplete', 'platform_outage')),
    side       text        CHECK (side IN ('bidder', 'platform')),
    treatment  text        CHECK (treatment IN ('revoked', 'withdrawn')),
    message    text,
    summary    jsonb,
    -- The escrow stanza R of the sealed header (base64), when the bid has one.
    escrow_r   text,
    -- The key that opened the file (kept for the evaluation), once done.
    file_key   bytea,
    -- Under bidder-and-escrow: the bidder's part, kept until the shares are in.
    bidder_part bytea,
    done_at    timestamptz,
    PRIMARY KEY (tender_id, lot_no, org_id)
);

-- Decryption attempts. Written (with the key material) before the action is acknowledged; rows
-- still 'decrypting' after a restart are run again.
CREATE TABLE hall_attempts (
    id             bigserial   PRIMARY KEY,
    tender_id      text        NOT NULL,
    lot_no         integer     NOT NULL,
    org_id         text        NOT NULL,
    source         text        NOT NULL CHECK (source IN ('bidder', 'backup', 'escrow')),
    blob_digest    text        NOT NULL,
    key_material   bytea       NOT NULL,
    escrow_secret  bytea,
    user_id        text,
    state          text        NOT NULL DEFAULT 'decrypting' CHECK (state IN (
                                   'decrypting', 'done', 'failed')),
    cause          text,
    message        text,
    created_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
    finished_at    timestamptz,
    FOREIGN KEY (tender_id, lot_no, org_id) REFERENCES hall_bids (tender_id, lot_no, org_id)
);
CREATE INDEX hall_attempts_pending ON hall_attempts (id) WHERE state = 'decrypting';

CREATE TABLE hall_backups (
    tender_id    text        NOT NULL,
    lot_no       integer     NOT NULL,
    org_id       text        NOT NULL,
    blob_digest  text        NOT NULL CHECK (blob_digest ~ '^[0-9a-f]{64}$'),
    size         bigint      NOT NULL CHECK (size >= 1),
    commitment   text        NOT NULL,
    uploaded_by  text        NOT NULL REFERENCES users (id),
    uploaded_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (tender_id, lot_no, org_id),
    FOREIGN KEY (tender_id, lot_no, org_id) REFERENCES hall_bids (tender_id, lot_no, org_id)
);

-- Escrow decryption shares (threshold-escrow.md §4), verified by their proofs before insert.
CREATE TABLE hall_shares (
    tender_id     text        NOT NULL,
    lot_no        integer     NOT NULL,
    org_id        text        NOT NULL,
    custodian_id  text        NOT NULL,
    share         jsonb       NOT NULL,
    submitted_by  text        NOT NULL REFERENCES users (id),
    submitted_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (tender_id, lot_no, org_id, custodian_id),
    FOREIGN KEY (tender_id, lot_no, org_id) REFERENCES hall_bids (tender_id, lot_no, org_id)
);

CREATE TABLE hall_confirmations (
    tender_id     text        NOT NULL REFERENCES halls (tender_id),
    org_id        text        NOT NULL REFERENCES organisations (id),
    user_id       text        NOT NULL REFERENCES users (id),
    key           text        NOT NULL,
    public_key    bytea       NOT NULL,
    challenge_id  text        NOT NULL REFERENCES hall_challenges (id),
    challenge     text        NOT NULL,
    signature     bytea       NOT NULL,
    digest        text        NOT NULL,
    confirmed_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (tender_id, org_id)
);

CREATE TABLE hall_objections (
    id           bigserial   PRIMARY KEY,
    tender_id    text        NOT NULL REFERENCES halls (tender_id),
    org_id       text        NOT NULL REFERENCES organisations (id),
    user_id      text        NOT NULL REFERENCES users (id),
    lot_no       integer,
    text         text        NOT NULL,
    raised_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
    answer       text,
    answered_by  text        REFERENCES users (id),
    answered_at  timestamptz
);
CREATE INDEX hall_objections_tender ON hall_objections (tender_id, id);

CREATE TABLE hall_help (
    id         bigserial   PRIMARY KEY,
    tender_id  text        NOT NULL REFERENCES halls (tender_id),
    lot_no     integer     NOT NULL,
    org_id     text        NOT NULL REFERENCES organisations (id),
    user_id    text        NOT NULL REFERENCES users (id),
    text       text        NOT NULL,
    at         timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX hall_help_tender ON hall_help (tender_id, id);

-- Gaps between heartbeats longer than the threshold while the hall was decrypting.
CREATE TABLE hall_outages (
    id           bigserial   PRIMARY KEY,
    tender_id    text        NOT NULL REFERENCES halls (tender_id),
    from_at      timestamptz NOT NULL,
    to_at        timestamptz NOT NULL,
    detected_by  text        NOT NULL,
    CHECK (to_at >= from_at)
);
CREATE INDEX hall_outages_tender ON hall_outages (tender_id, id);
