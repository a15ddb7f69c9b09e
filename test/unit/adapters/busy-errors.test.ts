// Unit: a store whose database another connection holds locked fails with Busy at once, not an internal error or a wait.
import { describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase, SqliteStore } from '../../../src/adapters/store/sqlite-store';
import { withBusyErrors } from '../../../src/adapters/store/busy-errors';

describe('withBusyErrors over SqliteStore', () => {
  it('a write under another connection\'s write lock is Busy within milliseconds; reads and later writes work', () => {
    const dir = mkdtempSync(join(tmpdir(), 'diycloud-busy-'));
    const path = join(dir, 'd.db');
    const db = openDatabase(path, join(__dirname, '../../../schema'));
    const store = withBusyErrors(new SqliteStore(db));
    const other = new Database(path);
    try {
      other.exec('BEGIN IMMEDIATE');
      const t0 = Date.now();
      expect(() => store.setApplied(1000, { resource: 'cgroup', settings: { cpuQuotaPerSecUsec: 1 } as never }, 'now')).toThrow(expect.objectContaining({ code: 'Busy', message: expect.stringMatching(/locked by another program/) }));
      expect(Date.now() - t0).toBeLessThan(500);
      expect(store.userByName('nobody-here')).toBeNull(); // WAL: reads go on
      other.exec('COMMIT');
      store.setApplied(1000, { resource: 'cgroup', settings: { cpuQuotaPerSecUsec: 1 } as never }, 'now');
      expect(store.uidsWithApplied("cgroup")).toEqual([1000]);
      expect(() => store.openSession({ uid: 1, username: 'x', service: 's', tty: 't', rhost: '' }, 'now')).not.toThrow();
    } finally {
      other.close();
      db.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
