// `BENCH_LIMIT_EVENTS=1 npx vitest run --config bench/vitest.config.ts bench/limit-events.bench.test.ts`: the limit-event watcher on this host (root, cgroup v1).
import { describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { runLimitEvents } from './limit-events';

const env = process.env;
const num = (k: string, d: number): number => (env[k] ? Number(env[k]) : d);
// Only on request: it makes 1,000 cgroups per hierarchy and runs four daemons (about 5 minutes).
const skip = env.BENCH_LIMIT_EVENTS !== '1' || process.getuid?.() !== 0;

describe.skipIf(skip)('limit events benchmark (this host, cgroup v1)', () => {
  it('idle CPU of the watcher with 1,000 user cgroups, and LimitEvent latency', async () => {
    // UIDs 610000..: no account, outside every other test's and benchmark's range
    const r = await runLimitEvents({ groups: num('BENCH_EVENT_GROUPS', 1000), firstUid: 610_000, idleMs: num('BENCH_EVENT_IDLE_MS', 30_000), runs: [{ pollSec: 1, tasks: null }, { pollSec: 1, tasks: 10 }, { pollSec: 2, tasks: 10 }], events: num('BENCH_EVENT_COUNT', 20) });
    const out = env.BENCH_EVENT_OUT ?? '/tmp/limit-events-bench.json';
    writeFileSync(out, JSON.stringify(r, null, 1) + '\n');
    console.log(JSON.stringify(r, null, 1));
    expect(r.leftovers).toEqual([]);
  });
});
