// Integration: the built diycloudctl (dist/entry/cli.js) against the real diycloudd on a test bus.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { startTestBus, REPO, type TestBus } from './lib/test-bus';
import { startStack, type Stack } from './lib/stack';
import { busctl, MGR, run, startDaemon, type DaemonProcess } from './lib/daemon-process';
import type { FakeSystemd } from '../fakes/fake-systemd1';
import { type HostUser } from './lib/host-users';

const CLI = join(REPO, 'dist', 'entry', 'cli.js');
const CONF = '[Users]\nUIDMin=2000\nUIDMax=2999\n[Backend]\nSlices=systemd\n';
const G = 1024 ** 3;
const M = 1024 ** 2;
const isRoot = process.getuid?.() === 0;

/** Runs diycloudctl on `address`, as root or (asUid) through setpriv; stdin is /dev/null unless `input`. */
function ctl(address: string, args: string[], opts: { asUid?: number; input?: string } = {}) {
  const argv = [CLI, '--bus-address', address, ...args];
  return opts.asUid === undefined
    ? run(process.execPath, argv, { input: opts.input })
    : run('/usr/bin/setpriv', [`--reuid=${opts.asUid}`, `--regid=${opts.asUid}`, '--clear-groups', process.execPath, ...argv]);
}

describe('diycloudctl without a daemon', () => {
  it('usage errors exit 2 with "diycloudctl: …" on stderr, before anything is sent', async () => {
    for (const args of [['bogus'], ['limits', 'set', 'alice'], ['limits', 'set', 'alice', '--cpu', 'abc'], ['user', 'list', '--enabled', '--disabled'], ['user', 'show'], ['audit', '--limit', '0'], ['--frobnicate', 'status'], ['user', 'add'], ['user', 'add', 'x', '--cpu', 'abc'], ['user', 'add', 'x', '--tasks', '-1'], ['user', 'del']]) {
      const r = await ctl('unix:path=/nonexistent/bus', args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toMatch(/^diycloudctl: /);
      expect(r.stdout, args.join(' ')).toBe('');
    }
  });
  it('--help shows examples on the program and on every command', async () => {
    const top = await ctl('x', ['--help']);
    expect(top.code).toBe(0);
    expect(top.stdout).toMatch(/Examples:/);
    const commands = ['status', 'reconcile', 'user', 'user list', 'user show', 'user add', 'user del', 'user enable', 'user disable', 'user role', 'user adopt', 'user email', 'limits', 'limits show', 'limits set', 'limits reset', 'profile', 'profile list', 'profile set', 'audit'];
    for (const c of commands) {
      const r = await ctl('x', [...c.split(' '), '--help']);
      expect(r.code, c).toBe(0);
      expect(r.stdout, c).toMatch(/Examples?:\n {2}diycloudctl /);
    }
    const userHelp = (await ctl('x', ['user', '--help'])).stdout;
    expect(userHelp).toMatch(/^ {2}add \[options\] <name>/m);
    expect(userHelp).toMatch(/^ {2}del \[options\] <name>/m);
    expect(userHelp).toMatch(/\bpasswd\b/);
    const add = (await ctl('x', ['user', 'add', '--help'])).stdout;
    for (const o of ['--email', '--role', '--shell', '--password-stdin', '--cpu', '--memory', '--disk', '--gpus', '--tasks']) expect(add, o).toContain(o);
    expect(add).not.toMatch(/--password[ =<]/); // never a password on the command line
  });
  it('an unreachable bus exits 69', async () => {
    const r = await ctl('unix:path=/nonexistent/bus', ['status']);
    expect(r.code).toBe(69);
    expect(r.stderr).toMatch(/^diycloudctl: cannot connect to the bus/);
  });
});

describe.skipIf(!isRoot)('diycloudctl against diycloudd', () => {
  let bus: TestBus;
  let fake: FakeSystemd;
  let d: DaemonProcess;
  let alice: HostUser;
  let bob: HostUser;
  const c = (...args: string[]) => ctl(bus.address, args);
  const json = async <T = Record<string, unknown>>(...args: string[]): Promise<T> => {
    const r = await c('--json', ...args);
    expect(r, args.join(' ')).toMatchObject({ code: 0, stderr: '' });
    return JSON.parse(r.stdout) as T;
  };

  let stack: Stack;
  beforeAll(async () => {
    // alice is logged in and uses 300M
    stack = await startStack({ conf: CONF, users: [2, 2700], beforeDaemon: (f, u) => f.addSlice(u[0].uid, 300n * BigInt(M)) });
    ({ bus, fake, daemon: d } = stack);
    [alice, bob] = stack.users;
  });
  afterAll(async () => stack?.stop());

  // --- methods of the current release ---

  it('user show: the record, the allocation table; --json is GetUser\'s JSON', async () => {
    const r = await c('user', 'show', alice.name);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout).toContain(`${alice.name} (uid ${alice.uid})`);
    expect(r.stdout).toMatch(/^RESOURCE\s+ALLOCATION\s+SOURCE\s+IN FORCE$/m);
    expect(r.stdout).toMatch(/^memory\s+2G\s+default\s+2G$/m);
    expect(r.stdout).not.toContain('\x1b'); // no colour into a pipe
    expect(r.stdout).toMatch(/^Recent limit events: none$/m); // the daemon records events; none yet
    expect(await json('user', 'show', alice.name)).toMatchObject({ name: alice.name, uid: alice.uid, allocation: { cpu: 1, memory: 2 * G }, cgroup: { exists: true }, events: [] });
  });

  it('limits show: allocation, sources and what is in force', async () => {
    const r = await c('limits', 'show', alice.name);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout).toMatch(/^cpu\s+1\s+default\s+1$/m);
    expect(await json('limits', 'show', alice.name)).toMatchObject({ name: alice.name, allocation: { cpu: 1, memory: 2 * G }, sources: { cpu: 'default' } });
  });

  it('reconcile prints what changed; --json is the report', async () => {
    const r = await c('reconcile');
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout).toMatch(/^Reconciled \d+ user cgroup\(s\), \d+ managed, backend systemd/);
    expect(await json('reconcile')).toMatchObject({ backend: 'systemd', errors: [], reverted: [] });
    expect((await c('-q', 'reconcile')).stdout).toBe('');
  });

  it('errors: NoSuchUser exits 3, InvalidArgument 2, with the daemon\'s message', async () => {
    const r = await c('user', 'show', 'nosuchuser');
    expect(r.code).toBe(3);
    expect(r.stderr).toBe('diycloudctl: user "nosuchuser" does not exist\n');
    expect(r.stdout).toBe('');
    const bad = await c('user', 'show', 'Bad');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^diycloudctl: user: /);
    expect((await c('--json', 'limits', 'show', 'nosuchuser')).code).toBe(3);
  });

  it('a caller the bus policy refuses gets exit 4', async () => {
    const r = await ctl(bus.address, ['reconcile'], { asUid: 65534 });
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/^diycloudctl: access denied/);
  });

  it('daemon not running: exit 69 and how to start it', async () => {
    const other = await startTestBus();
    try {
      const r = await ctl(other.address, ['user', 'show', 'root']);
      expect(r.code).toBe(69);
      expect(r.stderr).toBe('diycloudctl: diycloudd is not running (start it with: systemctl start diycloudd)\n');
    } finally {
      await other.stop();
    }
  });

  // --- methods being added (ListUsers, AdoptUser, SetRole, SetEnabled, SetEmail, SetLimits,
  //     ResetLimits, SetProfile, ListProfiles, GetAuditLog) ---

  it('status: version, backend and users by live usage (ListUsers)', async () => {
    expect((await c('user', 'adopt', alice.name)).code).toBe(0);
    const r = await c('status');
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout).toContain(`diycloudd ${require('../../package.json').version}, backend systemd`);
    expect(r.stdout).toMatch(/^NAME\s+UID\s+ROLE\s+ENABLED\s+SESSION\s+MEM USED/m);
    expect(r.stdout).toMatch(new RegExp(`^${alice.name}\\s+${alice.uid}\\s+user\\s+yes\\s+active\\s+300M`, 'm'));
    const j = await json<{ version: string; backend: string; users: { name: string }[] }>('status');
    expect(j).toMatchObject({ version: require('../../package.json').version, backend: 'systemd' });
    expect(j.users.map((u) => u.name)).toContain(alice.name);
  });

  it('user adopt (default role "user"), user list and its filters', async () => {
    expect(await json('user', 'adopt', bob.name, '--role', 'user')).toEqual({ ok: true });
    expect(await json('user', 'show', bob.name)).toMatchObject({ inDatabase: true, role: 'user', enabled: true });
    const list = (await json<{ users: { name: string }[] }>('user', 'list')).users;
    expect(list.map((u) => u.name)).toEqual(expect.arrayContaining([alice.name, bob.name]));
    expect(await json('user', 'list', '--role', 'nosuchrole')).toEqual({ total: 0, offset: 0, limit: 50, users: [] });
    const text = await c('user', 'list');
    expect(text.stdout).toMatch(/^NAME\s+UID\s+ROLE\s+ENABLED\s+CPU\s+MEMORY\s+DISK\s+GPU\s+TASKS\s+DISK USED$/m);
    expect(text.stdout).toMatch(new RegExp(`^${bob.name}\\s+${bob.uid}\\s+user\\s+yes\\s+1\\s+2G`, 'm'));
    expect((await c('user', 'adopt', 'nosuchuser')).code).toBe(3);
  });

  it('user list pages, searches and sorts through QueryUsers; the table says which part it shows', async () => {
    const all = await json<{ total: number; users: { name: string; uid: number }[] }>('user', 'list', '--sort', 'uid', '--desc');
    expect(all.total).toBeGreaterThanOrEqual(2);
    expect(all.users.map((u) => u.uid)).toEqual([...all.users.map((u) => u.uid)].sort((a, b) => b - a));
    const second = await json<{ total: number; offset: number; limit: number; users: { name: string }[] }>('user', 'list', '--sort', 'uid', '--desc', '--limit', '1', '--offset', '1');
    expect(second).toMatchObject({ total: all.total, offset: 1, limit: 1, users: [{ name: all.users[1].name }] });
    expect((await json<{ users: { name: string }[] }>('user', 'list', '--search', bob.name.toUpperCase())).users.map((u) => u.name)).toEqual([bob.name]);
    expect((await json<{ total: number }>('user', 'list', '--has-gpu', '--search', bob.name)).total).toBe(0);
    const text = await c('user', 'list', '--limit', '1');
    expect(text.stdout).toMatch(new RegExp(`^showing 1-1 of ${all.total} users$`, 'm'));
    expect((await c('-q', 'user', 'list', '--limit', '1')).stdout).not.toMatch(/showing/);
    const bad = await c('user', 'list', '--sort', 'colour');
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/query\.sort/);
    expect((await c('user', 'list', '--limit', 'ten')).code).toBe(2);
  });

  it('user disable / enable (SetEnabled), seen by CheckLogin', async () => {
    expect((await c('user', 'disable', bob.name)).code).toBe(0);
    expect(await json('user', 'show', bob.name)).toMatchObject({ enabled: false });
    expect((await json<{ users: { name: string }[] }>('user', 'list', '--disabled')).users.map((u) => u.name)).toEqual([bob.name]);
    const check = await busctl(bus.address, ['call', ...MGR, 'CheckLogin', 'sss', bob.name, 'sshd', '']);
    expect(check.stdout).toMatch(/^bs false/);
    expect(await json('user', 'enable', bob.name)).toEqual({ ok: true });
    expect(await json('user', 'show', bob.name)).toMatchObject({ enabled: true });
    expect((await json<{ users: { name: string }[] }>('user', 'list', '--enabled')).users.map((u) => u.name)).toContain(bob.name);
  });

  it('user disable --terminate passes options.terminate (bob has no sessions: nothing to end)', async () => {
    const r = await c('user', 'disable', bob.name, '--terminate');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect((await c('user', 'enable', bob.name)).code).toBe(0);
  });

  it('profile set / list, and user role (SetProfile, ListProfiles, SetRole)', async () => {
    expect(await json('profile', 'set', 'staff', '--cpu', '0.5', '--memory', '1G', '--tasks', '300')).toEqual({ ok: true, warnings: [] });
    const profiles = await json<unknown>('profile', 'list');
    expect(JSON.stringify(profiles)).toContain('"staff"');
    expect((await c('profile', 'list')).stdout).toMatch(/^staff\s+\d+\s+0\.5\s+1G\s/m);
    expect((await c('user', 'role', alice.name, 'staff')).code).toBe(0);
    expect(await json('user', 'show', alice.name)).toMatchObject({ role: 'staff', allocation: { cpu: 0.5, memory: G, tasks: 300 } });
    expect((await json<{ users: { name: string }[] }>('user', 'list', '--role', 'staff')).users.map((u) => u.name)).toEqual([alice.name]);
  });

  it('limits set applies at once to the live slice; limits reset brings the profile back', async () => {
    expect(await json('limits', 'set', alice.name, '--cpu', '0.25', '--memory', '512M', '--gpus', 'none', '--tasks', '100')).toEqual({ ok: true, warnings: [] });
    expect(await json('limits', 'show', alice.name)).toMatchObject({ allocation: { cpu: 0.25, memory: 512 * M, gpu: 'none', tasks: 100 }, sources: { cpu: 'user', memory: 'user' } });
    expect(fake.props(alice.uid)).toMatchObject({ CPUQuotaPerSecUSec: 250_000n, MemoryMax: 512n * BigInt(M), TasksMax: 100n });
    const bad = await c('limits', 'set', alice.name, '--memory', '2X');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^diycloudctl: (limits\.)?memory: /);
    expect((await c('limits', 'set', 'nosuchuser', '--cpu', '1')).code).toBe(3);
    expect(await json('limits', 'reset', alice.name)).toEqual({ ok: true, warnings: [] });
    expect(await json('limits', 'show', alice.name)).toMatchObject({ allocation: { cpu: 0.5, memory: G } });
  });

  it('user email (SetEmail)', async () => {
    expect((await c('user', 'email', bob.name, 'bob@example.org')).code).toBe(0);
    expect(await json('user', 'show', bob.name)).toMatchObject({ email: 'bob@example.org' });
    expect((await c('user', 'email', bob.name, '')).code).toBe(0);
    expect(await json('user', 'show', bob.name)).toMatchObject({ email: null });
  });

  it('audit lists the administrative actions, newest first, filtered by user and limit', async () => {
    const r = await c('audit');
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout).toMatch(/^TIME\s+UID\s+ACTION\s+TARGET\s+RESULT\s+DETAIL$/m);
    expect(r.stdout).toContain(alice.name);
    const all = await json<unknown>('audit', '--user', alice.name, '--limit', '2');
    const entries = (Array.isArray(all) ? all : (all as { entries: unknown[] }).entries) as { target: string }[];
    expect(entries.length).toBe(2);
    for (const e of entries) expect(e.target).toBe(alice.name);
  });

  it('a non-root caller cannot change limits (exit 4, or 5 without an interactive prompt)', async () => {
    const r = await ctl(bus.address, ['limits', 'set', alice.name, '--cpu', '1'], { asUid: 65534 });
    expect([4, 5]).toContain(r.code);
    expect(r.stderr).toMatch(/^diycloudctl: /);
  });
});

describe.skipIf(!isRoot)('diycloudctl user add / user del against diycloudd (real shadow-utils)', () => {
  let bus: TestBus;
  let d: DaemonProcess;
  const tag = randomBytes(3).toString('hex');
  const made: string[] = [];
  const name = (s: string) => {
    const n = `dcc${tag}${s}`;
    made.push(n);
    return n;
  };
  const getent = (n: string) => spawnSync('/usr/bin/getent', ['passwd', n], { encoding: 'utf8' }).stdout.trim();
  const passwdStatus = (n: string) => spawnSync('/usr/bin/passwd', ['--status', n], { encoding: 'utf8' }).stdout.split(' ')[1];
  const c = (args: string[], input?: string) => ctl(bus.address, args, { input });

  beforeAll(async () => {
    bus = await startTestBus();
    d = await startDaemon(bus.address, '[Users]\nUIDMin=3500\nUIDMax=3599\n[Backend]\nSlices=none\n');
  });
  afterAll(async () => {
    await d?.stop();
    await bus?.stop();
    for (const n of made) spawnSync('/usr/sbin/userdel', ['--remove', '--', n], { stdio: 'ignore' });
  });

  it('user add creates a real account and prints its UID; without a terminal or --password-stdin it stays locked, and says so', async () => {
    const n = name('a');
    const r = await c(['user', 'add', n, '--email', `${n}@example.org`]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^\d+\n$/);
    const uid = Number(r.stdout);
    expect(uid).toBeGreaterThanOrEqual(3500);
    expect(uid).toBeLessThanOrEqual(3599);
    expect(r.stderr).toMatch(/^diycloudctl: created .* without a password .*stays locked/);
    expect(getent(n)).toMatch(new RegExp(`^${n}:x:${uid}:\\d+::/home/${n}:/bin/bash$`));
    expect(passwdStatus(n)).toBe('L');
    const shown = await c(['--json', 'user', 'show', n]);
    expect(JSON.parse(shown.stdout)).toMatchObject({ name: n, uid, role: 'user', email: `${n}@example.org`, inDatabase: true });
  });

  it('--password-stdin sets the password; --json prints {"uid":N}; -q drops the note; shell and limits are passed', async () => {
    const n = name('p');
    const r = await c(['-q', '--json', 'user', 'add', n, '--password-stdin', '--shell', '/bin/sh', '--cpu', '0.5', '--memory', '1G'], 'correct horse battery\nignored\n');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const { uid } = JSON.parse(r.stdout) as { uid: number };
    expect(uid).toBeGreaterThanOrEqual(3500);
    expect(getent(n)).toMatch(new RegExp(`^${n}:x:${uid}:.*:/bin/sh$`));
    expect(passwdStatus(n)).toBe('P');
    const shown = JSON.parse((await c(['--json', 'user', 'show', n])).stdout);
    expect(shown).toMatchObject({ allocation: { cpu: 0.5, memory: G }, sources: { cpu: 'user', memory: 'user' } });
    const quiet = await c(['-q', 'user', 'add', name('q')]);
    expect(quiet).toMatchObject({ code: 0, stderr: '' });
    // root sets a new password without the old one; it reaches the shadow database
    const pw = await c(['user', 'passwd', n, '--password-stdin'], 'another horse\n');
    expect(pw).toMatchObject({ code: 0, stderr: '' });
    expect(spawnSync(`${REPO}/dist/pam-verify`, ['--', n], { input: 'another horse\n' }).status).toBe(0);
    expect((await c(['user', 'passwd', n])).code).toBe(2); // no terminal and no --password-stdin
  });

  it('user add of an existing user exits 6 (UserExists), of root 7 (NameReserved); a shell outside [Accounts] Shells 2', async () => {
    const n = made[0];
    const again = await c(['user', 'add', n]);
    expect(again.code).toBe(6);
    expect(again.stderr).toMatch(/^diycloudctl: .*already exists/);
    expect(again.stdout).toBe('');
    const root = await c(['user', 'add', 'root']);
    expect(root.code).toBe(7);
    expect(root.stderr).toMatch(/^diycloudctl: .*reserved/);
    expect((await c(['-q', 'user', 'add', name('s'), '--shell', '/bin/zsh-nonexistent'])).code).toBe(2);
    expect(getent(made[made.length - 1])).toBe('');
  });

  it('user del removes the account, its row and (--remove-home) its home; an unmanaged name exits 3', async () => {
    const n = made[0];
    const r = await c(['user', 'del', n, '--remove-home']);
    expect(r).toMatchObject({ code: 0, stdout: '', stderr: '' });
    expect(getent(n)).toBe('');
    expect(existsSync(`/home/${n}`)).toBe(false);
    expect((await c(['user', 'show', n])).code).toBe(3);
    expect(await c(['--json', 'user', 'del', made[1]])).toMatchObject({ code: 0, stdout: '{"ok":true}\n' });
    const unmanaged = await c(['user', 'del', n]);
    expect(unmanaged.code).toBe(3);
    expect(unmanaged.stderr).toMatch(/^diycloudctl: user ".*" is not managed by diycloud/);
    expect((await c(['user', 'del', 'root'])).code).toBe(3);
  });
});
