ALTER TABLE provisioning_events DROP COLUMN detail;
