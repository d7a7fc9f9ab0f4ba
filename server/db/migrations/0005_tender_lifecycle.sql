-- The tender lifecycle up to the deadline (issue 4): the history of amendments and suspensions,
-- and the local-time rendering shared by every tender read.

-- One row per amendment (更正公告), in order. changes: the fields the amendment set, as sent;
-- deadline_moved: the rule pack moved the deadline because the amendment came too late.
CREATE TABLE tender_amendments (
    tender_id        text        NOT NULL REFERENCES tenders (id),
    amendment_no     integer     NOT NULL CHECK (amendment_no >= 1),
    reason           text        NOT NULL CHECK (reason <> ''),
    changes          jsonb       NOT NULL,
    old_deadline_at  timestamptz NOT NULL,
    new_deadline_at  timestamptz NOT NULL,
    old_opening_at   timestamptz NOT NULL,
    new_opening_at   timestamptz NOT NULL,
    deadline_moved   boolean     NOT NULL,
    issued_by        text        NOT NULL REFERENCES users (id),
    issued_at        timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (tender_id, amendment_no)
);

-- Why a tender was cancelled or suspended, for the public notice.
ALTER TABLE tenders ADD COLUMN status_reason text;

-- "2026-12-20T09:30:00+08:00": t in the zone tz, with that zone's offset at that instant.
CREATE FUNCTION tender_local_time(t timestamptz, tz text) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT to_char(t AT TIME ZONE tz, 'YYYY-MM-DD"T"HH24:MI:SS') ||
           CASE WHEN off < interval '0' THEN '-' ELSE '+' END ||
           to_char(abs(extract(epoch FROM off))::int / 3600, 'FM00') || ':' ||
           to_char((abs(extract(epoch FROM off))::int % 3600) / 60, 'FM00')
    FROM (SELECT (t AT TIME ZONE tz) - (t AT TIME ZONE 'UTC') AS off) o
$$;
