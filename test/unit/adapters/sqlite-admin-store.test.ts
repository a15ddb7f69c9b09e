// SqliteAdminStore.listUsers: raw rows make the same records as the single-user lookups, under every filter.

import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openDatabase, SqliteStore } from '../../../src/adapters/store/sqlite-store';
import { SqliteAdminStore } from '../../../src/adapters/store/sqlite-admin-store';

const SCHEMA = join(__dirname, '..', '..', '..', 'schema');

function fixture() {
  const db = openDatabase(':memory:', SCHEMA);
  const admin = new SqliteAdminStore(db);
  const store = new SqliteStore(db);
  admin.setRoleProfile('staff', {});
  admin.addUser({ name: 'carol', uid: 3003, role: 'staff', email: 'carol@example.org' }, '2026-01-03T00:00:00.000Z');
  admin.addUser({ name: 'alice', uid: 3001, role: 'user', email: null }, '2026-01-01T00:00:00.000Z');
  admin.addUser({ name: 'bob', uid: 3002, role: 'staff', email: null }, '2026-01-02T00:00:00.000Z');
  admin.setUserLimits(3001, { cpu: 1.5, memory: '2G', disk: '10G', gpu: '0,2', tasks: 512 });
  admin.setEnabled(3002, false);
  store.openSession({ uid: 3003, username: 'carol', service: 'sshd', tty: 'pts/0', rhost: '' }, '2026-01-04T00:00:00.000Z');
  // A user row without an allocation row (LEFT JOIN: every override null).
  db.prepare("INSERT INTO users (username, uid, role, created_at) VALUES ('dave', 3004, 'user', '2026-01-05T00:00:00.000Z')").run();
  return { admin, store };
}

describe('SqliteAdminStore.listUsers', () => {
  it('returns, sorted by name, exactly the records userByName returns', () => {
    const { admin, store } = fixture();
    const all = admin.listUsers({});
    expect(all.map((u) => u.username)).toEqual(['alice', 'bob', 'carol', 'dave']);
    for (const u of all) expect(u).toEqual(store.userByName(u.username));
    expect(all[0].overrides).toEqual({ cpu: 1.5, memory: '2G', disk: '10G', gpu: '0,2', tasks: 512 });
    expect(all[1].enabled).toBe(false);
    expect(all[2]).toMatchObject({ email: 'carol@example.org', role: 'staff', lastLogin: '2026-01-04T00:00:00.000Z', enabled: true });
    expect(all[3].overrides).toEqual({ cpu: null, memory: null, disk: null, gpu: null, tasks: null });
  });

  it('filters by role, by enabled and by both, with one statement per filter shape reused across calls', () => {
    const { admin } = fixture();
    const names = (f: { role?: string; enabled?: boolean }) => admin.listUsers(f).map((u) => u.username);
    expect(names({ role: 'staff' })).toEqual(['bob', 'carol']);
    expect(names({ enabled: false })).toEqual(['bob']);
    expect(names({ enabled: true })).toEqual(['alice', 'carol', 'dave']);
    expect(names({ role: 'staff', enabled: true })).toEqual(['carol']);
    expect(names({ role: 'nobody' })).toEqual([]);
    // The same shape with other values: the cached statement must take the new arguments.
    expect(names({ role: 'user', enabled: true })).toEqual(['alice', 'dave']);
    expect(names({})).toEqual(['alice', 'bob', 'carol', 'dave']);
  });

  it('sees rows written after an earlier listing', () => {
    const { admin } = fixture();
    expect(admin.listUsers({})).toHaveLength(4);
    admin.addUser({ name: 'aaron', uid: 3005, role: 'user', email: null }, '2026-01-06T00:00:00.000Z');
    admin.deleteUser(3002);
    expect(admin.listUsers({}).map((u) => u.username)).toEqual(['aaron', 'alice', 'carol', 'dave']);
  });
});
