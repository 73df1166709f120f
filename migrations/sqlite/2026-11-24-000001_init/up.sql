-- Timestamps are UTC text in one fixed-width format (YYYY-MM-DDTHH:MM:SS.ffffffZ),
-- so text order is time order on both backends. UUIDs are text.

CREATE TABLE tenants (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE UNIQUE INDEX tenants_name_key ON tenants (name);

CREATE TABLE api_tokens (
    id TEXT PRIMARY KEY NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    label TEXT NOT NULL,
    lookup_prefix TEXT NOT NULL,
    secret_hash TEXT NOT NULL,
    created_at TEXT NOT NULL,
    last_used_at TEXT,
    revoked_at TEXT
);
CREATE UNIQUE INDEX api_tokens_lookup_prefix_key ON api_tokens (lookup_prefix);
CREATE INDEX api_tokens_tenant ON api_tokens (tenant_id);

CREATE TABLE members (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    user_name TEXT,
    user_name_lower TEXT,
    external_id TEXT,
    display_name TEXT,
    active BOOLEAN NOT NULL,
    scim_resource TEXT,
    password_hash TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    version BIGINT NOT NULL,
    deprovisioned_at TEXT
);
CREATE UNIQUE INDEX members_id_key ON members (id);
-- A deprovisioned member keeps its row but frees its userName for re-provisioning.
CREATE UNIQUE INDEX members_tenant_user_name_key ON members (tenant_id, user_name_lower)
    WHERE deprovisioned_at IS NULL;
CREATE INDEX members_tenant_seq ON members (tenant_id, seq);
CREATE INDEX members_tenant_external_id ON members (tenant_id, external_id);
CREATE INDEX members_tenant_updated_at ON members (tenant_id, updated_at);

CREATE TABLE member_emails (
    member_id TEXT NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    tenant_id TEXT NOT NULL,
    value_lower TEXT NOT NULL,
    PRIMARY KEY (member_id, value_lower)
);
CREATE INDEX member_emails_tenant_value ON member_emails (tenant_id, value_lower);

CREATE TABLE cards (
    member_id TEXT PRIMARY KEY NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    tenant_id TEXT NOT NULL,
    display_name TEXT,
    email TEXT,
    job_title TEXT,
    company TEXT,
    department TEXT,
    phone TEXT,
    location TEXT,
    photo_url TEXT,
    updated_at TEXT NOT NULL
);

CREATE TABLE card_links (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    member_id TEXT NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    tenant_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    value TEXT NOT NULL,
    position INTEGER NOT NULL,
    from_template BOOLEAN NOT NULL
);
CREATE INDEX card_links_member ON card_links (member_id, position);

CREATE TABLE subteams (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    display_name TEXT NOT NULL,
    display_name_lower TEXT NOT NULL,
    external_id TEXT,
    scim_resource TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    version BIGINT NOT NULL
);
CREATE UNIQUE INDEX subteams_id_key ON subteams (id);
CREATE UNIQUE INDEX subteams_tenant_display_name_key ON subteams (tenant_id, display_name_lower);
CREATE INDEX subteams_tenant_seq ON subteams (tenant_id, seq);
CREATE INDEX subteams_tenant_external_id ON subteams (tenant_id, external_id);
CREATE INDEX subteams_tenant_updated_at ON subteams (tenant_id, updated_at);

CREATE TABLE subteam_members (
    subteam_id TEXT NOT NULL REFERENCES subteams (id) ON DELETE CASCADE,
    member_id TEXT NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    tenant_id TEXT NOT NULL,
    added_at TEXT NOT NULL,
    PRIMARY KEY (subteam_id, member_id)
);
CREATE INDEX subteam_members_member ON subteam_members (member_id);

CREATE TABLE provisioning_events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    occurred_at TEXT NOT NULL,
    token_label TEXT,
    client TEXT NOT NULL,
    operation TEXT NOT NULL,
    resource_type TEXT NOT NULL,
    resource_id TEXT,
    resource_name TEXT,
    fields_changed TEXT,
    status INTEGER NOT NULL,
    scim_type TEXT
);
CREATE INDEX provisioning_events_tenant_time ON provisioning_events (tenant_id, occurred_at);
