// The cgroupfs adapter on this host's real cgroup v1 hierarchy: the kernel throttles, OOM-kills, and the port contract holds.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, rmdirSync, writeFileSync } from 'node:fs';
import { CgroupfsLimits } from '../../src/adapters/cgroupfs/cgroupfs-limits';
import { probeCgroupfs, type V1Probe } from '../../src/adapters/cgroupfs/hierarchy';
import { NO_CGROUP_LIMITS, UNLIMITED } from '../../src/core/enforcement-plan';
import { CGROUP_LIMITS_CONTRACT } from '../contract/cgroup-limits-contract';

const M = 1024 ** 2;
/** Test UIDs: no account is needed for a cgroup. Every group of this range is removed afterwards. */
const UID_MIN = 4400;
const UID_MAX = 4499;
const isRoot = process.getuid?.() === 0;
const probe = probeCgroupfs();
const skip = !isRoot ? 'not root' : probe.version !== 'v1' ? `no cgroup v1 cpu and memory hierarchy (${probe.version === null ? probe.reason : 'the host has cgroup v2'})` : null;
if (skip) console.warn(`*** cgroupfs v1 integration tests SKIPPED: ${skip} ***`);

const mounts = (): string[] => (probe.version === 'v1' ? [...new Set(Object.values(probe.hierarchies).filter((h) => h !== null).map((h) => h!.mountPoint))] : []);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.skipIf(skip !== null)('CgroupfsLimits on the host\'s cgroup v1 hierarchy', () => {
  const children: ChildProcess[] = [];
  /** The mount points whose diycloud/ this run created (and so may remove once empty). */
  const parentsWeMade: string[] = [];
  let cg: CgroupfsLimits;
  let h: V1Probe['hierarchies'];

  /** A child with a clean environment; `exited` resolves with its exit status or signal. */
  function child(argv: string[]): ChildProcess & { exited: Promise<{ code: number | null; signal: string | null }> } {
    const c = spawn(argv[0]!, argv.slice(1), { env: {}, stdio: ['pipe', 'pipe', 'ignore'] });
    children.push(c);
    const exited = new Promise<{ code: number | null; signal: string | null }>((r) => c.once('exit', (code, signal) => r({ code, signal })));
    return Object.assign(c, { exited });
  }
  const group = (mount: string, uid: number) => `${mount}/diycloud/user-${uid}`;
  const procLine = (pid: number, controller: string) => readFileSync(`/proc/${pid}/cgroup`, 'utf8').split('\n').find((l) => l.split(':')[1]?.split(',').includes(controller))?.split(':')[2];
  const stat = (file: string, key: string) => Number(new RegExp(`^${key} ([0-9]+)$`, 'm').exec(readFileSync(file, 'utf8'))?.[1]);

  beforeAll(() => {
    h = (probe as V1Probe).hierarchies;
    for (const m of mounts()) if (!existsSync(`${m}/diycloud`)) parentsWeMade.push(m);
    cg = new CgroupfsLimits(probe as V1Probe);
  });

  afterAll(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await Promise.all(children.map((c) => (c.exitCode === null && c.signalCode === null ? new Promise((r) => c.once('exit', r)) : null)));
    for (const m of mounts()) {
      for (let uid = UID_MIN; uid <= UID_MAX; uid++) {
        const d = group(m, uid);
        if (!existsSync(d)) continue;
        // Anything still inside goes back to the hierarchy's root group, so the rmdir cannot fail for it.
        for (const pid of readFileSync(`${d}/cgroup.procs`, 'utf8').split('\n').filter(Boolean)) {
          try {
            writeFileSync(`${m}/cgroup.procs`, pid);
          } catch {
            /* it exited meanwhile */
          }
        }
        for (let i = 0; existsSync(d) && i < 50; i++) {
          try {
            rmdirSync(d);
          } catch {
            await sleep(20); // a killed task may take a moment to leave
          }
        }
      }
      if (parentsWeMade.includes(m) && existsSync(`${m}/diycloud`) && readdirSync(`${m}/diycloud`, { withFileTypes: true }).every((e) => !e.isDirectory())) rmdirSync(`${m}/diycloud`);
    }
  });

  it('reports cgroupfs (v1) and finds this host\'s cpu, cpuacct, memory and pids mounts', () => {
    expect(cg.backend).toBe('cgroupfs (v1)');
    expect(h.cpu.controllers).toContain('cpu');
    expect(existsSync(`${h.memory.mountPoint}/memory.limit_in_bytes`)).toBe(true);
  });

  it('a 20 % quota throttles a busy loop placed in the group (nr_throttled rises, usage stays near 20 %)', async () => {
    const uid = 4420;
    await cg.apply(uid, { cpuQuotaPerSecUsec: 200_000, memoryMaxBytes: UNLIMITED, memoryHighBytes: UNLIMITED });
    expect(readFileSync(`${group(h.cpu.mountPoint, uid)}/cpu.cfs_quota_us`, 'utf8').trim()).toBe('20000');
    const loop = child(['/bin/sh', '-c', 'while :; do :; done']);
    expect(await cg.placeProcess(uid, loop.pid!)).toBe('placed');
    for (const c of ['cpu', 'cpuacct', 'memory', 'pids']) expect(procLine(loop.pid!, c)).toBe(`/diycloud/user-${uid}`);
    const throttled0 = stat(`${group(h.cpu.mountPoint, uid)}/cpu.stat`, 'nr_throttled');
    const usage0 = (await cg.observe(uid))!.cpuUsageNsec!;
    const t0 = process.hrtime.bigint();
    await sleep(1500);
    const wallNsec = Number(process.hrtime.bigint() - t0);
    const s = (await cg.observe(uid))!;
    const share = (s.cpuUsageNsec! - usage0) / wallNsec;
    expect(stat(`${group(h.cpu.mountPoint, uid)}/cpu.stat`, 'nr_throttled')).toBeGreaterThan(throttled0);
    expect(share).toBeGreaterThan(0.02);
    expect(share).toBeLessThan(0.35);
    expect(s.tasksCurrent).toBe(1);
    expect(await cg.release(uid)).toBe(false); // the loop is still inside
    loop.kill('SIGKILL');
    await loop.exited;
    let released = false;
    for (let i = 0; !released && i < 50; i++) released = (await cg.release(uid)) || (await sleep(20), false);
    expect(released).toBe(true);
    for (const m of mounts()) expect(existsSync(group(m, uid))).toBe(false);
  });

  it('memory.limit_in_bytes=50M: a child allocating past it is OOM-killed (memory.failcnt > 0)', async () => {
    const uid = 4430;
    await cg.apply(uid, { cpuQuotaPerSecUsec: UNLIMITED, memoryMaxBytes: 50 * M, memoryHighBytes: UNLIMITED });
    expect((await cg.observe(uid))?.settings.memoryMaxBytes).toBe(50 * M);
    // Allocates (and touches) 400 MiB in Buffers only after it was moved: its start-up memory stays charged where it started.
    const hog = child([process.execPath, '-e', "process.stdin.once('data',()=>{const a=[];for(let i=0;i<400;i++)a.push(Buffer.alloc(1<<20,1));process.stdout.write('survived');process.exit(0)})"]);
    let out = '';
    hog.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    await sleep(200);
    expect(await cg.placeProcess(uid, hog.pid!)).toBe('placed');
    hog.stdin!.write('go\n');
    const end = await hog.exited;
    expect(out).toBe('');
    expect(end.signal).toBe('SIGKILL');
    expect(Number(readFileSync(`${group(h.memory.mountPoint, uid)}/memory.failcnt`, 'utf8'))).toBeGreaterThan(0);
  });

  it('lowering memory.limit_in_bytes under what the group holds: the kernel answers EBUSY (BackendFailed), nothing is killed', async () => {
    const uid = 4432;
    await cg.apply(uid, NO_CGROUP_LIMITS);
    const holder = child([process.execPath, '-e', "process.stdin.once('data',()=>{globalThis.a=[];for(let i=0;i<120;i++)a.push(Buffer.alloc(1<<20,1));process.stdout.write('held');setInterval(()=>{},1000)})"]);
    const held = new Promise((r) => holder.stdout!.once('data', r));
    await sleep(200);
    await cg.placeProcess(uid, holder.pid!);
    holder.stdin!.write('go\n');
    await held;
    expect((await cg.observe(uid))!.memoryCurrentBytes).toBeGreaterThan(100 * M);
    await expect(cg.apply(uid, { ...NO_CGROUP_LIMITS, memoryMaxBytes: 50 * M })).rejects.toMatchObject({ code: 'BackendFailed', message: expect.stringMatching(/would not lower .*memory\.limit_in_bytes to 52428800.*EBUSY/) });
    expect(holder.exitCode === null && holder.signalCode === null).toBe(true);
    expect((await cg.observe(uid))!.settings.memoryMaxBytes).toBe(UNLIMITED);
  });

  it('the kernel rounds memory limits down to pages; observe reports what it holds', async () => {
    const uid = 4431;
    await cg.apply(uid, { cpuQuotaPerSecUsec: 150_000, memoryMaxBytes: 100_000_001, memoryHighBytes: 90_000_000, tasksMax: 77 });
    const s = await cg.observe(uid);
    expect(s?.settings).toEqual({ cpuQuotaPerSecUsec: 150_000, memoryMaxBytes: 99_999_744, memoryHighBytes: 89_997_312, tasksMax: 77 });
    expect(readFileSync(`${group(h.memory.mountPoint, uid)}/memory.soft_limit_in_bytes`, 'utf8').trim()).toBe('89997312');
    expect(await cg.release(uid)).toBe(true);
  });

  it('a PID that is gone gives BackendFailed and creates no group', async () => {
    const gone = child(['/bin/true']);
    await gone.exited;
    await expect(cg.placeProcess(4440, gone.pid!)).rejects.toMatchObject({ code: 'BackendFailed', message: expect.stringContaining(`process ${gone.pid} is not running`) });
    expect(await cg.listUsers()).not.toContain(4440);
  });

  describe('the CgroupLimits port contract', () => {
    let sleeper: ChildProcess;
    beforeAll(async () => {
      sleeper = child(['/bin/sleep', '120']);
      await cg.apply(4400, NO_CGROUP_LIMITS);
    });
    const groupOf = async (pid: number) => {
      const m = /^\/diycloud\/user-([0-9]+)$/.exec(procLine(pid, 'memory') ?? '');
      return m ? Number(m[1]) : null;
    };
    it.each(CGROUP_LIMITS_CONTRACT.map((c) => [c.name, c] as const))('%s', async (_n, c) => {
      const fresh = new CgroupfsLimits(probe as V1Probe);
      await c.run({ cgroups: fresh, liveUid: 4400, addUser: (uid) => fresh.apply(uid, NO_CGROUP_LIMITS), announcesNew: false, livePid: sleeper.pid!, groupOf });
    });
  });
});
