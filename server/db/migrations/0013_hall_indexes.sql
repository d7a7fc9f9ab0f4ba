-- Indexes a hall of thousands of bidders needs (bench/hall_bench.sh, docs/BENCHMARKS.md).
-- The window's close looks up each listed bid's last attempt; without this index that was a scan
-- of every attempt of the hall for every bid (seconds for 10,000 bids, while the hall's row is
-- locked).
CREATE INDEX hall_attempts_bid ON hall_attempts (tender_id, lot_no, org_id, id);
