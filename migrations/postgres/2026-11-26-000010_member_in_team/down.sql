ALTER TABLE members DROP COLUMN in_team;
