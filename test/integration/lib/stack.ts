// The usual integration stack: a test bus, the fake systemd1, real host users and the real daemon, torn down in reverse.

import { startTestBus, type TestBus } from './test-bus';
import { startDaemon, type DaemonProcess } from './daemon-process';
import { createHostUsers, type HostUser } from './host-users';
import { startFakeSystemd, type FakeSystemd } from '../../fakes/fake-systemd1';

export interface Stack {
  readonly bus: TestBus;
  readonly fake: FakeSystemd;
  readonly users: HostUser[];
  readonly daemon: DaemonProcess;
  stop(): Promise<void>;
}

/** `beforeDaemon` runs once the fake is up, before the daemon starts (e.g. to add pre-existing slices). */
export async function startStack(opts: { conf: string; users: [count: number, firstUid: number]; beforeDaemon?: (fake: FakeSystemd, users: HostUser[]) => void }): Promise<Stack> {
  const bus = await startTestBus();
  const fake = await startFakeSystemd(bus.address);
  const hostUsers = createHostUsers(...opts.users);
  opts.beforeDaemon?.(fake, hostUsers.users);
  const daemon = await startDaemon(bus.address, opts.conf);
  return {
    bus,
    fake,
    users: hostUsers.users,
    daemon,
    async stop() {
      await daemon.stop();
      fake.close();
      await bus.stop();
      hostUsers.remove();
    },
  };
}
