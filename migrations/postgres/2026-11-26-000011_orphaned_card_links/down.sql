-- The removed links were stale copies of values the IdP removed: nothing to restore.
SELECT 1;
