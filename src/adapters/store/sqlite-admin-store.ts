// AdminStore on SQLite: users, roles and their profiles, and the audit log.

import type Database from 'better-sqlite3';
import { DiycloudError } from '../../core/errors';
import type { AdminStore, AuditRow, Intent, RawOverrides, RoleRecord, ShadowExpiry, UserAllocationRow, UserKeyFilter, UserKeyQuery, UserKeyRow, UserRecord } from '../../core/ports';
import { USER_SELECT, type UserRow } from './sqlite-store';

const COLUMNS: Record<keyof RawOverrides, string> = { cpu: 'cpu_limit', memory: 'mem_limit', disk: 'disk_quota', gpu: 'gpus', tasks: 'tasks_max' };

interface RoleRow {
  name: string;
  builtin: number;
  unix_group: string | null;
  cpu_limit: number | null;
  mem_limit: string | null;
  disk_quota: string | null;
  gpus: string | null;
  tasks_max: number | null;
}

export class SqliteAdminStore implements AdminStore {
  constructor(private readonly db: Database.Database) {}

  /**
   * listingRevision: total_changes() counts every row this connection changed (any store, any
   * statement, rolled back or not) and data_version moves when another connection commits; ended
   * counts transactions of this store that changed rows, so an answer read inside one that rolled
   * back is never reused after it. Coarse on purpose: a sampler tick or a login moves it too, which
   * costs a recomputation, never a stale answer.
   */
  private revisionStatement: Database.Statement | null = null;
  private ended = 0;
  /** countUsers' and hasNonAsciiText's answers at memoRevision (a users page asks both at every call). */
  private readonly memo = new Map<string, number | boolean>();
  private memoRevision = '';

  listingRevision(): string {
    const [changes, version] = this.counters();
    return `${changes}:${version}:${this.ended}`;
  }

  /** [total_changes(), data_version] of this connection. */
  private counters(): [number, number] {
    this.revisionStatement ??= this.db.prepare('SELECT total_changes(), data_version FROM pragma_data_version').raw(true);
    return this.revisionStatement.get() as [number, number];
  }

  private memoized<T extends number | boolean>(key: string, read: () => T): T {
    const revision = this.listingRevision();
    if (revision !== this.memoRevision) {
      this.memo.clear();
      this.memoRevision = revision;
    }
    const kept = this.memo.get(key);
    if (kept !== undefined) return kept as T;
    const v = read();
    if (this.memo.size >= 64) this.memo.clear();
    this.memo.set(key, v);
    return v;
  }

  /** One prepared statement per filter shape (no role/enabled, either, both), made on first use. */
  private readonly listStatements = new Map<string, Database.Statement>();
  private readonly statements = new Map<string, Database.Statement>();

  /**
   * Rows come back as arrays (better-sqlite3's raw mode) and become records here: with 10,000 users
   * that halves the listing's cost against one object per row plus a copy into the record.
   */
  listUsers(filter: { role?: string; enabled?: boolean }): UserRecord[] {
    const where: string[] = [];
    const args: unknown[] = [];
    if (filter.role !== undefined) (where.push('u.role = ?'), args.push(filter.role));
    if (filter.enabled !== undefined) (where.push('u.is_active = ?'), args.push(filter.enabled ? 1 : 0));
    const key = where.join(' AND ');
    let st = this.listStatements.get(key);
    if (!st) this.listStatements.set(key, (st = this.db.prepare(`${USER_SELECT}${key ? ' WHERE ' + key : ''} ORDER BY u.username`).raw(true)));
    return (st.all(...args) as RawUserRow[]).map(fromRawRow);
  }

  /**
   * QueryUsers' listing: the columns its filters and sorts read (raw rows), ordered and, with a
   * page, cut in SQL (by name, the users' UNIQUE index on username gives the order without a sort).
   */
  listUserKeys(q: UserKeyQuery): UserKeyRow[] {
    return (this.keyRows('u.uid, u.username, u.email, u.role, u.is_active', q) as RawKeyRow[]).map((r) => ({
      uid: r[0], username: r[1], email: r[2], role: r[3], enabled: r[4] === 1, overrides: { cpu: r[5], memory: r[6], disk: r[7], gpu: r[8], tasks: r[9] },
    }));
  }

  listUserAllocations(q: UserKeyQuery): UserAllocationRow[] {
    return (this.keyRows('u.uid, u.role', q) as RawAllocationRow[]).map((r) => ({ uid: r[0], role: r[1], overrides: { cpu: r[2], memory: r[3], disk: r[4], gpu: r[5], tasks: r[6] } }));
  }

  private keyRows(columns: string, q: UserKeyQuery): unknown[] {
    const { where, args } = whereOf(q);
    const dir = q.desc ? ' DESC' : '';
    const order = (q.sort === 'name' ? ['u.username', 'u.uid'] : [q.sort === 'uid' ? 'u.uid' : 'u.role', 'u.username', 'u.uid']).map((c) => c + dir).join(', ');
    const sql = `SELECT ${columns}, a.cpu_limit, a.mem_limit, a.disk_quota, a.gpus, a.tasks_max
      FROM users u LEFT JOIN resource_allocations a ON a.user_id = u.id${where} ORDER BY ${order}${q.page ? ' LIMIT ? OFFSET ?' : ''}`;
    return this.statement(sql).all(...args, ...(q.page ? [q.page.limit, q.page.offset] : []));
  }

  countUsers(filter: UserKeyFilter): number {
    const { where, args } = whereOf(filter);
    return this.memoized(`count ${where} ${JSON.stringify(args)}`, () => (this.statement(`SELECT count(*) FROM users u${where}`).all(...args) as [number][])[0][0]);
  }

  hasNonAsciiText(filter: UserKeyFilter): boolean {
    const { where, args } = whereOf(filter, "(u.username || coalesce(u.email, '')) GLOB '*[^ -~]*'");
    return this.memoized(`ascii ${where} ${JSON.stringify(args)}`, () => (this.statement(`SELECT EXISTS (SELECT 1 FROM users u${where})`).all(...args) as [number][])[0][0] === 1);
  }

  usersByUids(uids: readonly number[]): UserRecord[] {
    if (uids.length === 0) return [];
    return (this.statement(`${USER_SELECT} WHERE u.uid IN (SELECT value FROM json_each(?))`).all(JSON.stringify(uids)) as RawUserRow[]).map(fromRawRow);
  }

  /** A raw-mode statement per SQL text, prepared on first use (a handful of shapes). */
  private statement(sql: string): Database.Statement {
    let st = this.statements.get(sql);
    if (!st) this.statements.set(sql, (st = this.db.prepare(sql).raw(true)));
    return st;
  }

  addUser(u: { name: string; uid: number; role: string; email: string | null }, at: string): void {
    try {
      this.db.transaction(() => {
        const id = this.db.prepare('INSERT INTO users (username, uid, role, email, created_at) VALUES (?, ?, ?, ?, ?)').run(u.name, u.uid, u.role, u.email, at).lastInsertRowid;
        this.db.prepare('INSERT INTO resource_allocations (user_id) VALUES (?)').run(id);
        // Adopted UIDs count as allocated too, so a deleted user's UID is never handed out again.
        this.db.prepare('INSERT OR IGNORE INTO uid_allocations (uid, username, allocated_at) VALUES (?, ?, ?)').run(u.uid, u.name, at);
      })();
    } catch (e) {
      if ((e as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') throw new DiycloudError('UserExists', `user "${u.name}" (uid ${u.uid}) is already managed by diycloud`, { cause: e });
      throw e;
    }
  }

  setRole(uid: number, role: string): void {
    this.db.prepare('UPDATE users SET role = ? WHERE uid = ?').run(role, uid);
  }

  setEnabled(uid: number, enabled: boolean): void {
    this.db.prepare('UPDATE users SET is_active = ? WHERE uid = ?').run(enabled ? 1 : 0, uid);
  }

  setEmail(uid: number, email: string | null): void {
    this.db.prepare('UPDATE users SET email = ? WHERE uid = ?').run(email, uid);
  }

  setUserLimits(uid: number, patch: Partial<RawOverrides>): void {
    const keys = Object.keys(patch) as (keyof RawOverrides)[];
    if (keys.length === 0) return;
    const sets = keys.map((k) => `${COLUMNS[k]} = ?`).join(', ');
    this.db.transaction(() => {
      this.db.prepare('INSERT OR IGNORE INTO resource_allocations (user_id) SELECT id FROM users WHERE uid = ?').run(uid);
      this.db.prepare(`UPDATE resource_allocations SET ${sets} WHERE user_id = (SELECT id FROM users WHERE uid = ?)`).run(...keys.map((k) => toColumn(patch[k])), uid);
    })();
  }

  resetUserLimits(uid: number): void {
    this.db.prepare(`UPDATE resource_allocations SET cpu_limit = NULL, mem_limit = NULL, disk_quota = NULL, gpus = NULL, tasks_max = NULL
      WHERE user_id = (SELECT id FROM users WHERE uid = ?)`).run(uid);
  }

  /** Prepared once: every login reads its user's role (compiling the statement each time was most of role()'s cost). */
  private roleStatement: Database.Statement | null = null;

  role(name: string): RoleRecord | null {
    this.roleStatement ??= this.db.prepare('SELECT * FROM roles WHERE name = ?');
    return toRole(this.roleStatement.get(name) as RoleRow | undefined);
  }

  listRoles(): RoleRecord[] {
    return (this.db.prepare('SELECT * FROM roles ORDER BY builtin DESC, name').all() as RoleRow[]).map((r) => toRole(r)!);
  }

  setRoleProfile(name: string, patch: Partial<RawOverrides>): void {
    const keys = Object.keys(patch) as (keyof RawOverrides)[];
    this.db.transaction(() => {
      this.db.prepare('INSERT OR IGNORE INTO roles (name) VALUES (?)').run(name);
      if (keys.length) this.db.prepare(`UPDATE roles SET ${keys.map((k) => `${COLUMNS[k]} = ?`).join(', ')} WHERE name = ?`).run(...keys.map((k) => toColumn(patch[k])), name);
    })();
  }

  auditLog(filter: { limit: number; target?: string }): AuditRow[] {
    const rows = (filter.target === undefined
      ? this.db.prepare('SELECT * FROM audit_log ORDER BY id DESC LIMIT ?').all(filter.limit)
      : this.db.prepare('SELECT * FROM audit_log WHERE target = ? ORDER BY id DESC LIMIT ?').all(filter.target, filter.limit)) as {
      id: number; at: string; caller_uid: number; caller_pid: number | null; action: string; target: string; result: 'ok' | 'error'; detail: string;
    }[];
    return rows.map((r) => ({ id: r.id, at: r.at, callerUid: r.caller_uid, callerPid: r.caller_pid, action: r.action, target: r.target, result: r.result, detail: r.detail }));
  }

  transaction<T>(fn: () => T): T {
    const before = this.changes();
    try {
      return this.db.transaction(fn)();
    } finally {
      if (this.changes() !== before) this.ended++;
    }
  }

  private changes(): number {
    return this.counters()[0];
  }

  beginCreateIntent(username: string, range: { min: number; max: number }, at: string): { id: number; uid: number } | null {
    // Synchronous from the pick to the insert, in one transaction: no other creation can come in between.
    return this.db.transaction(() => {
      const row = this.db.prepare('SELECT max(uid) AS m FROM (SELECT uid FROM uid_allocations WHERE uid >= ? UNION ALL SELECT uid FROM users WHERE uid >= ?)').get(range.min, range.min) as { m: number | null };
      const uid = Math.max(range.min, (row.m ?? range.min - 1) + 1);
      if (uid > range.max) return null;
      this.db.prepare('INSERT INTO uid_allocations (uid, username, allocated_at) VALUES (?, ?, ?)').run(uid, username, at);
      const id = Number(this.db.prepare("INSERT INTO intents (op, username, uid, detail, started_at) VALUES ('create', ?, ?, '{}', ?)").run(username, uid, at).lastInsertRowid);
      return { id, uid };
    })();
  }

  beginDeleteIntent(username: string, uid: number, detail: Record<string, unknown>, at: string): number {
    return Number(this.db.prepare("INSERT INTO intents (op, username, uid, detail, started_at) VALUES ('delete', ?, ?, ?, ?)").run(username, uid, JSON.stringify(detail), at).lastInsertRowid);
  }

  savedExpiry(uid: number): ShadowExpiry | null {
    const row = this.db.prepare('SELECT saved_expiry FROM users WHERE uid = ?').get(uid) as { saved_expiry: string | null } | undefined;
    const v = row?.saved_expiry ?? null;
    if (v === null) return null;
    return v === 'never' ? 'never' : /^[0-9]{1,9}$/.test(v) ? { days: Number(v) } : null;
  }

  setSavedExpiry(uid: number, expiry: ShadowExpiry | null): void {
    const v = expiry === null ? null : expiry === 'never' ? 'never' : String(expiry.days);
    this.db.prepare('UPDATE users SET saved_expiry = ? WHERE uid = ?').run(v, uid);
  }

  endIntent(id: number): void {
    this.db.prepare('DELETE FROM intents WHERE id = ?').run(id);
  }

  intents(): Intent[] {
    return (this.db.prepare('SELECT id, op, username, uid, detail FROM intents ORDER BY id').all() as { id: number; op: 'create' | 'delete'; username: string; uid: number; detail: string }[]).map((r) => ({
      ...r,
      detail: JSON.parse(r.detail) as Record<string, unknown>,
    }));
  }

  deleteUser(uid: number): void {
    this.db.prepare('DELETE FROM users WHERE uid = ?').run(uid);
  }
}

/** The filter as SQL on users u (SQLite's lower() folds ASCII only: see AdminStore.hasNonAsciiText). */
function whereOf(f: UserKeyFilter, ...extra: string[]): { where: string; args: unknown[] } {
  const where: string[] = [...extra];
  const args: unknown[] = [];
  if (f.role !== undefined) (where.push('u.role = ?'), args.push(f.role));
  if (f.enabled !== undefined) (where.push('u.is_active = ?'), args.push(f.enabled ? 1 : 0));
  if (f.search !== undefined) (where.push("(instr(lower(u.username), ?) > 0 OR instr(lower(coalesce(u.email, '')), ?) > 0)"), args.push(f.search, f.search));
  return { where: where.length ? ' WHERE ' + where.join(' AND ') : '', args };
}

/** A row of listUserKeys' statement in raw mode. */
type RawKeyRow = [number, string, string | null, string, number, number | null, string | null, string | null, string | null, number | null];

/** A row of listUserAllocations' statement in raw mode. */
type RawAllocationRow = [number, string, number | null, string | null, string | null, string | null, number | null];

/** A row of USER_SELECT in raw mode: its columns in the order USER_SELECT names them. */
type RawUserRow = [UserRow['id'], UserRow['username'], UserRow['uid'], UserRow['email'], UserRow['role'], UserRow['is_active'], UserRow['created_at'], UserRow['last_login'],
  UserRow['cpu_limit'], UserRow['mem_limit'], UserRow['disk_quota'], UserRow['gpus'], UserRow['tasks_max']];

/** The same record as toRecord (sqlite-store.ts) makes from the named row; a test holds the two together. */
function fromRawRow(r: RawUserRow): UserRecord {
  return {
    id: r[0], username: r[1], uid: r[2], email: r[3], role: r[4], enabled: r[5] === 1, createdAt: r[6], lastLogin: r[7],
    overrides: { cpu: r[8], memory: r[9], disk: r[10], gpu: r[11], tasks: r[12] },
  };
}

function toColumn(v: unknown): unknown {
  return typeof v === 'boolean' ? (v ? 1 : 0) : v ?? null;
}

function toRole(r: RoleRow | undefined): RoleRecord | null {
  if (!r) return null;
  return {
    name: r.name,
    builtin: r.builtin === 1,
    unixGroup: r.unix_group,
    profile: { cpu: r.cpu_limit, memory: r.mem_limit, disk: r.disk_quota, gpu: r.gpus, tasks: r.tasks_max },
  };
}
