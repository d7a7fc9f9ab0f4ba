-- Expired login challenges are deleted as new ones are issued (identity.cpp, issue_challenge):
-- anyone may ask for a challenge, so without this the table grows by one row per anonymous call,
-- forever. The index lets each issue find a few expired rows without a scan.
CREATE INDEX login_challenges_expires_at ON login_challenges (expires_at);
