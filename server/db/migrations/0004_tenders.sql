-- The tender core shared by the lifecycle, documents, scheduler and feed
-- (docs/design/server-core.md). Money is in fen (1/100 yuan) as bigint; times are timestamptz
-- from PostgreSQL's clock and shown in the tender's zone.

-- A project (招标项目). Its lots carry the prices; bids and everything after them are per lot.
CREATE TABLE tenders (
    id                    text        PRIMARY KEY CHECK (id ~ '^t-[0-9a-f]{16}$'),
    project_code          text        NOT NULL UNIQUE CHECK (project_code ~ '^[A-Za-z0-9][A-Za-z0-9._/-]{0,63}$'),
    title                 text        NOT NULL CHECK (title <> ''),
    kind                  text        NOT NULL CHECK (kind IN ('works', 'goods', 'services')),
    rule_pack             text        NOT NULL,
    owner_org             text        NOT NULL REFERENCES organisations (id),
    created_by            text        NOT NULL REFERENCES users (id),
    state                 text        NOT NULL DEFAULT 'draft' CHECK (state IN (
                              'draft', 'published', 'closed', 'opening', 'failed', 'cancelled',
                              'suspended')),
    -- The state a suspended tender resumes to.
    suspended_from        text,
    currency              text        NOT NULL DEFAULT 'CNY',
    deadline_at           timestamptz,
    opening_at            timestamptz,
    time_zone             text        NOT NULL DEFAULT 'Asia/Shanghai',
    decryption_window_s   integer     CHECK (decryption_window_s > 0),
    confirmation_window_s integer     CHECK (confirmation_window_s > 0),
    key_policy            text        NOT NULL DEFAULT 'bidder_or_escrow' CHECK (key_policy IN (
                              'bidder_only', 'bidder_or_escrow', 'bidder_and_escrow')),
    -- {"threshold": k, "custodians": [{"id": ..., "org_id": ..., "public_key": PEM}, ...]}
    escrow                jsonb,
    evaluation_method     text,
    -- Optimistic concurrency: ETag = version; every update increments it.
    version               bigint      NOT NULL DEFAULT 1,
    created_at            timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at            timestamptz NOT NULL DEFAULT clock_timestamp(),
    published_at          timestamptz,
    cancelled_at          timestamptz
);
CREATE INDEX tenders_owner ON tenders (owner_org);
CREATE INDEX tenders_state ON tenders (state);

-- A lot (标段). summary_fields declares the opening summary (开标一览表): an array of
-- {"key": "price", "label": "投标报价", "type": "money|integer|text|days"}; price is always there.
-- discount_candidates: the candidate set of the discount-rate draw at opening, when the
-- evaluation method uses one (array of decimal strings such as "0.05").
CREATE TABLE lots (
    tender_id           text        NOT NULL REFERENCES tenders (id),
    lot_no              integer     NOT NULL CHECK (lot_no BETWEEN 1 AND 999),
    title               text        NOT NULL CHECK (title <> ''),
    estimated_price     bigint      NOT NULL CHECK (estimated_price > 0),
    ceiling_price       bigint      CHECK (ceiling_price > 0),
    bond_amount         bigint      NOT NULL DEFAULT 0 CHECK (bond_amount >= 0),
    summary_fields      jsonb       NOT NULL,
    discount_candidates jsonb,
    PRIMARY KEY (tender_id, lot_no)
);

-- Scheduled transitions (deadline reached, opening due, ...). One live job per (kind, subject):
-- publishing upserts it, an amendment moves due_at, cancelling deletes the unfired one. The
-- scheduler claims due rows FOR UPDATE SKIP LOCKED and sets fired_at in the transaction that
-- performs the transition, so a job fires once across restarts and nodes.
CREATE TABLE scheduled_jobs (
    id          bigserial   PRIMARY KEY,
    kind        text        NOT NULL,
    subject     text        NOT NULL,
    due_at      timestamptz NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    fired_at    timestamptz,
    attempts    integer     NOT NULL DEFAULT 0,
    last_error  text,
    UNIQUE (kind, subject)
);
CREATE INDEX scheduled_jobs_due ON scheduled_jobs (due_at) WHERE fired_at IS NULL;

-- The public change feed: gap-free and in commit order, because seq comes from feed_head locked
-- in the writing transaction (src/feed_tx.hpp). Lock order: audit_head before feed_head.
CREATE TABLE feed_head (
    only_row  boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    next_seq  bigint  NOT NULL
);
INSERT INTO feed_head (next_seq) VALUES (1);

CREATE TABLE feed_events (
    seq         bigint      PRIMARY KEY,
    tender_id   text        REFERENCES tenders (id),
    kind        text        NOT NULL,
    payload     jsonb       NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX feed_events_tender ON feed_events (tender_id, seq);

-- Idempotency keys of creates: a retry with the same key and the same request gets the stored
-- response; the same key with another request is refused (src/idempotency_tx.hpp).
CREATE TABLE idempotency_keys (
    principal       text        NOT NULL,
    key             text        NOT NULL CHECK (length(key) BETWEEN 1 AND 200),
    request_digest  text        NOT NULL,
    status          integer,
    response        text,
    created_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (principal, key)
);
