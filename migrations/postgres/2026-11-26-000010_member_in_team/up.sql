-- The member side of a SCIM user, apart from `active` (what the IdP set and
-- reads back): whether the product shows the person in the team. The service
-- decides it from the team's policy on every write. Subteam membership as
-- the product shows it is derived: a member's subteam rows count while the
-- member is in the team and are dormant otherwise.
ALTER TABLE members ADD COLUMN in_team BOOLEAN NOT NULL DEFAULT TRUE;
-- Until now "in the team" meant active and not deprovisioned; members made
-- outside SCIM are active and never deprovisioned, so they stay in.
UPDATE members SET in_team = (active AND deprovisioned_at IS NULL);
