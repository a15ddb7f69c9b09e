// Integration: CreateUser/DeleteUser through the real daemon, real useradd/userdel, kill -9 crash injection, 50-way race.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { REPO, startTestBus, type TestBus } from './lib/test-bus';
import { busctl, MGR } from './lib/daemon-process';
import { startDaemon, type DaemonProcess } from './lib/daemon-process';
import { callDirect } from './lib/dbus-call';
import { sql } from './lib/db';

const isRoot = process.getuid?.() === 0;
const getent = (name: string) => spawnSync('/usr/bin/getent', ['passwd', name], { encoding: 'utf8' }).stdout.trim();

describe.skipIf(!isRoot)('user accounts through the daemon (real shadow-utils)', () => {
  let bus: TestBus;
  let d: DaemonProcess;
  let dir: string;
  const tag = randomBytes(3).toString('hex');
  const made: string[] = [];
  const name = (s: string) => {
    const n = `dca${tag}${s}`;
    made.push(n);
    return n;
  };
  const conf = () => `[Users]\nUIDMin=3100\nUIDMax=3999\n[Backend]\nSlices=none\n[Accounts]\nUseradd=${dir}/useradd\nUserdel=${dir}/userdel\nPamVerify=${REPO}/dist/pam-verify\n`;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'diycloud-acct-'));
    // useradd, and then a pause while the flag file exists: a window for kill -9 after the account exists.
    for (const tool of ['useradd', 'userdel']) {
      // A paused wrapper stops itself (SIGSTOP) until the test kills it: no sleeping child outlives the test.
      writeFileSync(join(dir, tool), `#!/bin/sh\n[ -e ${dir}/pause-before-${tool} ] && kill -STOP $$\n/usr/sbin/${tool} "$@" || exit $?\n[ -e ${dir}/pause-after-${tool} ] && kill -STOP $$\nexit 0\n`);
      chmodSync(join(dir, tool), 0o755);
    }
    bus = await startTestBus();
    d = await startDaemon(bus.address, conf(), { dir });
  });
  afterAll(async () => {
    await d?.stop();
    await bus?.stop();
    for (const n of made) spawnSync('/usr/sbin/userdel', ['--remove', '--', n], { stdio: 'ignore' });
    rmSync(dir, { recursive: true, force: true });
  });

  it('CreateUser makes the account (explicit uid, home 0700, locked without a password) and its row; DeleteUser removes both', async () => {
    const n = name('a');
    const r = await callDirect(bus.address, 'CreateUser', 'sssa{sv}', [n, `${n}@example.org`, 'user', {}]);
    expect(r.error).toBeUndefined();
    const uid = r.body?.[0] as number;
    expect(uid).toBeGreaterThanOrEqual(3100);
    expect(getent(n)).toMatch(new RegExp(`^${n}:x:${uid}:\\d+::/home/${n}:/bin/bash$`));
    expect(spawnSync('/usr/bin/stat', ['-c', '%a %U', `/home/${n}`], { encoding: 'utf8' }).stdout.trim()).toBe(`700 ${n}`);
    expect(spawnSync('/usr/bin/passwd', ['--status', n], { encoding: 'utf8' }).stdout.split(' ')[1]).toBe('L');
    expect(sql(d.dbPath, 'SELECT uid, email FROM users WHERE username = ?', n)).toEqual([{ uid, email: `${n}@example.org` }]);
    expect((await callDirect(bus.address, 'DeleteUser', 'sa{sv}', [n, { remove_home: new (require('dbus-next').Variant)('b', true) }])).error).toBeUndefined();
    expect(getent(n)).toBe('');
    expect(existsSync(`/home/${n}`)).toBe(false);
    expect(sql(d.dbPath, 'SELECT count(*) AS n FROM users WHERE username = ?', n)).toEqual([{ n: 0 }]);
    // the uid is never handed out again
    const again = await callDirect(bus.address, 'CreateUser', 'sssa{sv}', [name('b'), '', 'user', {}]);
    expect(again.body?.[0]).toBeGreaterThan(uid);
  });

  it('a password is set through chpasswd (never in argv) and unlocks the account', async () => {
    const n = name('p');
    const r = await callDirect(bus.address, 'CreateUser', 'sssa{sv}', [n, '', 'user', { password: new (require('dbus-next').Variant)('s', 'correct horse battery') }]);
    expect(r.error).toBeUndefined();
    expect(spawnSync('/usr/bin/passwd', ['--status', n], { encoding: 'utf8' }).stdout.split(' ')[1]).toBe('P');
  });

  it('SetPassword: the user proves the old password through PAM; a wrong one changes nothing', async () => {
    const n = name('pw');
    const Variant = require('dbus-next').Variant;
    const uid = (await callDirect(bus.address, 'CreateUser', 'sssa{sv}', [n, '', 'user', { password: new Variant('s', 'first pass 1') }])).body?.[0] as number;
    const verify = (pw: string) => spawnSync(`${REPO}/dist/pam-verify`, ['--', n], { input: `${pw}\n` }).status;
    expect(verify('first pass 1')).toBe(0);
    const wrong = await busctl(bus.address, ['call', ...MGR, 'SetPassword', 'sss', n, 'second pass 2', 'not it'], { asUid: uid });
    expect(wrong.stderr).toMatch(/the current password is wrong/);
    expect(verify('first pass 1')).toBe(0);
    const right = await busctl(bus.address, ['call', ...MGR, 'SetPassword', 'sss', n, 'second pass 2', 'first pass 1'], { asUid: uid });
    expect(right.code, right.stderr).toBe(0);
    expect(verify('second pass 2')).toBe(0);
    expect(verify('first pass 1')).toBe(1);
    expect((await callDirect(bus.address, 'SetPassword', 'sss', [n, 'third pass 3', ''])).error).toBeUndefined(); // root: no old one
    expect(verify('third pass 3')).toBe(0);
  });

  it('50 concurrent CreateUser calls for one name make exactly one account, one row, one uid', async () => {
    const n = name('race');
    const results = await Promise.all(Array.from({ length: 50 }, () => callDirect(bus.address, 'CreateUser', 'sssa{sv}', [n, '', 'user', {}])));
    const ok = results.filter((r) => !r.error);
    expect(ok).toHaveLength(1);
    expect(results.filter((r) => r.error).every((r) => r.error === 'org.diycloud.Manager1.Error.UserExists')).toBe(true);
    expect(spawnSync('/usr/bin/getent', ['passwd'], { encoding: 'utf8' }).stdout.split('\n').filter((l) => l.startsWith(`${n}:`))).toHaveLength(1);
    expect(sql(d.dbPath, 'SELECT count(*) AS n FROM users WHERE username = ?', n)).toEqual([{ n: 1 }]);
  });

  it('reserved and existing names are refused with typed errors and nothing changes', async () => {
    expect((await callDirect(bus.address, 'CreateUser', 'sssa{sv}', ['root', '', 'user', {}])).error).toBe('org.diycloud.Manager1.Error.NameReserved');
    expect((await callDirect(bus.address, 'CreateUser', 'sssa{sv}', ['messagebus', '', 'user', {}])).error).toBe('org.diycloud.Manager1.Error.NameReserved');
    expect((await callDirect(bus.address, 'CreateUser', 'sssa{sv}', [name('x'), 'not-an-email', 'user', {}])).error).toBe('org.diycloud.Manager1.Error.InvalidArgument');
    expect((await callDirect(bus.address, 'CreateUser', 'sssa{sv}', [name('y'), '', 'user', { color: new (require('dbus-next').Variant)('s', 'red') }])).error).toBe('org.diycloud.Manager1.Error.InvalidArgument');
  });

  it('kill -9 after useradd, before the commit: the next start removes the half-made account', async () => {
    const n = name('crash');
    writeFileSync(join(dir, 'pause-after-useradd'), '');
    const pending = callDirect(bus.address, 'CreateUser', 'sssa{sv}', [n, '', 'user', {}]);
    for (let i = 0; i < 100 && getent(n) === ''; i++) await new Promise((r) => setTimeout(r, 50));
    expect(getent(n)).not.toBe('');
    expect(sql(d.dbPath, 'SELECT op, username FROM intents')).toEqual([{ op: 'create', username: n }]);
    d.child.kill('SIGKILL');
    await pending;
    spawnSync('/usr/bin/pkill', ['-KILL', '-f', `${dir}/user`]);
    rmSync(join(dir, 'pause-after-useradd'));
    d = await startDaemon(bus.address, conf(), { dir });
    expect(getent(n)).toBe('');
    expect(sql(d.dbPath, 'SELECT count(*) AS n FROM intents')).toEqual([{ n: 0 }]);
    expect(sql(d.dbPath, 'SELECT count(*) AS n FROM users WHERE username = ?', n)).toEqual([{ n: 0 }]);
    expect(d.log()).toMatch(new RegExp(`repairing an interrupted create of ${n}`));
    // and the name can be created properly now
    expect((await callDirect(bus.address, 'CreateUser', 'sssa{sv}', [n, '', 'user', {}])).error).toBeUndefined();
  });

  /** Kills the daemon while `flag` holds the tool, restarts it, and returns the new daemon. */
  async function crashDuring(flag: string, call: Promise<unknown>, ready: () => boolean): Promise<void> {
    for (let i = 0; i < 100 && !ready(); i++) await new Promise((r) => setTimeout(r, 50));
    expect(ready()).toBe(true);
    d.child.kill('SIGKILL');
    await call;
    // kill -9 does not take the daemon's children along: end the paused wrapper too (nothing left behind)
    spawnSync('/usr/bin/pkill', ['-KILL', '-f', `${dir}/user`]);
    rmSync(join(dir, flag));
    d = await startDaemon(bus.address, conf(), { dir });
  }

  it('kill -9 after the intent, before useradd: the next start drops the intent; nothing was made', async () => {
    const n = name('early');
    writeFileSync(join(dir, 'pause-before-useradd'), '');
    const pending = callDirect(bus.address, 'CreateUser', 'sssa{sv}', [n, '', 'user', {}]);
    await crashDuring('pause-before-useradd', pending, () => sql(d.dbPath, 'SELECT count(*) AS n FROM intents')[0] !== undefined && (sql(d.dbPath, 'SELECT count(*) AS n FROM intents')[0] as { n: number }).n === 1);
    expect(getent(n)).toBe('');
    expect(sql(d.dbPath, 'SELECT count(*) AS n FROM intents')).toEqual([{ n: 0 }]);
    expect(sql(d.dbPath, 'SELECT count(*) AS n FROM users WHERE username = ?', n)).toEqual([{ n: 0 }]);
  });

  it('kill -9 after userdel, before the rows go: the next start finishes the deletion', async () => {
    const n = name('del');
    expect((await callDirect(bus.address, 'CreateUser', 'sssa{sv}', [n, '', 'user', {}])).error).toBeUndefined();
    writeFileSync(join(dir, 'pause-after-userdel'), '');
    const pending = callDirect(bus.address, 'DeleteUser', 'sa{sv}', [n, {}]);
    await crashDuring('pause-after-userdel', pending, () => getent(n) === '');
    expect(sql(d.dbPath, 'SELECT count(*) AS n FROM users WHERE username = ?', n)).toEqual([{ n: 0 }]);
    expect(sql(d.dbPath, 'SELECT count(*) AS n FROM intents')).toEqual([{ n: 0 }]);
    expect(d.log()).toMatch(new RegExp(`repairing an interrupted delete of ${n}`));
  });

  it('kill -9 after the delete intent, before userdel: the next start finishes the deletion', async () => {
    const n = name('del2');
    expect((await callDirect(bus.address, 'CreateUser', 'sssa{sv}', [n, '', 'user', {}])).error).toBeUndefined();
    writeFileSync(join(dir, 'pause-before-userdel'), '');
    const pending = callDirect(bus.address, 'DeleteUser', 'sa{sv}', [n, {}]);
    await crashDuring('pause-before-userdel', pending, () => (sql(d.dbPath, "SELECT count(*) AS n FROM intents WHERE op = 'delete'")[0] as { n: number }).n === 1);
    expect(getent(n)).toBe('');
    expect(sql(d.dbPath, 'SELECT count(*) AS n FROM users WHERE username = ?', n)).toEqual([{ n: 0 }]);
    expect(sql(d.dbPath, 'SELECT count(*) AS n FROM intents')).toEqual([{ n: 0 }]);
  });
});
