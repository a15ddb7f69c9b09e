-- 010: the "request more" queue (src/core/limit-request.ts). A plain user files a request for one
-- resource; an operator with manage-limits approves (the limit is applied through SetLimits' path) or denies.
-- uid/username: the requester (username kept so a request stays readable after the account is gone).
-- amount: the canonical limits value as stored by SetLimits ("4", "8G", "all"). state: pending | approved | denied.
-- filed_at/decided_at: ISO 8601 UTC. decided_by: the decider's uid. applied: 1 once the approved limit was stored.
CREATE TABLE limit_requests (
  id              INTEGER PRIMARY KEY AUTOINCREMENT,
  uid             INTEGER NOT NULL,
  username        TEXT NOT NULL,
  resource        TEXT NOT NULL CHECK (resource IN ('cpu', 'memory', 'disk', 'gpu', 'tasks')),
  amount          TEXT NOT NULL,
  reason          TEXT NOT NULL,
  state           TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'approved', 'denied')),
  filed_at        TEXT NOT NULL,
  decided_at      TEXT,
  decided_by      INTEGER,
  decision_reason TEXT,
  applied         INTEGER NOT NULL DEFAULT 0
);
-- A user's own requests, and the pending count checked on each FileRequest.
CREATE INDEX limit_requests_uid ON limit_requests (uid, state, id);
CREATE INDEX limit_requests_state ON limit_requests (state, id);
