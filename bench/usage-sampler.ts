// Sampler cost at N live users: the real UsageSampler and SQLite store (a file database, WAL, as the daemon opens it),
// with a fake counter reader (no cgroupfs here); CPU time per tick over the interval, as % of one core.
// In `npm run bench` as BENCH_ONLY=usagesampler; run alone: npx vite-node bench/usage-sampler.ts [users] [ticks]
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UsageSampler } from '../src/app/sample-usage';
import { openDatabase } from '../src/adapters/store/sqlite-store';
import { SqliteUsage } from '../src/adapters/store/sqlite-usage';
import type { UsageReading } from '../src/core/usage-history';

export interface UsageSamplerResult { users: number; ticks: number; cpuMsPerTick: number; maxTickMs: number; percentOfCore: number; dbBytes: number }

export async function runUsageSampler(users = 1000, ticks = 400, intervalSec = 10): Promise<UsageSamplerResult> {
  const dir = mkdtempSync(join(tmpdir(), 'diycloud-usage-bench-'));
  try {
    const db = openDatabase(join(dir, 'bench.db'), join(__dirname, '..', 'schema'));
    let nowMs = Date.parse('2026-11-25T00:00:00Z');
    let tick = 0;
    const readings = (): UsageReading[] => Array.from({ length: users }, (_, i) => ({ uid: 10_000 + i, cpuUsageNsec: tick * (i % 7) * 1e9, memoryBytes: 2 ** 20 * (i + tick), tasks: i % 50 }));
    const sampler = new UsageSampler({ reader: { mode: 'fake', readAll: async () => readings() }, store: new SqliteUsage(db), log: { debug() {}, info() {}, warn: (m) => console.warn(m), error: (m) => console.error(m) }, nowMs: () => nowMs, isManaged: () => true, intervalSec, diskUsage: async () => new Map(), diskEverySec: 60 });
    let cpuUs = 0;
    let maxMs = 0;
    for (; tick < ticks; tick++) {
      const c0 = process.cpuUsage();
      const w0 = performance.now();
      await sampler.tick();
      maxMs = Math.max(maxMs, performance.now() - w0);
      const c = process.cpuUsage(c0);
      if (tick > 0) cpuUs += c.user + c.system; // the first tick is a baseline (and the one full prune)
      nowMs += intervalSec * 1000;
    }
    const cpuMsPerTick = cpuUs / 1000 / (ticks - 1);
    db.close();
    return { users, ticks, cpuMsPerTick: Math.round(cpuMsPerTick * 100) / 100, maxTickMs: Math.round(maxMs * 10) / 10, percentOfCore: Math.round((cpuMsPerTick / (intervalSec * 1000)) * 100 * 1000) / 1000, dbBytes: statSync(join(dir, 'bench.db')).size };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// Run directly (vite-node passes only the arguments after the file): print the figures as JSON.
if (process.argv[1]?.endsWith('vite-node')) {
  void runUsageSampler(Number(process.argv[2] ?? 1000), Number(process.argv[3] ?? 400)).then((r) => console.log(JSON.stringify(r)));
}
