-- The members the SCIM API can see, in creation order: counts, pages and
-- cursor windows read these indexes instead of every member row.
CREATE INDEX members_visible ON members (tenant_id, seq)
    WHERE deprovisioned_at IS NULL AND scim_resource IS NOT NULL;
-- `active eq true|false`.
CREATE INDEX members_visible_active ON members (tenant_id, active, seq)
    WHERE deprovisioned_at IS NULL AND scim_resource IS NOT NULL;
