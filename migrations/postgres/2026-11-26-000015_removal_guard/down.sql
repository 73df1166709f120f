DROP TABLE removal_guard_runs;
DROP TABLE held_removals;
