// Unit: usage history tiers, CPU percent from usage deltas, the downsampler and the prune schedule.
import { describe, expect, it } from 'vitest';
import { cpuPercent, Downsampler, limitLevel, parseUsageRange, pruneCutoffs, pruneDue, tierForRange } from '../../../src/core/usage-history';

const p = (tSec: number, cpu: number, mem: number, tasks: number | null = 2, disk: number | null = null) => ({ tSec, cpuPercent: cpu, memoryBytes: mem, diskBytes: disk, tasks });

describe('usage history', () => {
  it('picks the tier and step for each range; anything else is InvalidArgument naming range', () => {
    expect(tierForRange('hour', 100_000, 10)).toEqual({ tier: 'raw', sinceSec: 100_000 - 3600, stepSec: 10 });
    expect(tierForRange('day', 100_000, 10)).toEqual({ tier: '5min', sinceSec: 100_000 - 86400, stepSec: 300 });
    expect(tierForRange('week', 1_000_000, 10)).toEqual({ tier: '30min', sinceSec: 1_000_000 - 7 * 86400, stepSec: 1800 });
    expect(parseUsageRange('day')).toBe('day');
    expect(() => parseUsageRange('month')).toThrow(expect.objectContaining({ code: 'InvalidArgument', field: 'range' }));
  });
  it('computes CPU percent from the usage counter delta (100 = one core); a first reading or a reset gives null', () => {
    expect(cpuPercent(undefined, 5e9, 10_000)).toBeNull();
    // 15 s of CPU in 10 s of wall time: 150 %
    expect(cpuPercent({ usageNsec: 1e9, atMs: 0 }, 16e9, 10_000)).toBe(150);
    expect(cpuPercent({ usageNsec: 1e9, atMs: 0 }, 1.5e9, 10_000)).toBe(5);
    expect(cpuPercent({ usageNsec: 9e9, atMs: 0 }, 1e9, 10_000)).toBeNull();
    expect(cpuPercent({ usageNsec: 1e9, atMs: 10_000 }, 2e9, 10_000)).toBeNull();
  });
  it('averages a bucket when a later tick closes it, per user; disk is the last value', () => {
    const ds = new Downsampler(300);
    ds.add(1, p(600, 10, 100, 2, 5));
    ds.add(1, p(610, 30, 300, 4, 7));
    ds.add(2, p(620, 50, 1000, null));
    expect(ds.close(899)).toEqual([]);
    const closed = ds.close(900);
    expect(closed).toEqual([
      { uid: 1, point: { tSec: 600, cpuPercent: 20, memoryBytes: 200, diskBytes: 7, tasks: 3 } },
      { uid: 2, point: { tSec: 600, cpuPercent: 50, memoryBytes: 1000, diskBytes: null, tasks: null } },
    ]);
    expect(ds.size).toBe(0);
    expect(ds.close(2000)).toEqual([]);
  });
  it('prunes once per 5-minute period, keeping 1 h of raw rows, a day of 5-min and a week of 30-min', () => {
    expect(pruneDue(null, 1000)).toBe(true);
    expect(pruneDue(1200, 1499)).toBe(false);
    expect(pruneDue(1499, 1500)).toBe(true);
    const c = pruneCutoffs(1_000_000);
    expect(c.raw).toBe(1_000_000 - 3900);
    expect(c['5min']).toBeLessThan(1_000_000 - 86400);
    expect(c['30min']).toBeLessThan(1_000_000 - 7 * 86400);
  });
  it('says near at 90 % of a limit and over above it; no limit is never near', () => {
    expect(limitLevel(89, 100)).toBeNull();
    expect(limitLevel(90, 100)).toBe('near');
    expect(limitLevel(101, 100)).toBe('over');
    expect(limitLevel(5, null)).toBeNull();
    expect(limitLevel(5, 0)).toBeNull();
  });
});
