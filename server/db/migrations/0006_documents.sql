-- Tender documents, their downloads, clarification questions (答疑) and the pushes of new
-- versions and answers to earlier downloaders, with read receipts (docs/DOCUMENTS.md).
-- Times come from PostgreSQL's clock; the deadline test is deadline_at <= clock_timestamp().

-- A named document of a tender. Uploading the same name again makes a new version.
CREATE TABLE documents (
    id              bigserial   PRIMARY KEY,
    tender_id       text        NOT NULL REFERENCES tenders (id),
    name            text        NOT NULL CHECK (octet_length(name) BETWEEN 1 AND 200),
    latest_version  integer     NOT NULL CHECK (latest_version >= 1),
    created_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
    UNIQUE (tender_id, name)
);

-- The bytes of every version, kept in the database with their size and SHA-256.
CREATE TABLE document_versions (
    document_id        bigint      NOT NULL REFERENCES documents (id),
    version            integer     NOT NULL CHECK (version >= 1),
    size               bigint      NOT NULL CHECK (size >= 1),
    sha256             text        NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    content            bytea       NOT NULL,
    uploaded_by        text        NOT NULL REFERENCES users (id),
    -- Uploaded while the tender was published: a clarification or amendment, pushed and fed.
    after_publication  boolean     NOT NULL,
    created_at         timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (document_id, version)
);

-- Downloads by bidders (the owner organisation's and supervisors' downloads are not recorded).
-- Confidential until the tender's deadline.
CREATE TABLE document_downloads (
    id             bigserial   PRIMARY KEY,
    tender_id      text        NOT NULL REFERENCES tenders (id),
    document_id    bigint      NOT NULL,
    version        integer     NOT NULL,
    user_id        text        NOT NULL REFERENCES users (id),
    org_id         text        NOT NULL REFERENCES organisations (id),
    downloaded_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    FOREIGN KEY (document_id, version) REFERENCES document_versions (document_id, version)
);
CREATE INDEX document_downloads_tender ON document_downloads (tender_id, user_id);

-- A bidder's question. The asker is never shown to the tenderer.
CREATE TABLE questions (
    id           bigserial   PRIMARY KEY,
    tender_id    text        NOT NULL REFERENCES tenders (id),
    asked_by     text        NOT NULL REFERENCES users (id),
    asker_org    text        NOT NULL REFERENCES organisations (id),
    text         text        NOT NULL CHECK (octet_length(text) BETWEEN 1 AND 4000),
    asked_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
    answer       text        CHECK (octet_length(answer) BETWEEN 1 AND 4000),
    answered_by  text        REFERENCES users (id),
    answered_at  timestamptz,
    CHECK ((answer IS NULL) = (answered_at IS NULL))
);
CREATE INDEX questions_tender ON questions (tender_id, id);

-- One push of news (a document version, an answer, an amendment) to the tender's downloaders.
CREATE TABLE pushes (
    id          bigserial   PRIMARY KEY,
    tender_id   text        NOT NULL REFERENCES tenders (id),
    kind        text        NOT NULL CHECK (kind ~ '^[a-z][a-z_.]{0,63}$'),
    ref         text        NOT NULL,
    summary     jsonb       NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX pushes_tender ON pushes (tender_id, id);

-- A push as delivered to one downloading user, with its read receipt.
CREATE TABLE notifications (
    id          bigserial   PRIMARY KEY,
    push_id     bigint      NOT NULL REFERENCES pushes (id),
    user_id     text        NOT NULL REFERENCES users (id),
    org_id      text        NOT NULL REFERENCES organisations (id),
    created_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    read_at     timestamptz,
    UNIQUE (push_id, user_id)
);
CREATE INDEX notifications_user ON notifications (user_id, id);
