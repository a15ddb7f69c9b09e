// The portal benchmarks' stack on this host (root): a private dbus-daemon, the fake systemd1 and polkit of the
// integration tests, the built diycloudd and the built diycloud-web (dist/entry/web.js, as the diycloud-web
// user, on its unix socket) as child processes; N host users adopted and logged in through PAM, one of them admin;
// the database seeded with 10,000 more users and an hour of usage history for the logged-in users.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { REPO, startTestBus, type TestBus } from '../test/integration/lib/test-bus';
import { busctl, MGR, startDaemon, type DaemonProcess } from '../test/integration/lib/daemon-process';
import { createHostUsers, type HostUser } from '../test/integration/lib/host-users';
import { startFakeSystemd, type FakeSystemd } from '../test/fakes/fake-systemd1';
import { startFakePolkit, type FakePolkit } from '../test/fakes/fake-polkit';
import { UsageSampler } from '../src/app/sample-usage';
import { openDatabase } from '../src/adapters/store/sqlite-store';
import { SqliteUsage } from '../src/adapters/store/sqlite-usage';

export const ORIGIN = 'https://portal.bench';
const PASSWORD = 'portal bench horse';

export interface Reply { status: number; body: string; ms: number; headers: Record<string, string | string[] | undefined> }

/** One HTTP request on the unix socket, a new connection each time (as nginx's default upstream does). */
export function httpRequest(sock: string, method: string, path: string, headers: Record<string, string> = {}, body?: unknown): Promise<Reply> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : JSON.stringify(body);
    const req = request({ socketPath: sock, method, path, agent: false, headers: { Host: 'portal.bench', ...(data ? { 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(data)) } : {}), ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString(), ms: performance.now() - t0, headers: res.headers }));
    });
    req.on('error', reject);
    req.end(data);
  });
}

export interface PortalUser extends HostUser { cookie: string }

export interface PortalStack {
  readonly sock: string;
  readonly daemon: DaemonProcess;
  readonly web: ChildProcess;
  /** logged-in plain users (each with a session cookie), then the admin */
  readonly users: PortalUser[];
  readonly admin: PortalUser;
  readonly dbUsers: number;
  readonly setupSec: Record<string, number>;
  stop(): Promise<void>;
}

/** utime + stime of a process in clock ticks (/proc/PID/stat; 100 per second on Linux). */
export function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(f[11]) + Number(f[12]);
}

async function inBatches<T>(items: T[], width: number, fn: (x: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < items.length) await fn(items[next++]);
  }));
}

export async function startPortalStack(opts: { users: number; dbUsers: number; firstUid: number; liveIntervalSec: number; historyTicks: number }): Promise<PortalStack> {
  const dir = mkdtempSync(join(tmpdir(), 'diycloud-portal-bench-'));
  chmodSync(dir, 0o755);
  const setupSec: Record<string, number> = {};
  let t = performance.now();
  const lap = (k: string): void => {
    setupSec[k] = Math.round((performance.now() - t) / 100) / 10;
    t = performance.now();
  };
  let madeServiceUser = false;
  let bus: TestBus | undefined, systemd: FakeSystemd | undefined, polkit: FakePolkit | undefined, daemon: DaemonProcess | undefined, web: ChildProcess | undefined;
  let hostUsers: ReturnType<typeof createHostUsers> | undefined;
  const stop = async (): Promise<void> => {
    if (web && web.exitCode === null && web.signalCode === null) {
      const gone = new Promise((r) => web!.once('exit', r));
      web.kill('SIGTERM');
      await gone;
    }
    await daemon?.stop();
    polkit?.close();
    systemd?.close();
    await bus?.stop();
    hostUsers?.remove();
    if (madeServiceUser) spawnSync('/usr/sbin/userdel', ['--', 'diycloud-web']);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    // the diycloud-web account must exist before the bus reads its policy
    if (spawnSync('/usr/bin/getent', ['passwd', 'diycloud-web']).status !== 0) {
      const r = spawnSync('/usr/sbin/useradd', ['--system', '--no-create-home', '--home-dir', '/', '--shell', '/usr/sbin/nologin', '--', 'diycloud-web'], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`useradd diycloud-web: ${r.stderr}`);
      madeServiceUser = true;
    }
    const webUid = Number(spawnSync('/usr/bin/id', ['-u', 'diycloud-web'], { encoding: 'utf8' }).stdout);
    const webGid = Number(spawnSync('/usr/bin/id', ['-g', 'diycloud-web'], { encoding: 'utf8' }).stdout);
    bus = await startTestBus();
    systemd = await startFakeSystemd(bus.address);
    // the admin first, then the plain users
    hostUsers = createHostUsers(opts.users + 1, opts.firstUid);
    const [adminUser, ...plain] = hostUsers.users;
    const pw = spawnSync('/usr/sbin/chpasswd', ['-c', 'SHA512'], { input: hostUsers.users.map((u) => `${u.name}:${PASSWORD}`).join('\n') + '\n', encoding: 'utf8' });
    if (pw.status !== 0) throw new Error(`chpasswd: ${pw.stderr}`);
    lap('hostUsers');
    polkit = await startFakePolkit(bus.address, { [adminUser.uid]: 'admin' });
    const dbFirstUid = opts.firstUid + 1000;
    const conf = `[Users]\nUIDMin=${opts.firstUid}\nUIDMax=${dbFirstUid + opts.dbUsers + 1000}\n[Backend]\nSlices=systemd\n[Accounts]\nPamVerify=${REPO}/dist/pam-verify\n`;
    // BENCH_PORTAL_PROF=DIR (development): CPU profiles of the daemon and diycloud-web, written when they exit
    const prof = process.env.BENCH_PORTAL_PROF;
    const nodeOptions = process.env.NODE_OPTIONS;
    const profEnv = (sub: string): Record<string, string> => ({ NODE_OPTIONS: `--require ${join(REPO, 'bench', 'portal-prof.cjs')}`, DIYCLOUD_BENCH_PROF_DIR: join(prof!, sub) });
    if (prof) {
      mkdirSync(join(prof, 'daemon'), { recursive: true });
      Object.assign(process.env, profEnv('daemon'));
    }
    try {
      daemon = await startDaemon(bus.address, conf);
    } finally {
      if (prof) {
        delete process.env.DIYCLOUD_BENCH_PROF_DIR;
        if (nodeOptions === undefined) delete process.env.NODE_OPTIONS;
        else process.env.NODE_OPTIONS = nodeOptions;
      }
    }
    await inBatches(hostUsers.users, 8, async (u) => {
      const r = await busctl(bus!.address, ['call', ...MGR, 'AdoptUser', 'ss', u.name, 'user']);
      if (r.stderr) throw new Error(`AdoptUser ${u.name}: ${r.stderr}`);
    });
    lap('daemonAndAdopt');
    // 10,000 database users (no host account: QueryUsers lists the database), each with an allocation
    const db = new Database(daemon.dbPath);
    db.pragma('busy_timeout = 10000');
    db.exec(`BEGIN;
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ${opts.dbUsers - 1})
  INSERT INTO users (username, uid, is_active) SELECT printf('pb%05d', i), ${dbFirstUid} + i, 1 FROM n;
INSERT INTO resource_allocations (user_id, cpu_limit, mem_limit) SELECT id, 0.5 + (id % 4), (1 + id % 8) || 'G' FROM users WHERE username LIKE 'pb%';
COMMIT;`);
    // a few limit events for each logged-in user (the dashboard lists the newest 20)
    const ev = db.prepare('INSERT INTO limit_events (uid, resource, kind, count, at_usec) VALUES (?, ?, ?, ?, ?)');
    db.transaction(() => {
      for (const u of plain) for (let k = 0; k < 30; k++) ev.run(u.uid, k % 2 ? 'memory' : 'cpu', k % 2 ? 'high' : 'throttled', 1 + k, (Date.now() - k * 60_000) * 1000);
    })();
    db.close();
    // an hour of usage history for the logged-in users, written by the real sampler and store (as the daemon's would)
    const udb = openDatabase(daemon.dbPath, join(REPO, 'schema'));
    let nowMs = Date.now() - opts.historyTicks * 10_000;
    let tick = 0;
    const sampler = new UsageSampler({
      reader: { mode: 'fake', readAll: async () => plain.map((u, i) => ({ uid: u.uid, cpuUsageNsec: tick * (1 + (i % 7)) * 1e9, memoryBytes: 2 ** 20 * (100 + i + (tick % 50)), tasks: 1 + (i % 30) })) },
      store: new SqliteUsage(udb), log: { debug() {}, info() {}, warn: (m) => console.warn(m), error: (m) => console.error(m) },
      nowMs: () => nowMs, isManaged: () => true, intervalSec: 10, diskUsage: async () => new Map(), diskEverySec: 60,
    });
    for (; tick < opts.historyTicks; tick++, nowMs += 10_000) await sampler.tick();
    udb.close();
    lap('seed');
    // diycloud-web, the built entry, as its own user
    const run = join(dir, 'run');
    mkdirSync(join(dir, 'static'));
    spawnSync('/usr/bin/install', ['-d', '-m', '0750', '-o', 'diycloud-web', '-g', 'diycloud-web', run]);
    const sock = join(run, 'web.sock');
    if (prof) {
      mkdirSync(join(prof, 'web'), { recursive: true });
      chownSync(join(prof, 'web'), webUid, webGid);
    }
    writeFileSync(join(dir, 'web.conf'), `[Web]\nSocket=${sock}\nPublicOrigin=${ORIGIN}\nStaticDir=${join(dir, 'static')}\nBusAddress=${bus.address}\nLiveIntervalSec=${opts.liveIntervalSec}\n`);
    web = spawn(process.execPath, [join(REPO, 'dist/entry/web.js'), '--config', join(dir, 'web.conf')], { uid: webUid, gid: webGid, env: { PATH: '/usr/bin:/bin', ...(prof ? profEnv('web') : {}) }, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    web.stderr!.on('data', (c: Buffer) => (err += c.toString()));
    const t0 = Date.now();
    while (!/listening on/.test(err)) {
      if (Date.now() - t0 > 15_000 || web.exitCode !== null) throw new Error(`diycloud-web did not start: ${err}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    // a PAM login per user through the portal (Web1.Login, pam-verify)
    const users: PortalUser[] = [];
    await inBatches(hostUsers.users, 4, async (u) => {
      const r = await httpRequest(sock, 'POST', '/api/v1/login', { Origin: ORIGIN, 'X-Real-IP': '192.0.2.10' }, { user: u.name, password: PASSWORD });
      if (r.status !== 200) throw new Error(`login ${u.name}: ${r.status} ${r.body}`);
      users.push({ ...u, cookie: String(r.headers['set-cookie']).split(';')[0] });
    });
    lap('webAndLogins');
    const admin = users.find((u) => u.uid === adminUser.uid)!;
    const byUid = new Map(users.map((u) => [u.uid, u]));
    return { sock, daemon, web, users: plain.map((u) => byUid.get(u.uid)!), admin, dbUsers: opts.dbUsers, setupSec, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}
