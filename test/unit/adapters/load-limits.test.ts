// Unit: the caps that keep the login path answered (router call caps, the child-program cap) and the priority lane.
import { describe, expect, it } from 'vitest';
import { Message, type MessageBus } from 'dbus-next';
import { createRouter, type CallLimits, type ObjectDef } from '../../../src/adapters/dbus/router';
import { CallerResolver } from '../../../src/adapters/dbus/caller';
import type { BusClient } from '../../../src/adapters/dbus/bus-client';
import { PriorityLane, TwoLaneQueue } from '../../../src/adapters/async/priority-lane';
import { ProgramRunner } from '../../../src/adapters/exec/program-runner';
import type { RunResult } from '../../../src/adapters/exec/run-program';
import type { Logger } from '../../../src/core/ports';

const quiet: Logger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };
const LIMITS: CallLimits = { perConnection: 4, perUid: 6, nonRoot: 8, total: 100, unidentifiedPerConnection: 50 };
const tick = () => new Promise((r) => setImmediate(r));

/** A router over a fake bus: senders ":1.N" have the uids in `uids`; method Slow waits until released. */
function rig(uids: Record<string, number>) {
  const sent: { to: number; error?: string }[] = [];
  const bus = { send: (m: Message) => void sent.push({ to: m.replySerial ?? 0, error: m.errorName }) } as unknown as MessageBus;
  const client = { call: async (spec: { body: string[] }) => [{ UnixUserID: { value: uids[spec.body[0]] }, ProcessID: { value: 7 } }] } as unknown as BusClient;
  const lane = new PriorityLane();
  const waiting: (() => void)[] = [];
  const urgentSeen: boolean[] = [];
  const object: ObjectDef = {
    path: '/o', iface: 'org.diycloud.Manager1', xml: '<node/>', properties: {},
    methods: [{ name: 'Slow', inSig: '', outSig: '', access: 'caller', run: async () => {
      urgentSeen.push(lane.isUrgent());
      await new Promise<void>((r) => waiting.push(r));
      return [];
    } }],
  };
  const route = createRouter({ bus, object, callers: new CallerResolver(client), log: quiet, lane, limits: LIMITS });
  let serial = 0;
  const call = (sender: string): number => {
    const m = new Message({ type: 1, serial: ++serial, path: '/o', interface: 'org.diycloud.Manager1', member: 'Slow', sender, signature: '' });
    route(m);
    return m.serial!;
  };
  const busyFor = (serials: number[]) => sent.filter((s) => serials.includes(s.to) && s.error === 'org.diycloud.Manager1.Error.Busy').length;
  return { call, sent, waiting, urgentSeen, busyFor, release: () => waiting.splice(0).forEach((r) => r()) };
}

describe('router call caps', () => {
  it('one connection of a non-root caller gets at most perConnection calls in progress, the rest Busy at once', async () => {
    const r = rig({ ':1.5': 1000 });
    const serials = Array.from({ length: 10 }, () => r.call(':1.5'));
    await tick();
    expect(r.waiting).toHaveLength(4);
    expect(r.busyFor(serials)).toBe(6);
    r.release();
  });
  it('all connections of one uid share perUid; the non-root total caps everyone; root is never capped and runs urgent', async () => {
    const r = rig({ ':1.5': 1000, ':1.6': 1000, ':1.7': 1000, ':1.8': 2000, ':1.9': 2000, ':1.1': 0 });
    for (const s of [':1.5', ':1.6', ':1.7']) for (let i = 0; i < 4; i++) r.call(s);
    await tick();
    expect(r.waiting).toHaveLength(6); // perUid for uid 1000
    for (const s of [':1.8', ':1.9']) for (let i = 0; i < 4; i++) r.call(s);
    await tick();
    expect(r.waiting).toHaveLength(8); // nonRoot in all
    expect(r.urgentSeen.every((u) => !u)).toBe(true);
    const root = Array.from({ length: 20 }, () => r.call(':1.1'));
    await tick();
    expect(r.waiting).toHaveLength(28);
    expect(r.busyFor(root)).toBe(0);
    expect(r.urgentSeen.slice(8).every((u) => u)).toBe(true);
    r.release();
  });
  it('slots come back when calls finish', async () => {
    const r = rig({ ':1.5': 1000 });
    for (let i = 0; i < 4; i++) r.call(':1.5');
    await tick();
    r.release();
    await tick();
    const again = Array.from({ length: 4 }, () => r.call(':1.5'));
    await tick();
    expect(r.busyFor(again)).toBe(0);
    r.release();
  });
});

describe('ProgramRunner', () => {
  const fakeExec = () => {
    const pending: { path: string; done: () => void }[] = [];
    const exec = (path: string) => new Promise<RunResult>((resolve) => pending.push({ path, done: () => resolve({ code: 0, signal: null, stdout: '', stderr: '' }) }));
    return { pending, exec };
  };
  it('runs at most maxRunning at once; urgent work queues ahead of the rest; a full queue is Busy', async () => {
    const lane = new PriorityLane();
    const f = fakeExec();
    const runner = new ProgramRunner(lane, { maxRunning: 2, maxQueued: 2 }, f.exec);
    const order: string[] = [];
    const go = (name: string, urgent = false) => {
      const p = urgent ? lane.urgent(() => runner.run(`/bin/${name}`, [])) : runner.run(`/bin/${name}`, []);
      return p.then(() => void order.push(name), (e: { code?: string }) => void order.push(`${name}:${e.code}`));
    };
    const all = [go('a'), go('b'), go('c'), go('d'), go('e'), go('login', true)];
    await tick();
    expect(f.pending.map((p) => p.path)).toEqual(['/bin/a', '/bin/b']);
    expect(runner.active).toBe(2);
    expect(order).toEqual(['e:Busy']); // c and d wait; e finds the ordinary queue full; login is never refused
    f.pending.shift()!.done();
    await tick();
    expect(f.pending.map((p) => p.path)).toEqual(['/bin/b', '/bin/login']); // the freed slot went to the urgent waiter
    while (f.pending.length) {
      f.pending.shift()!.done();
      await tick();
    }
    await Promise.all(all);
    expect(order).toEqual(['e:Busy', 'a', 'b', 'login', 'c', 'd']);
    expect(runner.active).toBe(0);
  });
});

describe('TwoLaneQueue', () => {
  it('serves urgent waiters first, each lane in order, and bounds only the ordinary lane', () => {
    const q = new TwoLaneQueue(1);
    const got: string[] = [];
    expect(q.push(() => got.push('n1'), false)).toBe(true);
    expect(q.push(() => got.push('n2'), false)).toBe(false);
    expect(q.push(() => got.push('u1'), true)).toBe(true);
    expect(q.push(() => got.push('u2'), true)).toBe(true);
    while (q.length) q.shift()!();
    expect(got).toEqual(['u1', 'u2', 'n1']);
  });
});
