-- Notaries (公证处) hold escrow key shares beside trading centers and supervisors (issue 15 §4,
-- rule_pack custody.org_kinds), so they are an organisation kind of their own.
ALTER TABLE organisations DROP CONSTRAINT organisations_kind_check;
ALTER TABLE organisations ADD CONSTRAINT organisations_kind_check CHECK (kind IN (
    'bidder', 'tenderer', 'agency', 'center', 'supervision', 'issuer', 'platform', 'notary'));
