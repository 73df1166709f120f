DROP INDEX api_tokens_active_label;
DROP INDEX tenants_name_key;
CREATE UNIQUE INDEX tenants_name_key ON tenants (name);
ALTER TABLE tenants DROP COLUMN name_key;
DROP TABLE upgrade_notices;
