// Store on SQLite (better-sqlite3): WAL, foreign keys, no lock waits, durable commits (session records: see relaxed()).

import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { AuditEntry, LoginSession, SessionEvent, Store, UserRecord } from '../../core/ports';
import type { CgroupSettings, DiskSettings } from '../../core/enforcement-plan';
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
  gpus: string | null;
  tasks_max: number | null;
}

export const USER_SELECT = `SELECT u.id, u.username, u.uid, u.email, u.role, u.is_active, u.created_at, u.last_login,
  a.cpu_limit, a.mem_limit, a.disk_quota, a.gpus, a.tasks_max
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
      applied: db.prepare('SELECT value FROM applied WHERE uid = ? AND resource = ?'),
      setApplied: db.prepare(`INSERT INTO applied (uid, resource, value, applied_at) VALUES (?, ?, ?, ?)
        ON CONFLICT (uid, resource) DO UPDATE SET value = excluded.value, applied_at = excluded.applied_at WHERE value != excluded.value`),
      forgetApplied: db.prepare('DELETE FROM applied WHERE uid = ? AND resource = ?'),
      forgetAllApplied: db.prepare('DELETE FROM applied WHERE uid = ?'),
      appliedUids: {
        cgroup: db.prepare("SELECT uid FROM applied WHERE resource = 'cgroup' ORDER BY uid"),
        disk: db.prepare("SELECT DISTINCT uid FROM applied WHERE resource GLOB 'disk:*' ORDER BY uid"),
        any: db.prepare('SELECT DISTINCT uid FROM applied ORDER BY uid'),
      },
      audit: db.prepare('INSERT INTO audit_log (at, caller_uid, caller_pid, action, target, result, detail) VALUES (?, ?, ?, ?, ?, ?, ?)'),
    };
  }

  userByName(name: string): UserRecord | null {
    return toRecord(this.q.byName.get(name) as UserRow | undefined);
  }

  userByUid(uid: number): UserRecord | null {
    return toRecord(this.q.byUid.get(uid) as UserRow | undefined);
  }

  /**
   * A commit without its own fsync (synchronous=NORMAL for this one commit, in WAL mode): for the
   * session records a login writes. With FULL each login's commit waited for the disk on the
   * event loop (1.4 to 2.1 ms on this project's VM), so logins queued behind each other's fsync;
   * now a login costs no disk wait. What NORMAL risks is only a power loss (not a crash of the
   * daemon) losing the last session rows before the next FULL commit or checkpoint, which writes
   * them out; logind still knows the live sessions, and the daemon lists them at start. Every
   * other write (users, allocations, roles, audit) stays FULL.
   */
  private relaxed<T>(fn: () => T): T {
    // Not a statement prepared once: SQLite applies PRAGMA synchronous when it compiles the
    // statement, so running a prepared one again changes nothing (the durability test saw it).
    this.db.pragma('synchronous = NORMAL');
    try {
      return fn();
    } finally {
      this.db.pragma('synchronous = FULL');
    }
  }

  openSession(e: SessionEvent, at: string): void {
    this.relaxed(() => this.db.transaction(() => {
      this.q.openSession.run(e.uid, e.username, e.service, e.tty, e.rhost, at);
      this.q.lastLogin.run(at, e.uid);
    })());
  }

  closeSession(e: SessionEvent, at: string): boolean {
    return this.relaxed(() => this.q.closeSession.run(at, e.uid, e.service, e.tty).changes > 0);
  }

  closeEndedSession(s: LoginSession, at: string): boolean {
    return this.relaxed(() => this.q.closeEnded.run(at, s.uid, s.service, s.tty).changes > 0);
  }

  closeAllSessions(uid: number, at: string): number {
    return this.q.closeAll.run(at, uid).changes;
  }

  appliedCgroup(uid: number): CgroupSettings | null {
    const row = this.q.applied.get(uid, 'cgroup') as { value: string } | undefined;
    return row ? (JSON.parse(row.value) as CgroupSettings) : null;
  }

  appliedDisk(uid: number, path: string): DiskSettings | null {
    const row = this.q.applied.get(uid, `disk:${path}`) as { value: string } | undefined;
    return row ? (JSON.parse(row.value) as DiskSettings) : null;
  }

  setApplied(uid: number, a: { resource: 'cgroup'; settings: CgroupSettings } | { resource: 'disk'; settings: DiskSettings }, at: string): void {
    const resource = a.resource === 'cgroup' ? 'cgroup' : `disk:${a.settings.path}`;
    const value = JSON.stringify(a.settings);
    // Every login records what its cgroup carries, nearly always the same: a read costs half a write
    // transaction that changes nothing (and takes no write lock).
    if ((this.q.applied.get(uid, resource) as { value: string } | undefined)?.value === value) return;
    this.q.setApplied.run(uid, resource, value, at);
  }

  forgetApplied(uid: number, resource?: 'cgroup' | { disk: string }): void {
    if (resource === undefined) this.q.forgetAllApplied.run(uid);
    else this.q.forgetApplied.run(uid, resource === 'cgroup' ? 'cgroup' : `disk:${resource.disk}`);
  }

  uidsWithApplied(resource?: 'cgroup' | 'disk'): number[] {
    return (this.q.appliedUids[resource ?? 'any'].all() as { uid: number }[]).map((r) => r.uid);
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
      gpu: r.gpus,
      tasks: r.tasks_max,
    },
  };
}
