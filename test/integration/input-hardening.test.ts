// Integration: hostile input through the bus (a{sv} keys and types, property names) and a database held locked by another program.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { Variant } from 'dbus-next';
import type { TestBus } from './lib/test-bus';
import { busctl, MGR, run, type DaemonProcess } from './lib/daemon-process';
import { callDirect } from './lib/dbus-call';
import { addDbUser, sql } from './lib/db';
import type { HostUser } from './lib/host-users';
import { startStack, type Stack } from './lib/stack';

const CONF = '[Users]\nUIDMin=2000\nUIDMax=4999\n[Backend]\nSlices=systemd\n';
const isRoot = process.getuid?.() === 0;

describe.skipIf(!isRoot)('hostile input and a locked database', () => {
  let stack: Stack;
  let bus: TestBus;
  let d: DaemonProcess;
  let alice: HostUser;
  const call = (member: string, ...args: string[]) => busctl(bus.address, ['call', ...MGR, member, ...args]);
  const errorName = async (member: string, sig: string, ...args: string[]) => {
    const r = await busctl(bus.address, ['--json=short', 'call', ...MGR, member, sig, ...args]);
    return r.stderr.trim();
  };

  beforeAll(async () => {
    stack = await startStack({ conf: CONF, users: [1, 4320] });
    ({ bus, daemon: d } = stack);
    [alice] = stack.users;
    addDbUser(d.dbPath, { name: alice.name, uid: alice.uid });
  });
  afterAll(async () => stack?.stop());

  describe('a "__proto__" key in an a{sv} is refused like any unknown key, and nothing changes', () => {
    it.each([
      ['CreateUser', 'sssa{sv}', 'protouser', '', 'user', '1', '__proto__', 'b', 'true'],
      ['DeleteUser', 'sa{sv}', 'NAME', '1', '__proto__', 'b', 'true'],
      ['SetLimits', 'sa{sv}', 'NAME', '1', '__proto__', 'd', '2'],
      ['SetEnabled', 'sba{sv}', 'NAME', 'false', '1', '__proto__', 'b', 'true'],
      ['ListUsers', 'a{sv}', '1', '__proto__', 'b', 'true'],
      ['GetAuditLog', 'a{sv}', '1', '__proto__', 'u', '5'],
    ])('%s', async (member, sig, ...args) => {
      const r = await call(member, sig, ...args.map((a) => (a === 'NAME' ? alice.name : a)));
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(/unknown key "__proto__"/);
      expect(sql(d.dbPath, "SELECT count(*) AS n FROM users WHERE username = 'protouser'")).toEqual([{ n: 0 }]);
      expect(sql(d.dbPath, 'SELECT is_active FROM users WHERE uid = ?', alice.uid)).toEqual([{ is_active: 1 }]);
    });
    it('in the nested limits of CreateUser too', async () => {
      const r = await call('CreateUser', 'sssa{sv}', 'protouser', '', 'user', '1', 'limits', 'a{sv}', '1', '__proto__', 'd', '2');
      expect(r.stderr).toMatch(/unknown key "__proto__"/);
      expect(sql(d.dbPath, "SELECT count(*) AS n FROM users WHERE username = 'protouser'")).toEqual([{ n: 0 }]);
    });
  });

  it.each(['users', 'diycloud-admin', 'diycloud-operator'])('CreateUser("%s") is NameReserved (an existing group / a role group), and nothing is created', async (name) => {
    const r = await errorName('CreateUser', 'sssa{sv}', name, '', 'user', '0');
    expect(r).toMatch(/group/);
    expect((await callDirect(bus.address, 'CreateUser', 'sssa{sv}', [name, '', 'user', {}])).error).toBe('org.diycloud.Manager1.Error.NameReserved');
    expect(sql(d.dbPath, 'SELECT count(*) AS n FROM users WHERE username = ?', name)).toEqual([{ n: 0 }]);
    expect(spawnSync('/usr/bin/getent', ['passwd', name]).status).toBe(2);
  });

  it.each([
    ['limit s 5', ['s', '5']],
    ['limit b true', ['b', 'true']],
  ])('GetAuditLog refuses %s (limit must be an integer)', async (_l, [t, v]) => {
    const r = await callDirect(bus.address, 'GetAuditLog', 'a{sv}', [{ limit: new Variant(t, t === 'b' ? true : v) }]);
    expect(r.error).toBe('org.diycloud.Manager1.Error.InvalidArgument');
    expect(r.message).toMatch(/filter\.limit: expected type/);
  });

  it.each(['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf'])('Properties.Get of "%s" is UnknownProperty, with nothing in the journal', async (name) => {
    const before = d.log().length;
    const r = await busctl(bus.address, ['get-property', ...MGR, name]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/no property/);
    expect(d.log().slice(before)).not.toMatch(/TypeError|internal error/);
  });

  it('a program holding the write lock never freezes the daemon: reads answer, writes get Busy at once', async () => {
    const holder = spawn('/usr/bin/python3', ['-c', [
      'import sqlite3, sys, time',
      'c = sqlite3.connect(sys.argv[1], isolation_level=None)',
      "c.execute('BEGIN IMMEDIATE')",
      "print('locked', flush=True)",
      'time.sleep(4)',
      "c.execute('COMMIT')",
    ].join('\n'), d.dbPath], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      await new Promise<void>((resolve) => holder.stdout!.once('data', () => resolve()));
      const t0 = Date.now();
      const ping = await run('/usr/bin/busctl', [`--address=${bus.address}`, 'call', 'org.diycloud.Manager1', '/org/diycloud/Manager1', 'org.freedesktop.DBus.Peer', 'Ping']);
      expect(ping.code, ping.stderr).toBe(0);
      const login = await call('CheckLogin', 'sss', alice.name, 'sshd', '');
      expect(login.stdout.trim()).toBe('bs true "ok"');
      // The login path goes on: the slice gets its limits, only the session record is skipped.
      const open = await call('OpenSession', 'ssss', alice.name, 'sshd', 'pts/3', '');
      expect(open.code, open.stderr).toBe(0);
      const write = await errorName('SetEmail', 'ss', alice.name, 'a@example.org');
      expect(write).toMatch(/database is locked by another program/);
      expect(Date.now() - t0).toBeLessThan(2000); // the lock is held for 4 s: nobody waited it out
    } finally {
      holder.kill();
    }
    await new Promise((r) => holder.once('close', r));
    expect((await call('SetEmail', 'ss', alice.name, 'a@example.org')).code).toBe(0);
  }, 20_000);
});
