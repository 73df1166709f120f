-- Filters (gt/lt/sw…) and sortBy compare these columns in the database and,
-- for what the database cannot answer, in memory by byte order, as SQLite
-- does. A database created with a linguistic collation (en_US.UTF-8) would
-- order them differently; the "C" collation makes every path agree.
-- (PostgreSQL only: SQLite compares text by bytes already.)
ALTER TABLE members ALTER COLUMN id TYPE TEXT COLLATE "C";
ALTER TABLE members ALTER COLUMN user_name_lower TYPE TEXT COLLATE "C";
ALTER TABLE members ALTER COLUMN external_id TYPE TEXT COLLATE "C";
ALTER TABLE member_emails ALTER COLUMN value_lower TYPE TEXT COLLATE "C";
ALTER TABLE subteams ALTER COLUMN id TYPE TEXT COLLATE "C";
ALTER TABLE subteams ALTER COLUMN display_name_lower TYPE TEXT COLLATE "C";
ALTER TABLE subteams ALTER COLUMN external_id TYPE TEXT COLLATE "C";
