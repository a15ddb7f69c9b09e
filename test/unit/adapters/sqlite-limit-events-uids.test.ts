// SqliteLimitEvents.recentOfUids: for the uids asked for, exactly what recentOfAll (and so recent()) gives them.

import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../../../src/adapters/store/sqlite-store';
import { SqliteLimitEvents } from '../../../src/adapters/store/sqlite-limit-events';

describe('SqliteLimitEvents.recentOfUids', () => {
  it('gives each asked uid its recent() rows, in recentOfAll order, and nothing of the others', () => {
    const s = new SqliteLimitEvents(openDatabase(':memory:', join(__dirname, '..', '..', '..', 'schema')));
    const kinds = ['oom-kill', 'high', 'max'] as const;
    for (let i = 0; i < 80; i++) s.add({ uid: 1000 + (i % 4), resource: 'memory', kind: kinds[i % 3], count: i + 1, atUsec: 1_000_000 + Math.floor(i / 8) * 10 });
    const all = s.recentOfAll(1_000_020, 5);
    const some = s.recentOfUids([1003, 1001, 4242], 1_000_020, 5);
    expect(some).toEqual(all.filter((r) => r.uid === 1001 || r.uid === 1003));
    expect(some.filter((r) => r.uid === 1003)).toEqual(s.recent(1003, 1_000_020, 5));
    expect(some).toHaveLength(10);
    expect(s.recentOfUids([], 0, 5)).toEqual([]);
    expect(s.recentOfUids([1000], 2_000_000, 5)).toEqual([]);
  });
});
