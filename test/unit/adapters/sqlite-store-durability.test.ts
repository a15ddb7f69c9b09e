// Unit: session records commit without their own fsync (synchronous=NORMAL for that commit only); every other write stays FULL.
import { describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase, SqliteStore } from '../../../src/adapters/store/sqlite-store';

const FULL = 2;
const NORMAL = 1;

describe('SqliteStore durability', () => {
  it('opening and closing a session writes the rows under NORMAL and leaves the connection FULL, also when the write fails', () => {
    const dir = mkdtempSync(join(tmpdir(), 'diycloud-sync-'));
    const db = openDatabase(join(dir, 'd.db'), join(__dirname, '../../../schema'));
    const store = new SqliteStore(db);
    const seen: number[] = [];
    // record the connection's setting as each session statement is about to run (its prepared statements, wrapped)
    const q = (store as unknown as { q: Record<string, { run: (...a: unknown[]) => unknown }> }).q;
    for (const name of ['openSession', 'closeSession', 'closeEnded']) {
      const st = q[name];
      const run = st.run.bind(st);
      q[name] = { ...st, run: (...a: unknown[]) => (seen.push(db.pragma('synchronous', { simple: true }) as number), run(...a)) } as never;
    }
    try {
      expect(db.pragma('synchronous', { simple: true })).toBe(FULL);
      const ev = { uid: 2001, username: 'alice', service: 'sshd', tty: 'ssh', rhost: '' };
      store.openSession(ev, '2026-12-02T00:00:00.000Z');
      expect(store.closeSession(ev, '2026-12-02T00:01:00.000Z')).toBe(true);
      store.openSession(ev, '2026-12-02T00:02:00.000Z');
      expect(store.closeEndedSession({ ...ev, id: 'x' } as never, '2026-12-02T00:03:00.000Z')).toBe(true);
      expect(seen).toEqual([NORMAL, NORMAL, NORMAL, NORMAL]);
      expect(db.pragma('synchronous', { simple: true })).toBe(FULL);
      expect(db.prepare('SELECT count(*) AS n FROM sessions WHERE closed_at IS NOT NULL').get()).toEqual({ n: 2 });
      // a failing session write (the trigger throws) still leaves FULL behind
      db.exec("CREATE TEMP TRIGGER boom AFTER INSERT ON sessions BEGIN SELECT RAISE(ABORT, 'boom'); END;");
      expect(() => store.openSession(ev, '2026-12-02T00:04:00.000Z')).toThrow(/boom/);
      expect(db.pragma('synchronous', { simple: true })).toBe(FULL);
      // admin writes are FULL
      store.setApplied(2001, { resource: 'cgroup', settings: { cpuQuotaPerSecUsec: 1 } as never }, 'now');
      expect(db.pragma('synchronous', { simple: true })).toBe(FULL);
    } finally {
      db.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
