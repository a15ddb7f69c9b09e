// Integration: BusClient never has more calls waiting for replies than its cap, under a burst.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as dbus from 'dbus-next';
import { startTestBus, type TestBus } from './lib/test-bus';
import { BusClient } from '../../src/adapters/dbus/bus-client';

describe('BusClient on a real dbus-daemon', () => {
  let bus: TestBus;
  let conn: dbus.MessageBus;
  beforeAll(async () => {
    bus = await startTestBus();
    conn = dbus.sessionBus({ busAddress: bus.address });
  });
  afterAll(async () => {
    conn?.disconnect();
    await bus?.stop();
  });

  it('200 observe-like tasks (one call, then five at once) never exceed the cap, and all succeed', async () => {
    const client = new BusClient(conn, { timeoutMs: 10_000, maxInFlight: 64 });
    const ask = (i: number) => client.call({ destination: 'org.freedesktop.DBus', path: '/org/freedesktop/DBus', interface: 'org.freedesktop.DBus', member: 'NameHasOwner', signature: 's', body: [`org.example.N${i}`] });
    let peak = 0;
    const probe = setInterval(() => (peak = Math.max(peak, client.pending)), 0);
    const tasks = Array.from({ length: 200 }, async (_, i) => {
      await ask(i);
      peak = Math.max(peak, client.pending);
      const r = await Promise.all([1, 2, 3, 4, 5].map((k) => ask(i * 10 + k)));
      peak = Math.max(peak, client.pending);
      return r;
    });
    const results = await Promise.all(tasks);
    clearInterval(probe);
    expect(results.flat().every(([owned]) => owned === false)).toBe(true);
    expect(peak).toBeLessThanOrEqual(64);
    expect(client.pending).toBe(0);
  });
});
