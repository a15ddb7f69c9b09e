// Integration: a slow interactive polkit prompt never holds up the login path's calls.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestBus, type TestBus } from './lib/test-bus';
import { busctl, MGR, startDaemon, type DaemonProcess } from './lib/daemon-process';
import { startFakeSystemd, type FakeSystemd } from '../fakes/fake-systemd1';
import { startFakePolkit, type FakePolkit } from '../fakes/fake-polkit';
import { addDbUser } from './lib/db';
import { createHostUsers } from './lib/host-users';

const isRoot = process.getuid?.() === 0;

describe.skipIf(!isRoot)('a slow interactive polkit prompt', () => {
  let bus: TestBus;
  let fake: FakeSystemd;
  let polkit: FakePolkit;
  let d: DaemonProcess;
  let users: ReturnType<typeof createHostUsers>;

  beforeAll(async () => {
    bus = await startTestBus();
    fake = await startFakeSystemd(bus.address);
    polkit = await startFakePolkit(bus.address, {}, { interactiveDelayMs: 3000 });
    users = createHostUsers(2, 2900);
    d = await startDaemon(bus.address, '[Users]\nUIDMin=2000\nUIDMax=2999\n[Backend]\nSlices=systemd\n');
    for (const u of users.users) addDbUser(d.dbPath, { name: u.name, uid: u.uid });
  });
  afterAll(async () => {
    await d?.stop();
    polkit?.close();
    fake?.close();
    await bus?.stop();
    users?.remove();
  });

  it('OpenSession answers at once while a plain user sits at a 3 s password prompt', async () => {
    const [plain, other] = users.users;
    const started = Date.now();
    // A plain user asks for SetLimits interactively: polkit "prompts" for 3 s.
    const slow = busctl(bus.address, ['--allow-interactive-authorization=yes', 'call', ...MGR, 'SetLimits', 'sa{sv}', other.name, '1', 'cpu', 'd', '4'], { asUid: plain.uid });
    await new Promise((r) => setTimeout(r, 300)); // the prompt is open
    const t = Date.now();
    const login = await busctl(bus.address, ['call', ...MGR, 'OpenSession', 'ssss', other.name, 'sshd', 'pts/1', '']);
    const loginMs = Date.now() - t;
    expect(login.code, login.stderr).toBe(0);
    expect(loginMs).toBeLessThan(1000);
    const slowResult = await slow;
    expect(Date.now() - started).toBeGreaterThan(2900); // the prompt really was slow
    expect(slowResult.stderr).toMatch(/not authorized for org\.diycloud\.manage-limits/);
    expect(polkit.calls.some((c) => c.flags === 1 && c.uid === plain.uid)).toBe(true);
  });
});
