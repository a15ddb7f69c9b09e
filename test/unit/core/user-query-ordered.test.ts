// Unit: the selections over listings the store has ordered (columnSort, pageOfOrdered,
// selectPageInNameOrder) agree with selectPage's filters and order.
import { describe, expect, it } from 'vitest';
import { columnSort, matchesDecided, pageOfOrdered, parseUserQuery, selectPage, selectPageInNameOrder, type UserFacts } from '../../../src/core/user-query';

const people: UserFacts[] = [];
for (let i = 0; i < 30; i++) {
  people.push({ name: `u${String((i * 11) % 30).padStart(2, '0')}`, uid: 2000 + i, email: null, role: ['user', 'admin'][i % 2], enabled: true, memoryBytes: (1 + (i % 3)) << 30, hasGpu: i % 4 === 0, overQuota: i % 5 === 0, cpuPercent: i % 7, memoryUsedBytes: (i % 2) * 100 });
}
const byName = [...people].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.uid - b.uid));

describe('columnSort', () => {
  it('is the sort when it and every filter set are columns, else null', () => {
    expect(columnSort(parseUserQuery({}))).toBe('name');
    expect(columnSort(parseUserQuery({ sort: 'role', search: 'x', enabled: true, role: 'user' }))).toBe('role');
    expect(columnSort(parseUserQuery({ sort: 'uid', order: 'desc' }))).toBe('uid');
    expect(columnSort(parseUserQuery({ sort: 'memory' }))).toBeNull();
    expect(columnSort(parseUserQuery({ sort: 'cpuUsage' }))).toBeNull();
    expect(columnSort(parseUserQuery({ hasGpu: false }))).toBeNull();
    expect(columnSort(parseUserQuery({ overQuota: true }))).toBeNull();
  });
});

describe('selectPageInNameOrder and pageOfOrdered', () => {
  it('give selectPage\'s totals and pages for the decided sorts and filters', () => {
    for (const sort of ['memory', 'cpuUsage', 'memoryUsage']) {
      for (const order of ['asc', 'desc']) {
        for (const extra of [{}, { hasGpu: true }, { overQuota: false }, { offset: 5, limit: 7 }, { offset: 40 }]) {
          const q = parseUserQuery({ sort, order, ...extra });
          const want = selectPage(people, (u) => u, q);
          expect(selectPageInNameOrder(byName, (u) => u, q)).toEqual(want);
        }
      }
    }
  });
  it('pageOfOrdered keeps the given order and filters', () => {
    const q = parseUserQuery({ sort: 'uid', order: 'desc', hasGpu: true, offset: 1, limit: 3 });
    const ordered = [...people].sort((a, b) => b.uid - a.uid);
    expect(pageOfOrdered(ordered, (u) => matchesDecided(u, q), q)).toEqual(selectPage(people, (u) => u, q));
    expect(matchesDecided({ memoryBytes: 1, hasGpu: true, overQuota: false }, parseUserQuery({ hasGpu: true, overQuota: true }))).toBe(false);
  });
});
