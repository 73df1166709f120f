ALTER TABLE subteams DROP COLUMN member_count;
