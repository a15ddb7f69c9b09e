// Unit: the "request more" use cases with fake ports: filing for oneself, listing, deciding through SetLimits, signals, audit, mail.
import { describe, expect, it } from 'vitest';
import { SqliteRequests } from '../../../src/adapters/store/sqlite-requests';
import { decideRequest, fileRequest, listRequests } from '../../../src/app/limit-requests';
import { auditLog } from '../../../src/app/manage-limits';
import type { Mailer, RequestServices } from '../../../src/core/request-ports';
import { addUser, testDeps } from '../../fakes/app-deps';

const root = { busName: ':1.1', uid: 0, pid: 1, interactive: false };
const alice = { busName: ':1.2', uid: 1000, pid: 2, interactive: false };
const op = { busName: ':1.3', uid: 1001, pid: 3, interactive: false };
const stranger = { busName: ':1.4', uid: 1500, pid: 4, interactive: false };

function setup(mailer: Mailer | null = null) {
  const base = testDeps();
  addUser(base, { name: 'alice', uid: 1000 });
  addUser(base, { name: 'olga', uid: 1001 });
  base.grants.set('1001 org.diycloud.manage-limits', 'allowed');
  base.grants.set('1001 org.diycloud.read-users', 'allowed');
  const signals: string[] = [];
  const requests: RequestServices = { store: new SqliteRequests(base.db), signals: { changed: (id, user, state) => void signals.push(`${id} ${user} ${state}`) }, mailer };
  const d = Object.assign(base, { requests });
  return { d, signals };
}

describe('FileRequest', () => {
  it('files for the caller (the identity is the bus sender), canonical amount, pending, audited, signalled', async () => {
    const { d, signals } = setup();
    const r = await fileRequest(d, alice, 'memory', ' 16G ', '  training runs  ');
    expect(r).toMatchObject({ user: 'alice', uid: 1000, resource: 'memory', amount: '16G', reason: 'training runs', state: 'pending', decidedAt: null, decidedBy: null, applied: false });
    expect(signals).toEqual([`${r.id} alice pending`]);
    const audit = await auditLog(d, root, { user: 'alice' });
    expect(audit.map((a) => [a.action, a.callerUid, a.result, a.detail])).toEqual([['FileRequest', 1000, 'ok', `request ${r.id}: memory 16G`]]);
  });
  it('refuses bad arguments, callers diycloud does not manage, and a sixth pending request, without an audit row', async () => {
    const { d, signals } = setup();
    await expect(fileRequest(d, alice, 'bananas', '1', 'x')).rejects.toMatchObject({ code: 'InvalidArgument', field: 'resource' });
    await expect(fileRequest(d, alice, 'cpu', 'lots', 'x')).rejects.toMatchObject({ code: 'InvalidArgument', field: 'amount' });
    await expect(fileRequest(d, alice, 'cpu', '2', '   ')).rejects.toMatchObject({ code: 'InvalidArgument', field: 'reason' });
    await expect(fileRequest(d, stranger, 'cpu', '2', 'x')).rejects.toMatchObject({ code: 'NoSuchUser' });
    await expect(fileRequest(d, root, 'cpu', '2', 'x')).rejects.toMatchObject({ code: 'NoSuchUser' });
    await Promise.all([1, 2, 3, 4, 5, 6].map((n) => fileRequest(d, alice, 'cpu', String(n), 'more').catch((e: Error) => e)));
    expect(d.requests.store.pendingCount(1000)).toBe(5);
    await expect(fileRequest(d, alice, 'cpu', '7', 'more')).rejects.toMatchObject({ code: 'InvalidArgument' });
    expect(signals).toHaveLength(5);
    expect((await auditLog(d, root, {})).filter((a) => a.action === 'FileRequest')).toHaveLength(5);
  });
});

describe('ListRequests', () => {
  it('a plain user sees only their own; another user needs read-users; an operator sees everyone', async () => {
    const { d } = setup();
    await fileRequest(d, alice, 'cpu', '2', 'a');
    await fileRequest(d, op, 'tasks', '500', 'o');
    expect((await listRequests(d, alice, {})).requests.map((r) => r.user)).toEqual(['alice']);
    expect((await listRequests(d, alice, { user: 'alice' })).total).toBe(1);
    await expect(listRequests(d, alice, { user: 'olga' })).rejects.toMatchObject({ code: 'PermissionDenied' });
    const all = await listRequests(d, op, { state: 'pending' });
    expect([all.total, all.requests.map((r) => r.user)]).toEqual([2, ['olga', 'alice']]);
    expect((await listRequests(d, root, { user: 'olga' })).requests.map((r) => r.resource)).toEqual(['tasks']);
    expect((await listRequests(d, op, { state: 'approved' })).total).toBe(0);
    expect((await listRequests(d, op, { limit: 1, offset: 1 })).requests.map((r) => r.user)).toEqual(['alice']);
  });
  it('a polkit error narrows the list to the caller; bad options are InvalidArgument', async () => {
    const { d } = setup();
    await fileRequest(d, alice, 'cpu', '2', 'a');
    await fileRequest(d, op, 'cpu', '2', 'o');
    (d as { authorizer: unknown }).authorizer = { check: async () => Promise.reject(new Error('polkit gone')) };
    expect((await listRequests(d, op, {})).requests.map((r) => r.user)).toEqual(['olga']);
    await expect(listRequests(d, op, { user: 'alice' })).rejects.toMatchObject({ code: 'PermissionDenied' });
    await expect(listRequests(d, op, { state: 'open' })).rejects.toMatchObject({ code: 'InvalidArgument', field: 'state' });
    await expect(listRequests(d, op, { limit: 0 })).rejects.toMatchObject({ code: 'InvalidArgument', field: 'limit' });
    await expect(listRequests(d, op, { limit: 501 })).rejects.toMatchObject({ code: 'InvalidArgument', field: 'limit' });
  });
});

describe('DecideRequest', () => {
  it('approval applies the limit through SetLimits (audited as SetLimits too), marks it approved and applied', async () => {
    const { d, signals } = setup();
    const r = await fileRequest(d, alice, 'cpu', '3', 'compile');
    const out = await decideRequest(d, op, r.id, true, '');
    expect(out).toMatchObject({ id: r.id, state: 'approved', decidedBy: 1001, decisionReason: null, applied: true, warnings: [] });
    expect(d.store.userByName('alice')?.overrides.cpu).toBe(3);
    expect(d.requests.store.get(r.id)).toMatchObject({ state: 'approved', applied: true });
    expect(signals).toEqual([`${r.id} alice pending`, `${r.id} alice approved`]);
    expect(d.events.emitted).toContain('UserChanged alice 1000');
    const audit = (await auditLog(d, root, { limit: 10 })).map((a) => `${a.action} ${a.target} ${a.callerUid} ${a.result}`);
    expect(audit).toEqual(expect.arrayContaining(['SetLimits alice 1001 ok', 'DecideRequest alice 1001 ok']));
  });
  it('denial needs a reason and changes no limit; a closed request is RequestClosed; an unknown id NoSuchRequest', async () => {
    const { d } = setup();
    const r = await fileRequest(d, alice, 'memory', '64G', 'big');
    await expect(decideRequest(d, op, r.id, false, ' ')).rejects.toMatchObject({ code: 'InvalidArgument', field: 'reason' });
    const out = await decideRequest(d, op, r.id, false, 'not now');
    expect(out).toMatchObject({ state: 'denied', decisionReason: 'not now', applied: false });
    expect(d.store.userByName('alice')?.overrides.memory).toBeNull();
    await expect(decideRequest(d, op, r.id, true, '')).rejects.toMatchObject({ code: 'RequestClosed' });
    await expect(decideRequest(d, op, 424242, true, '')).rejects.toMatchObject({ code: 'NoSuchRequest' });
  });
  it('needs manage-limits: a plain user is refused for an existing and an unknown id alike, and nothing changes', async () => {
    const { d } = setup();
    const r = await fileRequest(d, alice, 'cpu', '3', 'compile');
    await expect(decideRequest(d, alice, r.id, true, '')).rejects.toMatchObject({ code: 'PermissionDenied' });
    await expect(decideRequest(d, alice, 424242, true, '')).rejects.toMatchObject({ code: 'PermissionDenied' });
    expect(d.requests.store.get(r.id)?.state).toBe('pending');
    expect(d.logs.some((l) => l.startsWith(`warn: refused: DecideRequest ${r.id} by uid 1000`))).toBe(true);
    expect((await auditLog(d, root, {})).filter((a) => a.action === 'DecideRequest')).toHaveLength(0);
  });
  it('a SetLimits refusal (out of range) leaves the request pending', async () => {
    const { d } = setup();
    const r = await fileRequest(d, alice, 'memory', '1K', 'tiny');
    await expect(decideRequest(d, op, r.id, true, '')).rejects.toMatchObject({ code: 'LimitOutOfRange' });
    expect(d.requests.store.get(r.id)?.state).toBe('pending');
  });
});

describe('decision mail', () => {
  it('goes to the stored address; a failing mailer never fails the decision', async () => {
    const sent: [string, string][] = [];
    const { d } = setup({ send: async (to, msg) => void sent.push([to, msg]) });
    d.admin.setEmail(1000, 'alice@example.org');
    const r = await fileRequest(d, alice, 'cpu', '2', 'x');
    await decideRequest(d, op, r.id, false, 'ask again in May');
    expect(sent).toHaveLength(1);
    expect(sent[0][0]).toBe('alice@example.org');
    expect(sent[0][1]).toMatch(/^To: alice@example\.org\nSubject: diycloud: your request \d+ \(cpu 2\) was denied\n/);
    expect(sent[0][1]).toContain('Reason: ask again in May');

    const failing = setup({ send: async () => Promise.reject(new Error('sendmail exited with 75')) });
    failing.d.admin.setEmail(1000, 'alice@example.org');
    const f = await fileRequest(failing.d, alice, 'cpu', '2', 'x');
    await expect(decideRequest(failing.d, op, f.id, true, 'ok')).resolves.toMatchObject({ state: 'approved' });
    expect(failing.d.logs.some((l) => /decision mail to alice failed: sendmail exited with 75, ignoring/.test(l))).toBe(true);
  });
  it('a user without an address gets no mail, and no error', async () => {
    const sent: string[] = [];
    const { d } = setup({ send: async (to) => void sent.push(to) });
    const r = await fileRequest(d, alice, 'cpu', '2', 'x');
    await decideRequest(d, root, r.id, true, '');
    expect(sent).toEqual([]);
  });
});
