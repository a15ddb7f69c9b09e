// SqliteLimitEvents.recentOfAll: per uid, exactly what recent() returns (newest first, limit, retention).

import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../../../src/adapters/store/sqlite-store';
import { SqliteLimitEvents } from '../../../src/adapters/store/sqlite-limit-events';

describe('SqliteLimitEvents.recentOfAll', () => {
  it('gives each uid the rows recent() gives it, in the same order', () => {
    const s = new SqliteLimitEvents(openDatabase(':memory:', join(__dirname, '..', '..', '..', 'schema')));
    const kinds = ['oom-kill', 'high', 'max'] as const;
    // Ties on at_usec (same microsecond) must come newest id first, as in recent().
    for (let i = 0; i < 60; i++) s.add({ uid: 1000 + (i % 3), resource: 'memory', kind: kinds[i % 3], count: i + 1, atUsec: 1_000_000 + Math.floor(i / 6) * 10 });
    const all = s.recentOfAll(1_000_020, 4);
    for (const uid of [1000, 1001, 1002, 1003]) expect(all.filter((r) => r.uid === uid)).toEqual(s.recent(uid, 1_000_020, 4));
    expect(all.map((r) => r.uid)).toEqual([...all.map((r) => r.uid)].sort((a, b) => a - b));
    expect(all).toHaveLength(12);
    expect(s.recentOfAll(2_000_000, 20)).toEqual([]);
  });
});
