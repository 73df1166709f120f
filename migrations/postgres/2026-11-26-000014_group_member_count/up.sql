-- How many members each group has, kept with the group's own row by every
-- write that changes its membership (the row it locks and re-versions
-- anyway), so deciding whether a PATCH can echo the group costs one read,
-- not a walk through its first thousand members.
ALTER TABLE subteams ADD COLUMN member_count BIGINT NOT NULL DEFAULT 0;
UPDATE subteams SET member_count =
    (SELECT COUNT(*) FROM subteam_members sm WHERE sm.subteam_id = subteams.id);
