// Benchmark: the limit-event watcher's idle CPU with 1,000 user cgroups (cgroup v1 on this host), and signal latency, through the real diycloudd.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmdirSync, writeFileSync } from 'node:fs';
import * as dbus from 'dbus-next';
import { startTestBus, type TestBus } from '../test/integration/lib/test-bus';
import { startDaemon, type DaemonProcess } from '../test/integration/lib/daemon-process';
import { REPO } from '../test/integration/lib/test-bus';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { probeCgroupfs, type V1Probe } from '../src/adapters/cgroupfs/hierarchy';
import { summarize, type Summary } from './lib/stats';

export interface LimitEventsOptions {
  /** User cgroups to make (diycloud/user-UID in the memory, pids and cpu hierarchies). */
  groups: number;
  firstUid: number;
  /** How long each daemon is measured while idle. */
  idleMs: number;
  /** The daemons to measure: v1 poll interval (s), and [Defaults] Tasks (null: none, so pids.max stays "max" and only memory is polled). */
  runs: { pollSec: number; tasks: number | null }[];
  /** Events triggered per poll interval, for latency. */
  events: number;
}
export interface IdleRun { label: string; groups: number; pollSec: number | null; tasks: number | null; cpuMs: number; wallMs: number; corePercent: number }
export interface LimitEventsResult { opts: LimitEventsOptions; idle: IdleRun[]; latency: { pollSec: number; ms: Summary; missed: number }[]; leftovers: string[] }

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const TICK_MS = 1000 / 100; // USER_HZ: /proc/PID/stat counts CPU time in 10 ms ticks
function cpuMsOf(pid: number): number {
  const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) * TICK_MS; // utime, stime (fields 14, 15)
}

/**
 * startDaemon (test/integration/lib) waits 5 s for the start-up reconcile; with 1,000 live groups
 * it takes longer (each group's limits are written), so this one waits up to 5 minutes.
 */
async function startSlowDaemon(address: string, conf: string): Promise<DaemonProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'diycloudd-bench-'));
  writeFileSync(join(dir, 'diycloud.conf'), conf);
  const child = spawn(process.execPath, [join(REPO, 'dist', 'entry', 'daemon.js'), '--config', join(dir, 'diycloud.conf'), '--bus-address', address, '--database', join(dir, 'diycloud.db')], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (out += b.toString()));
  for (let i = 0; i < 3000 && !/start-up reconcile/.test(out); i++) {
    if (child.exitCode !== null) throw new Error(`diycloudd exited ${child.exitCode}: ${out}`);
    await sleep(100);
  }
  if (!/start-up reconcile/.test(out)) throw new Error(`diycloudd did not finish its start-up reconcile: ${out.slice(-2000)}`);
  return {
    dir, configPath: join(dir, 'diycloud.conf'), dbPath: join(dir, 'diycloud.db'), child, log: () => out,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const gone = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await gone;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function runLimitEvents(opts: LimitEventsOptions): Promise<LimitEventsResult> {
  const probe = probeCgroupfs();
  if (probe.version !== 'v1' || !probe.hierarchies.pids) throw new Error('limit-events benchmark: needs this host\'s cgroup v1 memory, pids and cpu hierarchies');
  const h = (probe as V1Probe).hierarchies;
  const mounts = [...new Set([h.memory.mountPoint, h.pids!.mountPoint, h.cpu.mountPoint])];
  const made: string[] = [];
  const parentsWeMade = mounts.filter((m) => !existsSync(`${m}/diycloud`));
  const uids = Array.from({ length: opts.groups }, (_, i) => opts.firstUid + i);
  const conf = (pollSec: number, tasks: number | null) => `${tasks === null ? '' : `[Defaults]\nTasks=${tasks}\n`}[Users]\nUIDMin=${opts.firstUid}\nUIDMax=${opts.firstUid + opts.groups + 9}\n[Backend]\nCgroups=cgroupfs\n[Quota]\nPaths=\n[Events]\nPollInterval=${pollSec}s\nTerminalMessages=no\n`;
  const children: ChildProcess[] = [];
  let bus: TestBus | null = null;
  const result: LimitEventsResult = { opts, idle: [], latency: [], leftovers: [] };

  async function idle(label: string, pollSec: number | null, tasks: number | null, groups: number): Promise<DaemonProcess> {
    const d = groups === 0 ? await startDaemon(bus!.address, conf(pollSec ?? 2, tasks)) : await startSlowDaemon(bus!.address, conf(pollSec ?? 2, tasks));
    await sleep(3000); // the start-up reconcile and the first rescan are over
    const pid = d.child.pid!;
    const [c0, t0] = [cpuMsOf(pid), Date.now()];
    await sleep(opts.idleMs);
    const [c1, t1] = [cpuMsOf(pid), Date.now()];
    result.idle.push({ label, groups, pollSec, tasks, cpuMs: c1 - c0, wallMs: t1 - t0, corePercent: ((c1 - c0) / (t1 - t0)) * 100 });
    return d;
  }

  try {
    bus = await startTestBus();
    // The baseline: the daemon with no user cgroup to watch.
    await (await idle('no user cgroups', null, null, 0)).stop();
    for (const m of mounts) for (const uid of uids) (mkdirSync(`${m}/diycloud/user-${uid}`, { recursive: true, mode: 0o755 }), made.push(`${m}/diycloud/user-${uid}`));
    // Live groups: one sleeping process in each (the daemon's reconcile removes empty ones, as a logout would).
    const moves = mounts.map((m) => `echo $$ > ${m}/diycloud/user-$0/cgroup.procs`).join('; ');
    const script = `for uid in $(/usr/bin/seq ${uids[0]} ${uids[uids.length - 1]}); do /bin/sh -c '${moves}; exec /bin/sleep 86400' $uid & done; wait`;
    const filler = spawn('/bin/bash', ['-c', script], { env: {}, stdio: 'ignore' });
    children.push(filler);
    for (let i = 0; i < 600; i++) {
      const live = uids.filter((uid) => readFileSync(`${h.memory.mountPoint}/diycloud/user-${uid}/cgroup.procs`, 'utf8').trim() !== '').length;
      if (live === uids.length) break;
      await sleep(100);
    }
    for (const { pollSec, tasks } of opts.runs) {
      const d = await idle(`${opts.groups} user cgroups, poll every ${pollSec} s, ${tasks === null ? 'no task limit (memory polled)' : `Tasks=${tasks} (memory and pids polled)`}`, pollSec, tasks, opts.groups);
      if (tasks === null) {
        await d.stop();
        continue;
      }
      // Latency: forks refused at the daemon's pids.max in one group at a time; the signal's arrival minus the moment the forks were asked for.
      const client = dbus.sessionBus({ busAddress: bus.address });
      client.on('error', () => {});
      await client.call(new dbus.Message({ destination: 'org.freedesktop.DBus', path: '/org/freedesktop/DBus', interface: 'org.freedesktop.DBus', member: 'AddMatch', signature: 's', body: ["type='signal',member='LimitEvent'"] }));
      const seen = new Map<number, number>();
      client.on('message', (m: dbus.Message) => {
        if (m.member === 'LimitEvent' && (m.body as unknown[])[2] === 'max' && !seen.has(m.body[0] as number)) seen.set(m.body[0] as number, Date.now());
      });
      const lat: number[] = [];
      let missed = 0;
      for (let i = 0; i < opts.events; i++) {
        const uid = uids[Math.floor(((i + 0.5) / opts.events) * uids.length)]!;
        const sh = spawn('/bin/sh', ['-c', `read x; for i in $(/usr/bin/seq ${tasks + 2}); do /bin/sleep 2 & done; wait`], { env: {}, stdio: ['pipe', 'ignore', 'ignore'] });
        children.push(sh);
        await sleep(100);
        writeFileSync(`${h.pids!.mountPoint}/diycloud/user-${uid}/cgroup.procs`, String(sh.pid));
        await sleep(Math.random() * pollSec * 1000); // not in step with the poll
        const t0 = Date.now();
        sh.stdin!.end('go\n');
        for (let j = 0; j < 300 && !seen.has(uid); j++) await sleep(10);
        if (seen.has(uid)) lat.push(seen.get(uid)! - t0);
        else missed++;
        await new Promise((r) => (sh.exitCode === null ? sh.once('exit', r) : r(null)));
      }
      client.disconnect();
      result.latency.push({ pollSec, ms: summarize(lat), missed });
      await d.stop();
    }
  } finally {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    // the sleepers: only processes in this benchmark's own groups
    for (const uid of uids) {
      const procs = `${h.memory.mountPoint}/diycloud/user-${uid}/cgroup.procs`;
      for (const pid of existsSync(procs) ? readFileSync(procs, 'utf8').split('\n').filter(Boolean) : []) {
        try {
          process.kill(Number(pid), 'SIGKILL');
        } catch {
          /* gone */
        }
      }
    }
    await sleep(300);
    await bus?.stop();
    for (const g of made.reverse()) {
      for (let i = 0; existsSync(g) && i < 50; i++) {
        try {
          rmdirSync(g);
        } catch {
          await sleep(20);
        }
      }
      if (existsSync(g)) result.leftovers.push(g);
    }
    for (const m of parentsWeMade) if (existsSync(`${m}/diycloud`) && readdirSync(`${m}/diycloud`, { withFileTypes: true }).every((e) => !e.isDirectory())) rmdirSync(`${m}/diycloud`);
  }
  return result;
}
