// Benchmark 9, on this host (not in the container): idle RSS with 10,000 DB users, ListUsers with a btrfs quota path, Reconcile applying quotas.
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import * as dbus from 'dbus-next';
import { startTestBus, type TestBus } from '../test/integration/lib/test-bus';
import { MGR, run, startDaemon, type DaemonProcess } from '../test/integration/lib/daemon-process';
import { f, summarize, type Summary } from './lib/stats';

export interface QuotaOptions {
  dbUsers: number; subvolumes: number; listCalls: number; coldCalls: number; accounts: number; firstAccountUid: number; idleMs: number; settleMs?: number; imageSize: string;
}
export interface Calls { lat: Summary; errors: number; firstErrors: string[] }
export interface RssKiB { rss: number; hwm: number }
export interface QuotaReconcileRun { label: string; wallMs: number; durationMs: number; quotas: number; errors: number; firstError: string | null; limitsSeen: number }
export interface QuotaResult {
  opts: QuotaOptions; btrfsProgs: string; firstDbUid: number; setupSec: Record<string, number>;
  rss: { empty: RssKiB; full: RssKiB; fullDisk: RssKiB; fullAfterList: RssKiB; fullDiskAfterList: RssKiB;
    /** The same daemons settleMs after the start-up reconcile: V8's memory reducer has returned the start-up's garbage by then (absent in runs before 2026-12-03). */
    settled?: { empty: RssKiB; full: RssKiB; fullDisk: RssKiB } };
  list: { items: number; withUsage: number; replyBytes: number; noDisk: Calls; disk: Calls; coldNoDisk: Calls; coldDisk: Calls };
  reconcile: { runs: QuotaReconcileRun[]; listingRows: number };
  load: { before: number[]; after: number[]; busiest: string[] };
  leftovers: string[];
}

const BTRFS = '/usr/bin/btrfs';
const FIRST_DB_UID = 300_000; // DB-only users: never in NSS, outside every other test's range
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
function must(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: exit ${r.status}: ${r.stderr}`);
  return r.stdout;
}
const trySh = (cmd: string, args: string[]) => spawnSync(cmd, args, { encoding: 'utf8', timeout: 120_000 }).status === 0;
const rssOf = (pid: number): RssKiB => {
  const s = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (k: string) => Number(new RegExp(`^${k}:\\s+([0-9]+) kB`, 'm').exec(s)?.[1] ?? NaN);
  return { rss: kib('VmRSS'), hwm: kib('VmHWM') };
};
const conf = (o: { uidMin: number; uidMax: number; paths: string }) =>
  `[Users]\nUIDMin=${o.uidMin}\nUIDMax=${o.uidMax}\n[Backend]\nCgroups=none\n[Defaults]\nDisk=0\n[Quota]\nPaths=${o.paths}\n`;
const errText = (e: unknown) => String((e as { type?: string; text?: string; message?: string }).type ? `${(e as { type: string }).type}: ${(e as { text?: string }).text ?? ''}` : (e as Error).message);

/** Times `n` ListUsers calls on one connection; the last reply is kept. */
async function listUsers(bus: dbus.MessageBus, n: number, into: { lat: number[]; errors: number; firstErrors: string[]; last?: string }): Promise<void> {
  for (let i = 0; i < n; i++) {
    const t = process.hrtime.bigint();
    try {
      const reply = await bus.call(new dbus.Message({ destination: MGR[0], path: MGR[1], interface: MGR[2], member: 'ListUsers', signature: 'a{sv}', body: [{}] }));
      into.lat.push(Number(process.hrtime.bigint() - t) / 1e6);
      into.last = reply?.body[0] as string;
    } catch (e) {
      into.errors++;
      if (into.firstErrors.length < 3) into.firstErrors.push(errText(e));
    }
  }
}
const fresh = () => ({ lat: [] as number[], errors: 0, firstErrors: [] as string[], last: undefined as string | undefined });
const calls = (x: ReturnType<typeof fresh>): Calls => ({ lat: summarize(x.lat), errors: x.errors, firstErrors: x.firstErrors });

/**
 * Everything it makes lives under one temporary directory (image, mount, daemon dirs, buses) or is
 * a host account named qb<UID> in the given UID range; all of it is removed in `finally`, and what
 * could not be removed is returned in `leftovers`. Daemons run with Cgroups=none: no cgroup is touched.
 */
export async function runQuota(o: QuotaOptions): Promise<QuotaResult> {
  let result: QuotaResult | undefined;
  const load = { before: loadavg().map((x) => Math.round(x * 100) / 100), after: [] as number[], busiest: [] as string[] };
  const work = mkdtempSync(join(tmpdir(), 'diycloud-qbench-'));
  chmodSync(work, 0o755);
  const mnt = join(work, 'mnt');
  const buses: TestBus[] = [], daemons: DaemonProcess[] = [], accounts: string[] = [];
  const busOf = new Map<DaemonProcess, TestBus>();
  let loop = '', mounted = false;
  const setupSec: Record<string, number> = {};
  const timed = async <T>(k: string, fn: () => Promise<T> | T): Promise<T> => { const t = Date.now(); try { return await fn(); } finally { setupSec[k] = (Date.now() - t) / 1000; } };
  const daemon = async (name: string, c: string, bus?: TestBus): Promise<DaemonProcess> => {
    const b = bus ?? (await startTestBus());
    if (!bus) buses.push(b);
    const dir = join(work, name);
    mkdirSync(dir, { recursive: true });
    const d = await startDaemon(b.address, c, { dir });
    daemons.push(d);
    busOf.set(d, b);
    return d;
  };
  const stop = async (d: DaemonProcess) => { await d.stop(); daemons.splice(daemons.indexOf(d), 1); };
  const qgroupRows = () => must(BTRFS, ['qgroup', 'show', '--raw', '-r', '-e', '--', mnt]).split('\n').filter((l) => /^0\//.test(l));
  try {
    // 1. A btrfs loop device with quotas on, and `subvolumes` subvolumes owned by DB-only users, each limited to 1G.
    const img = join(work, 'b.img');
    await timed('loopDevice', () => {
      mkdirSync(mnt);
      must('/usr/bin/truncate', ['-s', o.imageSize, img]);
      must('/usr/sbin/mkfs.btrfs', ['-q', img]);
      loop = must('/usr/sbin/losetup', ['--find', '--show', '--', img]).trim();
      must('/usr/bin/mount', ['-t', 'btrfs', loop, mnt]);
      mounted = true;
      must(BTRFS, ['quota', 'enable', mnt]); // btrfs-progs 6.2: no "--" here (it counts as an argument)
    });
    await timed('subvolumes', () => {
      for (let i = 0; i < o.subvolumes; i++) {
        const p = join(mnt, `s${FIRST_DB_UID + i}`);
        must(BTRFS, ['subvolume', 'create', '--', p]);
        chownSync(p, FIRST_DB_UID + i, 100);
        must(BTRFS, ['qgroup', 'limit', '--', '1G', p]);
      }
    });
    const btrfsProgs = must(BTRFS, ['--version']).trim();

    // 2. Idle RSS: an empty database against dbUsers rows (filled by SQL between a first start, which makes the schema, and the measured one).
    const range = { uidMin: FIRST_DB_UID, uidMax: FIRST_DB_UID + o.dbUsers - 1 };
    const empty = await daemon('empty', conf({ ...range, paths: '' }));
    const busFull = await startTestBus();
    buses.push(busFull);
    let full = await daemon('full', conf({ ...range, paths: '' }), busFull);
    await stop(full);
    await timed('fillDb', () => {
      const db = new Database(join(work, 'full', 'diycloud.db'));
      try {
        const u = db.prepare('INSERT INTO users (username, uid, is_active) VALUES (?, ?, 1)');
        const a = db.prepare("INSERT INTO resource_allocations (user_id, cpu_limit, mem_limit, disk_quota) VALUES (?, 0.5, '512M', ?)");
        db.transaction(() => {
          for (let i = 0; i < o.dbUsers; i++) a.run(u.run(`qu${String(i).padStart(5, '0')}`, FIRST_DB_UID + i).lastInsertRowid, i < o.subvolumes ? '1G' : null);
        })();
        db.pragma('wal_checkpoint(TRUNCATE)');
      } finally {
        db.close();
      }
    });
    mkdirSync(join(work, 'disk'));
    copyFileSync(join(work, 'full', 'diycloud.db'), join(work, 'disk', 'diycloud.db'));
    full = await daemon('full', conf({ ...range, paths: '' }), busFull);
    const withDisk = await daemon('disk', conf({ ...range, paths: mnt }));
    await sleep(o.idleMs);
    const rss = { empty: rssOf(empty.child.pid!), full: rssOf(full.child.pid!), fullDisk: rssOf(withDisk.child.pid!) };
    await sleep(Math.max(0, (o.settleMs ?? o.idleMs) - o.idleMs));
    const settled = { empty: rssOf(empty.child.pid!), full: rssOf(full.child.pid!), fullDisk: rssOf(withDisk.child.pid!) };
    await stop(empty);

    // 3. ListUsers, one call in flight per daemon: rounds of 5 alternating between no quota path and the btrfs one; then "cold" calls, each 2.1 s after the last (the usage cache is 2 s).
    const [cf, cd] = [full, withDisk].map((d) => dbus.sessionBus({ busAddress: busOf.get(d)!.address }));
    for (const c of [cf, cd]) c.on('error', () => undefined);
    const lf = fresh(), ld = fresh(), kf = fresh(), kd = fresh();
    try {
      await listUsers(cf, 3, fresh());
      await listUsers(cd, 3, fresh());
      for (let r = 0, done = 0; done < o.listCalls; r++, done += 5) {
        const n = Math.min(5, o.listCalls - done);
        for (const [c, into] of r % 2 ? ([[cd, ld], [cf, lf]] as const) : ([[cf, lf], [cd, ld]] as const)) await listUsers(c, n, into);
      }
      for (let i = 0; i < o.coldCalls; i++) {
        await sleep(2100);
        for (const [c, into] of i % 2 ? ([[cd, kd], [cf, kf]] as const) : ([[cf, kf], [cd, kd]] as const)) await listUsers(c, 1, into);
      }
    } finally {
      cf.disconnect();
      cd.disconnect();
    }
    const view = JSON.parse(ld.last ?? '[]') as { disk?: { hardBytes: number | null }[] }[];
    const list = {
      items: view.length, withUsage: view.filter((u) => u.disk?.some((x) => x.hardBytes !== null)).length, replyBytes: Buffer.byteLength(ld.last ?? ''),
      noDisk: calls(lf), disk: calls(ld), coldNoDisk: calls(kf), coldDisk: calls(kd),
    };
    const after = { fullAfterList: rssOf(full.child.pid!), fullDiskAfterList: rssOf(withDisk.child.pid!) };
    await stop(full);
    await stop(withDisk);

    // 4. Reconcile: `accounts` host accounts qb<UID> with subvolume homes on the mount, in a range of their own.
    await timed('accounts', async () => {
      for (let i = 0; i < o.accounts; i++) {
        const uid = o.firstAccountUid + i, name = `qb${uid}`, home = join(mnt, name);
        const stale = spawnSync('/usr/bin/getent', ['passwd', String(uid)], { encoding: 'utf8' }).stdout.split(':')[0];
        if (stale) {
          if (!/^qb[0-9]+$/.test(stale)) throw new Error(`uid ${uid} belongs to ${stale}: pick another BENCH_QUOTA_UID0`);
          must('/usr/sbin/userdel', ['--', stale]);
        }
        must(BTRFS, ['subvolume', 'create', '--', home]);
        chownSync(home, uid, 100);
        for (let attempt = 0; ; attempt++) {
          const r = spawnSync('/usr/sbin/useradd', ['--no-create-home', '--home-dir', home, '--uid', String(uid), '--gid', '100', '--shell', '/usr/sbin/nologin', '--', name], { encoding: 'utf8' });
          if (r.status === 0) break;
          if (attempt >= 50) throw new Error(`useradd ${name} failed: ${r.stderr}`);
          await sleep(100); // another test holds the passwd lock
        }
        accounts.push(name);
      }
    });
    const last = o.firstAccountUid + o.accounts - 1;
    const rec = await daemon('reconcile', conf({ uidMin: o.firstAccountUid, uidMax: last, paths: mnt }));
    const db = new Database(rec.dbPath);
    const runs: QuotaReconcileRun[] = [];
    try {
      db.pragma('busy_timeout = 10000');
      const u = db.prepare('INSERT INTO users (username, uid, is_active) VALUES (?, ?, 1)');
      const a = db.prepare('INSERT INTO resource_allocations (user_id, disk_quota) VALUES (?, NULL)');
      db.transaction(() => accounts.forEach((n, i) => a.run(u.run(n, o.firstAccountUid + i).lastInsertRowid)))();
      const setDisk = db.prepare('UPDATE resource_allocations SET disk_quota = ? WHERE user_id IN (SELECT id FROM users WHERE uid BETWEEN ? AND ?)');
      for (let r = 0; r < 3; r++) {
        const mib = 64 + 16 * r;
        setDisk.run(`${mib}M`, o.firstAccountUid, last);
        for (const label of [`every quota differs (${mib}M wanted)`, 'every quota already matches']) {
          await sleep(2100);
          const t = Date.now();
          const x = await run('/usr/bin/busctl', [`--address=${busOf.get(rec)!.address}`, '--timeout=600', '--json=short', '--', 'call', ...MGR, 'Reconcile'], { timeoutMs: 620_000 });
          const wallMs = Date.now() - t;
          if (x.code !== 0) throw new Error(`Reconcile failed: ${x.stderr}`);
          const rep = JSON.parse((JSON.parse(x.stdout) as { data: [string] }).data[0]) as { quotas: unknown[]; errors: { error: string }[]; durationMs: number };
          const limitsSeen = qgroupRows().filter((l) => l.split(/\s+/)[3] === String(mib * 1024 * 1024)).length;
          runs.push({ label, wallMs, durationMs: rep.durationMs, quotas: rep.quotas.length, errors: rep.errors.length, firstError: rep.errors[0]?.error ?? null, limitsSeen });
        }
      }
    } finally {
      db.close();
    }
    const listingRows = qgroupRows().length;
    await stop(rec);
    load.after = loadavg().map((x) => Math.round(x * 100) / 100);
    load.busiest = spawnSync('/usr/bin/ps', ['-eo', 'pcpu,comm', '--sort=-pcpu', '--no-headers'], { encoding: 'utf8' }).stdout.split('\n').slice(0, 5).map((l) => l.trim());
    result = { opts: o, btrfsProgs, firstDbUid: FIRST_DB_UID, setupSec, rss: { ...rss, ...after, settled }, list, reconcile: { runs, listingRows }, load, leftovers: [] };
  } finally {
    const leftovers = await cleanUp();
    if (leftovers.length) console.error('quota benchmark left over:', leftovers);
    if (result) result.leftovers = leftovers;
  }
  return result!;

  async function cleanUp(): Promise<string[]> {
    for (const d of [...daemons]) await d.stop().catch(() => undefined);
    for (const b of buses) await b.stop().catch(() => undefined);
    for (const n of accounts) trySh('/usr/sbin/userdel', ['--', n]);
    if (mounted && !trySh('/usr/bin/umount', [mnt])) trySh('/usr/bin/umount', ['--lazy', mnt]);
    if (loop) trySh('/usr/sbin/losetup', ['--detach', loop]);
    // A loop device stays busy while any mount namespace still holds the filesystem (another test's private namespace copies the
    // host's mounts): seen listed for over 10 s after a lazy unmount, gone a little later. Wait up to 30 s for it.
    const loops = () => spawnSync('/usr/sbin/losetup', ['--list', '--noheadings', '--output', 'NAME,BACK-FILE'], { encoding: 'utf8' }).stdout.split('\n').filter((l) => l.includes(work));
    for (let i = 0; i < 150 && loops().length; i++) {
      if (loop && i % 10 === 9) trySh('/usr/sbin/losetup', ['--detach', loop]);
      await sleep(200);
    }
    const left = [
      ...accounts.filter((n) => spawnSync('/usr/bin/getent', ['passwd', n]).status === 0),
      ...loops(),
    ];
    rmSync(work, { recursive: true, force: true });
    if (existsSync(work)) left.push(work);
    return left;
  }
}

const row = (name: string, c: Calls): string => `| ${name} | ${c.lat.n} | ${f(c.lat.median)} | ${f(c.lat.p95)} | ${f(c.lat.max)} | ${c.errors} |`;
const verdict = (ok: boolean): string => (ok ? '**met**' : '**MISSED**');
const mib = (kib: number): string => f(kib / 1024);

/** Section 9 of docs/benchmarks.md. */
export function renderQuota(x: QuotaResult): string[] {
  const o = x.opts, r = x.rss, l = x.list, runs = x.reconcile.runs;
  const apply = runs.filter((q) => q.quotas > 0 || /differs/.test(q.label)), same = runs.filter((q) => !apply.includes(q));
  const med = (a: number[]) => summarize(a).median;
  const perUserMs = (med(apply.map((q) => q.durationMs)) - med(same.map((q) => q.durationMs))) / o.accounts;
  const projected = med(same.map((q) => q.durationMs)) + 1000 * perUserMs;
  return [
    `Runs **on the host itself**, not in the container (${x.btrfsProgs}; kernel as under Machine): private dbus-daemons (test/integration/lib/test-bus.ts), the built \`dist/entry/daemon.js\` as root with \`[Backend] Cgroups=none\` (no cgroup is touched), \`[Defaults] Disk=0\`, ` +
      `one btrfs filesystem on a loop device (${o.imageSize} sparse image, \`btrfs quota enable\`) holding ${o.subvolumes} subvolumes owned by database-only users (UIDs from ${x.firstDbUid}, not in NSS), each with \`btrfs qgroup limit 1G\` and the same disk allocation in the database. ` +
      `Set-up (s): ${Object.entries(x.setupSec).map(([k, v]) => `${k} ${f(v)}`).join(', ')}. Load average before ${x.load.before.join(' ')}, after ${x.load.after.join(' ')} (2 cores, shared with other work; busiest processes at the end: ${x.load.busiest.map((b) => `\`${b}\``).join(', ')}).`, '',
    '### Idle memory', '',
    `VmRSS (VmHWM) of diycloudd ${f(o.idleMs / 1000)} s after its start-up reconcile was logged (just after start-up)${r.settled ? ` and ${f((o.settleMs ?? o.idleMs) / 1000)} s after it (idle: V8's memory reducer returns the start-up's garbage after some seconds without work)` : ''}, all daemons started in the same minute. The full database: ${o.dbUsers} users with allocation rows, filled by SQL before the start.`, '',
    `| Daemon | VmRSS MiB${r.settled ? ' (just after start-up)' : ''} | VmHWM MiB |${r.settled ? ' VmRSS MiB idle |' : ''}`, `|---|---|---|${r.settled ? '---|' : ''}`,
    `| empty database (baseline) | ${mib(r.empty.rss)} | ${mib(r.empty.hwm)} |${r.settled ? ` ${mib(r.settled.empty.rss)} |` : ''}`,
    `| ${o.dbUsers} users, no quota path | ${mib(r.full.rss)} | ${mib(r.full.hwm)} |${r.settled ? ` ${mib(r.settled.full.rss)} |` : ''}`,
    `| ${o.dbUsers} users, the btrfs quota path | ${mib(r.fullDisk.rss)} | ${mib(r.fullDisk.hwm)} |${r.settled ? ` ${mib(r.settled.fullDisk.rss)} |` : ''}`,
    `| ${o.dbUsers} users, no quota path, after the ListUsers calls below | ${mib(r.fullAfterList.rss)} | ${mib(r.fullAfterList.hwm)} |${r.settled ? ' |' : ''}`,
    `| ${o.dbUsers} users, the btrfs quota path, after the ListUsers calls below | ${mib(r.fullDiskAfterList.rss)} | ${mib(r.fullDiskAfterList.hwm)} |${r.settled ? ' |' : ''}`, '',
    ...idleVerdict(o, r),
    '### ListUsers with disk usage', '',
    `\`ListUsers(a{sv} {})\` as root over dbus-next from the benchmark process, one call in flight per daemon; two daemons on copies of the same ${o.dbUsers}-user database, one with \`[Quota] Paths=\` empty (baseline), one with the btrfs mount as its quota path. ` +
      `Warm: ${o.listCalls} calls each, in rounds of 5 alternating between the two (3 warm-up calls dropped); the usage read is cached 2 s, so most warm calls reuse it. ` +
      `Cold: ${o.coldCalls} calls each, every one 2.1 s after the previous one, so each call with the quota path runs \`btrfs qgroup show\` and one stat per subvolume. ` +
      `The reply lists ${l.items} users, ${l.withUsage} of them with disk usage, ${f(l.replyBytes / 1024, 0)} KiB of JSON. Latencies in ms.`, '',
    '| Call | n | median | p95 | max | errors |', '|---|---|---|---|---|---|',
    row('warm, no quota path (baseline)', l.noDisk), row('warm, btrfs quota path', l.disk), row('cold, no quota path (baseline)', l.coldNoDisk), row('cold, btrfs quota path', l.coldDisk), '',
    `Target p95 ≤ 150 ms with disk: warm ${verdict(l.disk.lat.p95 <= 150 && l.disk.errors === 0)} (${f(l.disk.lat.p95)} ms), cold ${verdict(l.coldDisk.lat.p95 <= 150 && l.coldDisk.errors === 0)} (${f(l.coldDisk.lat.p95)} ms).`,
    ...[l.noDisk, l.disk, l.coldNoDisk, l.coldDisk].flatMap((c) => (c.errors ? [`Errors: ${c.firstErrors.join('; ')}`] : [])), '',
    '### Reconcile applying quotas', '',
    `${o.accounts} host accounts (qb${o.firstAccountUid}…qb${o.firstAccountUid + o.accounts - 1}, made with useradd, removed afterwards) with subvolume homes on the same mount, their UIDs the daemon's whole managed range; the database holds just them. ` +
      `Before each "differs" run every disk allocation was changed by SQL, so Reconcile must run \`btrfs qgroup limit\` for each of them; the baseline is the Reconcile right after it, where every quota already matches (no tool run). ` +
      `Runs alternate, each 2.1 s after the previous one; the qgroup listing had ${x.reconcile.listingRows} level-0 rows. Wall = busctl's call timed by the benchmark; daemon = the report's durationMs; limits seen = account subvolumes holding the wanted limit afterwards (\`btrfs qgroup show\`).`, '',
    '| Run | wall ms | daemon ms | quotas set | errors | limits seen |', '|---|---|---|---|---|---|',
    ...runs.map((q) => `| ${q.label} | ${q.wallMs} | ${q.durationMs} | ${q.quotas} | ${q.errors} | ${q.limitsSeen} |`), '',
    ...(runs.some((q) => q.firstError) ? [`First error: \`${runs.find((q) => q.firstError)!.firstError}\``, ''] : []),
    apply.some((q) => q.errors > 0 || q.quotas < o.accounts)
      ? `Not every quota was applied (errors above), so no cost per quota can be derived from this run and the target cannot be judged: ${verdict(false)}.`
      : `Cost per quota applied: ${f(perUserMs)} ms (median daemon ms, "differs" − "matches", / ${o.accounts}). ` +
      (o.accounts >= 1000 ? '' : `Only ${o.accounts} accounts were measured (the UID range given to this benchmark); linearly, 1,000 would take about ${f(projected / 1000, 2)} s (not measured; the listing grows too). `) +
      `The issue's target is ≤ 2 s for 1,000 users on ext4 in the VM; this host's kernel has no ext4 quotas, so this is btrfs on a loop device: ${verdict(projected <= 2000)} by ${o.accounts >= 1000 ? 'measurement' : 'extrapolation'}.`,
    '',
    ...(x.leftovers.length ? [`Left over after clean-up: ${x.leftovers.join(', ')}`, ''] : ['Clean-up: no account, mount, loop device or directory left over.', '']),
  ];
}

/** The idle-memory target, judged on the idle (settled) figures where the run has them, else on those just after start-up. */
function idleVerdict(o: QuotaOptions, r: QuotaResult['rss']): string[] {
  const idle = r.settled ?? r;
  const mb = (k: RssKiB) => f((k.rss * 1024) / 1e6);
  return [
    `${o.dbUsers} users add ${mib(idle.full.rss - idle.empty.rss)} MiB to the ${r.settled ? 'idle' : 'just-after-start-up'} RSS (the empty database's ${mb(idle.empty)} MB is the floor of node, its libraries and the daemon's code on this host). ` +
      `Target ≤ 60 MB idle with ${o.dbUsers} users: ${verdict(idle.full.rss * 1024 <= 60e6 && idle.fullDisk.rss * 1024 <= 60e6)} (${mb(idle.full)} MB; ${mb(idle.fullDisk)} MB with the quota path${r.settled ? `; just after start-up ${mb(r.full)} and ${mb(r.fullDisk)} MB` : ''}).`,
    '',
  ];
}
