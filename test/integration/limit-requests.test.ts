// Integration: the "request more" queue on the real diycloudd and a real dbus-daemon (fake polkit, fake systemd1):
// a plain user files and lists their own, an operator approves (the limit is applied and audited) or denies,
// closed and unknown requests, what a plain user may not do, and the RequestChanged signal.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as dbus from 'dbus-next';
import { join } from 'node:path';
import { busctl, MGR, run, startDaemon, type DaemonProcess } from './lib/daemon-process';
import { callDirect } from './lib/dbus-call';
import { startTestBus, type TestBus } from './lib/test-bus';
import { createHostUsers } from './lib/host-users';
import { startFakeSystemd, type FakeSystemd } from '../fakes/fake-systemd1';
import { startFakePolkit, type FakePolkit } from '../fakes/fake-polkit';

const CONF = '[Users]\nUIDMin=2000\nUIDMax=2999\n[Backend]\nSlices=systemd\n';
const isRoot = process.getuid?.() === 0;
const CLI = join(__dirname, '..', '..', 'dist', 'entry', 'cli.js');
if (!isRoot) console.warn('*** limit requests integration test SKIPPED: not root ***');

interface Req { id: number; user: string; uid: number; resource: string; amount: string; state: string; decidedBy: number | null; decisionReason: string | null; applied: boolean }

describe.skipIf(!isRoot)('limit requests on a real dbus-daemon', () => {
  let bus: TestBus;
  let systemd: FakeSystemd;
  let polkit: FakePolkit;
  let d: DaemonProcess;
  let hostUsers: ReturnType<typeof createHostUsers>;
  let listener: dbus.MessageBus;
  const signals: string[] = [];
  let alice: { name: string; uid: number };
  let bob: { name: string; uid: number };
  let operator: { name: string; uid: number };

  const call = (uid: number, member: string, ...args: string[]) => busctl(bus.address, ['--json=short', 'call', ...MGR, member, ...args], uid === 0 ? {} : { asUid: uid });
  const json = async <T>(uid: number, member: string, ...args: string[]): Promise<T> => {
    const r = await call(uid, member, ...args);
    expect(r.stderr).toBe('');
    return JSON.parse((JSON.parse(r.stdout) as { data: string[] }).data[0]) as T;
  };
  const file = (uid: number, resource: string, amount: string, reason: string) => json<Req>(uid, 'FileRequest', 'sss', resource, amount, reason);
  const waitFor = async (line: string) => {
    for (let i = 0; i < 100 && !signals.includes(line); i++) await new Promise((r) => setTimeout(r, 20));
    expect(signals).toContain(line);
  };

  beforeAll(async () => {
    bus = await startTestBus();
    systemd = await startFakeSystemd(bus.address);
    hostUsers = createHostUsers(3, 2760);
    [alice, bob, operator] = hostUsers.users;
    polkit = await startFakePolkit(bus.address, { [operator.uid]: 'operator' });
    d = await startDaemon(bus.address, CONF);
    for (const u of [alice, bob]) expect((await busctl(bus.address, ['call', ...MGR, 'AdoptUser', 'ss', u.name, 'user'])).stderr).toBe('');
    listener = dbus.sessionBus({ busAddress: bus.address });
    listener.on('error', () => undefined);
    await listener.call(new dbus.Message({ destination: 'org.freedesktop.DBus', path: '/org/freedesktop/DBus', interface: 'org.freedesktop.DBus', member: 'AddMatch', signature: 's', body: ["type='signal',interface='org.diycloud.Manager1',member='RequestChanged'"] }));
    listener.on('message', (m: dbus.Message) => {
      if (m.member === 'RequestChanged') signals.push(`${m.signature} ${(m.body as unknown[]).join(' ')}`);
    });
  });
  afterAll(async () => {
    listener?.disconnect();
    await d?.stop();
    polkit?.close();
    systemd?.close();
    await bus?.stop();
    hostUsers?.remove();
  });

  it('a plain user files for themself; the request is pending, signalled, and listed as their own', async () => {
    const r = await file(alice.uid, 'cpu', '3', 'builds');
    expect(r).toMatchObject({ user: alice.name, uid: alice.uid, resource: 'cpu', amount: '3', state: 'pending', applied: false });
    await waitFor(`uss ${r.id} ${alice.name} pending`);
    await file(bob.uid, 'tasks', '700', 'many processes');
    const mine = await json<{ requests: Req[]; total: number }>(alice.uid, 'ListRequests', 'a{sv}', '0');
    expect(mine.requests.map((q) => q.user)).toEqual([alice.name]);
    expect((await json<{ total: number }>(alice.uid, 'ListRequests', 'a{sv}', '1', 'user', 's', alice.name)).total).toBe(1);
    const all = await json<{ requests: Req[]; total: number }>(operator.uid, 'ListRequests', 'a{sv}', '1', 'state', 's', 'pending');
    expect(all.requests.map((q) => q.user).sort()).toEqual([alice.name, bob.name].sort());
  });

  it('a plain user may not list others, nor decide', async () => {
    const other = await call(alice.uid, 'ListRequests', 'a{sv}', '1', 'user', 's', bob.name);
    expect(other.code).not.toBe(0);
    expect(other.stderr).toMatch(/not authorized for org\.diycloud\.read-users/);
    const [r] = (await json<{ requests: Req[] }>(alice.uid, 'ListRequests', 'a{sv}', '0')).requests;
    const own = await call(alice.uid, 'DecideRequest', 'ubs', String(r.id), 'true', '');
    expect(own.stderr).toMatch(/not authorized for org\.diycloud\.manage-limits/);
    const unknown = await call(alice.uid, 'DecideRequest', 'ubs', '999999', 'true', '');
    expect(unknown.stderr).toMatch(/not authorized for org\.diycloud\.manage-limits/);
    expect((await json<{ requests: Req[] }>(alice.uid, 'ListRequests', 'a{sv}', '0')).requests[0]).toMatchObject({ id: r.id, state: 'pending' });
  });

  it('an operator approves: the limit is applied through SetLimits and both are audited', async () => {
    const r = await file(alice.uid, 'memory', '3G', 'bigger data');
    const plain = await call(alice.uid, 'DecideRequest', 'ubs', String(r.id), 'true', '');
    expect(plain.stderr).toMatch(/not authorized for org\.diycloud\.manage-limits/);
    const out = await json<Req>(operator.uid, 'DecideRequest', 'ubs', String(r.id), 'true', 'ok for this term');
    expect(out).toMatchObject({ id: r.id, state: 'approved', applied: true, decidedBy: operator.uid, decisionReason: 'ok for this term' });
    await waitFor(`uss ${r.id} ${alice.name} approved`);
    const user = await json<{ allocation: { memory: number }; sources: { memory: string } }>(0, 'GetUser', 's', alice.name);
    expect([user.sources.memory, user.allocation.memory]).toEqual(['user', 3 * 1024 ** 3]);
    const audit = await json<{ action: string; target: string; callerUid: number; result: string }[]>(0, 'GetAuditLog', 'a{sv}', '1', 'limit', 'u', '20');
    const lines = audit.map((a) => `${a.action} ${a.target} ${a.callerUid} ${a.result}`);
    expect(lines).toEqual(expect.arrayContaining([`SetLimits ${alice.name} ${operator.uid} ok`, `DecideRequest ${alice.name} ${operator.uid} ok`, `FileRequest ${alice.name} ${alice.uid} ok`]));
  });

  it('deny needs a reason; deciding a closed request is RequestClosed, an unknown id NoSuchRequest', async () => {
    const r = await file(bob.uid, 'disk', '50G', 'datasets');
    expect((await call(operator.uid, 'DecideRequest', 'ubs', String(r.id), 'false', '')).stderr).toMatch(/reason/);
    const out = await json<Req>(operator.uid, 'DecideRequest', 'ubs', String(r.id), 'false', 'no space left this month');
    expect(out).toMatchObject({ state: 'denied', applied: false, decisionReason: 'no space left this month' });
    await waitFor(`uss ${r.id} ${bob.name} denied`);
    expect((await json<{ sources: { disk: string } }>(0, 'GetUser', 's', bob.name)).sources.disk).not.toBe('user');
    expect(await callDirect(bus.address, 'DecideRequest', 'ubs', [r.id, true, ''])).toMatchObject({ error: 'org.diycloud.Manager1.Error.RequestClosed' });
    expect(await callDirect(bus.address, 'DecideRequest', 'ubs', [999999, true, ''])).toMatchObject({ error: 'org.diycloud.Manager1.Error.NoSuchRequest' });
    const denied = await json<{ requests: Req[] }>(bob.uid, 'ListRequests', 'a{sv}', '1', 'state', 's', 'denied');
    expect(denied.requests.map((q) => q.id)).toEqual([r.id]);
  });

  it('bad filings are refused with InvalidArgument naming the field; an unmanaged caller gets NoSuchUser', async () => {
    expect((await call(alice.uid, 'FileRequest', 'sss', 'bananas', '1', 'x')).stderr).toMatch(/resource/);
    expect((await call(alice.uid, 'FileRequest', 'sss', 'cpu', 'lots', 'x')).stderr).toMatch(/amount/);
    expect((await call(operator.uid, 'FileRequest', 'sss', 'cpu', '2', 'x')).stderr).toMatch(/not a user diycloud manages/);
  });

  it('diycloudctl request: file as the user, list, deny and approve as the operator, with the catalogue exit codes', async () => {
    const ctl = (uid: number, ...args: string[]) => run('/usr/bin/setpriv', [`--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', process.execPath, CLI, '--bus-address', bus.address, '--no-ask-password', ...args]);
    const filed = await ctl(bob.uid, '--json', 'request', 'file', 'cpu', '2', '--reason', 'from the CLI');
    expect([filed.code, filed.stderr]).toEqual([0, '']);
    const r = JSON.parse(filed.stdout) as Req;
    expect(r).toMatchObject({ user: bob.name, resource: 'cpu', amount: '2', state: 'pending' });
    const list = await ctl(operator.uid, 'request', 'list', '--state', 'pending');
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(new RegExp(`^${r.id}\\s+${bob.name}\\s+cpu\\s+2\\s+pending`, 'm'));
    expect((await ctl(bob.uid, 'request', 'deny', String(r.id), '--reason', 'no')).code).toBe(4);
    expect((await ctl(operator.uid, 'request', 'deny', String(r.id))).code).toBe(2); // --reason is required
    const approved = await ctl(operator.uid, '--json', 'request', 'approve', String(r.id));
    expect([approved.code, approved.stderr]).toEqual([0, '']);
    expect(JSON.parse(approved.stdout)).toMatchObject({ id: r.id, state: 'approved', applied: true });
    expect((await ctl(operator.uid, 'request', 'deny', String(r.id), '--reason', 'late')).code).toBe(16);
    expect((await ctl(operator.uid, 'request', 'approve', '999999')).code).toBe(15);
    expect((await ctl(bob.uid, 'request', 'list', '--user', alice.name)).code).toBe(4);
  });
});
