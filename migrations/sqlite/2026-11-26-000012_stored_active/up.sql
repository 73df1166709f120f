-- A User's stored resource now always holds `active` (true when the IdP never
-- sent it), so it can be served as stored. Rows written before keep what they
-- showed: they were rendered active, and now say so. Versions do not move:
-- nothing a client sees changes.
UPDATE members SET scim_resource = json_set(scim_resource, '$.active', json('true'))
WHERE scim_resource IS NOT NULL AND json_type(scim_resource, '$.active') IS NULL;
