-- 002: roles with their resource profiles. A user's effective allocation takes the user's own
-- value first (resource_allocations), then the role's profile (roles), then the config default.

CREATE TABLE roles (
  name       TEXT    PRIMARY KEY CHECK (length(name) BETWEEN 1 AND 32),
  builtin    INTEGER NOT NULL DEFAULT 0 CHECK (builtin IN (0, 1)),
  -- The Unix group kept in step with membership of this role (NULL: none).
  unix_group TEXT,
  cpu_limit  REAL    CHECK (cpu_limit IS NULL OR cpu_limit > 0),
  mem_limit  TEXT,
  disk_quota TEXT,
  gpu_access INTEGER CHECK (gpu_access IS NULL OR gpu_access IN (0, 1)),
  tasks_max  INTEGER CHECK (tasks_max IS NULL OR tasks_max > 0)
);

INSERT INTO roles (name, builtin, unix_group) VALUES
  ('admin', 1, 'diycloud-admin'),
  ('operator', 1, 'diycloud-operator'),
  ('user', 1, NULL);

-- Users whose role was set before roles existed keep it: add any such role, without a profile.
INSERT OR IGNORE INTO roles (name) SELECT DISTINCT role FROM users;

CREATE INDEX users_role ON users (role);
CREATE INDEX audit_target ON audit_log (target, id);
