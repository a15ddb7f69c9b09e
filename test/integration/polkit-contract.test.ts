// The polkit contract against the fake (the e2e suite runs the same cases against real polkitd).

import { afterAll, beforeAll, describe, it } from 'vitest';
import { startTestBus, type TestBus } from './lib/test-bus';
import { createHostUsers } from './lib/host-users';
import { polkitContext } from './lib/polkit-subject';
import { startFakePolkit, type FakePolkit } from '../fakes/fake-polkit';
import { POLKIT_CONTRACT, type Who } from '../contract/polkit-contract';

const isRoot = process.getuid?.() === 0;

describe.skipIf(!isRoot)('fake org.freedesktop.PolicyKit1 honours the polkit contract', () => {
  let bus: TestBus;
  let fake: FakePolkit;
  let hostUsers: ReturnType<typeof createHostUsers>;
  let uids: Record<Who, number>;
  beforeAll(async () => {
    bus = await startTestBus();
    hostUsers = createHostUsers(3, 2600);
    const [plain, operator, admin] = hostUsers.users.map((u) => u.uid);
    uids = { root: 0, plain, operator, admin };
    fake = await startFakePolkit(bus.address, { [operator]: 'operator', [admin]: 'admin' });
  });
  afterAll(async () => {
    fake?.close();
    await bus?.stop();
    hostUsers?.remove();
  });

  it.each(POLKIT_CONTRACT.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    await c.run(polkitContext(bus.address, uids));
  });
});
