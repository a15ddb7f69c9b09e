// Unit: CachedQuota shares one usage read for 2 s, and cachedUsage() answers from it without ever starting one (the login line).
import { describe, expect, it } from 'vitest';
import { CachedQuota } from '../../../src/adapters/enforcement/cached-quota';
import { MemoryQuota } from '../../fakes/memory-quota';

describe('CachedQuota', () => {
  it('usage: one read shared within the TTL; cachedUsage: null until a read has arrived, the map while fresh, null when stale or after apply', async () => {
    let now = 1_000;
    const inner = new MemoryQuota('/home');
    const alice = { uid: 1000, name: 'alice', home: '/home/alice' };
    await inner.apply(alice, { path: '/home', diskSoftBytes: 90, diskHardBytes: 100 } as never);
    inner.use(1000, 42);
    const q = new CachedQuota(inner, () => now, { status: 30_000, usage: 2_000 });
    expect(q.cachedUsage()).toBeNull(); // nothing read yet, and asking starts no read
    expect(inner.usageReads).toBe(0);
    const first = q.usage();
    expect(q.cachedUsage()).toBeNull(); // in flight
    await first;
    await Promise.resolve();
    expect(q.cachedUsage()?.get(1000)?.usedBytes).toBe(42);
    now += 1_999;
    await q.usage();
    expect(inner.usageReads).toBe(1);
    now += 1;
    expect(q.cachedUsage()).toBeNull(); // stale: the login line shows the quota alone
    expect(inner.usageReads).toBe(1);
    await q.usage();
    await Promise.resolve();
    expect(inner.usageReads).toBe(2);
    expect(q.cachedUsage()).not.toBeNull();
    await q.apply(alice, { path: '/home', diskSoftBytes: 180, diskHardBytes: 200 } as never);
    expect(q.cachedUsage()).toBeNull(); // the answer no longer shows the limits
  });
});
