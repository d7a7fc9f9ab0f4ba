-- Decryption failures on the platform's side (issue 15 §2, hall-protocol.md §10): the stored
-- sealed file missing, unreadable or no longer matching its digest (file_unavailable), and a
-- decryption that did not finish because its worker crashed or stalled (decryption_incomplete).
-- Both are withdrawn (视为撤回), never held against the bidder.
ALTER TABLE hall_bids DROP CONSTRAINT hall_bids_cause_check;
ALTER TABLE hall_bids ADD CONSTRAINT hall_bids_cause_check CHECK (cause IN (
    'no_attempt', 'wrong_key', 'bad_file', 'escrow_incomplete', 'platform_outage',
    'file_unavailable', 'decryption_incomplete'));
