-- Each tenderd process registers itself here at start and keeps last_seen fresh while it runs,
-- so operators (and later the hall's cross-node fan-out) can see which nodes serve this database.
CREATE TABLE tenderd_nodes (
    node_id     text        PRIMARY KEY,
    version     text        NOT NULL,
    hostname    text        NOT NULL,
    pid         integer     NOT NULL,
    started_at  timestamptz NOT NULL DEFAULT now(),
    last_seen   timestamptz NOT NULL DEFAULT now(),
    stopped_at  timestamptz
);
