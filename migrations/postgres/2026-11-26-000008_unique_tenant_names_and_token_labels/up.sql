-- Notes an upgrade leaves for the operator; `scimd` prints and clears them
-- after migrating.
CREATE TABLE upgrade_notices (
    seq BIGSERIAL PRIMARY KEY,
    message TEXT NOT NULL
);

-- Tenant names become unique ignoring ASCII case. An older database may hold
-- names that differ only in case (or are empty): every such tenant but the
-- oldest gets a suffix from its id, and the operator is told.
CREATE TEMPORARY TABLE renamed_tenants AS
SELECT id, name, CASE WHEN trim(name) = '' THEN 'tenant' ELSE name END || '-' || substr(id, 1, 8) AS new_name
FROM (
    SELECT id, name,
           ROW_NUMBER() OVER (PARTITION BY translate(name, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz') ORDER BY created_at, id) AS position
    FROM tenants
) AS ranked
WHERE position > 1 OR trim(name) = '';
INSERT INTO upgrade_notices (message)
SELECT 'tenant ' || id || ' renamed from "' || name || '" to "' || new_name
       || '": tenant names are now unique ignoring case, and must not be empty'
FROM renamed_tenants;
UPDATE tenants SET name = (SELECT new_name FROM renamed_tenants r WHERE r.id = tenants.id)
WHERE id IN (SELECT id FROM renamed_tenants);
DROP TABLE renamed_tenants;

-- The key the application compares: the name with ASCII letters lower-cased
-- (translate, not lower(), which would fold non-ASCII letters too).
ALTER TABLE tenants ADD COLUMN name_key TEXT NOT NULL DEFAULT '';
UPDATE tenants SET name_key = translate(name, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz');
DROP INDEX tenants_name_key;
CREATE UNIQUE INDEX tenants_name_key ON tenants (name_key);

-- Labels of a tenant's usable tokens become unique, so `token revoke LABEL`
-- names one token; a revoked token's label can be used again.
CREATE TEMPORARY TABLE relabelled_tokens AS
SELECT id, tenant_id, label, label || '-' || substr(id, 1, 8) AS new_label
FROM (
    SELECT id, tenant_id, label,
           ROW_NUMBER() OVER (PARTITION BY tenant_id, label ORDER BY created_at, id) AS position
    FROM api_tokens
    WHERE revoked_at IS NULL
) AS ranked
WHERE position > 1;
INSERT INTO upgrade_notices (message)
SELECT 'token ' || id || ' of tenant ' || tenant_id || ' relabelled from "' || label || '" to "'
       || new_label || '": labels of a tenant''s active tokens are now unique'
FROM relabelled_tokens;
UPDATE api_tokens SET label = (SELECT new_label FROM relabelled_tokens r WHERE r.id = api_tokens.id)
WHERE id IN (SELECT id FROM relabelled_tokens);
DROP TABLE relabelled_tokens;
CREATE UNIQUE INDEX api_tokens_active_label ON api_tokens (tenant_id, label) WHERE revoked_at IS NULL;
