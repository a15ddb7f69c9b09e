-- 006: the GPU part of an allocation is a grant, "none", "all" or GPU indices ("0,2"), instead of a
-- yes/no flag. The flag maps as 1 = "all" and 0 = "none"; NULL (inherit) stays NULL. The value is
-- validated by the daemon (core/gpu-grant.ts) on every write; the CHECK keeps hand edits close.
ALTER TABLE resource_allocations ADD COLUMN gpus TEXT CHECK (gpus IS NULL OR gpus IN ('none', 'all') OR (gpus <> '' AND gpus NOT GLOB '*[^0-9,]*'));
UPDATE resource_allocations SET gpus = CASE gpu_access WHEN 1 THEN 'all' WHEN 0 THEN 'none' END;
ALTER TABLE resource_allocations DROP COLUMN gpu_access;

ALTER TABLE roles ADD COLUMN gpus TEXT CHECK (gpus IS NULL OR gpus IN ('none', 'all') OR (gpus <> '' AND gpus NOT GLOB '*[^0-9,]*'));
UPDATE roles SET gpus = CASE gpu_access WHEN 1 THEN 'all' WHEN 0 THEN 'none' END;
ALTER TABLE roles DROP COLUMN gpu_access;
