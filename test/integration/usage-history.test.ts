// Integration: the usage sampler and the portal's reads on the real diycloudd (cgroupfs backend, this host's cgroup v1) and a real dbus-daemon.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, rmdirSync } from 'node:fs';
import { busctl, MGR, run } from './lib/daemon-process';
import { startStack, type Stack } from './lib/stack';
import { probeCgroupfs } from '../../src/adapters/cgroupfs/hierarchy';

const UID = 4520; // outside the ranges of the other cgroupfs tests (4400-4509)
const CONF = `[Users]\nUIDMin=${UID}\nUIDMax=${UID + 9}\n[Backend]\nCgroups=cgroupfs\n[Usage]\nSampleIntervalSec=1\n`;
const probe = probeCgroupfs();
const v1 = probe.version === 'v1' ? probe : null;
const skip = process.getuid?.() !== 0 ? 'not root' : !v1 ? 'no cgroup v1 hierarchy' : null;
if (skip) console.warn(`*** usage history integration test SKIPPED: ${skip} ***`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.skipIf(skip !== null)('usage history on a real dbus-daemon', () => {
  let stack: Stack;
  const groups: string[] = [];
  const call = async (member: string, ...args: string[]) => busctl(stack.bus.address, ['--json=short', 'call', ...MGR, member, ...args]);
  const json = async (member: string, ...args: string[]) => {
    const r = await call(member, ...args);
    expect(r.stderr).toBe('');
    return JSON.parse((JSON.parse(r.stdout) as { data: string[] }).data[0]) as Record<string, unknown>;
  };

  beforeAll(async () => {
    stack = await startStack({ conf: CONF, users: [2, UID] });
    // a live user cgroup, as the cgroupfs backend makes at login (the sampler reads its counter files)
    for (const m of [...new Set([v1!.hierarchies.memory.mountPoint, v1!.hierarchies.cpuacct?.mountPoint].filter((x): x is string => !!x))]) {
      const g = `${m}/diycloud/user-${UID}`;
      mkdirSync(g, { recursive: true });
      groups.push(g);
    }
    await sleep(3500);
  });
  afterAll(async () => {
    await stack?.stop();
    for (const g of groups) {
      try {
        rmdirSync(g);
      } catch {
        // the daemon may have removed it
      }
    }
  });

  it('samples the live user: GetUsageHistory has points, GetUsage says live', async () => {
    const name = stack.users[0].name;
    const h = await json('GetUsageHistory', 'ss', name, 'hour');
    expect(h).toMatchObject({ user: name, uid: UID, range: 'hour', stepSec: 1 });
    const points = h.points as { t: string; cpuPercent: number; memoryBytes: number }[];
    expect(points.length).toBeGreaterThanOrEqual(1);
    expect(typeof points[0].cpuPercent).toBe('number');
    expect(Date.parse(points[0].t)).toBeGreaterThan(Date.now() - 60_000);
    const now = await json('GetUsage', 'as', '1', name);
    expect((now.users as Record<string, { live: boolean }>)[name].live).toBe(true);
    expect((await json('GetUsageHistory', 'ss', name, 'week')).stepSec).toBe(1800);
    const bad = await call('GetUsageHistory', 'ss', name, 'month');
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('range');
  });

  it('GetHostSummary has the documented shape; ListSessions and GetLimitEvents answer', async () => {
    const h = await json('GetHostSummary', '');
    expect(Object.keys(h).sort()).toEqual(['cpu', 'disk', 'gpus', 'memory', 'over', 'overcommit', 'sampledAt', 'users']);
    expect(h.cpu).toMatchObject({ capacityCores: expect.any(Number), allocatedCores: expect.any(Number), usedPercent: expect.any(Number) });
    expect(h.memory).toMatchObject({ capacityBytes: expect.any(Number), allocatedBytes: expect.any(Number), usedBytes: expect.any(Number) });
    expect(h.overcommit).toMatchObject({ cpu: expect.any(Number), memory: expect.any(Number) });
    expect((h.users as { live: number }).live).toBeGreaterThanOrEqual(1);
    expect(await json('ListSessions', 's', stack.users[0].name)).toEqual({ sessions: [] });
    expect(await json('GetLimitEvents', 'a{sv}', '0')).toEqual({ events: [] });
  });

  it("a plain user may read their own history but not another's, nor the host", async () => {
    const [me, other] = stack.users;
    const as = (args: string[]) => run('/usr/bin/setpriv', [`--reuid=${me.uid}`, `--regid=${me.uid}`, '--clear-groups', '/usr/bin/busctl', '--address', stack.bus.address, 'call', ...MGR, ...args]);
    expect((await as(['GetUsageHistory', 'ss', me.name, 'hour'])).code).toBe(0);
    const refused = await as(['GetUsageHistory', 'ss', other.name, 'hour']);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('not authorized for org.diycloud.read-users');
    expect((await as(['GetHostSummary'])).stderr).toContain('not authorized for org.diycloud.read-users');
  });
});
