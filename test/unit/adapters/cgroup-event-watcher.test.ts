// The cgroup event watcher on a temp directory tree: v2 notifications (inotify on plain files), v1 polling, vanishing cgroups.

import { afterEach, describe, expect, it, vi } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CgroupEventWatcher } from '../../../src/adapters/cgroup-events/cgroup-event-watcher';
import { eventLayout, memoryCounters, throttledUsec, type EventLayout } from '../../../src/adapters/cgroup-events/event-layout';
import type { LimitSample } from '../../../src/core/event-ports';

const dirs: string[] = [];
const watchers: CgroupEventWatcher[] = [];
afterEach(() => {
  for (const w of watchers.splice(0)) w.stop();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(f: () => boolean, ms = 2000): Promise<void> {
  for (let i = 0; i < ms / 10 && !f(); i++) await sleep(10);
  expect(f()).toBe(true);
}

function tree(version: 'v1' | 'v2'): { root: string; layout: EventLayout; user(uid: number, mem: string, pids?: string, cpu?: string): void } {
  const root = mkdtempSync(join(tmpdir(), 'dc-events-'));
  dirs.push(root);
  const layout = version === 'v2'
    ? eventLayout('cgroupfs', { version: 'v2', mountPoint: root, root: '/', controllers: ['cpu', 'memory', 'pids'] })!
    : eventLayout('cgroupfs', { version: 'v1', hierarchies: { cpu: { mountPoint: `${root}/cpu`, root: '/', controllers: ['cpu'] }, memory: { mountPoint: `${root}/memory`, root: '/', controllers: ['memory'] }, cpuacct: null, pids: { mountPoint: `${root}/pids`, root: '/', controllers: ['pids'] } } })!;
  const user = (uid: number, mem: string, pids = 'max 0\n', cpu = version === 'v2' ? 'throttled_usec 0\n' : 'throttled_time 0\n') => {
    for (const [f, text] of [[layout.memory!, mem], [layout.pids!, pids], [layout.cpu!, cpu]] as const) {
      mkdirSync(`${f.parent}/user-${uid}`, { recursive: true });
      writeFileSync(`${f.parent}/user-${uid}/${f.file}`, text);
    }
  };
  return { root, layout, user };
}

describe('event layout', () => {
  it('systemd: user.slice/user-UID.slice; cgroupfs: diycloud/user-UID; v1 files differ', () => {
    const v2 = eventLayout('systemd', { version: 'v2', mountPoint: '/sys/fs/cgroup', root: '/', controllers: ['cpu', 'memory'] })!;
    expect([v2.memory, v2.pids, v2.cpu]).toEqual([{ parent: '/sys/fs/cgroup/user.slice', file: 'memory.events' }, { parent: '/sys/fs/cgroup/user.slice', file: 'pids.events' }, { parent: '/sys/fs/cgroup/user.slice', file: 'cpu.stat' }]);
    expect(v2.name(1000)).toBe('user-1000.slice');
    expect(v2.uidOf('user-1000.slice')).toBe(1000);
    expect(v2.uidOf('user-1000')).toBeNull();
    const v1 = tree('v1').layout;
    expect(v1.memory!.file).toBe('memory.oom_control');
    expect(v1.uidOf('user-42')).toBe(42);
    expect(eventLayout('none', { version: 'v2', mountPoint: '/x', root: '/', controllers: [] })).toBeNull();
  });
  it('parses the counters of both versions', () => {
    expect(memoryCounters('v2', 'low 0\nhigh 7\nmax 9\noom 2\noom_kill 1\noom_group_kill 0\n')).toEqual({ oomKill: 1, memoryHigh: 7 });
    expect(memoryCounters('v1', 'oom_kill_disable 0\nunder_oom 0\noom_kill 3\n')).toEqual({ oomKill: 3, memoryHigh: null });
    expect(throttledUsec('v2', 'usage_usec 5\nthrottled_usec 1234\n')).toBe(1234);
    expect(throttledUsec('v1', 'nr_periods 3\nnr_throttled 1\nthrottled_time 5000000\n')).toBe(5000);
  });
});

describe('CgroupEventWatcher', () => {
  const opts = { pollIntervalMs: 50, sampleIntervalMs: 1000, rescanIntervalMs: 50, isManaged: (uid: number) => uid >= 1000 };

  it('v2: a write to memory.events is noticed (inotify) and read; unmanaged users are not watched', async () => {
    const t = tree('v2');
    t.user(1000, 'high 0\noom_kill 0\n');
    t.user(999, 'high 0\noom_kill 0\n');
    const w = new CgroupEventWatcher(t.layout, { ...opts, pollIntervalMs: 60_000 });
    watchers.push(w);
    const got: LimitSample[] = [];
    await w.start((s) => got.push(s));
    expect(w.watched()).toEqual([1000]);
    expect(got.map((s) => [s.uid, s.counters.oomKill, s.fresh])).toContainEqual([1000, 0, false]);
    writeFileSync(`${t.root}/diycloud/user-1000/memory.events`, 'high 0\noom_kill 1\n');
    await until(() => got.some((s) => s.counters.oomKill === 1));
    expect(w.mode).toBe('inotify (cgroup v2)');
  });

  it('v2 before Linux 6.13 (no pids.events.local): refused forks are summed over the subtree at the slow interval; an ended scope takes nothing back', async () => {
    const t = tree('v2');
    t.user(1000, 'high 0\noom_kill 0\n', 'max 0\n');
    const slice = `${t.root}/diycloud/user-1000`;
    mkdirSync(`${slice}/session-1.scope`);
    writeFileSync(`${slice}/session-1.scope/pids.events`, 'max 2\n'); // before the start: the baseline
    const w = new CgroupEventWatcher(t.layout, { ...opts, pollIntervalMs: 60_000, sampleIntervalMs: 1000 });
    watchers.push(w);
    const got: LimitSample[] = [];
    await w.start((s) => got.push(s));
    const tasks = () => got.filter((s) => s.uid === 1000 && s.counters.tasksMax !== null).map((s) => s.counters.tasksMax);
    expect(tasks()).toEqual([0]);
    writeFileSync(`${slice}/session-1.scope/pids.events`, 'max 5\n'); // the kernel counts in the forking task's scope
    await until(() => tasks().includes(3), 3000);
    rmSync(`${slice}/session-1.scope`, { recursive: true });
    mkdirSync(`${slice}/session-2.scope`);
    writeFileSync(`${slice}/session-2.scope/pids.events`, 'max 1\n'); // a scope made since: all of it counts
    await until(() => tasks().includes(4), 3000);
    expect(Math.max(...(tasks() as number[]))).toBe(4);
  });

  it('v2 from Linux 6.13 (pids.events.local exists): the slice\'s own hierarchical pids.events, by inotify', async () => {
    const t = tree('v2');
    t.user(1000, 'high 0\noom_kill 0\n', 'max 0\n');
    writeFileSync(`${t.root}/diycloud/user-1000/pids.events.local`, 'max 0\n');
    const w = new CgroupEventWatcher(t.layout, { ...opts, pollIntervalMs: 60_000, sampleIntervalMs: 60_000 });
    watchers.push(w);
    const got: LimitSample[] = [];
    await w.start((s) => got.push(s));
    writeFileSync(`${t.root}/diycloud/user-1000/pids.events`, 'max 7\n');
    await until(() => got.some((s) => s.counters.tasksMax === 7));
  });

  it('v1: polled; only changes are reported; a cgroup that appears later is fresh; one that vanishes is dropped', async () => {
    const t = tree('v1');
    t.user(1000, 'oom_kill 0\n', 'max 0\n');
    const w = new CgroupEventWatcher(t.layout, opts);
    watchers.push(w);
    const got: LimitSample[] = [];
    await w.start((s) => got.push(s));
    await sleep(200);
    const fast = () => got.filter((s) => s.uid === 1000 && s.counters.tasksMax !== null);
    expect(fast()).toHaveLength(1); // the baseline; unchanged polls report nothing
    writeFileSync(`${t.root}/pids/diycloud/user-1000/pids.events`, 'max 4\n');
    await until(() => fast().some((s) => s.counters.tasksMax === 4));
    t.user(1001, 'oom_kill 2\n');
    await until(() => got.some((s) => s.uid === 1001 && s.fresh && s.counters.oomKill === 2));
    for (const c of ['memory', 'pids', 'cpu']) rmSync(`${t.root}/${c}/diycloud/user-1000`, { recursive: true });
    await until(() => !w.watched().includes(1000));
    expect(w.watched()).toEqual([1001]);
    expect(w.mode).toBe('poll every 0.05 s (cgroup v1)');
  });

  it('v1: pids.events is polled only while pids.max is set; forks refused meanwhile still count once it is', async () => {
    const t = tree('v1');
    t.user(1000, 'oom_kill 0\n', 'max 0\n');
    writeFileSync(`${t.root}/pids/diycloud/user-1000/pids.max`, 'max\n');
    const w = new CgroupEventWatcher(t.layout, opts);
    watchers.push(w);
    const got: LimitSample[] = [];
    await w.start((s) => got.push(s));
    writeFileSync(`${t.root}/pids/diycloud/user-1000/pids.events`, 'max 4\n');
    await sleep(300);
    expect(got.some((s) => s.counters.tasksMax === 4)).toBe(false); // not polled: no limit of its own
    writeFileSync(`${t.root}/pids/diycloud/user-1000/pids.max`, '10\n');
    await until(() => got.some((s) => s.counters.tasksMax === 4), 2500); // the slow reading (1 s here) sees the limit
  });

  it('cpu.stat: each user is read once per sample interval, however few users there are', async () => {
    const t = tree('v2');
    t.user(1000, 'high 0\noom_kill 0\n');
    vi.useFakeTimers();
    try {
      const w = new CgroupEventWatcher(t.layout, { ...opts, sampleIntervalMs: 3000, rescanIntervalMs: 60_000 });
      watchers.push(w);
      const cpu: number[] = [];
      await w.start((s) => s.counters.throttledUsec !== null && cpu.push(s.uid));
      expect(cpu).toEqual([1000]); // the first reading
      vi.advanceTimersByTime(6000); // six 1-s ticks, three slices: two readings
      expect(cpu).toEqual([1000, 1000, 1000]);
    } finally {
      vi.useRealTimers();
    }
  });

  it('a missing parent (no user cgroup yet) is not an error', async () => {
    const t = tree('v1');
    const w = new CgroupEventWatcher(t.layout, opts);
    watchers.push(w);
    await w.start(() => {});
    expect(w.watched()).toEqual([]);
  });
});
