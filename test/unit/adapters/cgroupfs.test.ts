// The cgroupfs CgroupLimits adapter on a temp dir tree that behaves like cgroupfs: probe, layout, values, "ours", release.

import { afterEach, describe, expect, it } from 'vitest';
import { chmodSync, chownSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CgroupfsLimits } from '../../../src/adapters/cgroupfs/cgroupfs-limits';
import { probeCgroupfs, type V1Probe } from '../../../src/adapters/cgroupfs/hierarchy';
import { CGROUP_LIMITS_CONTRACT } from '../../contract/cgroup-limits-contract';
import { fakeCgroupTree, V1_NO_LIMIT, type FakeCgroupTree } from './cgroupfs-tree';

const M = 1024 ** 2;
const trees: FakeCgroupTree[] = [];
afterEach(() => trees.splice(0).forEach((t) => t.cleanup()));

function setup(version: 'v1' | 'v2', mounts?: string[]) {
  const tree = fakeCgroupTree(version, mounts);
  trees.push(tree);
  const probe = probeCgroupfs(tree.root, tree.mountinfo, tree.fs);
  if (probe.version === null) throw new Error(probe.reason);
  return { tree, probe, cg: new CgroupfsLimits(probe, { fs: tree.fs, procRoot: tree.proc }) };
}
const limits = { cpuQuotaPerSecUsec: 250_000, memoryMaxBytes: 128 * M, memoryHighBytes: 'infinity', tasksMax: 64 } as const;

describe('probeCgroupfs', () => {
  it('v1: finds each controller by the mount options, co-mounted cpu,cpuacct once', () => {
    const { probe, tree } = setup('v1');
    const h = (probe as V1Probe).hierarchies;
    expect(h.cpu.mountPoint).toBe(`${tree.root}/cpu,cpuacct`);
    expect(h.cpuacct).toEqual(h.cpu);
    expect([h.memory.mountPoint, h.pids?.mountPoint]).toEqual([`${tree.root}/memory`, `${tree.root}/pids`]);
  });
  it('v1: separate cpu and cpuacct mounts (this host), and no pids', () => {
    const { probe, tree } = setup('v1', ['cpu', 'cpuacct', 'memory']);
    const h = (probe as V1Probe).hierarchies;
    expect([h.cpu.mountPoint, h.cpuacct?.mountPoint, h.pids]).toEqual([`${tree.root}/cpu`, `${tree.root}/cpuacct`, null]);
  });
  it('v2: cgroup2 at the root with its controllers; a hybrid host\'s root/unified is not v2', () => {
    const { probe, tree } = setup('v2');
    expect(probe).toEqual({ version: 'v2', mountPoint: tree.root, root: '/', controllers: ['cpu', 'memory', 'pids'] });
    const hybrid = fakeCgroupTree('v1');
    trees.push(hybrid);
    const text = hybrid.mountinfo + `40 24 0:37 / ${hybrid.root}/unified rw - cgroup2 cgroup2 rw\n`;
    expect(probeCgroupfs(hybrid.root, text, hybrid.fs).version).toBe('v1');
  });
  it('null with a reason: cgroup2 without memory, no memory hierarchy, a mount hidden by a later one', () => {
    const { tree } = setup('v2');
    writeFileSync(join(tree.root, 'cgroup.controllers'), 'cpu pids\n');
    expect(probeCgroupfs(tree.root, tree.mountinfo, tree.fs)).toEqual({ version: null, reason: expect.stringMatching(/no memory controller \(cgroup.controllers: "cpu pids"\)/) });
    const noMemory = fakeCgroupTree('v1', ['cpu,cpuacct', 'pids']);
    trees.push(noMemory);
    expect(probeCgroupfs(noMemory.root, noMemory.mountinfo, noMemory.fs)).toEqual({ version: null, reason: `no cgroup2 with controllers at ${noMemory.root}, and no cgroup v1 memory hierarchy mounted under it` });
    const v1 = setup('v1').tree;
    const hidden = v1.mountinfo + `50 24 0:50 / ${v1.root}/cpu,cpuacct rw - tmpfs tmpfs rw\n`;
    expect(probeCgroupfs(v1.root, hidden, v1.fs)).toMatchObject({ version: null, reason: expect.stringContaining('no cgroup v1 cpu hierarchy') });
    // listed, but its files are not there (something was mounted over it): not used
    const gone = v1.mountinfo.replace(`${v1.root}/memory rw`, `${v1.root}/memory2 rw`);
    expect(probeCgroupfs(v1.root, gone, v1.fs)).toMatchObject({ version: null, reason: expect.stringContaining('no cgroup v1 memory hierarchy') });
  });
  it('decodes \\040 in mount points', () => {
    const { tree } = setup('v1');
    const spaced = join(tree.root, 'mem ory');
    mkdirSync(spaced);
    writeFileSync(join(spaced, 'memory.limit_in_bytes'), V1_NO_LIMIT);
    const text = tree.mountinfo.replace(`${tree.root}/memory rw`, `${tree.root}/mem\\040ory rw`);
    expect((probeCgroupfs(tree.root, text, tree.fs) as V1Probe).hierarchies.memory.mountPoint).toBe(spaced);
  });
});

describe('CgroupfsLimits on v1', () => {
  it('writes diycloud/user-UID in each hierarchy: quota per 100 ms period, bytes, soft limit, pids.max', async () => {
    const { tree, cg } = setup('v1');
    expect(cg.backend).toBe('cgroupfs (v1)');
    await cg.apply(1000, limits);
    const g = (h: string, f: string) => tree.read(`${h}/diycloud/user-1000/${f}`).trim();
    expect([g('cpu,cpuacct', 'cpu.cfs_period_us'), g('cpu,cpuacct', 'cpu.cfs_quota_us')]).toEqual(['100000', '25000']);
    expect([g('memory', 'memory.limit_in_bytes'), g('memory', 'memory.soft_limit_in_bytes'), g('pids', 'pids.max')]).toEqual([String(128 * M), V1_NO_LIMIT, '64']);
    expect((statSync(join(tree.root, 'memory/diycloud')).mode & 0o777).toString(8)).toBe('755');
    expect(await cg.observe(1000)).toMatchObject({ settings: limits, memoryMaxBytes: 128 * M, memoryCurrentBytes: 0, cpuUsageNsec: 0, tasksCurrent: 0 });
  });
  it('unlimited is -1 (cpu, memory) and "max" (pids), and reads back as "infinity"', async () => {
    const { tree, cg } = setup('v1');
    await cg.apply(1000, limits);
    await cg.apply(1000, { cpuQuotaPerSecUsec: 'infinity', memoryMaxBytes: 'infinity', memoryHighBytes: 'infinity', tasksMax: 'infinity' });
    expect(tree.read('cpu,cpuacct/diycloud/user-1000/cpu.cfs_quota_us')).toBe('-1');
    expect(tree.read('memory/diycloud/user-1000/memory.limit_in_bytes')).toBe(V1_NO_LIMIT);
    expect(tree.read('pids/diycloud/user-1000/pids.max')).toBe('max');
    expect((await cg.observe(1000))?.settings).toEqual({ cpuQuotaPerSecUsec: 'infinity', memoryMaxBytes: 'infinity', memoryHighBytes: 'infinity', tasksMax: 'infinity' });
  });
  it('memory is held in pages and CPU in whole µs per period: apply accepts it, observe reports what the kernel holds', async () => {
    const { cg } = setup('v1');
    await cg.apply(1000, { cpuQuotaPerSecUsec: 250_005, memoryMaxBytes: 100_000_001, memoryHighBytes: 90_000_000 });
    expect((await cg.observe(1000))?.settings).toMatchObject({ cpuQuotaPerSecUsec: 250_010, memoryMaxBytes: 99_999_744, memoryHighBytes: 89_997_312 });
  });
  it('tasksMax absent leaves pids.max alone', async () => {
    const { tree, cg } = setup('v1');
    writeFileSync(join(tree.root, 'pids/x'), ''); // (a sibling file is never touched either)
    await cg.apply(1000, { ...limits, tasksMax: 64 });
    await cg.apply(1000, { cpuQuotaPerSecUsec: 'infinity', memoryMaxBytes: 'infinity', memoryHighBytes: 'infinity' });
    expect(tree.read('pids/diycloud/user-1000/pids.max')).toBe('64');
  });
  it('a quota under 1 ms per period, a bad value or uid: refused before anything is created', async () => {
    const { tree, cg } = setup('v1');
    await expect(cg.apply(1000, { ...limits, cpuQuotaPerSecUsec: 9_000 })).rejects.toMatchObject({ code: 'BackendFailed', message: expect.stringContaining('below the kernel\'s minimum') });
    await expect(cg.apply(1000, { ...limits, memoryMaxBytes: -1 })).rejects.toMatchObject({ code: 'InvalidArgument', field: 'memoryMaxBytes' });
    await expect(cg.apply(4_294_967_295, limits)).rejects.toMatchObject({ code: 'InvalidArgument', field: 'uid' });
    expect(tree.exists('memory/diycloud')).toBe(false);
  });
  it('lowering memory.limit_in_bytes under usage (EBUSY) is a clear BackendFailed', async () => {
    const { tree, cg } = setup('v1');
    await cg.apply(1000, limits);
    writeFileSync(join(tree.root, 'memory/diycloud/user-1000/memory.usage_in_bytes'), String(200 * M));
    await expect(cg.apply(1000, { ...limits, memoryMaxBytes: 100 * M })).rejects.toMatchObject({ code: 'BackendFailed', message: expect.stringMatching(/would not lower .*memory\.limit_in_bytes to 104857600.*EBUSY/) });
  });
  it('a value the kernel does not hold after the write is BackendFailed', async () => {
    const { tree, cg } = setup('v1');
    tree.ignoreWrites('pids.max');
    await expect(cg.apply(1000, limits)).rejects.toMatchObject({ code: 'BackendFailed', message: expect.stringContaining('tasksMax of uid 1000 reads back as infinity, not 64') });
  });
  it('without a pids hierarchy, a task limit is refused; none or "infinity" is fine', async () => {
    const { cg } = setup('v1', ['cpu', 'cpuacct', 'memory']);
    await expect(cg.apply(1000, limits)).rejects.toMatchObject({ code: 'BackendFailed', message: expect.stringContaining('pids controller is not available (cgroupfs (v1)), so tasksMax cannot be enforced') });
    await cg.apply(1000, { ...limits, tasksMax: 'infinity' });
    expect((await cg.observe(1000))?.settings.tasksMax).toBeUndefined();
  });
  it('listUsers: strict user-UID names inside diycloud/, across hierarchies', async () => {
    const { tree, cg } = setup('v1');
    expect(await cg.listUsers()).toEqual([]);
    await cg.apply(1000, limits);
    for (const n of ['user-1001', 'user-01', 'user-x', 'user-', 'user-4294967295', 'user-4294967294', 'user-12345678901', 'other']) mkdirSync(join(tree.root, 'memory/diycloud', n));
    mkdirSync(join(tree.root, 'pids/diycloud/user-7'));
    mkdirSync(join(tree.root, 'memory/user-5')); // outside diycloud/: not ours
    expect(await cg.listUsers()).toEqual([7, 1000, 1001, 4_294_967_294]);
  });
  it('refuses a diycloud/ or user-UID group that is not ours, writing nothing into it; a user-UID outside diycloud/ is never touched', async () => {
    const { tree, cg } = setup('v1');
    mkdirSync(join(tree.root, 'memory/user-1000'));
    writeFileSync(join(tree.root, 'memory/user-1000/memory.limit_in_bytes'), '1234');
    mkdirSync(join(tree.root, 'memory/diycloud'));
    chownSync(join(tree.root, 'memory/diycloud'), 4321, 0);
    const refused = { code: 'BackendFailed', message: expect.stringMatching(/memory\/diycloud exists but is not diycloud's \(a group owned by uid 4321.*rmdir/) };
    await expect(cg.apply(1000, limits)).rejects.toMatchObject(refused);
    await expect(cg.listUsers()).rejects.toMatchObject(refused);
    expect(tree.exists('memory/diycloud/user-1000')).toBe(false);
    chownSync(join(tree.root, 'memory/diycloud'), 0, 0);
    chmodSync(join(tree.root, 'memory/diycloud'), 0o775);
    await expect(cg.apply(1000, limits)).rejects.toMatchObject({ code: 'BackendFailed', message: expect.stringContaining('mode 0775') });
    chmodSync(join(tree.root, 'memory/diycloud'), 0o755);
    mkdirSync(join(tree.root, 'memory/diycloud/user-1000'));
    chownSync(join(tree.root, 'memory/diycloud/user-1000'), 1000, 1000);
    await expect(cg.apply(1000, limits)).rejects.toMatchObject({ code: 'BackendFailed', message: expect.stringContaining('diycloud/user-1000 exists but is not diycloud\'s') });
    expect(tree.exists('memory/diycloud/user-1000/memory.limit_in_bytes')).toBe(false);
    expect(tree.read('memory/user-1000/memory.limit_in_bytes')).toBe('1234');
  });
  it('placeProcess writes the PID in every hierarchy and checks /proc/PID/cgroup', async () => {
    const { tree, cg, probe } = setup('v1');
    tree.addProcess(4242);
    expect(await cg.placeProcess(1000, 4242)).toBe('placed');
    for (const h of ['cpu,cpuacct', 'memory', 'pids']) expect(tree.read(`${h}/diycloud/user-1000/cgroup.procs`)).toBe('4242\n');
    expect(tree.read('memory/diycloud/cgroup.procs')).toBe('');
    const moved = new CgroupfsLimits(probe, { fs: tree.fs, procRoot: tree.proc });
    tree.freezeProc();
    tree.addProcess(4243);
    await expect(moved.placeProcess(1000, 4243)).rejects.toMatchObject({ code: 'BackendFailed', message: expect.stringMatching(/PID 4243 is in \/ of .* after the move, not in \/diycloud\/user-1000/) });
  });
  it('a PID that is gone, or ends mid-move: BackendFailed and no group left behind', async () => {
    const { tree, cg } = setup('v1');
    await expect(cg.placeProcess(1000, 4242)).rejects.toMatchObject({ code: 'BackendFailed', message: 'cgroupfs: process 4242 is not running, so it cannot be moved into uid 1000\'s group' });
    expect(tree.exists('memory/diycloud/user-1000')).toBe(false);
    tree.addProcess(4242);
    tree.dieOnMove(4242);
    await expect(cg.placeProcess(1000, 4242)).rejects.toMatchObject({ code: 'BackendFailed', message: expect.stringMatching(/^cgroupfs: process 4242 ended while it was moved into .*user-1000; nothing else changed$/) });
    expect(await cg.listUsers()).toEqual([]);
  });
  it('release removes the groups only once they hold no process; diycloud/ stays', async () => {
    const { tree, cg } = setup('v1');
    expect(await cg.release(1000)).toBe(false);
    tree.addProcess(4242);
    await cg.placeProcess(1000, 4242);
    expect(await cg.release(1000)).toBe(false);
    expect(tree.exists('memory/diycloud/user-1000')).toBe(true);
    tree.exit(4242);
    expect(await cg.release(1000)).toBe(true);
    expect(['cpu,cpuacct', 'memory', 'pids'].map((h) => tree.exists(`${h}/diycloud/user-1000`))).toEqual([false, false, false]);
    expect(tree.exists('memory/diycloud')).toBe(true);
  });
});

describe('CgroupfsLimits on v2', () => {
  it('enables +cpu +memory +pids in the root and diycloud/, and writes cpu.max, memory.max, memory.high, pids.max', async () => {
    const { tree, cg } = setup('v2');
    expect(cg.backend).toBe('cgroupfs (v2)');
    await cg.apply(1000, { ...limits, memoryHighBytes: 100 * M });
    expect([tree.read('cgroup.subtree_control'), tree.read('diycloud/cgroup.subtree_control')]).toEqual(['cpu memory pids', 'cpu memory pids']);
    const g = (f: string) => tree.read(`diycloud/user-1000/${f}`);
    expect([g('cpu.max'), g('memory.max'), g('memory.high'), g('pids.max')]).toEqual(['25000 100000', String(128 * M), String(100 * M), '64']);
    await cg.apply(1000, { cpuQuotaPerSecUsec: 'infinity', memoryMaxBytes: 'infinity', memoryHighBytes: 'infinity', tasksMax: 'infinity' });
    expect([g('cpu.max'), g('memory.max'), g('memory.high'), g('pids.max')]).toEqual(['max 100000', 'max', 'max', 'max']);
  });
  it('observe reads usage (cpu.stat usage_usec as ns) and places a PID once, never in diycloud/ itself', async () => {
    const { tree, cg } = setup('v2');
    await cg.apply(1000, limits);
    writeFileSync(join(tree.root, 'diycloud/user-1000/cpu.stat'), 'usage_usec 1500\nuser_usec 1000\n');
    writeFileSync(join(tree.root, 'diycloud/user-1000/memory.current'), '8192');
    expect(await cg.observe(1000)).toEqual({ settings: limits, memoryMaxBytes: 128 * M, memoryCurrentBytes: 8192, cpuUsageNsec: 1_500_000, tasksCurrent: 0 });
    tree.addProcess(4242);
    await cg.placeProcess(1000, 4242);
    expect([tree.read('diycloud/user-1000/cgroup.procs'), tree.read('diycloud/cgroup.procs')]).toEqual(['4242\n', '']);
    expect(await cg.observe(1001)).toBeNull();
  });
});

describe.each(['v1', 'v2'] as const)('CgroupfsLimits (%s, fake tree) honours the CgroupLimits contract', (version) => {
  it.each(CGROUP_LIMITS_CONTRACT.map((c) => [c.name, c] as const))('%s', async (_n, c) => {
    const { tree, cg } = setup(version);
    await cg.apply(1000, { cpuQuotaPerSecUsec: 'infinity', memoryMaxBytes: 'infinity', memoryHighBytes: 'infinity' });
    tree.addProcess(4242);
    const line = version === 'v1' ? 'memory' : '';
    const groupOf = async (pid: number) => {
      const m = new RegExp(`^[0-9]+:${line}:/diycloud/user-([0-9]+)$`, 'm').exec(tree.fs.read(join(tree.proc, String(pid), 'cgroup')));
      return m ? Number(m[1]) : null;
    };
    await c.run({ cgroups: cg, liveUid: 1000, addUser: (uid) => cg.apply(uid, { cpuQuotaPerSecUsec: 'infinity', memoryMaxBytes: 'infinity', memoryHighBytes: 'infinity' }), announcesNew: false, livePid: 4242, groupOf });
  });
});
