// Integration: who may call what. The real diycloudd with the fake polkit on the test bus; every method
// the daemon introspects is called by root, a plain user, an operator and an admin (host users, busctl
// through setpriv), and must get exactly what polkit/org.diycloud.policy and 50-diycloud.rules say.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestBus, type TestBus } from './lib/test-bus';
import { busctl, MGR, run, startDaemon, type DaemonProcess } from './lib/daemon-process';
import { callDirect } from './lib/dbus-call';
import { createHostUsers } from './lib/host-users';
import { startFakeSystemd, type FakeSystemd } from '../fakes/fake-systemd1';
import { startFakePolkit, type FakePolkit } from '../fakes/fake-polkit';
import { WHO, type Who } from '../contract/polkit-contract';
import { introspectedMethods, ROWS, runMatrix } from '../contract/manager1-authorization';

const CONF = '[Users]\nUIDMin=2000\nUIDMax=2999\n[Backend]\nSlices=systemd\n';
const isRoot = process.getuid?.() === 0;

describe.skipIf(!isRoot)('authorization of every Manager1 method (fake polkit)', () => {
  let bus: TestBus;
  let systemd: FakeSystemd;
  let polkit: FakePolkit;
  let d: DaemonProcess;
  let hostUsers: ReturnType<typeof createHostUsers>;
  let uids: Record<Who, number>;
  let target: string;
  const as = (who: Who, args: string[]) => busctl(bus.address, args, uids[who] === 0 ? {} : { asUid: uids[who] });

  beforeAll(async () => {
    bus = await startTestBus();
    systemd = await startFakeSystemd(bus.address);
    hostUsers = createHostUsers(4, 2800);
    const [plain, operator, admin, t] = hostUsers.users;
    uids = { root: 0, plain: plain.uid, operator: operator.uid, admin: admin.uid };
    target = t.name;
    polkit = await startFakePolkit(bus.address, { [operator.uid]: 'operator', [admin.uid]: 'admin' });
    d = await startDaemon(bus.address, CONF);
    const adopt = await busctl(bus.address, ['call', ...MGR, 'AdoptUser', 'ss', target, 'user']);
    expect(adopt.stderr).toBe('');
  });
  afterAll(async () => {
    await d?.stop();
    polkit?.close();
    systemd?.close();
    await bus?.stop();
    hostUsers?.remove();
  });

  const introspect = async (): Promise<string> => {
    const r = await as('plain', ['--json=short', 'call', 'org.diycloud.Manager1', '/org/diycloud/Manager1', 'org.freedesktop.DBus.Introspectable', 'Introspect']);
    expect(r.stderr).toBe('');
    return (JSON.parse(r.stdout) as { data: [string] }).data[0];
  };

  it('the matrix fails for a method without a row (so a new method cannot slip through)', async () => {
    const xml = (await introspect()).replace('<method name="Reconcile">', '<method name="NewThing"><arg name="x" type="s" direction="in"/></method>\n    <method name="Reconcile">');
    expect(introspectedMethods(xml).has('NewThing')).toBe(true);
    const { problems } = await runMatrix(xml, { target }, async () => ({ code: 0, stdout: '', stderr: '' }), ['root']);
    expect(problems).toEqual(['NewThing: introspected but has no row in ROWS (add one with what it needs)']);
  });

  it('every introspected method, called by root, plain, operator and admin, gets what the policy says', async () => {
    const { problems, seen } = await runMatrix(await introspect(), { target }, as, WHO);
    expect(problems).toEqual([]);
    expect(seen.length).toBe(Object.keys(ROWS).length * WHO.length);
    // root was never asked about; everyone else was asked with the target in the details, without interaction
    expect(polkit.calls.every((c) => c.uid !== 0 && c.flags === 0)).toBe(true);
    expect(polkit.calls.some((c) => c.action === 'org.diycloud.manage-users' && c.details.user === target)).toBe(true);
  }, 120_000);

  it('denials carry the exact D-Bus error names (dbus-send prints them; it never allows interaction)', async () => {
    const send = (who: Who, member: string, ...args: string[]) =>
      run('/usr/bin/setpriv', [`--reuid=${uids[who]}`, `--regid=${uids[who]}`, '--clear-groups', '/usr/bin/dbus-send', `--bus=${bus.address}`, '--print-reply',
        '--dest=org.diycloud.Manager1', '/org/diycloud/Manager1', `org.diycloud.Manager1.${member}`, ...args]);
    expect((await send('plain', 'Reconcile')).stderr).toMatch(/^Error org\.freedesktop\.DBus\.Error\.AccessDenied: /);
    expect((await send('admin', 'CheckLogin', `string:${target}`, 'string:login', 'string:')).stderr).toMatch(/^Error org\.freedesktop\.DBus\.Error\.AccessDenied: /);
    expect((await send('operator', 'SetEmail', `string:${target}`, 'string:x@example.org')).stderr)
      .toMatch(/^Error org\.diycloud\.Manager1\.Error\.PermissionDenied: not authorized for org\.diycloud\.manage-users/);
    expect((await send('plain', 'GetUser', `string:${target}`)).stderr).toMatch(/^Error org\.diycloud\.Manager1\.Error\.PermissionDenied: not authorized for org\.diycloud\.read-users/);
    expect((await send('plain', 'ResetLimits', `string:${target}`)).stderr).toMatch(/^Error org\.diycloud\.Manager1\.Error\.PermissionDenied: not authorized for org\.diycloud\.manage-limits/);
    // allowed callers get past authorization: the operator's ResetLimits succeeds, the admin's AdoptUser of an adopted user is UserExists
    expect((await send('operator', 'ResetLimits', `string:${target}`)).code).toBe(0);
    expect((await send('admin', 'AdoptUser', `string:${target}`, 'string:user')).stderr).toMatch(/^Error org\.diycloud\.Manager1\.Error\.UserExists: /);
    // root is never refused
    expect(await callDirect(bus.address, 'SetEmail', 'ss', [target, 'x@example.org'])).toEqual({ body: [] });
  });

  it('an operator taken out of diycloud-operator is refused at once (polkit is asked on every call)', async () => {
    const call = () => as('operator', ['--allow-interactive-authorization=no', 'call', ...MGR, 'ResetLimits', 's', target]);
    expect((await call()).code).toBe(0);
    polkit.setRole(uids.operator, null);
    try {
      expect((await call()).stderr).toMatch(/not authorized for org\.diycloud\.manage-limits/);
    } finally {
      polkit.setRole(uids.operator, 'operator');
    }
  });

  it('everyone may read their own record without polkit', async () => {
    for (const who of ['plain', 'operator', 'admin'] as const) {
      const name = hostUsers.users[['plain', 'operator', 'admin'].indexOf(who)].name;
      // role "user" for all: the fake's table, not Unix groups, says who is an operator (no host groups are made)
      expect((await busctl(bus.address, ['call', ...MGR, 'AdoptUser', 'ss', name, 'user'])).stderr).toBe('');
      const before = polkit.calls.length;
      const r = await as(who, ['call', ...MGR, 'GetUser', 's', name]);
      expect(r.stderr, who).toBe('');
      expect(polkit.calls.length).toBe(before);
    }
  });
});
