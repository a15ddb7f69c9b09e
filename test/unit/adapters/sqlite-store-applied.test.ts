// Unit: what was applied, per uid and resource: a repeat of the same settings writes nothing, a change is recorded with its time.
import { describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase, SqliteStore } from '../../../src/adapters/store/sqlite-store';

describe('SqliteStore applied settings', () => {
  it('records a change, leaves an identical repeat unwritten, and keys cgroup and each disk path apart', () => {
    const dir = mkdtempSync(join(tmpdir(), 'diycloud-applied-'));
    const db = openDatabase(join(dir, 'd.db'), join(__dirname, '../../../schema'));
    const store = new SqliteStore(db);
    const at = (resource: string) => db.prepare('SELECT applied_at FROM applied WHERE uid = ? AND resource = ?').pluck().get(2001, resource);
    try {
      const half = { cpuQuotaPerSecUsec: 500_000, memoryMaxBytes: 512 * 2 ** 20 };
      store.setApplied(2001, { resource: 'cgroup', settings: half }, 't1');
      const changes = db.prepare('SELECT total_changes()').pluck();
      const before = changes.get();
      store.setApplied(2001, { resource: 'cgroup', settings: { ...half } }, 't2');
      expect(changes.get()).toBe(before); // no row written
      expect(at('cgroup')).toBe('t1');
      store.setApplied(2001, { resource: 'cgroup', settings: { ...half, memoryMaxBytes: 2 ** 30 } }, 't3');
      expect(store.appliedCgroup(2001)).toEqual({ ...half, memoryMaxBytes: 2 ** 30 });
      expect(at('cgroup')).toBe('t3');
      store.setApplied(2001, { resource: 'disk', settings: { path: '/home', diskSoftBytes: 1, diskHardBytes: 2 } }, 't4');
      store.setApplied(2001, { resource: 'disk', settings: { path: '/srv', diskSoftBytes: 1, diskHardBytes: 2 } }, 't5');
      expect([at('disk:/home'), at('disk:/srv'), at('cgroup')]).toEqual(['t4', 't5', 't3']);
      expect(store.appliedDisk(2001, '/home')).toEqual({ path: '/home', diskSoftBytes: 1, diskHardBytes: 2 });
    } finally {
      db.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
