-- The tamper-evident audit log (protocol/docs/audit-log.md). Every state change appends one event;
-- the events are the leaves of an RFC 6962 Merkle tree whose signed checkpoints let anyone check
-- that the past was never rewritten.

-- One row per event. seq is the leaf index: it starts at 0 and has no gaps, because every append
-- takes the lock on audit_head below and the sequence number comes from there, not from a
-- sequence object (which would leave holes when a transaction rolls back).
-- leaf_data is the canonical encoding of the other columns (an auditor recomputes it from them)
-- and leaf_hash = SHA-256(0x00 || leaf_data). Empty strings are refused for the optional columns
-- so that an absent value and an empty one cannot be confused in the leaf.
CREATE TABLE audit_events (
    seq             bigint      PRIMARY KEY CHECK (seq >= 0),
    logged_at       timestamptz NOT NULL,  -- the database clock when the event was appended
    actor           text        NOT NULL CHECK (actor <> ''),
    role            text        NOT NULL CHECK (role <> ''),
    action          text        NOT NULL CHECK (action <> ''),
    subject         text        CHECK (subject <> ''),
    payload_digest  text        CHECK (payload_digest ~ '^[0-9a-f]{64}$'),
    leaf_data       bytea       NOT NULL,
    leaf_hash       bytea       NOT NULL CHECK (length(leaf_hash) = 32)
);
-- "Everything that happened to tender X", in order.
CREATE INDEX audit_events_subject ON audit_events (subject, seq) WHERE subject IS NOT NULL;

-- The log's head: its size and the Merkle frontier of [0, size) (the roots of the perfect
-- subtrees, largest first, 32 bytes each, concatenated). One row, locked FOR UPDATE by every
-- append, so appends are serialised and commit in sequence order.
CREATE TABLE audit_head (
    id        boolean PRIMARY KEY DEFAULT true CHECK (id),
    size      bigint  NOT NULL CHECK (size >= 0),
    frontier  bytea   NOT NULL CHECK (length(frontier) % 32 = 0)
);
INSERT INTO audit_head (id, size, frontier) VALUES (true, 0, ''::bytea);

-- Every perfect subtree hash completed by an append: node (level, index) covers leaves
-- [index * 2^level, (index + 1) * 2^level); level 0 holds the leaf hashes. A proof or a root needs
-- O(log n) of these rows, never a scan of the events.
CREATE TABLE audit_nodes (
    level  smallint NOT NULL CHECK (level BETWEEN 0 AND 63),
    index  bigint   NOT NULL CHECK (index >= 0),
    hash   bytea    NOT NULL CHECK (length(hash) = 32),
    PRIMARY KEY (level, index)
);

-- Signed checkpoints (C2SP tlog-checkpoint in a signed note), at most one per tree size.
CREATE TABLE audit_checkpoints (
    size        bigint      PRIMARY KEY CHECK (size >= 0),
    root        bytea       NOT NULL CHECK (length(root) = 32),
    note        text        NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
