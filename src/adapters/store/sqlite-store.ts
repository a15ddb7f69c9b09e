// Store on SQLite (better-sqlite3): WAL, foreign keys, no lock waits, durable commits.

import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { AuditEntry, LoginSession, SessionEvent, Store, UserRecord } from '../../core/ports';
import type { SliceLimits } from '../../core/limits-plan';
import { loadMigrations, migrate } from './migrate';

export interface UserRow {
  id: number;
  username: string;
  uid: number;
  email: string | null;
  role: string;
  is_active: number;
  created_at: string;
  last_login: string | null;
  cpu_limit: number | null;
  mem_limit: string | null;
  disk_quota: string | null;
  gpu_access: number | null;
  tasks_max: number | null;
}

export const USER_SELECT = `SELECT u.id, u.username, u.uid, u.email, u.role, u.is_active, u.created_at, u.last_login,
  a.cpu_limit, a.mem_limit, a.disk_quota, a.gpu_access, a.tasks_max
  FROM users u LEFT JOIN resource_allocations a ON a.user_id = u.id`;

/** Opens (creating if needed) the database with the settings every connection must have. */
export function openDatabase(path: string, schemaDir: string): Database.Database {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  // FULL: a commit is on disk before the caller is told it succeeded (WAL's NORMAL would not be).
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  // No waiting for a lock: better-sqlite3 waits synchronously, on the event loop, so a program
  // holding the write lock would freeze every call, logins included. The daemon is the only
  // writer; a hand edit that holds the lock makes our writes fail at once with Busy instead.
  db.pragma('busy_timeout = 0');
  migrate(db, loadMigrations(schemaDir));
  return db;
}

export class SqliteStore implements Store {
  private readonly q;

  constructor(private readonly db: Database.Database) {
    this.q = {
      byName: db.prepare(`${USER_SELECT} WHERE u.username = ?`),
      byUid: db.prepare(`${USER_SELECT} WHERE u.uid = ?`),
      openSession: db.prepare('INSERT INTO sessions (uid, username, service, tty, rhost, opened_at) VALUES (?, ?, ?, ?, ?, ?)'),
      lastLogin: db.prepare('UPDATE users SET last_login = ? WHERE uid = ?'),
      closeSession: db.prepare(`UPDATE sessions SET closed_at = ? WHERE id = (SELECT id FROM sessions
        WHERE uid = ? AND service = ? AND tty = ? AND closed_at IS NULL ORDER BY id DESC LIMIT 1)`),
      closeEnded: db.prepare(`UPDATE sessions SET closed_at = ? WHERE id = (SELECT id FROM sessions
        WHERE uid = ? AND service = ? AND closed_at IS NULL ORDER BY (tty = ?) DESC, id DESC LIMIT 1)`),
      closeAll: db.prepare('UPDATE sessions SET closed_at = ? WHERE uid = ? AND closed_at IS NULL'),
      applied: db.prepare('SELECT limits FROM applied_limits WHERE uid = ?'),
      setApplied: db.prepare(`INSERT INTO applied_limits (uid, limits, applied_at) VALUES (?, ?, ?)
        ON CONFLICT (uid) DO UPDATE SET limits = excluded.limits, applied_at = excluded.applied_at WHERE limits != excluded.limits`),
      forgetApplied: db.prepare('DELETE FROM applied_limits WHERE uid = ?'),
      appliedUids: db.prepare('SELECT uid FROM applied_limits ORDER BY uid'),
      audit: db.prepare('INSERT INTO audit_log (at, caller_uid, caller_pid, action, target, result, detail) VALUES (?, ?, ?, ?, ?, ?, ?)'),
    };
  }

  userByName(name: string): UserRecord | null {
    return toRecord(this.q.byName.get(name) as UserRow | undefined);
  }

  userByUid(uid: number): UserRecord | null {
    return toRecord(this.q.byUid.get(uid) as UserRow | undefined);
  }

  openSession(e: SessionEvent, at: string): void {
    this.db.transaction(() => {
      this.q.openSession.run(e.uid, e.username, e.service, e.tty, e.rhost, at);
      this.q.lastLogin.run(at, e.uid);
    })();
  }

  closeSession(e: SessionEvent, at: string): boolean {
    return this.q.closeSession.run(at, e.uid, e.service, e.tty).changes > 0;
  }

  closeEndedSession(s: LoginSession, at: string): boolean {
    return this.q.closeEnded.run(at, s.uid, s.service, s.tty).changes > 0;
  }

  closeAllSessions(uid: number, at: string): number {
    return this.q.closeAll.run(at, uid).changes;
  }

  appliedLimits(uid: number): SliceLimits | null {
    const row = this.q.applied.get(uid) as { limits: string } | undefined;
    return row ? (JSON.parse(row.limits) as SliceLimits) : null;
  }

  setAppliedLimits(uid: number, limits: SliceLimits, at: string): void {
    this.q.setApplied.run(uid, JSON.stringify(limits), at);
  }

  forgetAppliedLimits(uid: number): void {
    this.q.forgetApplied.run(uid);
  }

  uidsWithAppliedLimits(): number[] {
    return (this.q.appliedUids.all() as { uid: number }[]).map((r) => r.uid);
  }

  audit(e: AuditEntry, at: string): void {
    this.q.audit.run(at, e.callerUid, e.callerPid, e.action, e.target, e.result, e.detail);
  }

  close(): void {
    this.db.close();
  }
}

export function toRecord(r: UserRow | undefined): UserRecord | null {
  if (!r) return null;
  return {
    id: r.id,
    username: r.username,
    uid: r.uid,
    email: r.email,
    role: r.role,
    enabled: r.is_active === 1,
    createdAt: r.created_at,
    lastLogin: r.last_login,
    overrides: {
      cpu: r.cpu_limit,
      memory: r.mem_limit,
      disk: r.disk_quota,
      gpu: r.gpu_access === null ? null : r.gpu_access === 1,
      tasks: r.tasks_max,
    },
  };
}
