-- A fourth event audience, 'own:<org id>': that organisation and supervisors, not the host.
-- Who signed in is secret until the bidder list is published (SPEC §13, 招标投标法 art. 22), so a
-- sign-in before the list is written for its own organisation and the supervisors only; the host
-- learns that someone signed in, never who (hall-protocol.md §6).
ALTER TABLE hall_events DROP CONSTRAINT hall_events_audience_check;
ALTER TABLE hall_events ADD CONSTRAINT hall_events_audience_check
    CHECK (audience = 'all' OR audience = 'staff' OR audience LIKE 'org:%'
           OR audience LIKE 'own:%');
