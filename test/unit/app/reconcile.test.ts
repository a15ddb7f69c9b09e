// Unit: reconcile, the new-slice watcher, the memory ratchet and the per-UID queue.
import { describe, expect, it } from 'vitest';
import { reconcile } from '../../../src/app/reconcile';
import { watchCgroups } from '../../../src/app/watch-cgroups';
import { enforceAllocation } from '../../../src/app/enforce-allocation';
import { KeyedQueue } from '../../../src/app/keyed-queue';
import { addUser, testDeps } from '../../fakes/app-deps';

const M = 1024 ** 2;
const flush = () => new Promise((r) => setImmediate(r));

describe('reconcile', () => {
  it('applies every managed slice, skips the rest, and reports only changes', async () => {
    const d = testDeps();
    addUser(d, { name: 'alice', uid: 1000, cpu: 0.5 });
    d.slices.addSlice(1000);
    d.slices.addSlice(1001);
    d.slices.addSlice(42);
    const r = await reconcile(d);
    expect(r).toMatchObject({ slices: 3, managed: 2, errors: [], reverted: [] });
    expect(r.changed.map((c) => [c.uid, c.user])).toEqual([[1000, 'alice'], [1001, null]]);
    expect(d.slices.slices.get(42)?.settings).toEqual({});
    expect((await reconcile(d)).changed).toEqual([]);
  });
  it('lifts limits it once set on a UID that is no longer managed', async () => {
    const d = testDeps();
    d.slices.addSlice(1000);
    await reconcile(d);
    const narrowed = { ...d, config: { ...d.config, uidMin: 1500 } };
    const r = await reconcile(narrowed);
    expect(r.reverted).toEqual([1000]);
    expect(d.slices.slices.get(1000)?.settings).toMatchObject({ cpuQuotaPerSecUsec: 'infinity', memoryMaxBytes: 'infinity' });
    expect(d.store.uidsWithApplied("cgroup")).toEqual([]);
  });
  it('one failing slice is reported and the others still get their allocation', async () => {
    const d = testDeps();
    d.slices.addSlice(1000);
    d.slices.addSlice(1001);
    const real = d.slices.apply.bind(d.slices);
    d.slices.apply = async (uid, l) => (uid === 1000 ? Promise.reject(new Error('boom')) : real(uid, l));
    const r = await reconcile(d);
    expect(r.errors).toEqual([{ uid: 1000, error: 'boom' }]);
    expect(r.changed.map((c) => c.uid)).toEqual([1001]);
  });
});

describe('watchCgroups', () => {
  it('gives a slice that appears outside PAM its allocation', async () => {
    const d = testDeps();
    addUser(d, { name: 'linger', uid: 1100, cpu: 0.25 });
    await watchCgroups(d);
    d.slices.addSlice(1100);
    d.slices.addSlice(7); // not managed
    await flush();
    await flush();
    expect(d.slices.slices.get(1100)?.settings.cpuQuotaPerSecUsec).toBe(250_000);
    expect(d.slices.slices.get(7)?.settings).toEqual({});
  });
});

describe('the memory ratchet', () => {
  it('steps memoryMaxBytes down on each timer until the target holds', async () => {
    const d = testDeps();
    addUser(d, { name: 'alice', uid: 1000, memory: '300M' });
    d.slices.addSlice(1000, 900 * M);
    const first = await enforceAllocation(d, 1000);
    expect(first.done).toBe(false);
    expect(d.slices.slices.get(1000)?.settings).toMatchObject({ memoryHighBytes: 300 * M, memoryMaxBytes: 1125 * M });
    d.slices.slices.get(1000)!.memoryCurrentBytes = 400 * M;
    d.runTimers();
    await flush();
    expect(d.slices.slices.get(1000)?.settings.memoryMaxBytes).toBe(500 * M);
    d.slices.slices.get(1000)!.memoryCurrentBytes = 100 * M;
    d.runTimers();
    await flush();
    expect(d.slices.slices.get(1000)?.settings).toMatchObject({ memoryMaxBytes: 300 * M, memoryHighBytes: 'infinity' });
    expect(d.ratchets.size).toBe(0);
  });
});

describe('KeyedQueue', () => {
  it('runs work on one key in order and on different keys concurrently', async () => {
    const q = new KeyedQueue();
    const events: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const a1 = q.run(1, async () => {
      events.push('a1 start');
      await gate;
      events.push('a1 end');
    });
    const a2 = q.run(1, async () => void events.push('a2'));
    const b = q.run(2, async () => void events.push('b'));
    await b;
    expect(events).toEqual(['a1 start', 'b']);
    release();
    await Promise.all([a1, a2]);
    expect(events).toEqual(['a1 start', 'b', 'a1 end', 'a2']);
    expect(q.size).toBe(0);
  });
  it('a failure does not block the next operation', async () => {
    const q = new KeyedQueue();
    await expect(q.run('k', async () => Promise.reject(new Error('x')))).rejects.toThrow('x');
    await expect(q.run('k', async () => 7)).resolves.toBe(7);
  });
});
