// The systemd1 contract against the fake (the e2e suite runs the same cases against real systemd).

import { afterAll, beforeAll, describe, it } from 'vitest';
import { startTestBus, type TestBus } from './lib/test-bus';
import { busctl } from './lib/daemon-process';
import { startFakeSystemd, type FakeSystemd } from '../fakes/fake-systemd1';
import { SYSTEMD1_CONTRACT } from '../contract/systemd1-contract';

describe('fake org.freedesktop.systemd1 honours the systemd1 contract', () => {
  let bus: TestBus;
  let fake: FakeSystemd;
  beforeAll(async () => {
    bus = await startTestBus();
    fake = await startFakeSystemd(bus.address);
    fake.addSlice(1234);
  });
  afterAll(async () => {
    fake?.close();
    await bus?.stop();
  });

  it.each(SYSTEMD1_CONTRACT.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    await c.run({ busctl: (args) => busctl(bus.address, args), liveUid: 1234 });
  });
});
