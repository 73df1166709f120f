ALTER TABLE subteams ALTER COLUMN external_id TYPE TEXT COLLATE "default";
ALTER TABLE subteams ALTER COLUMN display_name_lower TYPE TEXT COLLATE "default";
ALTER TABLE subteams ALTER COLUMN id TYPE TEXT COLLATE "default";
ALTER TABLE member_emails ALTER COLUMN value_lower TYPE TEXT COLLATE "default";
ALTER TABLE members ALTER COLUMN external_id TYPE TEXT COLLATE "default";
ALTER TABLE members ALTER COLUMN user_name_lower TYPE TEXT COLLATE "default";
ALTER TABLE members ALTER COLUMN id TYPE TEXT COLLATE "default";
