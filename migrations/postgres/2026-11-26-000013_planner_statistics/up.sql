-- SQLite needs fixed planner statistics (see migrations/sqlite); PostgreSQL
-- keeps its own, gathered by autovacuum's ANALYZE. Kept in step with SQLite's
-- numbering so both backends end at one schema version.
SELECT 1;
