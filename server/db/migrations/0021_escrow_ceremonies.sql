-- Issue 15 §4: the custodians' escrow key ceremony (protocol/docs/threshold-escrow.md §6.1), run
-- through the server so that no dealer ever knows the key. A tender has ceremonies numbered from
-- 1; starting one supersedes the earlier unfinished one. Every message a custodian sends is a row
-- of escrow_ceremony_messages, public to the ceremony's participants, and an audit event.
CREATE TABLE escrow_ceremonies (
    tender_id  text        NOT NULL REFERENCES tenders (id),
    number     integer     NOT NULL CHECK (number >= 1),
    grp        text        NOT NULL CHECK (grp IN ('ristretto255', 'sm2')),
    threshold  integer     NOT NULL CHECK (threshold >= 1),
    -- [{"id": ..., "org_id": ...}] in custodian index order, as the escrow named them at the start.
    custodians jsonb       NOT NULL,
    state      text        NOT NULL DEFAULT 'keys' CHECK (state IN (
                   'keys', 'dealings', 'confirmations', 'done', 'failed', 'superseded')),
    -- Why it failed: {"code", "message", "dealer", "complainer"}.
    failure    jsonb,
    -- The joint setup (threshold-escrow.md §7) once every custodian confirmed.
    setup      jsonb,
    started_by text        NOT NULL REFERENCES users (id),
    started_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    ended_at   timestamptz,
    PRIMARY KEY (tender_id, number)
);
CREATE UNIQUE INDEX escrow_ceremonies_one_open ON escrow_ceremonies (tender_id)
    WHERE state IN ('keys', 'dealings', 'confirmations');

CREATE TABLE escrow_ceremony_messages (
    tender_id text        NOT NULL,
    number    integer     NOT NULL,
    kind      text        NOT NULL CHECK (kind IN ('key', 'dealing', 'confirmation', 'complaint')),
    -- The sender's custodian index (1..n).
    idx       integer     NOT NULL CHECK (idx >= 1),
    body      jsonb       NOT NULL,
    sent_by   text        NOT NULL REFERENCES users (id),
    sent_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (tender_id, number, kind, idx),
    FOREIGN KEY (tender_id, number) REFERENCES escrow_ceremonies (tender_id, number)
);
