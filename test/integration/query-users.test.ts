// Integration: QueryUsers on the real diycloudd and a real dbus-daemon, through busctl and the built diycloudctl.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { REPO } from './lib/test-bus';
import { busctl, MGR, run } from './lib/daemon-process';
import { addDbUser, sql } from './lib/db';
import { startStack, type Stack } from './lib/stack';

const CLI = join(REPO, 'dist', 'entry', 'cli.js');
const CONF = '[Users]\nUIDMin=2000\nUIDMax=2999\n[Backend]\nSlices=systemd\n';
const isRoot = process.getuid?.() === 0;
const ERR = 'org.diycloud.Manager1.Error.';

interface Page { total: number; offset: number; limit: number; users: { name: string; uid: number; role: string; enabled: boolean }[] }

describe.skipIf(!isRoot)('QueryUsers on a real dbus-daemon', () => {
  let stack: Stack;
  const address = () => stack.bus.address;
  const query = async (...kv: string[]): Promise<Page> => {
    const r = await busctl(address(), ['--json=short', 'call', ...MGR, 'QueryUsers', 'a{sv}', String(kv.length / 3), ...kv]);
    expect(r.stderr).toBe('');
    return JSON.parse((JSON.parse(r.stdout) as { data: string[] }).data[0]) as Page;
  };
  const ctl = (args: string[], asUid?: number) => {
    const argv = [CLI, '--bus-address', address(), ...args];
    return asUid === undefined ? run(process.execPath, argv) : run('/usr/bin/setpriv', [`--reuid=${asUid}`, `--regid=${asUid}`, '--clear-groups', process.execPath, ...argv]);
  };

  beforeAll(async () => {
    stack = await startStack({ conf: CONF, users: [1, 2950] });
    // database users only (no NSS account needed to be listed): 30 of them, every third disabled
    for (let i = 0; i < 30; i++) addDbUser(stack.daemon.dbPath, { name: `qu${String(i).padStart(2, '0')}`, uid: 2600 + i, active: i % 3 !== 0, memory: `${1 + (i % 5)}G` });
    sql(stack.daemon.dbPath, "UPDATE users SET role = 'operator', email = 'Ops@Example.org' WHERE username = 'qu07'");
  });
  afterAll(async () => stack?.stop());

  it('pages, filters and sorts; total counts every match', async () => {
    const first = await query('limit', 'u', '10');
    expect(first).toMatchObject({ total: 30, offset: 0, limit: 10 });
    expect(first.users.map((u) => u.name)).toEqual(Array.from({ length: 10 }, (_, i) => `qu0${i}`));
    const last = await query('limit', 'u', '10', 'offset', 'u', '25', 'sort', 's', 'uid', 'order', 's', 'desc');
    expect(last.users.map((u) => u.uid)).toEqual([2604, 2603, 2602, 2601, 2600]);
    expect((await query('enabled', 'b', 'false')).total).toBe(10);
    expect((await query('role', 's', 'operator', 'search', 's', 'example.ORG')).users.map((u) => u.name)).toEqual(['qu07']);
    expect((await query('hasGpu', 'b', 'true')).total).toBe(0);
    expect((await query()).limit).toBe(50);
  });

  it('a malformed query is InvalidArgument naming the key, and the daemon stays up', async () => {
    for (const [kv, key] of [
      [['limit', 'u', '0'], 'limit'], [['limit', 'u', '1001'], 'limit'], [['offset', 'i', '-1'], 'offset'], [['sort', 's', 'colour'], 'sort'],
      [['order', 's', 'up'], 'order'], [['colour', 's', 'red'], 'colour'], [['enabled', 's', 'yes'], 'enabled'], [['search', 's', 'x'.repeat(300)], 'search'],
    ] as [string[], string][]) {
      const r = await busctl(address(), ['call', ...MGR, 'QueryUsers', 'a{sv}', '1', ...kv]);
      expect(r.code, key).not.toBe(0);
      expect(r.stderr, key).toContain(key);
      expect(r.stderr.length, key).toBeLessThan(400);
    }
    const direct = await busctl(address(), ['call', ...MGR, 'QueryUsers', 'a{sv}', '1', 'limit', 'u', '0']);
    expect(direct.stderr).toMatch(/out of range/);
    expect((await busctl(address(), ['get-property', ...MGR, 'Version'])).code).toBe(0);
    expect((await query('limit', 'u', '1')).total).toBe(30);
  });

  it('a caller without read-users is refused, as for ListUsers', async () => {
    for (const m of ['QueryUsers', 'ListUsers']) {
      const r = await busctl(address(), ['call', ...MGR, m, 'a{sv}', '0'], { asUid: 65534 });
      expect(r.code, m).not.toBe(0);
      expect(r.stderr, m).toMatch(/not authorized for org\.diycloud\.read-users/);
    }
    const c = await ctl(['user', 'list'], 65534);
    expect(c.code).toBe(4);
  });

  it('diycloudctl user list uses it: options, "showing A-B of TOTAL", --json the daemon\'s JSON', async () => {
    const text = await ctl(['user', 'list', '--disabled', '--sort', 'memory', '--desc', '--limit', '3', '--offset', '1']);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^showing 2-4 of 10 users$/m);
    const j = JSON.parse((await ctl(['--json', 'user', 'list', '--search', 'QU2', '--limit', '5'])).stdout) as Page;
    expect(j).toMatchObject({ total: 10, offset: 0, limit: 5 });
    expect(j.users.map((u) => u.name)).toEqual(['qu20', 'qu21', 'qu22', 'qu23', 'qu24']);
    const bad = await ctl(['user', 'list', '--limit', '5000']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/query\.limit/);
  });
});
