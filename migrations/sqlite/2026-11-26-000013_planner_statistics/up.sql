-- Fixed planner statistics (SQLite's "manual control of query plans" through
-- sqlite_stat1). With none, SQLite guesses that `tenant_id = ?` picks out a
-- handful of rows, so for `tenant_id = ? AND id IN (…)` it walks a whole
-- team's index instead of looking the ids up; at 100k members that is the
-- difference between microseconds and tens of milliseconds. These figures
-- describe the shape the indexes are made for (many large teams, ids and
-- emails unique) rather than any one database, so plans do not change as a
-- team grows; nothing here runs ANALYZE to replace them.
ANALYZE sqlite_schema;
DELETE FROM sqlite_stat1;
INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES
    ('members', NULL, '1000000'),
    ('members', 'members_id_key', '1000000 1'),
    ('members', 'members_tenant_user_name_key', '1000000 100000 1'),
    ('members', 'members_tenant_seq', '1000000 100000 1'),
    ('members', 'members_tenant_external_id', '1000000 100000 2'),
    ('members', 'members_tenant_updated_at', '1000000 100000 2'),
    ('members', 'members_visible', '1000000 100000 1'),
    ('members', 'members_visible_active', '1000000 100000 50000 1'),
    ('members', 'members_deprovisioned_user_name', '10000 1000 1'),
    ('member_emails', NULL, '1000000'),
    ('member_emails', 'sqlite_autoindex_member_emails_1', '1000000 1 1'),
    ('member_emails', 'member_emails_tenant_value', '1000000 100000 1'),
    ('cards', NULL, '1000000'),
    ('cards', 'sqlite_autoindex_cards_1', '1000000 1'),
    ('card_links', NULL, '2000000'),
    ('card_links', 'card_links_member', '2000000 2 1'),
    ('subteams', NULL, '10000'),
    ('subteams', 'subteams_id_key', '10000 1'),
    ('subteams', 'subteams_tenant_display_name_key', '10000 1000 1'),
    ('subteams', 'subteams_tenant_seq', '10000 1000 1'),
    ('subteams', 'subteams_tenant_external_id', '10000 1000 1'),
    ('subteams', 'subteams_tenant_updated_at', '10000 1000 1'),
    ('subteam_members', NULL, '5000000'),
    ('subteam_members', 'sqlite_autoindex_subteam_members_1', '5000000 500 1'),
    ('subteam_members', 'subteam_members_member', '5000000 5'),
    ('provisioning_events', NULL, '10000000'),
    ('provisioning_events', 'provisioning_events_tenant_time', '10000000 1000000 2'),
    ('provisioning_events', 'provisioning_events_tenant_seq', '10000000 1000000 1'),
    ('provisioning_events', 'provisioning_events_time', '10000000 2'),
    ('outbox', NULL, '100000'),
    ('outbox', 'outbox_dedupe_key', '100000 10000 1'),
    ('outbox', 'outbox_due', '1000 2');
