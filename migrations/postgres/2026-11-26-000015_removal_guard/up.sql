-- Removals the team's mass-deprovisioning guard held: the SCIM side shows
-- the IdP's change, the member side waits for an admin's decision.
CREATE TABLE held_removals (
    seq BIGSERIAL PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    member_id TEXT NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    user_name TEXT,
    -- 'deactivate' (active: false) or 'delete' (DELETE /Users)
    kind TEXT NOT NULL,
    held_at TEXT NOT NULL,
    run_started_at TEXT NOT NULL,
    -- NULL while held; then 'approved', 'rejected' or 'cancelled' (the IdP
    -- took the removal back)
    resolution TEXT,
    resolved_at TEXT,
    resolved_by TEXT
);
CREATE INDEX held_removals_open ON held_removals (tenant_id, member_id) WHERE resolution IS NULL;

-- The sync run the guard is counting, per team: when it began, how far its
-- writes have been checked for a gap that would end it, how many members were
-- in the team when it began (the base of a percentage guard), and how many
-- removals it has made.
CREATE TABLE removal_guard_runs (
    tenant_id TEXT PRIMARY KEY NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    run_started_at TEXT NOT NULL,
    checked_through TEXT NOT NULL,
    baseline BIGINT NOT NULL,
    removals BIGINT NOT NULL
);
