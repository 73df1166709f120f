-- People who sign in to the console: an operator (tenant_id NULL) sees every
-- team, a team admin only its own. Names are stored lower-cased, so the unique
-- key is case-insensitive. session_epoch grows on a password reset or a
-- disable, which ends every session signed for the old value.
CREATE TABLE console_accounts (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL UNIQUE,
    tenant_id TEXT REFERENCES tenants (id) ON DELETE CASCADE,
    password_hash TEXT NOT NULL,
    session_epoch BIGINT NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    disabled_at TEXT,
    -- The sign-in throttle every replica shares: failures not yet forgiven
    -- (one is forgiven per minute since the last) and when the last was.
    failed_sign_ins BIGINT NOT NULL DEFAULT 0,
    last_failed_at TEXT
);

-- The console's session-signing key, made by the first process that needs
-- it, so every replica accepts the others' cookies and a restart keeps them.
CREATE TABLE console_keys (
    name TEXT PRIMARY KEY NOT NULL,
    secret TEXT NOT NULL
);

-- Failed SCIM reads (a filter the server refuses, an unknown id), counted
-- per team, hour and error rather than logged one by one: an IdP that
-- sends a broken filter every cycle shows up as one growing line.
CREATE TABLE failed_reads (
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    hour TEXT NOT NULL,
    client TEXT NOT NULL,
    route TEXT NOT NULL,
    status INTEGER NOT NULL,
    scim_type TEXT NOT NULL,
    detail TEXT NOT NULL,
    count BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, hour, client, route, status, scim_type, detail)
);
