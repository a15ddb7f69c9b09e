-- 009: usage history of live users (src/core/usage-history.ts), one table per tier, pruned by the daemon:
-- usage_raw every sample (kept 1 h), usage_5min and usage_30min bucket averages (kept 1 day, 1 week).
-- t: seconds since the epoch (UTC; a bucket's start); cpu_centi: CPU in hundredths of a percent
-- (10000 = one core); mem_bytes; disk_bytes (NULL: no quota path reports usage); tasks (NULL: unknown).
-- WITHOUT ROWID with the key (uid, t): a user's range is one B-tree range, with no second index.
CREATE TABLE usage_raw (
  uid        INTEGER NOT NULL,
  t          INTEGER NOT NULL,
  cpu_centi  INTEGER NOT NULL,
  mem_bytes  INTEGER NOT NULL,
  disk_bytes INTEGER,
  tasks      INTEGER,
  PRIMARY KEY (uid, t)
) WITHOUT ROWID;
CREATE TABLE usage_5min (
  uid        INTEGER NOT NULL,
  t          INTEGER NOT NULL,
  cpu_centi  INTEGER NOT NULL,
  mem_bytes  INTEGER NOT NULL,
  disk_bytes INTEGER,
  tasks      INTEGER,
  PRIMARY KEY (uid, t)
) WITHOUT ROWID;
CREATE TABLE usage_30min (
  uid        INTEGER NOT NULL,
  t          INTEGER NOT NULL,
  cpu_centi  INTEGER NOT NULL,
  mem_bytes  INTEGER NOT NULL,
  disk_bytes INTEGER,
  tasks      INTEGER,
  PRIMARY KEY (uid, t)
) WITHOUT ROWID;
-- ListSessions: a user's newest sessions without scanning every login ever recorded.
CREATE INDEX sessions_uid ON sessions (uid, id);
