-- 008: the GPU groups diycloud added a user to (defence in depth beside the device cgroup). Only these
-- memberships are ever removed by diycloud: a membership an admin gave is not recorded here and stays.
CREATE TABLE gpu_group_members (
  uid INTEGER NOT NULL,
  group_name TEXT NOT NULL CHECK (group_name <> ''),
  added_at TEXT NOT NULL,
  PRIMARY KEY (uid, group_name)
);
