// SqliteAdminStore's QueryUsers reads: listUserKeys (order, ties, page, filters), countUsers, hasNonAsciiText, usersByUids.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../../../src/adapters/store/sqlite-store';
import { SqliteAdminStore } from '../../../src/adapters/store/sqlite-admin-store';

const SCHEMA = join(__dirname, '..', '..', '..', 'schema');

function fixture() {
  const db = openDatabase(':memory:', SCHEMA);
  const admin = new SqliteAdminStore(db);
  admin.setRoleProfile('staff', {});
  const at = '2026-01-01T00:00:00.000Z';
  admin.addUser({ name: 'carol', uid: 3003, role: 'staff', email: 'Carol@Example.org' }, at);
  admin.addUser({ name: 'alice', uid: 3005, role: 'user', email: null }, at);
  admin.addUser({ name: 'bob', uid: 3002, role: 'staff', email: 'bob@example.net' }, at);
  admin.addUser({ name: 'erin', uid: 3001, role: 'admin', email: null }, at);
  admin.setUserLimits(3005, { cpu: 1.5, memory: '2G', gpu: '0,2', tasks: 512 });
  admin.setEnabled(3002, false);
  // A user row without an allocation row (LEFT JOIN: every override null).
  db.prepare("INSERT INTO users (username, uid, role, created_at) VALUES ('dave', 3004, 'user', ?)").run(at);
  return { db, admin };
}

describe('SqliteAdminStore.listUserKeys', () => {
  it('orders by name, uid or role (ties by name, then uid), all ascending or all descending', () => {
    const { admin } = fixture();
    const names = (sort: 'name' | 'uid' | 'role', desc: boolean) => admin.listUserKeys({ sort, desc }).map((k) => k.username);
    expect(names('name', false)).toEqual(['alice', 'bob', 'carol', 'dave', 'erin']);
    expect(names('name', true)).toEqual(['erin', 'dave', 'carol', 'bob', 'alice']);
    expect(names('uid', false)).toEqual(['erin', 'bob', 'carol', 'dave', 'alice']);
    expect(names('uid', true)).toEqual(['alice', 'dave', 'carol', 'bob', 'erin']);
    expect(names('role', false)).toEqual(['erin', 'bob', 'carol', 'alice', 'dave']);
    expect(names('role', true)).toEqual(['dave', 'alice', 'carol', 'bob', 'erin']);
  });

  it('gives the records\' fields, less id and dates', () => {
    const { admin } = fixture();
    const byUid = new Map(admin.listUsers({}).map((r) => [r.uid, r]));
    for (const k of admin.listUserKeys({ sort: 'name', desc: false })) {
      const r = byUid.get(k.uid)!;
      expect(k).toEqual({ uid: r.uid, username: r.username, email: r.email, role: r.role, enabled: r.enabled, overrides: r.overrides });
    }
    expect(admin.listUserKeys({ sort: 'name', desc: false })[0].overrides).toEqual({ cpu: 1.5, memory: '2G', disk: null, gpu: '0,2', tasks: 512 });
  });

  it('filters by role, enabled and search (lowercased name or e-mail), and cuts a page; countUsers counts the same', () => {
    const { admin } = fixture();
    const names = (f: { role?: string; enabled?: boolean; search?: string }) => admin.listUserKeys({ ...f, sort: 'name', desc: false }).map((k) => k.username);
    const cases: [{ role?: string; enabled?: boolean; search?: string }, string[]][] = [
      [{ role: 'staff' }, ['bob', 'carol']],
      [{ enabled: false }, ['bob']],
      [{ role: 'staff', enabled: true }, ['carol']],
      [{ search: 'example.org' }, ['carol']], // Carol@Example.org: lowercased
      [{ search: 'example' }, ['bob', 'carol']],
      [{ search: 'a' }, ['alice', 'bob', 'carol', 'dave']], // bob: example.net
      [{ search: 'a', role: 'user' }, ['alice', 'dave']],
      [{ search: '%' }, []],
      [{ role: 'nobody' }, []],
    ];
    for (const [f, want] of cases) {
      expect(names(f)).toEqual(want);
      expect(admin.countUsers(f)).toBe(want.length);
    }
    const page = (offset: number, limit: number) => admin.listUserKeys({ sort: 'uid', desc: true, page: { offset, limit } }).map((k) => k.uid);
    expect(page(0, 2)).toEqual([3005, 3004]);
    expect(page(3, 10)).toEqual([3002, 3001]);
    expect(page(5, 10)).toEqual([]);
    expect(admin.countUsers({})).toBe(5);
  });
});

describe('SqliteAdminStore.listUserAllocations', () => {
  it('is listUserKeys less the name, e-mail address and enabled flag, under the same filters, order and page', () => {
    const { admin } = fixture();
    const qs = [
      { sort: 'name' as const, desc: false },
      { sort: 'role' as const, desc: true, enabled: true },
      { sort: 'uid' as const, desc: false, search: 'example', page: { offset: 1, limit: 1 } },
      { sort: 'name' as const, desc: true, role: 'user' },
    ];
    for (const q of qs) {
      const want = admin.listUserKeys(q).map((k) => ({ uid: k.uid, role: k.role, overrides: k.overrides }));
      expect(admin.listUserAllocations(q)).toEqual(want);
    }
    expect(admin.listUserAllocations({ sort: 'uid', desc: false, page: { offset: 0, limit: 2 } }).map((r) => r.uid)).toEqual([3001, 3002]);
    expect(admin.listUserAllocations({ sort: 'name', desc: false }).find((r) => r.uid === 3004)?.overrides).toEqual({ cpu: null, memory: null, disk: null, gpu: null, tasks: null });
  });
});

describe('SqliteAdminStore.hasNonAsciiText and usersByUids', () => {
  it('sees a name or e-mail address outside printable ASCII, within the filter', () => {
    const { db, admin } = fixture();
    expect(admin.hasNonAsciiText({})).toBe(false);
    db.prepare("UPDATE users SET email = 'Öl@example.org' WHERE uid = 3002").run();
    expect(admin.hasNonAsciiText({})).toBe(true);
    expect(admin.hasNonAsciiText({ role: 'staff' })).toBe(true);
    expect(admin.hasNonAsciiText({ role: 'user' })).toBe(false);
    expect(admin.hasNonAsciiText({ enabled: true })).toBe(false);
    db.prepare("UPDATE users SET username = 'tab\tname' WHERE uid = 3004").run();
    expect(admin.hasNonAsciiText({ role: 'user' })).toBe(true);
  });

  it('gives listUsers\' records of the uids asked for; unknown uids are left out', () => {
    const { admin } = fixture();
    const all = admin.listUsers({});
    const got = admin.usersByUids([3004, 3001, 9999, 3005]).sort((a, b) => a.uid - b.uid);
    expect(got).toEqual(all.filter((r) => [3001, 3004, 3005].includes(r.uid)).sort((a, b) => a.uid - b.uid));
    expect(admin.usersByUids([])).toEqual([]);
  });
});

describe('SqliteAdminStore.listingRevision', () => {
  it('changes with every write a listing shows, on a rollback, and on another connection\'s commit; not on reads', () => {
    const { admin } = fixture();
    const seen = new Set<string>();
    const fresh = () => {
      const r = admin.listingRevision();
      expect(seen.has(r)).toBe(false);
      seen.add(r);
    };
    fresh();
    admin.listUsers({});
    admin.listUserAllocations({ sort: 'name', desc: false });
    admin.transaction(() => admin.countUsers({}));
    expect(seen.has(admin.listingRevision())).toBe(true);
    const at = '2026-01-01T00:00:00.000Z';
    for (const write of [
      () => admin.addUser({ name: 'fay', uid: 3006, role: 'user', email: null }, at),
      () => admin.setRole(3006, 'staff'),
      () => admin.setEnabled(3006, false),
      () => admin.setEmail(3006, 'fay@example.org'),
      () => admin.setUserLimits(3006, { memory: '1G' }),
      () => admin.resetUserLimits(3006),
      () => admin.setRoleProfile('staff', { memory: '3G' }),
      () => admin.deleteUser(3006),
    ]) {
      write();
      fresh();
    }
    // An order read inside a transaction that wrote and then rolled back is not reused after it.
    let inside = '';
    expect(() => admin.transaction(() => {
      admin.setUserLimits(3005, { memory: '9G' });
      inside = admin.listingRevision();
      throw new Error('rolled back');
    })).toThrow('rolled back');
    expect(admin.listingRevision()).not.toBe(inside);
    fresh();
  });

  it('changes on a write through the same connection by any other code, so countUsers and hasNonAsciiText never answer from before it', () => {
    const { admin, db } = fixture();
    expect(admin.countUsers({})).toBe(5);
    expect(admin.hasNonAsciiText({})).toBe(false);
    const before = admin.listingRevision();
    db.prepare("INSERT INTO users (username, uid, role, created_at, email) VALUES ('gus', 3007, 'user', '2026-01-01T00:00:00.000Z', 'g\u00fcs@example.org')").run();
    expect(admin.listingRevision()).not.toBe(before);
    expect(admin.countUsers({})).toBe(6);
    expect(admin.hasNonAsciiText({})).toBe(true);
    expect(admin.countUsers({ search: 'example.org' })).toBe(2);
    db.prepare("DELETE FROM users WHERE username = 'gus'").run();
    expect(admin.countUsers({ search: 'example.org' })).toBe(1);
  });

  it('changes when another connection commits', () => {
    const dir = mkdtempSync(join(tmpdir(), 'diycloud-rev-'));
    try {
      const path = join(dir, 'state.db');
      const admin = new SqliteAdminStore(openDatabase(path, SCHEMA));
      const before = admin.listingRevision();
      const other = openDatabase(path, SCHEMA);
      other.prepare("UPDATE roles SET mem_limit = '5G' WHERE name = 'user'").run();
      other.close();
      expect(admin.listingRevision()).not.toBe(before);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
