-- A User's stored resource now always holds `active` (true when the IdP never
-- sent it), so it can be served as stored. Rows written before keep what they
-- showed: they were rendered active, and now say so. Versions do not move:
-- nothing a client sees changes.
UPDATE members SET scim_resource = jsonb_set(scim_resource::jsonb, '{active}', 'true'::jsonb)::text
WHERE scim_resource IS NOT NULL AND NOT (scim_resource::jsonb ? 'active');
