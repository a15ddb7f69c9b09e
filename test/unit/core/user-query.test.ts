// Unit: QueryUsers' query: validation (each bad input a typed InvalidArgument naming the key), filters, sort, paging.
import { describe, expect, it } from 'vitest';
import { parseUserQuery, QUERY_DEFAULT_LIMIT, QUERY_MAX_LIMIT, selectPage, type UserFacts } from '../../../src/core/user-query';

const user = (name: string, uid: number, more: Partial<UserFacts> = {}): UserFacts => ({
  name, uid, email: null, role: 'user', enabled: true, memoryBytes: 4 << 30, hasGpu: false, overQuota: false, ...more,
});
const people: UserFacts[] = [
  user('carol', 1003, { role: 'admin', email: 'Carol@Example.org', memoryBytes: 8 << 30, hasGpu: true }),
  user('alice', 1001, { email: 'alice@uni.test' }),
  user('bob', 1002, { enabled: false, overQuota: true, memoryBytes: 2 << 30 }),
  user('dave', 1000, { role: 'operator', hasGpu: true, memoryBytes: 8 << 30 }),
];
const names = (raw: Record<string, unknown>) => selectPage(people, (u) => u, parseUserQuery(raw)).page.map((u) => u.name);
const refused = (raw: Record<string, unknown>, field: string) =>
  expect(() => parseUserQuery(raw)).toThrow(expect.objectContaining({ name: 'DiycloudError', code: 'InvalidArgument', field }));

describe('parseUserQuery', () => {
  it('defaults: the first page of 50 by name, ascending, no filters', () => {
    expect(parseUserQuery({})).toEqual({ offset: 0, limit: QUERY_DEFAULT_LIMIT, search: null, role: null, enabled: null, hasGpu: null, overQuota: null, sort: 'name', order: 'asc' });
  });
  it('keeps given values; search is lowercased and "" is no search', () => {
    expect(parseUserQuery({ offset: 10, limit: QUERY_MAX_LIMIT, search: 'AlI', role: 'staff', enabled: false, hasGpu: true, overQuota: false, sort: 'memory', order: 'desc' }))
      .toEqual({ offset: 10, limit: 1000, search: 'ali', role: 'staff', enabled: false, hasGpu: true, overQuota: false, sort: 'memory', order: 'desc' });
    expect(parseUserQuery({ search: '' }).search).toBeNull();
  });
  it('refuses each bad key or value, naming it', () => {
    refused({ nope: 1 }, 'nope');
    refused({ limit: 0 }, 'limit');
    refused({ limit: QUERY_MAX_LIMIT + 1 }, 'limit');
    refused({ limit: 1.5 }, 'limit');
    refused({ limit: '5' }, 'limit');
    refused({ offset: -1 }, 'offset');
    refused({ offset: 2 ** 53 }, 'offset');
    refused({ search: 5 }, 'search');
    refused({ search: 'x'.repeat(255) }, 'search');
    refused({ role: 'Bad Role' }, 'query.role');
    refused({ enabled: 'yes' }, 'enabled');
    refused({ hasGpu: 1 }, 'hasGpu');
    refused({ overQuota: null }, 'overQuota');
    refused({ sort: 'email' }, 'sort');
    refused({ order: 'up' }, 'order');
  });
});

describe('selectPage', () => {
  it('sorts by name, uid, role or memory, either way, ties by name', () => {
    expect(names({})).toEqual(['alice', 'bob', 'carol', 'dave']);
    expect(names({ order: 'desc' })).toEqual(['dave', 'carol', 'bob', 'alice']);
    expect(names({ sort: 'uid' })).toEqual(['dave', 'alice', 'bob', 'carol']);
    expect(names({ sort: 'role' })).toEqual(['carol', 'dave', 'alice', 'bob']);
    expect(names({ sort: 'memory' })).toEqual(['bob', 'alice', 'carol', 'dave']);
    expect(names({ sort: 'memory', order: 'desc' })).toEqual(['dave', 'carol', 'alice', 'bob']);
  });
  it('filters by role, enabled, GPU, over quota and a case-insensitive search of name or e-mail', () => {
    expect(names({ role: 'admin' })).toEqual(['carol']);
    expect(names({ enabled: false })).toEqual(['bob']);
    expect(names({ enabled: true })).toEqual(['alice', 'carol', 'dave']);
    expect(names({ hasGpu: true })).toEqual(['carol', 'dave']);
    expect(names({ hasGpu: false })).toEqual(['alice', 'bob']);
    expect(names({ overQuota: true })).toEqual(['bob']);
    expect(names({ search: 'EXAMPLE' })).toEqual(['carol']);
    expect(names({ search: 'a' })).toEqual(['alice', 'carol', 'dave']);
    expect(names({ search: 'a', hasGpu: true, sort: 'uid' })).toEqual(['dave', 'carol']);
  });
  it('pages after filtering and sorting; total counts every match', () => {
    const q = (raw: Record<string, unknown>) => selectPage(people, (u) => u, parseUserQuery(raw));
    expect(q({ limit: 2 })).toMatchObject({ total: 4, page: [{ name: 'alice' }, { name: 'bob' }] });
    expect(q({ limit: 2, offset: 2 }).page.map((u) => u.name)).toEqual(['carol', 'dave']);
    expect(q({ limit: 2, offset: 3 }).page.map((u) => u.name)).toEqual(['dave']);
    expect(q({ offset: 4 })).toEqual({ total: 4, page: [] });
    expect(q({ search: 'a', limit: 1, offset: 1 })).toMatchObject({ total: 3, page: [{ name: 'carol' }] });
  });
});
