-- 005: what was applied is recorded per uid *and resource*, in backend-neutral names: "cgroup"
-- (cpuQuotaPerSecUsec, memoryMaxBytes, memoryHighBytes, tasksMax) and "disk:PATH" (one per quota
-- path: path, diskSoftBytes, diskHardBytes). The old table held systemd property names; its rows
-- are carried over under the new names, so an upgrade lifts stale limits exactly as before.
CREATE TABLE applied (
  uid        INTEGER NOT NULL,
  resource   TEXT    NOT NULL CHECK (resource = 'cgroup' OR resource GLOB 'disk:/*'),
  value      TEXT    NOT NULL,
  applied_at TEXT    NOT NULL,
  PRIMARY KEY (uid, resource)
);
INSERT INTO applied (uid, resource, value, applied_at)
  SELECT uid, 'cgroup',
         json_patch(
           json_object('cpuQuotaPerSecUsec', json_extract(limits, '$.CPUQuotaPerSecUSec'),
                       'memoryMaxBytes', json_extract(limits, '$.MemoryMax'),
                       'memoryHighBytes', json_extract(limits, '$.MemoryHigh')),
           CASE WHEN json_type(limits, '$.TasksMax') IS NULL THEN '{}' ELSE json_object('tasksMax', json_extract(limits, '$.TasksMax')) END),
         applied_at
  FROM applied_limits WHERE json_valid(limits);
DROP TABLE applied_limits;
