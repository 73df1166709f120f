-- What an entry says beyond its columns: the detail a failed write's client
-- got, or who a group write added and removed.
ALTER TABLE provisioning_events ADD COLUMN detail TEXT;
