-- A tenant's provisioning policy: one JSON document (validated by the
-- application), versioned so a server's cache sees a change on its next request.
CREATE TABLE tenant_policies (
    tenant_id TEXT PRIMARY KEY NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    settings TEXT NOT NULL,
    version BIGINT NOT NULL,
    updated_at TEXT NOT NULL
);

-- Team roles derived from SCIM roles while the admin-roles setting is on.
-- A subteam admin administers every subteam the member belongs to.
ALTER TABLE members ADD COLUMN team_admin BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE members ADD COLUMN subteam_admin BOOLEAN NOT NULL DEFAULT FALSE;
-- A create with the userName of a member deprovisioned by SCIM DELETE brings
-- that member back: found through this index, not a scan of the team.
CREATE INDEX members_deprovisioned_user_name ON members (tenant_id, user_name_lower)
    WHERE deprovisioned_at IS NOT NULL;

-- A SCIM group outside the tenant's allowlist is kept for the IdP but is not
-- a subteam of the product.
ALTER TABLE subteams ADD COLUMN is_subteam BOOLEAN NOT NULL DEFAULT TRUE;

-- Emails to send (invites, admin digests), written in the transaction that
-- causes them. The dedupe key makes a second enqueue of the same email fail.
CREATE TABLE outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    dedupe_key TEXT NOT NULL,
    member_id TEXT,
    recipient TEXT NOT NULL,
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    next_attempt_at TEXT NOT NULL,
    lease_until TEXT,
    sent_at TEXT,
    failed_at TEXT,
    last_error TEXT
);
CREATE UNIQUE INDEX outbox_dedupe_key ON outbox (tenant_id, dedupe_key);
CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE sent_at IS NULL AND failed_at IS NULL;

-- How far each tenant's activity has been summarised in an admin digest.
CREATE TABLE digest_cursors (
    tenant_id TEXT PRIMARY KEY NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    last_event_seq BIGINT NOT NULL
);

-- Digests read a tenant's events after a sequence number; retention prunes by time.
CREATE INDEX provisioning_events_tenant_seq ON provisioning_events (tenant_id, seq);
CREATE INDEX provisioning_events_time ON provisioning_events (occurred_at);
