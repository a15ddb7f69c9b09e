// The systemd CgroupLimits adapter, over a real dbus-daemon to the fake systemd1, passes the port contract.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import * as dbus from 'dbus-next';
import { Message } from 'dbus-next';
import { startTestBus, type TestBus } from './lib/test-bus';
import { startFakeSystemd, type FakeSystemd } from '../fakes/fake-systemd1';
import { CGROUP_LIMITS_CONTRACT } from '../contract/cgroup-limits-contract';
import { BusClient } from '../../src/adapters/dbus/bus-client';
import { SystemdSliceManager } from '../../src/adapters/systemd/systemd-slices';
import { createJournalLogger } from '../../src/adapters/log/journal-logger';

const quiet = createJournalLogger({ write: () => undefined });

describe('SystemdSliceManager honours the CgroupLimits contract (fake systemd1 on a real bus)', () => {
  let bus: TestBus;
  let fake: FakeSystemd;
  let client: dbus.MessageBus;
  let sleeper: ChildProcess;
  beforeAll(async () => {
    bus = await startTestBus();
    fake = await startFakeSystemd(bus.address);
    fake.addSlice(1000);
    client = dbus.sessionBus({ busAddress: bus.address });
    sleeper = spawn('/bin/sleep', ['60'], { stdio: 'ignore' });
  });
  afterAll(async () => {
    sleeper?.kill('SIGKILL');
    client?.disconnect();
    fake?.close();
    await bus?.stop();
  });
  /** The UID of the user slice of the last scope that took `pid`, as the fake recorded it. */
  const sliceOf = async (pid: number) => {
    const s = fake.transients.filter((t) => t.unit.endsWith('.scope') && t.pids.includes(pid)).pop();
    const m = s ? /^user-([0-9]+)\.slice$/.exec(s.slice) : null;
    return m ? Number(m[1]) : null;
  };

  it.each(CGROUP_LIMITS_CONTRACT.map((c) => [c.name, c] as const))('%s', async (_n, c) => {
    // A fresh adapter per case: placement must not depend on watch() having run.
    const cgroups = new SystemdSliceManager(new BusClient(client), quiet);
    await c.run({ cgroups, liveUid: 1000, addUser: async (uid) => fake.addSlice(uid), announcesNew: true, livePid: sleeper.pid!, groupOf: sliceOf });
  });

  describe('placeProcess against systemd1 specifically', () => {
    const manager = (timeoutMs = 5000) => new SystemdSliceManager(new BusClient(client), quiet, { jobTimeoutMs: timeoutMs });

    it('starts a scope named diycloud-UID-PID.scope, mode "fail", Slice, PIDs and CollectMode, then waits for its job', async () => {
      await manager().placeProcess(1001, sleeper.pid!);
      const t = fake.transients.filter((x) => x.unit === `diycloud-1001-${sleeper.pid}.scope`).pop();
      expect(t).toMatchObject({ slice: 'user-1001.slice', pids: [sleeper.pid], props: { CollectMode: 'inactive-or-failed', Slice: 'user-1001.slice' } });
      expect(String(t?.props.Description)).toMatch(/^diycloud: login process [0-9]+ held to user-1001\.slice$/);
    });

    it('a name still taken by an earlier scope gets a suffix instead of failing', async () => {
      const before = fake.transients.length;
      await manager().placeProcess(1001, sleeper.pid!); // diycloud-1001-PID.scope exists from the case above
      expect(fake.transients.slice(before).map((t) => t.unit)).toEqual([expect.stringMatching(new RegExp(`^diycloud-1001-${sleeper.pid}-[0-9a-z]+\\.scope$`))]);
    });

    it('a job that ends other than "done" is BackendFailed', async () => {
      fake.failNextJobs(1, 'failed');
      await expect(manager().placeProcess(1002, sleeper.pid!)).rejects.toMatchObject({ code: 'BackendFailed', message: expect.stringMatching(/moving PID [0-9]+ into user-1002\.slice/) });
    });

    it('no JobRemoved within the bound is BackendFailed, not a hang', async () => {
      fake.holdJobs();
      try {
        const t0 = Date.now();
        await expect(manager(300).placeProcess(1003, sleeper.pid!)).rejects.toMatchObject({ code: 'BackendFailed' });
        expect(Date.now() - t0).toBeLessThan(2000);
      } finally {
        fake.releaseJobs();
      }
    });

    it('a forged JobRemoved from another bus connection is ignored; the real one from systemd counts', async () => {
      const forger = dbus.sessionBus({ busAddress: bus.address });
      forger.on('error', () => undefined);
      try {
        fake.holdJobs();
        const jobsBefore = fake.jobs.length;
        const m = manager();
        let settled = '';
        const placing = m.placeProcess(1004, sleeper.pid!).then(() => (settled = 'placed'), (e: Error) => (settled = `failed: ${e.message}`));
        for (let i = 0; i < 100 && fake.jobs.length === jobsBefore; i++) await new Promise((r) => setTimeout(r, 10));
        const job = fake.jobs[jobsBefore];
        const unit = `diycloud-1004-${sleeper.pid}.scope`;
        const target = (client as unknown as { name: string }).name;
        // unicast signals reach a connection whatever its match rules: the sender is what tells
        const forged = Message.newSignal('/org/freedesktop/systemd1', 'org.freedesktop.systemd1.Manager', 'JobRemoved', 'uoss', [jobsBefore + 1, job, unit, 'failed']);
        forged.destination = target;
        forger.send(forged);
        await new Promise((r) => setTimeout(r, 200));
        expect(settled).toBe('');
        fake.releaseJobs();
        await placing;
        expect(settled).toBe('placed');
      } finally {
        fake.releaseJobs();
        forger.disconnect();
      }
    });
  });
});
