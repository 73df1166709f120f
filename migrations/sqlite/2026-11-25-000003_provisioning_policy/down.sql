DROP INDEX provisioning_events_time;
DROP INDEX provisioning_events_tenant_seq;
DROP TABLE digest_cursors;
DROP TABLE outbox;
ALTER TABLE subteams DROP COLUMN is_subteam;
DROP INDEX members_deprovisioned_user_name;
ALTER TABLE members DROP COLUMN subteam_admin;
ALTER TABLE members DROP COLUMN team_admin;
DROP TABLE tenant_policies;
