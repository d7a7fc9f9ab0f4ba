-- A fifth event audience, 'supervisors': supervisors only, the host counting it (kind and time,
-- no actor, no data). Who bid is secret until the bidder list is published (SPEC §13, 招标投标法
-- art. 22), and the guarantee check between the deadline and the list names every bidder: its
-- event is for supervisors, the host learns that the check ran (hall-protocol.md §2.1, §6).
ALTER TABLE hall_events DROP CONSTRAINT hall_events_audience_check;
ALTER TABLE hall_events ADD CONSTRAINT hall_events_audience_check
    CHECK (audience = 'all' OR audience = 'staff' OR audience = 'supervisors'
           OR audience LIKE 'org:%' OR audience LIKE 'own:%');
