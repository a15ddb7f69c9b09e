// Unit: the enforcement plan for every resource (cgroup, disk), the memory ratchet, which steps are fatal, and diffs.
import { describe, expect, it } from 'vitest';
import { cgroupTarget, diffCgroup, diskDiffers, planEnforcement, sameDisk, type DiskPolicy } from '../../../src/core/enforcement-plan';
import type { Allocation } from '../../../src/core/allocation';
import { uidFromSliceName, userSliceName } from '../../../src/adapters/systemd/unit-names';
import { GPU_NONE } from '../../../src/core/gpu-grant';

const M = 1024 ** 2;
const G = 1024 ** 3;
const alloc = (over: Partial<Allocation> = {}): Allocation => ({ cpuCores: 1, memoryMaxBytes: 2048 * M, diskQuotaBytes: 5 * G, gpus: GPU_NONE, tasksMax: null, ...over });
const noDisk: DiskPolicy = { paths: [], softShare: 0.9 };
const plan = (a: Allocation, observed: { memoryCurrentBytes: number | null; memoryMaxBytes: number | 'infinity' | null } | null = null) => planEnforcement(a, observed, noDisk, 'login').cgroup;

describe('cgroup step', () => {
  it('maps cores to cpuQuotaPerSecUsec (cores x 1 s) and memory to memoryMaxBytes, memoryHighBytes unlimited', () => {
    expect(cgroupTarget(alloc({ cpuCores: 0.5, memoryMaxBytes: 512 * M }))).toEqual({ cpuQuotaPerSecUsec: 500_000, memoryMaxBytes: 512 * M, memoryHighBytes: 'infinity' });
    expect(cgroupTarget(alloc({ cpuCores: 2.25 })).cpuQuotaPerSecUsec).toBe(2_250_000);
  });
  it('owns tasksMax only when the allocation sets it', () => {
    expect(cgroupTarget(alloc())).not.toHaveProperty('tasksMax');
    expect(cgroupTarget(alloc({ tasksMax: 300 })).tasksMax).toBe(300);
  });
  it('is fatal for every purpose: a login that cannot be held is the hook\'s failure mode', () => {
    for (const p of ['login', 'change', 'reconcile'] as const) expect(planEnforcement(alloc(), null, noDisk, p).cgroup.fatal).toBe(true);
  });
});

describe('the memory ratchet: lowering memory without an OOM kill', () => {
  it('applies the target at once when usage fits or is unknown', () => {
    expect(plan(alloc({ memoryMaxBytes: 300 * M }), { memoryCurrentBytes: 200 * M, memoryMaxBytes: 'infinity' })).toMatchObject({ settings: cgroupTarget(alloc({ memoryMaxBytes: 300 * M })), done: true });
    expect(plan(alloc({ memoryMaxBytes: 300 * M }), { memoryCurrentBytes: null, memoryMaxBytes: null }).done).toBe(true);
    expect(plan(alloc({ memoryMaxBytes: 300 * M }), null).done).toBe(true);
  });
  it('above usage: memoryHighBytes takes the target and memoryMaxBytes stays above usage', () => {
    const step = plan(alloc({ memoryMaxBytes: 300 * M }), { memoryCurrentBytes: 900 * M, memoryMaxBytes: 'infinity' });
    expect(step.done).toBe(false);
    expect(step.settings.memoryHighBytes).toBe(300 * M);
    expect(step.settings.memoryMaxBytes).toBe(Math.ceil(900 * M * 1.25));
  });
  it('never raises memoryMaxBytes above what is in force', () => {
    expect(plan(alloc({ memoryMaxBytes: 300 * M }), { memoryCurrentBytes: 900 * M, memoryMaxBytes: 1024 * M }).settings.memoryMaxBytes).toBe(1024 * M);
  });
  it('ratchets down as usage falls, and finishes at the target', () => {
    let inForce: number | 'infinity' = 'infinity';
    const maxes: number[] = [];
    let done = false;
    for (const u of [900, 700, 500, 310, 250]) {
      const step = plan(alloc({ memoryMaxBytes: 300 * M }), { memoryCurrentBytes: u * M, memoryMaxBytes: inForce });
      inForce = step.settings.memoryMaxBytes as number;
      maxes.push(inForce);
      done = step.done;
      expect(inForce).toBeGreaterThanOrEqual(Math.min(u * M, 300 * M)); // never below what is in use
    }
    expect(maxes).toEqual([...maxes].sort((a, b) => b - a)); // monotonically non-increasing
    expect(maxes.at(-1)).toBe(300 * M);
    expect(done).toBe(true);
  });
});

describe('disk steps', () => {
  const two: DiskPolicy = { paths: ['/home', '/srv'], softShare: 0.9 };
  it('one step per quota path: hard = the allocation, soft = the share, rounded down to whole KiB', () => {
    const d = planEnforcement(alloc({ diskQuotaBytes: 10 * M + 1 }), null, two, 'change').disk;
    expect(d.map((s) => s.path)).toEqual(['/home', '/srv']);
    expect(d[0]).toMatchObject({ resource: 'disk', diskHardBytes: 10 * M + 1, diskSoftBytes: Math.floor((10 * M + 1) * 0.9 / 1024) * 1024 });
    expect(d[0]!.diskSoftBytes % 1024).toBe(0);
  });
  it('no quota paths: no disk steps; disk 0 (no quota) gives 0/0', () => {
    expect(planEnforcement(alloc(), null, noDisk, 'change').disk).toEqual([]);
    expect(planEnforcement(alloc({ diskQuotaBytes: 0 }), null, two, 'change').disk[0]).toMatchObject({ diskSoftBytes: 0, diskHardBytes: 0 });
  });
  it('fatal only for an admin\'s change; best effort at login and in reconcile', () => {
    expect(planEnforcement(alloc(), null, two, 'change').disk.every((s) => s.fatal)).toBe(true);
    expect(planEnforcement(alloc(), null, two, 'login').disk.some((s) => s.fatal)).toBe(false);
    expect(planEnforcement(alloc(), null, two, 'reconcile').disk.some((s) => s.fatal)).toBe(false);
  });
  it('compares a recorded quota and a filesystem row with the plan (btrfs: the hard limit only)', () => {
    const want = { path: '/home', diskSoftBytes: 9 * M, diskHardBytes: 10 * M };
    expect(sameDisk(null, want)).toBe(false);
    expect(sameDisk({ ...want }, want)).toBe(true);
    expect(sameDisk({ ...want, diskHardBytes: 1 }, want)).toBe(false);
    expect(diskDiffers(undefined, want, true)).toBe(true);
    expect(diskDiffers(undefined, { ...want, diskSoftBytes: 0, diskHardBytes: 0 }, true)).toBe(false);
    expect(diskDiffers({ softBytes: 9 * M, hardBytes: 10 * M }, want, true)).toBe(false);
    expect(diskDiffers({ softBytes: 0, hardBytes: 10 * M }, want, true)).toBe(true);
    expect(diskDiffers({ softBytes: 0, hardBytes: 10 * M }, want, false)).toBe(false);
  });
});

describe('diffCgroup and systemd slice names', () => {
  it('lists only differing settings', () => {
    const want = cgroupTarget(alloc());
    expect(diffCgroup(null, want)).toEqual(['cpuQuotaPerSecUsec', 'memoryMaxBytes', 'memoryHighBytes']);
    expect(diffCgroup({ ...want }, want)).toEqual([]);
    expect(diffCgroup({ ...want, memoryMaxBytes: 1 }, want)).toEqual(['memoryMaxBytes']);
  });
  it('parses only user-UID.slice', () => {
    expect(userSliceName(1000)).toBe('user-1000.slice');
    expect(uidFromSliceName('user-1000.slice')).toBe(1000);
    for (const bad of ['user.slice', 'user-1000-x.slice', 'user-01.slice', 'user-.slice', 'user-99999999999.slice', 'system.slice']) expect(uidFromSliceName(bad)).toBeNull();
  });
});
