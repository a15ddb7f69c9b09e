-- 007: limit events (OOM kills, memory high, task limit, CPU throttling, disk quota), kept for
-- [Events] Retention and pruned by the daemon. at_usec: µs since the epoch (UTC).
CREATE TABLE limit_events (
  id       INTEGER PRIMARY KEY,
  uid      INTEGER NOT NULL,
  resource TEXT    NOT NULL CHECK (resource IN ('memory', 'cpu', 'tasks', 'disk')),
  kind     TEXT    NOT NULL CHECK (kind IN ('oom-kill', 'high', 'max', 'throttled', 'quota', 'grace')),
  count    INTEGER NOT NULL CHECK (count > 0),
  at_usec  INTEGER NOT NULL
);
-- GetUser reads a user's newest rows; pruning reads by time.
CREATE INDEX limit_events_uid_at ON limit_events (uid, at_usec);
CREATE INDEX limit_events_at ON limit_events (at_usec);
