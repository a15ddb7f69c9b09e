-- 001: the plan's two tables, plus what a real service needs (uid, audit log, sessions, applied limits).
-- Applied in a transaction by diycloudd at start; PRAGMA user_version records the last applied number.

CREATE TABLE users (
  id            INTEGER PRIMARY KEY,
  username      TEXT    NOT NULL UNIQUE CHECK (length(username) BETWEEN 1 AND 32),
  -- Resources are keyed by uid, never by name.
  uid           INTEGER NOT NULL UNIQUE CHECK (uid BETWEEN 0 AND 4294967294),
  -- Never a password or hash: passwords live in /etc/shadow and are checked through PAM.
  -- 'pam' records that; NULL means "not set by diycloud". The CHECK makes any other value impossible.
  password_hash TEXT    CHECK (password_hash IS NULL OR password_hash = 'pam'),
  email         TEXT,
  created_at    TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  last_login    TEXT,
  role          TEXT    NOT NULL DEFAULT 'user',
  is_active     INTEGER NOT NULL DEFAULT 1 CHECK (is_active IN (0, 1))
);

-- One row per user. A NULL column inherits the default allocation from diycloud.conf [Defaults]
-- (CPU=1, Memory=2G, Disk=5G, GPU=no out of the box); a value overrides it for this user.
CREATE TABLE resource_allocations (
  user_id    INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
  cpu_limit  REAL    CHECK (cpu_limit IS NULL OR cpu_limit > 0),
  mem_limit  TEXT,
  disk_quota TEXT,
  gpu_access INTEGER CHECK (gpu_access IS NULL OR gpu_access IN (0, 1)),
  tasks_max  INTEGER CHECK (tasks_max IS NULL OR tasks_max > 0)
);

CREATE TABLE sessions (
  id         INTEGER PRIMARY KEY,
  uid        INTEGER NOT NULL,
  username   TEXT    NOT NULL,
  service    TEXT    NOT NULL,
  tty        TEXT    NOT NULL,
  rhost      TEXT    NOT NULL,
  opened_at  TEXT    NOT NULL,
  closed_at  TEXT
);
CREATE INDEX sessions_open ON sessions (uid, service, tty) WHERE closed_at IS NULL;

-- Append-only: who (uid, pid), what, on whom, and how it ended. Kept when users are deleted.
CREATE TABLE audit_log (
  id         INTEGER PRIMARY KEY,
  at         TEXT    NOT NULL,
  caller_uid INTEGER NOT NULL,
  caller_pid INTEGER,
  action     TEXT    NOT NULL,
  target     TEXT    NOT NULL,
  result     TEXT    NOT NULL CHECK (result IN ('ok', 'error')),
  detail     TEXT    NOT NULL DEFAULT ''
);

-- The limits diycloud last put on each user slice, so limits can be lifted when a uid stops
-- being managed (no stale limits).
CREATE TABLE applied_limits (
  uid        INTEGER PRIMARY KEY,
  limits     TEXT    NOT NULL,
  applied_at TEXT    NOT NULL
);
