// Benchmark: the limit-event watcher's idle CPU with 1,000 user cgroups (cgroup v1 on this host), and signal latency, through the real diycloudd.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmdirSync, writeFileSync } from 'node:fs';
import * as dbus from 'dbus-next';
import { startTestBus, type TestBus } from '../test/integration/lib/test-bus';
import { startDaemon, type DaemonProcess } from '../test/integration/lib/daemon-process';
import { REPO } from '../test/integration/lib/test-bus';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { probeCgroupfs, type V1Probe } from '../src/adapters/cgroupfs/hierarchy';
import { f, summarize, type Summary } from './lib/stats';

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
export interface LimitEventsResult {
  opts: LimitEventsOptions; idle: IdleRun[]; latency: { pollSec: number; ms: Summary; missed: number; missAfterMs?: number }[]; leftovers: string[];
  /** 1-minute load average at the start and the end (the host is shared: a loaded run reads high) */
  load?: { before: number; after: number };
}

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
  // the daemon also makes each user's group in a separate cpuacct hierarchy (usage): removed with ours at the end
  const cleanMounts = [...new Set([...mounts, ...(h.cpuacct ? [h.cpuacct.mountPoint] : [])])];
  const parentsWeMade = cleanMounts.filter((m) => !existsSync(`${m}/diycloud`));
  const uids = Array.from({ length: opts.groups }, (_, i) => opts.firstUid + i);
  const conf = (pollSec: number, tasks: number | null) => `${tasks === null ? '' : `[Defaults]\nTasks=${tasks}\n`}[Users]\nUIDMin=${opts.firstUid}\nUIDMax=${opts.firstUid + opts.groups + 9}\n[Backend]\nCgroups=cgroupfs\n[Quota]\nPaths=\n[Events]\nPollInterval=${pollSec}s\nTerminalMessages=no\n`;
  const children: ChildProcess[] = [];
  let bus: TestBus | null = null;
  const result: LimitEventsResult = { opts, idle: [], latency: [], leftovers: [], load: { before: loadavg()[0], after: NaN } };

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
      // a late signal is measured, not missed: wait a whole poll interval plus 3 s for it
      const missAfterMs = pollSec * 1000 + 3000;
      for (let i = 0; i < opts.events; i++) {
        const uid = uids[Math.floor(((i + 0.5) / opts.events) * uids.length)]!;
        const sh = spawn('/bin/sh', ['-c', `read x; for i in $(/usr/bin/seq ${tasks + 2}); do /bin/sleep 2 & done; wait`], { env: {}, stdio: ['pipe', 'ignore', 'ignore'] });
        children.push(sh);
        await sleep(100);
        writeFileSync(`${h.pids!.mountPoint}/diycloud/user-${uid}/cgroup.procs`, String(sh.pid));
        await sleep(Math.random() * pollSec * 1000); // not in step with the poll
        const t0 = Date.now();
        sh.stdin!.end('go\n');
        for (const end = t0 + missAfterMs; Date.now() < end && !seen.has(uid); ) await sleep(10);
        if (seen.has(uid)) lat.push(seen.get(uid)! - t0);
        else missed++;
        await new Promise((r) => (sh.exitCode === null ? sh.once('exit', r) : r(null)));
      }
      client.disconnect();
      result.latency.push({ pollSec, ms: summarize(lat), missed, missAfterMs });
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
    for (const m of cleanMounts.filter((x) => !mounts.includes(x))) for (const uid of uids) if (existsSync(`${m}/diycloud/user-${uid}`)) made.unshift(`${m}/diycloud/user-${uid}`);
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
    result.load!.after = loadavg()[0];
  }
  return result;
}

const verdict = (ok: boolean): string => (ok ? '**met**' : '**MISSED**');
/** The issue's targets: the watcher's idle cost with 1,000 live user cgroups, and an event as a signal within 1 s. */
export const WATCHER_MAX_CORE_PERCENT = 1;
export const SIGNAL_MAX_MS = 1000;

/** Section 10 of docs/benchmarks.md (markdown lines, after the heading). */
export function renderLimitEvents(x: LimitEventsResult): string[] {
  const o = x.opts;
  const base = x.idle.find((r) => r.groups === 0);
  const polled = (r: IdleRun): string => (r.tasks === null ? 'memory only (no task limit: `pids.max` is `max`)' : `memory and pids (\`Tasks=${r.tasks}\`)`);
  const watcher = (r: IdleRun): number => r.corePercent - (base?.corePercent ?? NaN);
  const watched = x.idle.filter((r) => r.groups > 0);
  const lat = (pollSec: number) => x.latency.find((l) => l.pollSec === pollSec);
  const latOk = (l: LimitEventsResult['latency'][number]): boolean => l.missed === 0 && l.ms.n > 0 && l.ms.p95 <= SIGNAL_MAX_MS;
  const load = x.load ? ` Load average (1 min) before ${f(x.load.before, 2)}, after ${f(x.load.after, 2)} (2 cores, shared with other work).` : '';
  return [
    'Runs **on the host itself** (cgroup v1, as under Machine): a private dbus-daemon (test/integration/lib/test-bus.ts) and the built `dist/entry/daemon.js` as root with `[Backend] Cgroups=cgroupfs`, ' +
      `${o.groups} live user cgroups (\`diycloud/user-${o.firstUid}…\` in the memory, pids and cpu hierarchies, one sleeping process each; removed afterwards). ` +
      `Idle cost: CPU time of the daemon process (\`/proc/PID/stat\`, 10 ms ticks) over ${f(o.idleMs / 1000, 0)} s idle, 3 s after its start-up reconcile. ` +
      `Baseline: the same daemon in the same run with no user cgroup to watch; the watcher's cost is each daemon's figure minus the baseline.${load}`, '',
    '| Daemon | v1 poll interval | what is polled | CPU ms / wall s | % of one core | watcher (daemon − baseline) |', '|---|---|---|---|---|---|',
    ...(base ? [`| no user cgroups (baseline) | ${base.pollSec ?? 2} s | nothing | ${f(base.cpuMs, 0)} / ${f(base.wallMs / 1000)} | ${f(base.corePercent, 2)} % | |`] : []),
    ...watched.map((r) => `| ${r.groups} user cgroups | ${r.pollSec} s${r.pollSec === 2 ? ' (the default)' : ''} | ${polled(r)} | ${f(r.cpuMs, 0)} / ${f(r.wallMs / 1000)} | ${f(r.corePercent, 2)} % | ${f(watcher(r), 2)} % |`), '',
    `Target: the watcher ≤ ${WATCHER_MAX_CORE_PERCENT} % of one core idle with 1,000 user cgroups: ` +
      (base ? watched.map((r) => `poll ${r.pollSec} s, ${r.tasks === null ? 'memory only' : 'memory and pids'}: ${verdict(watcher(r) <= WATCHER_MAX_CORE_PERCENT)} (${f(watcher(r), 2)} %)`).join('; ') : `no baseline was measured: ${verdict(false)}`) +
      (o.groups < 1000 ? ` (only ${o.groups} user cgroups were measured).` : '.'), '',
    `Latency: ${o.events} events per poll interval, spread over the groups, each at a random phase of the poll: a shell moved into a group whose \`pids.max\` is the daemon's \`Tasks\` asks for more forks than that, ` +
      'and the time runs from that moment to the `LimitEvent` (kind `max`) signal on the test bus. The kernel counts the refused fork a little after the forks are asked for, so these are upper bounds. ' +
      'An event with no signal within the time in the "missed after" column counts as missed. Latencies in ms.', '',
    '| v1 poll interval | events | missed (after) | median | p95 | p99 | min | max |', '|---|---|---|---|---|---|---|---|',
    ...x.latency.map((l) => `| ${l.pollSec} s | ${l.ms.n + l.missed} | ${l.missed} (${f((l.missAfterMs ?? 3000) / 1000, 0)} s) | ${f(l.ms.median)} | ${f(l.ms.p95)} | ${f(l.ms.p99)} | ${f(l.ms.min)} | ${f(l.ms.max)} |`), '',
    `Target: an event as a signal ≤ ${f(SIGNAL_MAX_MS / 1000, 0)} s after the kernel counts it (p95, and no event missed): ` +
      x.latency.map((l) => `poll ${l.pollSec} s${l.pollSec === 2 ? ' (the default)' : ''}: ${verdict(latOk(l))} (p95 ${f(l.ms.p95)} ms${l.missed ? `, ${l.missed} missed` : ''})`).join('; ') + '.' +
      (lat(2) && lat(1) && !latOk(lat(2)!) && latOk(lat(1)!) ? ' So on cgroup v1 an event shows up within the poll interval: `PollInterval=1s` meets the target that the default 2 s misses, at the cost in the table above.' : ''), '',
    // Fixed prose: why v1 polls, and what cgroup v2 showed (measured elsewhere, not by this benchmark).
    'Why cgroup v1 polls: it cannot do better from Node. It sends no inotify event for `pids.events` (measured) and `memory.oom_control` needs an eventfd, so the watcher reads every user\'s `memory.oom_control` and (where `pids.max` is set) `pids.events` every `[Events] PollInterval`. ' +
      'On cgroup v2 the watcher waits on inotify (no polling; only `cpu.stat` is read, 1/60 of the users per second): in the VM (`test/e2e/vm-enforcement.test.ts`, systemd 252, cgroup v2) the OOM kill\'s `LimitEvent` reached `busctl monitor` 169 and 243 ms *before* the test saw the killed process exit over ssh (two runs, not this benchmark): **met**. ' +
      'The idle cost of the inotify path was not measured with 1,000 slices (the VM under TCG is too slow to say anything about CPU time). ' +
      'The integration test (`test/integration/limit-events-v1.test.ts`, poll 1 s) saw an OOM kill\'s signal 646 ms after the killed child\'s exit and a refused fork\'s within 218–251 ms.', '',
    ...(x.leftovers.length ? [`Left over after clean-up: ${x.leftovers.join(', ')}`, ''] : ['Clean-up: no cgroup or process left over.', '']),
  ];
}
