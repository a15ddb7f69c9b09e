-- 003: crash safety for account changes, and UIDs that are never reused.
-- Protocol (src/app/create-user.ts, delete-user.ts, recover-intents.ts): write the intent, act on
-- the system (useradd/userdel), then commit the database change and drop the intent in one
-- transaction. At start the daemon repairs whatever an intent still describes.

CREATE TABLE intents (
  id         INTEGER PRIMARY KEY,
  op         TEXT    NOT NULL CHECK (op IN ('create', 'delete')),
  username   TEXT    NOT NULL,
  uid        INTEGER NOT NULL,
  detail     TEXT    NOT NULL DEFAULT '{}',
  started_at TEXT    NOT NULL
);

-- Every UID diycloud ever handed to useradd; rows are never deleted, so a UID is never reused.
CREATE TABLE uid_allocations (
  uid          INTEGER PRIMARY KEY,
  username     TEXT    NOT NULL,
  allocated_at TEXT    NOT NULL
);
INSERT OR IGNORE INTO uid_allocations (uid, username, allocated_at) SELECT uid, username, created_at FROM users;
