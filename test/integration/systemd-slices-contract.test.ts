// The systemd SliceManager adapter, over a real dbus-daemon to the fake systemd1, passes the port contract.

import { afterAll, beforeAll, describe, it } from 'vitest';
import * as dbus from 'dbus-next';
import { startTestBus, type TestBus } from './lib/test-bus';
import { startFakeSystemd, type FakeSystemd } from '../fakes/fake-systemd1';
import { SLICE_MANAGER_CONTRACT } from '../contract/slice-manager-contract';
import { BusClient } from '../../src/adapters/dbus/bus-client';
import { SystemdSliceManager } from '../../src/adapters/systemd/systemd-slices';
import { createJournalLogger } from '../../src/adapters/log/journal-logger';

describe('SystemdSliceManager honours the SliceManager contract (fake systemd1 on a real bus)', () => {
  let bus: TestBus;
  let fake: FakeSystemd;
  let client: dbus.MessageBus;
  beforeAll(async () => {
    bus = await startTestBus();
    fake = await startFakeSystemd(bus.address);
    fake.addSlice(1000);
    client = dbus.sessionBus({ busAddress: bus.address });
  });
  afterAll(async () => {
    client?.disconnect();
    fake?.close();
    await bus?.stop();
  });

  it.each(SLICE_MANAGER_CONTRACT.map((c) => [c.name, c] as const))('%s', async (_n, c) => {
    const slices = new SystemdSliceManager(new BusClient(client), createJournalLogger({ write: () => undefined }));
    await c.run({ slices, liveUid: 1000, addSlice: async (uid) => fake.addSlice(uid) });
  });
});
