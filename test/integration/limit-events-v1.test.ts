// Integration: limit events from this host's real cgroup v1 hierarchy, through the real diycloudd, as rows and LimitEvent signals on a real dbus-daemon.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmdirSync, writeFileSync } from 'node:fs';
import * as dbus from 'dbus-next';
import { startTestBus, type TestBus } from './lib/test-bus';
import { busctl, MGR, startDaemon, type DaemonProcess } from './lib/daemon-process';
import { sql } from './lib/db';
import { probeCgroupfs } from '../../src/adapters/cgroupfs/hierarchy';

/** This test's UIDs (no account is needed for a cgroup); every group of this range is removed afterwards. */
const UID_MIN = 4620;
const UID_MAX = 4639;
const POLL_MS = 1000;
const isRoot = process.getuid?.() === 0;
const probe = probeCgroupfs();
const v1 = probe.version === 'v1' && probe.hierarchies.pids ? probe : null;
const skip = !isRoot ? 'not root' : !v1 ? 'no cgroup v1 cpu, memory and pids hierarchies' : null;
if (skip) console.warn(`*** limit events v1 integration test SKIPPED: ${skip} ***`);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const mounts = (): string[] => (v1 ? [...new Set(Object.values(v1.hierarchies).filter((h) => h !== null).map((h) => h!.mountPoint))] : []);
const group = (mount: string, uid: number) => `${mount}/diycloud/user-${uid}`;

interface Seen {
  uid: number;
  resource: string;
  kind: string;
  count: number;
  atMs: number;
}

describe.skipIf(skip !== null)('limit events on cgroup v1 (poll every 1 s)', () => {
  let bus: TestBus;
  let daemon: DaemonProcess;
  let client: dbus.MessageBus;
  const seen: Seen[] = [];
  const children: ChildProcess[] = [];
  const parentsWeMade: string[] = [];

  function child(argv: string[]): ChildProcess & { exited: Promise<{ atMs: number; signal: string | null }> } {
    const c = spawn(argv[0]!, argv.slice(1), { env: {}, stdio: ['pipe', 'ignore', 'ignore'] });
    children.push(c);
    const exited = new Promise<{ atMs: number; signal: string | null }>((r) => c.once('exit', (_code, signal) => r({ atMs: Date.now(), signal })));
    return Object.assign(c, { exited });
  }
  /** Makes the user's groups (memory, pids, cpu) with the given limits, as the cgroupfs backend would. */
  function makeGroups(uid: number, memoryBytes: number, pidsMax: number): void {
    for (const m of mounts()) mkdirSync(group(m, uid), { recursive: true, mode: 0o755 });
    writeFileSync(`${group(v1!.hierarchies.memory.mountPoint, uid)}/memory.limit_in_bytes`, String(memoryBytes));
    writeFileSync(`${group(v1!.hierarchies.pids!.mountPoint, uid)}/pids.max`, String(pidsMax));
  }
  /**
   * Moves `pid` into the user's memory and pids groups, writing the limits again first: a daemon
   * of another test file whose UID range holds ours (flood, placement: 2000-4999, backend auto =
   * cgroupfs here) may have reconciled the group to its defaults at its start meanwhile.
   */
  function place(uid: number, pid: number, limits: { memoryBytes: number; pidsMax: number }): void {
    writeFileSync(`${group(v1!.hierarchies.memory.mountPoint, uid)}/memory.limit_in_bytes`, String(limits.memoryBytes));
    writeFileSync(`${group(v1!.hierarchies.pids!.mountPoint, uid)}/pids.max`, String(limits.pidsMax));
    for (const m of [v1!.hierarchies.memory.mountPoint, v1!.hierarchies.pids!.mountPoint]) writeFileSync(`${group(m, uid)}/cgroup.procs`, String(pid));
  }
  async function signalFor(uid: number, kind: string, timeoutMs = 5000): Promise<Seen> {
    for (let i = 0; i < timeoutMs / 20; i++) {
      const s = seen.find((e) => e.uid === uid && e.kind === kind);
      if (s) return s;
      await sleep(20);
    }
    throw new Error(`no LimitEvent ${kind} for ${uid}; seen ${JSON.stringify(seen)}; daemon log:\n${daemon.log()}`);
  }

  beforeAll(async () => {
    for (const m of mounts()) if (!existsSync(`${m}/diycloud`)) parentsWeMade.push(m);
    bus = await startTestBus();
    daemon = await startDaemon(bus.address, `[Users]\nUIDMin=${UID_MIN}\nUIDMax=${UID_MAX}\n[Backend]\nCgroups=cgroupfs\n[Quota]\nPaths=\n[Events]\nPollInterval=${POLL_MS / 1000}s\nTerminalMessages=no\n`);
    client = dbus.sessionBus({ busAddress: bus.address });
    client.on('error', () => {});
    await client.call(new dbus.Message({ destination: 'org.freedesktop.DBus', path: '/org/freedesktop/DBus', interface: 'org.freedesktop.DBus', member: 'AddMatch', signature: 's', body: ["type='signal',interface='org.diycloud.Manager1',member='LimitEvent'"] }));
    client.on('message', (m: dbus.Message) => {
      if (m.member !== 'LimitEvent') return;
      const [uid, resource, kind, count] = m.body as [number, string, string, bigint];
      seen.push({ uid, resource, kind, count: Number(count), atMs: Date.now() });
    });
  }, 30_000);

  afterAll(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await Promise.all(children.map((c) => (c.exitCode === null && c.signalCode === null ? new Promise((r) => c.once('exit', r)) : null)));
    client?.disconnect();
    await daemon?.stop();
    await bus?.stop();
    for (const m of mounts()) {
      for (let uid = UID_MIN; uid <= UID_MAX; uid++) {
        const d = group(m, uid);
        if (!existsSync(d)) continue;
        for (const pid of readFileSync(`${d}/cgroup.procs`, 'utf8').split('\n').filter(Boolean)) {
          try {
            writeFileSync(`${m}/cgroup.procs`, pid);
          } catch {
            /* it exited meanwhile */
          }
        }
        for (let i = 0; existsSync(d) && i < 50; i++) {
          try {
            rmdirSync(d);
          } catch {
            await sleep(20);
          }
        }
      }
      if (parentsWeMade.includes(m) && existsSync(`${m}/diycloud`) && readdirSync(`${m}/diycloud`, { withFileTypes: true }).every((e) => !e.isDirectory())) rmdirSync(`${m}/diycloud`);
    }
  }, 30_000);

  it('an OOM kill in the user\'s memory group is a LimitEvent signal within the poll interval, and a row', async () => {
    makeGroups(4620, 50 * 1024 ** 2, 100);
    await sleep(2500); // the daemon's rescan (every 2 s) finds the new group
    const hog = child([process.execPath, '-e', "process.stdin.once('data',()=>{const a=[];for(let i=0;i<400;i++)a.push(Buffer.alloc(1<<20,1));process.exit(0)})"]);
    await sleep(200);
    place(4620, hog.pid!, { memoryBytes: 50 * 1024 ** 2, pidsMax: 100 });
    const goMs = Date.now();
    hog.stdin!.write('go\n');
    const exit = await hog.exited;
    expect(exit.signal).toBe('SIGKILL');
    const s = await signalFor(4620, 'oom-kill');
    expect(s).toMatchObject({ resource: 'memory', count: 1 });
    const latencyMs = s.atMs - exit.atMs;
    // The kernel counts the kill before the hog's exit reaches us, and after it began allocating: the latency lies between.
    console.log(`limit events v1: LimitEvent signal ${latencyMs} ms after the OOM-killed child's exit was seen, ${s.atMs - goMs} ms after it began allocating (poll every ${POLL_MS} ms)`);
    expect(latencyMs).toBeLessThanOrEqual(POLL_MS + 250);
    const rows = sql<{ resource: string; kind: string; count: number; at_usec: number }>(daemon.dbPath, 'SELECT resource, kind, count, at_usec FROM limit_events WHERE uid = ?', 4620);
    expect(rows).toEqual([{ resource: 'memory', kind: 'oom-kill', count: 1, at_usec: expect.any(Number) }]);
    expect(Math.abs(rows[0]!.at_usec / 1000 - s.atMs)).toBeLessThan(1000);
    expect(daemon.log()).toMatch(/uid 4620: limit event memory oom-kill \(count 1\)/);
  }, 30_000);

  it('forks refused at pids.max are a tasks max event', async () => {
    makeGroups(4621, 512 * 1024 ** 2, 3);
    await sleep(2500);
    const sh = child(['/bin/sh', '-c', 'read x; for i in 1 2 3 4 5 6; do /bin/sleep 3 & done; wait']);
    await sleep(200);
    place(4621, sh.pid!, { memoryBytes: 512 * 1024 ** 2, pidsMax: 3 });
    const t0 = Date.now();
    sh.stdin!.write('go\n');
    const s = await signalFor(4621, 'max');
    expect(s.resource).toBe('tasks');
    expect(s.count).toBeGreaterThanOrEqual(1);
    const pidsEvents = Number(/^max ([0-9]+)$/m.exec(readFileSync(`${group(v1!.hierarchies.pids!.mountPoint, 4621)}/pids.events`, 'utf8'))?.[1]);
    expect(pidsEvents).toBeGreaterThanOrEqual(s.count);
    console.log(`limit events v1: refused fork → LimitEvent signal after ≤ ${s.atMs - t0} ms`);
    expect(s.atMs - t0).toBeLessThanOrEqual(POLL_MS + 500);
    expect(sql(daemon.dbPath, "SELECT kind FROM limit_events WHERE uid = ? AND resource = 'tasks'", 4621)).toEqual([{ kind: 'max' }]);
  }, 30_000);

  it('a group removed while it is watched is dropped; the daemon keeps serving and watching the others', async () => {
    makeGroups(4622, 50 * 1024 ** 2, 100);
    await sleep(2500);
    for (const m of mounts()) rmdirSync(group(m, 4622));
    await sleep(POLL_MS * 2);
    expect(daemon.child.exitCode).toBeNull();
    const r = await busctl(bus.address, ['get-property', ...MGR, 'Version']);
    expect(r.code).toBe(0);
    expect(daemon.log()).not.toMatch(/4622: cgroup counters unreadable/);
    // and a later OOM in another group is still seen
    const hog = child([process.execPath, '-e', "process.stdin.once('data',()=>{const a=[];for(let i=0;i<400;i++)a.push(Buffer.alloc(1<<20,1));process.exit(0)})"]);
    await sleep(200);
    place(4620, hog.pid!, { memoryBytes: 50 * 1024 ** 2, pidsMax: 100 });
    hog.stdin!.write('go\n');
    await hog.exited;
    for (let i = 0; i < 150 && seen.filter((e) => e.uid === 4620 && e.kind === 'oom-kill').length < 2; i++) await sleep(20);
    expect(seen.filter((e) => e.uid === 4620 && e.kind === 'oom-kill')).toHaveLength(2);
  }, 30_000);
});
