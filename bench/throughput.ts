// Benchmark 2: many clients calling OpenSession at once against diycloudd with the REAL systemd (in the container).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LoginEnv } from '../test/e2e/lib/login-env';
import { summarize, type Summary } from './lib/stats';

export interface PhaseResult { calls: number; errors: number; firstErrors: string[]; callsPerSec: number; lat: Summary }
export interface ThroughputResult {
  connections: number; concurrency: number; callsPerPhase: number; rounds: number; users: number;
  ping: PhaseResult; open: PhaseResult;
  /** open loop: OpenSession started at `rate` calls/s (latency from the scheduled start) */
  rate?: PhaseResult & { offered: number };
  /** CPU seconds used during the whole driver run, per process */
  cpuSec: Record<string, number>;
  wallSec: number;
}

const DRIVER = '/opt/diycloud-bench/throughput-driver.cjs';
const MODULES = '/usr/lib/diycloud/node_modules/dbus-next';

/** utime+stime (s) of the named processes inside the container: diycloudd's node, dbus-daemon, systemd (PID 1), logind. */
export async function cpuTimes(e: LoginEnv): Promise<Record<string, number>> {
  const r = await e.c.exec(`tck=$(getconf CLK_TCK); for p in diycloudd:$(systemctl show -p MainPID --value diycloudd) dbus:$(systemctl show -p MainPID --value dbus) systemd:1 logind:$(systemctl show -p MainPID --value systemd-logind); do
    n=\${p%%:*}; pid=\${p#*:}; set -- $(sed 's/^.*) //' /proc/$pid/stat); echo "$n $(( (\${12} + \${13}) * 1000 / tck ))"; done`);
  return Object.fromEntries(r.stdout.trim().split('\n').map((l) => { const [n, ms] = l.split(' '); return [n, Number(ms) / 1000]; }));
}

export async function runThroughput(e: LoginEnv, users: string[], o: { connections: number; concurrency: number; callsPerPhase: number; rounds: number; rate?: number }): Promise<ThroughputResult> {
  await e.c.writeFile(DRIVER, readFileSync(join(__dirname, 'drivers', 'throughput-driver.cjs'), 'utf8'));
  const before = await cpuTimes(e);
  const t0 = Date.now();
  const r = await e.c.exec(`node ${DRIVER} ${MODULES} ${o.connections} ${o.concurrency} ${o.callsPerPhase} ${o.rounds} ${users.join(',')} ${o.rate ?? 0}`, { timeoutMs: 900_000 });
  const wallSec = (Date.now() - t0) / 1000;
  const after = await cpuTimes(e);
  const cpuSec = Object.fromEntries(Object.keys(after).map((k) => [k, Math.round((after[k] - (before[k] ?? 0)) * 100) / 100]));
  const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as { phases: Record<'ping' | 'open' | 'rate', { calls: number; errors: number; firstErrors: string[]; wallMs: number; lat: number[] }> };
  const conv = (p: (typeof out.phases)['ping']): PhaseResult => ({ calls: p.calls, errors: p.errors, firstErrors: p.firstErrors.slice(0, 3), callsPerSec: p.calls / (p.wallMs / 1000), lat: summarize(p.lat) });
  const rate = o.rate && out.phases.rate.calls ? { ...conv(out.phases.rate), offered: o.rate } : undefined;
  return { ...o, users: users.length, ping: conv(out.phases.ping), open: conv(out.phases.open), rate, cpuSec, wallSec };
}
