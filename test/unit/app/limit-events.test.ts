// The limit-event use case: baselines, fresh cgroups, disk levels, the row/signal/journal/terminal outputs, GetUser's events.

import { describe, expect, it } from 'vitest';
import { LimitEventRecorder, RECENT_EVENTS, diskLevelsOf, type LimitEventDeps } from '../../../src/app/limit-events';
import { getUser } from '../../../src/app/get-user';
import { SqliteLimitEvents } from '../../../src/adapters/store/sqlite-limit-events';
import type { LimitSample } from '../../../src/core/event-ports';
import type { CounterSnapshot, QuotaLevel } from '../../../src/core/limit-events';
import { addUser, testDeps } from '../../fakes/app-deps';

const UNREAD: CounterSnapshot = { atMs: 0, oomKill: null, memoryHigh: null, tasksMax: null, throttledUsec: null, quota: {} };

function setup(opts: { terminals?: boolean; levels?: Map<number, Record<string, QuotaLevel>> } = {}) {
  const d = testDeps();
  const store = new SqliteLimitEvents(d.db);
  const signals: string[] = [];
  const lines: string[] = [];
  const notes: string[] = [];
  let now = 1_000_000;
  let levels = opts.levels ?? new Map();
  const deps: LimitEventDeps = {
    watcher: { mode: 'test', start: async () => {}, stop: () => {} },
    store,
    signals: { limitEvent: (uid, r, k, c) => void signals.push(`${uid} ${r} ${k} ${c}`) },
    terminals: opts.terminals === false ? null : { notify: async (uid, line) => (notes.push(`${uid}: ${line}`), 1) },
    log: { debug: () => {}, info: () => {}, warn: (m: string) => void lines.push(m), error: (m: string) => void lines.push(m) },
    nowMs: () => now,
    config: { ...d.config.events, messageIntervalSec: 600 },
    isManaged: (uid) => uid >= 1000 && uid <= 1999,
    diskLevels: async () => levels,
  };
  const r = new LimitEventRecorder(deps);
  const sample = (uid: number, c: Partial<CounterSnapshot>, fresh = false): void => r.onSample({ uid, counters: { ...UNREAD, atMs: now, ...c }, fresh } satisfies LimitSample);
  return { d, r, store, signals, lines, notes, sample, tick: (ms: number) => (now += ms), setLevels: (l: typeof levels) => (levels = l) };
}

describe('LimitEventRecorder', () => {
  it('the first sample of a cgroup that was there at start is a baseline; growth after it is an event everywhere', () => {
    const t = setup();
    t.sample(1000, { oomKill: 4, tasksMax: 2 });
    expect(t.signals).toEqual([]);
    t.tick(1000);
    t.sample(1000, { oomKill: 5, tasksMax: 2 });
    expect(t.signals).toEqual(['1000 memory oom-kill 1']);
    expect(t.lines).toEqual(['uid 1000: limit event memory oom-kill (count 1)']);
    expect(t.store.recent(1000, 0, 10)).toEqual([{ uid: 1000, resource: 'memory', kind: 'oom-kill', count: 1, atUsec: 1_001_000_000 }]);
    expect(t.notes).toEqual([expect.stringMatching(/^1000: diycloud: a process was killed: memory limit reached \(1 killed\)/)]);
  });

  it('a fresh cgroup counts from 0; unmanaged uids are ignored', () => {
    const t = setup();
    t.sample(1000, { oomKill: 1 }, true);
    t.sample(5000, { oomKill: 1 }, true);
    expect(t.signals).toEqual(['1000 memory oom-kill 1']);
  });

  it('terminal messages are rate limited per user and kind; rows and signals are not', () => {
    const t = setup();
    t.sample(1000, { tasksMax: 0 });
    for (let i = 1; i <= 3; i++) {
      t.tick(1000);
      t.sample(1000, { tasksMax: i });
    }
    expect(t.signals).toHaveLength(3);
    expect(t.notes).toHaveLength(1);
    t.tick(600_000);
    t.sample(1000, { tasksMax: 4 });
    expect(t.notes).toHaveLength(2);
  });

  it('no terminals when TerminalMessages=no', () => {
    const t = setup({ terminals: false });
    t.sample(1000, { oomKill: 0 });
    t.sample(1000, { oomKill: 1 });
    expect(t.signals).toHaveLength(1);
    expect(t.notes).toEqual([]);
  });

  it('throttling is judged against the time since the previous cpu reading', () => {
    const t = setup();
    t.sample(1000, { throttledUsec: 0 });
    t.tick(30_000);
    t.sample(1000, { oomKill: 0 }); // a fast reading between the cpu ones
    t.tick(30_000);
    t.sample(1000, { throttledUsec: 7_000_000 }); // 7 s in 60 s > 10 %
    expect(t.signals).toEqual(['1000 cpu throttled 7000000']);
  });

  it('disk: the first reading is a baseline; a later transition is an event; old rows are pruned', async () => {
    const t = setup({ levels: new Map([[1000, { '/home': 'hard' }], [1001, { '/home': 'ok' }]]) });
    await t.r.diskTick();
    expect(t.signals).toEqual([]);
    t.setLevels(new Map([[1000, { '/home': 'hard' }], [1001, { '/home': 'soft' }]]));
    await t.r.diskTick();
    expect(t.signals).toEqual(['1001 disk grace 1']);
    expect(t.lines[0]).toBe('uid 1001: limit event disk grace (count 1) on /home');
    t.tick(8 * 86400 * 1000);
    await t.r.diskTick();
    expect(t.store.recent(1001, 0, 10)).toEqual([]);
  });

  it('GetUser shows the newest 20 within retention', async () => {
    const t = setup();
    addUser(t.d, { name: 'alice', uid: 1000 });
    const nowUsec = t.d.clock.now().getTime() * 1000;
    for (let i = 0; i < 25; i++) t.store.add({ uid: 1000, resource: 'tasks', kind: 'max', count: i + 1, atUsec: nowUsec - (25 - i) * 1e6 });
    t.store.add({ uid: 1000, resource: 'memory', kind: 'oom-kill', count: 1, atUsec: nowUsec - 8 * 86400e6 });
    expect((await getUser(t.d, 'alice')).events).toEqual([]); // deps carry no events store yet
    Object.assign(t.d, { limitEvents: t.store });
    const ev = (await getUser(t.d, 'alice')).events;
    expect(ev).toHaveLength(RECENT_EVENTS);
    expect(ev[0]).toEqual({ at: new Date(nowUsec / 1000 - 1000).toISOString(), resource: 'tasks', kind: 'max', count: 25 });
    expect(ev.some((e) => e.kind === 'oom-kill')).toBe(false);
  });
});

describe('diskLevelsOf', () => {
  it('levels from the bulk usage read, users without limits left out', async () => {
    const d = testDeps(undefined, { quota: true });
    const G = 1024 ** 3;
    const q = d.quota!;
    q.users.set(1000, { usedBytes: G, softBytes: 0.9 * G, hardBytes: G });
    q.users.set(1001, { usedBytes: 0.95 * G, softBytes: 0.9 * G, hardBytes: G });
    q.users.set(1002, { usedBytes: 5 * G, softBytes: 0, hardBytes: 0 });
    const l = await diskLevelsOf(d);
    expect(l.get(1000)).toEqual({ '/home': 'hard' });
    expect(l.get(1001)).toEqual({ '/home': 'soft' });
    expect(l.has(1002)).toBe(false);
  });
});
