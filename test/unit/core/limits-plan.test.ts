// Unit: allocation to systemd properties, the memory ratchet, diffs and slice names.
import { describe, expect, it } from 'vitest';
import { allocationToLimits, diffLimits, planLimits, uidFromSliceName, userSliceName } from '../../../src/core/limits-plan';
import type { Allocation } from '../../../src/core/allocation';

const M = 1024 ** 2;
const alloc = (over: Partial<Allocation> = {}): Allocation => ({ cpuCores: 1, memoryMaxBytes: 2048 * M, diskQuotaBytes: 0, gpuAccess: false, tasksMax: null, ...over });

describe('allocationToLimits', () => {
  it('maps cores to CPUQuotaPerSecUSec (cores x 1 s) and memory to MemoryMax in bytes', () => {
    expect(allocationToLimits(alloc({ cpuCores: 0.5, memoryMaxBytes: 512 * M }))).toEqual({ CPUQuotaPerSecUSec: 500_000, MemoryMax: 512 * M, MemoryHigh: 'infinity' });
    expect(allocationToLimits(alloc({ cpuCores: 2.25 })).CPUQuotaPerSecUSec).toBe(2_250_000);
  });
  it('owns TasksMax only when the allocation sets it', () => {
    expect(allocationToLimits(alloc())).not.toHaveProperty('TasksMax');
    expect(allocationToLimits(alloc({ tasksMax: 300 })).TasksMax).toBe(300);
  });
});

describe('planLimits: lowering memory without an OOM kill', () => {
  it('applies the target at once when usage fits or is unknown', () => {
    expect(planLimits(alloc({ memoryMaxBytes: 300 * M }), { memoryCurrentBytes: 200 * M, memoryMaxBytes: 'infinity' })).toEqual({ limits: allocationToLimits(alloc({ memoryMaxBytes: 300 * M })), done: true });
    expect(planLimits(alloc({ memoryMaxBytes: 300 * M }), { memoryCurrentBytes: null, memoryMaxBytes: null }).done).toBe(true);
  });
  it('above usage: MemoryHigh takes the target and MemoryMax stays above usage', () => {
    const step = planLimits(alloc({ memoryMaxBytes: 300 * M }), { memoryCurrentBytes: 900 * M, memoryMaxBytes: 'infinity' });
    expect(step.done).toBe(false);
    expect(step.limits.MemoryHigh).toBe(300 * M);
    expect(step.limits.MemoryMax).toBe(Math.ceil(900 * M * 1.25));
  });
  it('never raises MemoryMax above what is in force', () => {
    const step = planLimits(alloc({ memoryMaxBytes: 300 * M }), { memoryCurrentBytes: 900 * M, memoryMaxBytes: 1024 * M });
    expect(step.limits.MemoryMax).toBe(1024 * M);
  });
  it('ratchets down as usage falls, and finishes at the target', () => {
    let inForce: number | 'infinity' = 'infinity';
    const usage = [900, 700, 500, 310, 250];
    const maxes: number[] = [];
    let done = false;
    for (const u of usage) {
      const step = planLimits(alloc({ memoryMaxBytes: 300 * M }), { memoryCurrentBytes: u * M, memoryMaxBytes: inForce });
      inForce = step.limits.MemoryMax as number;
      maxes.push(inForce);
      done = step.done;
      expect(inForce).toBeGreaterThanOrEqual(Math.min(u * M, 300 * M)); // never below what is in use
    }
    expect(maxes).toEqual([...maxes].sort((a, b) => b - a)); // monotonically non-increasing
    expect(maxes.at(-1)).toBe(300 * M);
    expect(done).toBe(true);
  });
});

describe('diffLimits and slice names', () => {
  it('lists only differing properties', () => {
    const want = allocationToLimits(alloc());
    expect(diffLimits(null, want)).toEqual(['CPUQuotaPerSecUSec', 'MemoryMax', 'MemoryHigh']);
    expect(diffLimits({ ...want }, want)).toEqual([]);
    expect(diffLimits({ ...want, MemoryMax: 1 }, want)).toEqual(['MemoryMax']);
  });
  it('parses only user-UID.slice', () => {
    expect(userSliceName(1000)).toBe('user-1000.slice');
    expect(uidFromSliceName('user-1000.slice')).toBe(1000);
    for (const bad of ['user.slice', 'user-1000-x.slice', 'user-01.slice', 'user-.slice', 'user-99999999999.slice', 'system.slice']) expect(uidFromSliceName(bad)).toBeNull();
  });
});
