-- Issue 15 §3: a bid is judged by the database time at which its last byte was accepted, stamped
-- before the file waits for verification. NULL until every byte of the upload has arrived; kept
-- (never moved later) when a completion is retried.
ALTER TABLE uploads ADD COLUMN last_byte_at timestamptz;
CREATE INDEX uploads_in_flight ON uploads (tender_id) WHERE state = 'open' AND last_byte_at IS NOT NULL;
