// Unit: the limit_requests store on a real SQLite database migrated with every schema file.
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadMigrations, migrate } from '../../../src/adapters/store/migrate';
import { SqliteRequests } from '../../../src/adapters/store/sqlite-requests';
import { decide } from '../../../src/core/limit-request';

const fresh = () => {
  const db = new Database(':memory:');
  migrate(db, loadMigrations(join(__dirname, '../../../schema')));
  return new SqliteRequests(db);
};
const filing = (user: string, uid: number, amount: string) => ({ user, uid, resource: 'memory' as const, amount, reason: 'r', filedAt: '2026-12-02T20:00:00.000Z' });

describe('SqliteRequests', () => {
  it('stores a pending request and reads it back', () => {
    const s = fresh();
    const r = s.add(filing('alice', 1001, '8G'));
    expect(r).toMatchObject({ user: 'alice', uid: 1001, resource: 'memory', amount: '8G', state: 'pending', decidedAt: null, applied: false });
    expect(s.get(r.id)).toEqual(r);
    expect(s.get(r.id + 100)).toBeNull();
    expect(s.pendingCount(1001)).toBe(1);
  });
  it('lists newest first, filtered by uid and state, with a total', () => {
    const s = fresh();
    const a1 = s.add(filing('alice', 1001, '1G'));
    s.add(filing('bob', 1002, '2G'));
    const a3 = s.add(filing('alice', 1001, '3G'));
    expect(s.saveDecision(decide(a1, false, 0, 'no', 'now'))).toBe(true);
    expect(s.list({ uid: 1001, state: 'all', limit: 10, offset: 0 }).requests.map((r) => r.id)).toEqual([a3.id, a1.id]);
    expect(s.list({ uid: 1001, state: 'pending', limit: 10, offset: 0 })).toMatchObject({ total: 1, requests: [{ id: a3.id }] });
    expect(s.list({ state: 'all', limit: 1, offset: 1 })).toMatchObject({ total: 3, requests: [{ user: 'bob' }] });
    expect(s.get(a1.id)).toMatchObject({ state: 'denied', decisionReason: 'no', decidedBy: 0 });
  });
  it('a decision is stored only once (the second, racing one is refused)', () => {
    const s = fresh();
    const r = s.add(filing('alice', 1001, '1G'));
    expect(s.saveDecision(decide(r, true, 0, '', 'now'))).toBe(true);
    expect(s.saveDecision(decide(r, false, 0, 'late', 'now'))).toBe(false);
    expect(s.get(r.id)).toMatchObject({ state: 'approved', applied: true });
    expect(s.pendingCount(1001)).toBe(0);
  });
});
