-- Digests now also go to each team's own admins, without configured contacts.
-- Start every team's digest at its latest activity, so the first digest after
-- this upgrade covers what happens from now on, not the retained history.
INSERT INTO digest_cursors (tenant_id, last_event_seq)
SELECT t.id, COALESCE((SELECT MAX(e.seq) FROM provisioning_events e WHERE e.tenant_id = t.id), 0)
FROM tenants t
WHERE NOT EXISTS (SELECT 1 FROM digest_cursors d WHERE d.tenant_id = t.id);
