// Unit: batched quota writes (QuotaBackend.applyMany): setquota -b argv and stdin, its stderr mapped to entries, chunks;
// btrfs's bounded parallelism; none; CachedQuota passing it through.
import { describe, expect, it } from 'vitest';
import { QUOTA_TOOL_PATHS, type QuotaDeps } from '../../../src/adapters/quota/quota-deps';
import { parseSetquotaBatchErrors, QuotaToolsBackend, SETQUOTA_BATCH_LINES, setquotaBatchArgs, setquotaBatchLine } from '../../../src/adapters/quota/quota-tools';
import { BTRFS_APPLY_CONCURRENCY, BtrfsQgroupBackend } from '../../../src/adapters/quota/btrfs-qgroups';
import { NoQuotaBackend } from '../../../src/adapters/quota/no-quota';
import { CachedQuota } from '../../../src/adapters/enforcement/cached-quota';
import type { RunOptions, RunResult } from '../../../src/adapters/exec/run-program';
import type { QuotaEntry } from '../../../src/core/enforcement-ports';
import { MemoryQuota } from '../../fakes/memory-quota';

const res = (code = 0, stderr = '', stdout = ''): RunResult => ({ code, signal: null, stdout, stderr });
const MOUNTS = '1 0 8:1 / / rw - ext4 /dev/sda1 rw\n2 1 8:2 / /home rw - ext4 /dev/sda2 rw,usrquota\n';
const QUOTAON_ON = res(1, '', 'user quota on /home (/dev/sda2) is on\n');
const MiB = 1 << 20;

function host(setquota: (args: readonly string[], input: string) => RunResult, mountinfo = MOUNTS) {
  const calls: { cmd: string; opts?: RunOptions }[] = [];
  const deps: QuotaDeps = {
    tools: QUOTA_TOOL_PATHS,
    run: async (path, args, opts) => {
      calls.push({ cmd: [path, ...args].join(' '), opts });
      if (path === QUOTA_TOOL_PATHS.quotaon) return QUOTAON_ON;
      if (path === QUOTA_TOOL_PATHS.setquota) return setquota(args, opts?.input ?? '');
      throw new Error(`unexpected ${path}`);
    },
    readMountinfo: async () => mountinfo,
    realpath: async (p) => p,
    stat: async () => null,
    isExecutable: async () => true,
  };
  return { deps, calls, setquotaCalls: () => calls.filter((c) => c.cmd.startsWith(QUOTA_TOOL_PATHS.setquota)) };
}

const entry = (uid: number, hardMiB: number): QuotaEntry => ({ owner: { uid, name: `u${uid}`, home: null }, settings: { path: '/home', diskSoftBytes: Math.floor(hardMiB * 0.9 * 1024) * 1024, diskHardBytes: hardMiB * MiB } });

describe('setquota -b: argv, stdin lines and stderr', () => {
  it('users from stdin, continue past a bad line, "--" before the mount point', () => {
    expect(setquotaBatchArgs('/home')).toEqual(['-u', '-b', '-c', '--', '/home']);
  });
  it('one line per user: decimal UID, block soft/hard in KiB (rounded up), no inode limits', () => {
    expect(setquotaBatchLine(4450, { diskSoftBytes: 9 * MiB, diskHardBytes: 10 * MiB + 1 })).toBe('4450 9216 10241 0 0\n');
    expect(() => setquotaBatchLine(-1, { diskSoftBytes: 0, diskHardBytes: 0 })).toThrow();
    expect(() => setquotaBatchLine(1, { diskSoftBytes: -5, diskHardBytes: 0 })).toThrow();
  });
  it('reads what quota-tools 4.06 printed in the VM (Debian 12) for an unparsable limit and one the kernel refused', () => {
    // Captured by bench/quota-vm.ts: lines "65500 100 200 0 0", "65501 x 200 0 0", "65502 4398046511104 4398046511104 0 0"; exit 1.
    const captured = "setquota: Unable to parse block soft limit 'x' on line 2: Unknown space binary unit. Valid units are K, M, G, T.\n" +
      'setquota: Skipping line.\n' +
      'setquota: Cannot set quota for user 65502 from kernel on /dev/vda: Numerical result out of range\n' +
      'setquota: Cannot write quota for 65502 on /dev/vda: Numerical result out of range\n';
    const r = parseSetquotaBatchErrors(captured, [65500, 65501, 65502]);
    expect([...r.failed.keys()].sort()).toEqual([65501, 65502]);
    expect(r.failed.get(65502)).toMatch(/^setquota: Cannot set quota for user 65502 from kernel .*; setquota: Cannot write quota for 65502 /);
    expect(r.other).toEqual([]);
  });
  it('maps quota-tools 4.06 messages to the entry they name (by UID or by input line); the rest is "other"', () => {
    const stderr = [
      'setquota: Cannot write quota for 1002 on /dev/vda: Numerical result out of range',
      'setquota: Cannot parse input line 3.',
      'setquota: Skipping line.',
      'setquota: error while getting quota from /dev/vda for bob (id 1004): Input/output error',
      'setquota: Cannot write quota for 9999 on /dev/vda: Invalid argument', // not one of ours
      'setquota: Mountpoint (or device) / not found or has no quota enabled.',
    ].join('\n');
    const r = parseSetquotaBatchErrors(stderr, [1001, 1002, 1003, 1004]);
    expect([...r.failed.keys()].sort()).toEqual([1002, 1003, 1004]);
    expect(r.failed.get(1002)).toContain('Numerical result out of range');
    expect(r.failed.get(1003)).toContain('Cannot parse input line 3.');
    expect(r.other).toEqual(['setquota: Cannot write quota for 9999 on /dev/vda: Invalid argument', 'setquota: Mountpoint (or device) / not found or has no quota enabled.']);
    expect(parseSetquotaBatchErrors('', [1]).failed.size).toBe(0);
  });
});

describe('QuotaToolsBackend.applyMany', () => {
  it(`probes once, then one setquota -b per ${SETQUOTA_BATCH_LINES} users with their lines on stdin`, async () => {
    const h = host(() => res(0));
    const b = new QuotaToolsBackend('/home', '/home', h.deps);
    const n = 2 * SETQUOTA_BATCH_LINES + 7;
    const failures = await b.applyMany(Array.from({ length: n }, (_, i) => entry(5000 + i, 100 + i)));
    expect(failures).toEqual([]);
    expect(h.calls.filter((c) => c.cmd.startsWith(QUOTA_TOOL_PATHS.quotaon))).toHaveLength(1);
    const runs = h.setquotaCalls();
    expect(runs.map((c) => c.cmd)).toEqual(Array(3).fill(`${QUOTA_TOOL_PATHS.setquota} -u -b -c -- /home`));
    const lines = runs.map((c) => (c.opts?.input ?? '').split('\n').filter(Boolean));
    expect(lines.map((l) => l.length)).toEqual([SETQUOTA_BATCH_LINES, SETQUOTA_BATCH_LINES, 7]);
    expect(lines[0][0]).toBe(`5000 ${Math.floor(100 * 0.9 * 1024)} ${100 * 1024} 0 0`);
    expect(lines[2][6]).toBe(`${5000 + n - 1} ${Math.floor((100 + n - 1) * 0.9 * 1024)} ${(100 + n - 1) * 1024} 0 0`);
    expect(runs.every((c) => (c.opts?.timeoutMs ?? 0) >= 10_000)).toBe(true);
  });

  it('a line the kernel refuses fails that user only, with the message apply() would give; the others are set', async () => {
    const h = host((_a, input) => (input.startsWith('1001 ') ? res(1, 'setquota: Cannot write quota for 1002 on /dev/sda2: Numerical result out of range\n') : res(0)));
    const b = new QuotaToolsBackend('/home', '/home', h.deps);
    const failures = await b.applyMany([entry(1001, 10), entry(1002, 10), entry(1003, 10)]);
    expect(failures.map((f) => f.uid)).toEqual([1002]);
    expect(failures[0].error).toMatchObject({ code: 'BackendFailed', message: 'setquota for u1002 (uid 1002) on /home failed' });
    expect(String((failures[0].error.cause as Error).message)).toContain('Numerical result out of range');
  });

  it('a run that fails without naming an entry fails all of its entries (and only that run\'s)', async () => {
    let run = 0;
    const h = host(() => (run++ === 0 ? res(1, 'setquota: Mountpoint (or device) /home not found or has no quota enabled.\n') : res(0)));
    const b = new QuotaToolsBackend('/home', '/home', h.deps);
    const failures = await b.applyMany(Array.from({ length: SETQUOTA_BATCH_LINES + 2 }, (_, i) => entry(2000 + i, 10)));
    expect(failures).toHaveLength(SETQUOTA_BATCH_LINES);
    expect(failures.every((f) => f.uid < 2000 + SETQUOTA_BATCH_LINES && /has no quota enabled/.test((f.error.cause as Error).message))).toBe(true);
  });

  it('a tool that cannot be started fails its run\'s entries; an entry with bad bytes fails alone, before any run', async () => {
    const h = host(() => res(0));
    const real = h.deps.run;
    const deps: QuotaDeps = { ...h.deps, run: async (p, a, o) => (p === QUOTA_TOOL_PATHS.setquota && (o?.input ?? '').includes('3001 ') ? Promise.reject(new Error('spawn ENOENT')) : real(p, a, o)) };
    const bad: QuotaEntry = { ...entry(3000, 10), settings: { path: '/home', diskSoftBytes: 1.5, diskHardBytes: 10 } };
    const failures = await new QuotaToolsBackend('/home', '/home', deps).applyMany([bad, entry(3001, 10)]);
    expect(failures.map((f) => [f.uid, f.error.message])).toEqual([[3000, 'bad disk limit 1.5: expected whole bytes'], [3001, 'setquota for u3001 (uid 3001) on /home failed']]);
    const none = await new QuotaToolsBackend('/home', '/home', h.deps).applyMany([bad]);
    expect(none.map((f) => f.uid)).toEqual([3000]);
    expect(h.setquotaCalls()).toHaveLength(0);
  });

  it('a path whose quotas are off: every entry is QuotaUnsupported, no setquota runs', async () => {
    const h = host(() => res(0), '1 0 8:1 / / rw - ext4 /dev/sda1 rw\n2 1 8:2 / /home rw - ext4 /dev/sda2 rw\n');
    const failures = await new QuotaToolsBackend('/home', '/home', h.deps).applyMany([entry(1, 10), entry(2, 10)]);
    expect(failures.map((f) => [f.uid, (f.error as { code?: string }).code])).toEqual([[1, 'QuotaUnsupported'], [2, 'QuotaUnsupported']]);
    expect(h.setquotaCalls()).toHaveLength(0);
    expect(await new QuotaToolsBackend('/home', '/home', h.deps).applyMany([])).toEqual([]);
  });
});

describe('applyMany elsewhere', () => {
  it(`btrfs: one apply per entry, at most ${BTRFS_APPLY_CONCURRENCY} at once, each failure its own`, async () => {
    const b = new BtrfsQgroupBackend('/home', '/home', host(() => res(0)).deps);
    let running = 0;
    let most = 0;
    const seen: number[] = [];
    b.apply = async (owner) => {
      most = Math.max(most, ++running);
      await new Promise((r) => setTimeout(r, 1));
      running--;
      seen.push(owner.uid);
      if (owner.uid % 5 === 0) throw new Error(`no subvolume for ${owner.uid}`);
    };
    const failures = await b.applyMany(Array.from({ length: 23 }, (_, i) => entry(100 + i, 10)));
    expect(seen.sort()).toEqual(Array.from({ length: 23 }, (_, i) => 100 + i));
    expect(most).toBe(BTRFS_APPLY_CONCURRENCY);
    expect(failures.map((f) => f.uid).sort()).toEqual([100, 105, 110, 115, 120]);
    expect(b.needsHome).toBe(true);
  });

  it('none: every entry QuotaUnsupported with the fix', async () => {
    const h = host(() => res(0), '1 0 0:1 / / rw - tmpfs tmpfs rw\n');
    const failures = await new NoQuotaBackend('/', h.deps).applyMany([entry(1, 10)]);
    expect(failures).toHaveLength(1);
    expect(failures[0].error).toMatchObject({ code: 'QuotaUnsupported' });
  });

  it('CachedQuota passes applyMany and needsHome through, drops its usage answer, and has no applyMany where the inner has none', async () => {
    const inner = new MemoryQuota('/home');
    const c = new CachedQuota(inner, () => 0);
    await c.usage();
    expect(c.cachedUsage()).not.toBeNull();
    expect(await c.applyMany!([entry(7, 10)])).toEqual([]);
    expect(inner.batches).toEqual([1]);
    expect(c.cachedUsage()).toBeNull();
    expect(c.needsHome).toBe(false);
    const plain = { ...inner, status: inner.status.bind(inner), apply: inner.apply.bind(inner), remove: inner.remove.bind(inner), usage: inner.usage.bind(inner), wantsSubvolumeHome: inner.wantsSubvolumeHome.bind(inner), applyMany: undefined, needsHome: undefined };
    const c2 = new CachedQuota(plain);
    expect(c2.applyMany).toBeUndefined();
    expect(c2.needsHome).toBe(true);
  });
});
