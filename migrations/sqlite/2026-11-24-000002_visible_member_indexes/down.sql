DROP INDEX members_visible_active;
DROP INDEX members_visible;
