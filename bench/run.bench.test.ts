// `npm run bench`: boots one systemd container with diycloud installed, runs the benchmarks (login, throughput, reconcile, listusers, getuser, createuser, flood, placement),
// and on the host itself (root) quota, limitevents, portal and usagesampler, and in a qemu VM of its own quotavm; writes docs/benchmarks.md and docs/benchmarks.json. `BENCH_ONLY=quota,limitevents` starts no container.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { e2eSkip, REPO_ROOT, type Dist } from '../test/e2e/lib/container';
import { setupLoginEnv, type LoginEnv } from '../test/e2e/lib/login-env';
import { describeHost } from './lib/machine';
import { extractNotes, HOST_ONLY, keepEarlier, renderReport, SECTIONS, type Results } from './lib/report';
import { runLoginLoops, runLoginOverhead } from './login-overhead';
import { runThroughput } from './throughput';
import { runHookBreakdown } from './hook-breakdown';
import { makeLiveSlices, runReconcile } from './reconcile';
import { runCreateUser, runGetUser, runListUsers } from './mgmt';
import { runFlood } from './flood';
import { runPlacement } from './placement';
import { runQuota } from './quota';
import { runLimitEvents } from './limit-events';
import { runQuotaVm } from './quota-vm';
import { vmUnavailableReason } from '../test/e2e/lib/vm';
import { runPortal } from './portal';
import { runUsageSampler } from './usage-sampler';

const env = process.env;
const num = (k: string, d: number): number => (env[k] ? Number(env[k]) : d);
const ALL = Object.keys(SECTIONS).join(',');
const ONLY = new Set((env.BENCH_ONLY ?? ALL).split(','));
const unknown = [...ONLY].filter((b) => !(b in SECTIONS));
if (unknown.length) throw new Error(`BENCH_ONLY: unknown benchmark(s) ${unknown.join(', ')} (known: ${ALL})`);
const DIST = (env.BENCH_DIST ?? 'bookworm') as Dist;
const OUT = env.BENCH_OUT ?? join(REPO_ROOT, 'docs', 'benchmarks.md');
const DB_USERS = num('BENCH_DB_USERS', 10_000);
const LIVE = num('BENCH_LIVE_SLICES', 200);
const TP_USERS = num('BENCH_TP_USERS', 50);
const FIRST_UID = 20_000;
const uname = (i: number): string => `bu${String(i).padStart(4, '0')}`;

const skip = [...ONLY].every((b) => HOST_ONLY.has(b)) ? process.getuid?.() !== 0 : e2eSkip();

describe.skipIf(skip)(`diycloud benchmarks (${DIST})`, () => {
  let e: LoginEnv;
  const results: Results = { when: new Date().toISOString(), machine: describeHost(), dist: DIST, notes: [
    'The host is a shared VM: run-to-run spread is large (rerun before drawing conclusions from a single table); baselines are always from the same run.',
    `BENCH_* environment variables scale each benchmark (see bench/run.bench.test.ts); BENCH_ONLY=${ALL} picks some. ` +
      'A run of some only keeps the other sections from the previous docs/benchmarks.json (marked with the run they came from); BENCH_KEEP=0 drops them.',
  ] };
  // BENCH_ONLY: the benchmarks not run keep their published figures (from the JSON next to OUT)
  const prevJson = OUT.replace(/\.md$/, '.json');
  if (env.BENCH_KEEP !== '0' && existsSync(prevJson)) keepEarlier(results, JSON.parse(readFileSync(prevJson, 'utf8')) as Results, ONLY);
  const write = (): void => {
    mkdirSync(dirname(OUT), { recursive: true });
    // hand-written notes in the file (<!-- note:BENCH --> blocks) stay at the end of their sections
    writeFileSync(OUT, renderReport(results, existsSync(OUT) ? extractNotes(readFileSync(OUT, 'utf8')) : new Map()));
    writeFileSync(OUT.replace(/\.md$/, '.json'), JSON.stringify(results, null, 1) + '\n');
  };

  beforeAll(async () => {
    if ([...ONLY].every((b) => HOST_ONLY.has(b))) return; // host-only benchmarks need no container
    e = await setupLoginEnv(DIST);
    results.machine.containerNode = (await e.c.exec('node --version')).stdout.trim();
    await e.c.exec('systemctl enable --now diycloudd.service', { timeoutMs: 60_000 });
    await e.addDbUser('alice', { cpu: 0.5, mem: '512M' });
    // NSS users for the live slices (and the throughput users, a subset): bu0000.. with UIDs from 20000
    const n = Math.max(LIVE, TP_USERS);
    await e.c.exec(`for i in $(seq 0 ${n - 1}); do useradd -M -N -u $((${FIRST_UID} + i)) -s /usr/sbin/nologin bu$(printf %04d $i); done`, { timeoutMs: 600_000 });
    // DB_USERS database rows (the first n of them are the NSS users above), each with an allocation
    await e.sql(`.timeout 10000
BEGIN;
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ${DB_USERS - 1})
  INSERT INTO users (username, uid, is_active) SELECT printf('bu%04d', i), ${FIRST_UID} + i, 1 FROM n;
INSERT INTO resource_allocations (user_id, cpu_limit, mem_limit) SELECT id, 0.5, '512M' FROM users WHERE username LIKE 'bu%';
COMMIT;`);
    expect(Number(await e.sql(`SELECT count(*) FROM users WHERE username LIKE 'bu%';`))).toBe(DB_USERS);
    // the live slices exist from here on: a login's OpenSession finds its slice (pam_systemd runs first)
    await makeLiveSlices(e, Array.from({ length: LIVE }, (_, i) => ({ name: uname(i), uid: FIRST_UID + i })));
  }, 900_000);

  afterAll(async () => {
    write();
    console.log(`benchmark report written to ${OUT}`);
    await e?.stop();
  }, 120_000);

  it.runIf(ONLY.has('login'))('1. login overhead of the gate (pamtester, interleaved; 20 parallel loops)', async () => {
    results.login = await runLoginOverhead(e, 'alice', num('BENCH_LOGIN_ITERS', 150));
    write();
    results.login.loopsResult = await runLoginLoops(e, 'alice', num('BENCH_LOGIN_LOOPS', 20), num('BENCH_LOGIN_LOOP_SECS', 8), num('BENCH_LOGIN_LOOP_ROUNDS', 3));
    write();
    results.breakdown = await runHookBreakdown(e, 'alice', num('BENCH_BREAKDOWN_ITERS', 40));
    write();
    console.log('login overhead', { base: results.login.base, hook: results.login.hook, addedMedianMs: results.login.addedMedianMs });
  });

  it.runIf(ONLY.has('throughput'))('2. OpenSession throughput (dbus-next clients, real systemd)', async () => {
    const opts = {
      connections: num('BENCH_TP_CONNECTIONS', 8), concurrency: num('BENCH_TP_CONCURRENCY', 32),
      callsPerPhase: num('BENCH_TP_CALLS', 2000), rounds: num('BENCH_TP_ROUNDS', 4), rate: num('BENCH_TP_RATE', 500),
    };
    // users whose slice is live (as at a real login), then database users with no slice at all
    results.throughput = await runThroughput(e, Array.from({ length: TP_USERS }, (_, i) => uname(i)), opts);
    write();
    results.throughputNoSlice = await runThroughput(e, Array.from({ length: TP_USERS }, (_, i) => uname(LIVE + i)), { ...opts, rate: 0, rounds: 2, callsPerPhase: Math.ceil(opts.callsPerPhase / 4) });
    write();
    for (const [k, t] of [['live slices', results.throughput], ['no slice', results.throughputNoSlice]] as const) {
      console.log('throughput', k, { ping: { rate: t.ping.callsPerSec, ...t.ping.lat }, open: { rate: t.open.callsPerSec, ...t.open.lat, errors: t.open.errors, firstErrors: t.open.firstErrors }, cpuSec: t.cpuSec });
    }
  });

  it.runIf(ONLY.has('reconcile'))('3. Reconcile: 10,000 DB users, 200 live slices', async () => {
    const live = Array.from({ length: LIVE }, (_, i) => ({ name: uname(i), uid: FIRST_UID + i }));
    results.reconcile = await runReconcile(e, live, DB_USERS);
    write();
    console.log('reconcile', results.reconcile);
  });

  it.runIf(ONLY.has('listusers'))('4. ListUsers: 10,000 DB users, live slices', async () => {
    results.listUsers = await runListUsers(e, DB_USERS, LIVE, num('BENCH_LIST_CALLS', 30));
    write();
    const l = results.listUsers;
    console.log('listusers', { items: l.items, withSlice: l.withSlice, bytes: l.list.replyBytes, ping: l.ping.lat, list: l.list.lat, errors: l.list.firstErrors, cpuSec: l.cpuSec });
    expect(l.list.errors).toBe(0);
  });

  it.runIf(ONLY.has('getuser'))('5. GetUser: sequential, DB user with a live slice', async () => {
    // bu0000 has a live slice (makeLiveSlices above); bu<LIVE> is a DB user with none
    results.getUser = await runGetUser(e, uname(0), uname(LIVE), num('BENCH_GET_CALLS', 1200));
    write();
    const g = results.getUser;
    console.log('getuser', { sliceExists: g.sliceExists, ping: g.ping.lat, get: g.get.lat, noSlice: g.getNoSlice.lat, errors: g.get.firstErrors, cpuSec: g.cpuSec });
    expect(g.get.errors).toBe(0);
  });

  it.runIf(ONLY.has('createuser'))('6. CreateUser: sequential, end to end (real useradd), vs useradd alone', async () => {
    // bc0000.. through diycloudd, bd0000.. with useradd directly (UIDs from 50000); all of them removed again afterwards
    results.createUser = await runCreateUser(e, num('BENCH_CREATE_USERS', 40));
    write();
    const c = results.createUser;
    console.log('createuser', { create: c.create.lat, useradd: c.useradd.lat, addedMedianMs: c.addedMedianMs, deleteUser: c.deleteUser.lat, userdel: c.userdel.lat, errors: c.create.firstErrors, home: c.home, leftover: c.leftoverAccounts, cpuSec: c.cpuSec });
    expect(c.create.errors).toBe(0);
    expect(c.useradd.errors).toBe(0);
    expect(c.leftoverAccounts).toEqual([]);
  });

  it.runIf(ONLY.has('flood'))('7. root\'s hook during a flood by an unprivileged, unmanaged user (ListProfiles, GetUser random names)', async () => {
    results.flood = await runFlood(e, 'alice', {
      iterations: num('BENCH_FLOOD_ITERS', 50), gapMs: num('BENCH_FLOOD_GAP_MS', 50), settleMs: num('BENCH_FLOOD_SETTLE_MS', 2000),
      maxSeconds: num('BENCH_FLOOD_SECONDS', 30), connections: num('BENCH_FLOOD_CONNECTIONS', 16), inflight: num('BENCH_FLOOD_INFLIGHT', 1900),
    });
    write();
    for (const p of results.flood.phases) {
      console.log('flood', p.label, { account: p.account, open: p.open, failureModeLines: p.failureModeLines, refused: p.refused, marker: p.markerAtEnd, maxChildren: p.maxChildren, cutShort: p.cutShort, attacker: p.attacker, cpuSec: p.cpuSec });
    }
    // the login path stays answered: not one failure-mode decision, not one refused login, in any phase
    for (const p of results.flood.phases) {
      expect({ phase: p.label, failureModeLines: p.failureModeLines, refused: p.refused }).toEqual({ phase: p.label, failureModeLines: 0, refused: 0 });
    }
  });

  it.runIf(ONLY.has('placement'))('8. a login moved into its slice (su/sudo/cron) against one already there (ssh)', async () => {
    results.placement = await runPlacement(e, 'alice', num('BENCH_PLACEMENT_ITERS', 100));
    write();
  });

  it.runIf(ONLY.has('quota'))('9. disk quotas on this host: idle RSS with 10,000 users, ListUsers with a btrfs quota path, Reconcile applying quotas', async () => {
    results.quota = await runQuota({
      dbUsers: DB_USERS, subvolumes: num('BENCH_QUOTA_SUBVOLS', 300), listCalls: num('BENCH_QUOTA_LIST_CALLS', 30), coldCalls: num('BENCH_QUOTA_COLD_CALLS', 10),
      accounts: num('BENCH_QUOTA_ACCOUNTS', 100), firstAccountUid: num('BENCH_QUOTA_UID0', 4700), idleMs: num('BENCH_QUOTA_IDLE_MS', 3000), settleMs: num('BENCH_QUOTA_SETTLE_MS', 30_000), imageSize: env.BENCH_QUOTA_IMAGE ?? '2G',
    });
    write();
    const q = results.quota;
    console.log('quota', { rssKiB: q.rss, list: { noDisk: q.list.noDisk.lat, disk: q.list.disk.lat, coldNoDisk: q.list.coldNoDisk.lat, coldDisk: q.list.coldDisk.lat }, reconcile: q.reconcile, load: q.load, leftovers: q.leftovers });
    expect(q.leftovers).toEqual([]);
    expect(q.reconcile.runs.every((r) => r.errors === 0)).toBe(true);
  });

  it.runIf(ONLY.has('limitevents'))('10. limit events on this host (cgroup v1): the watcher\'s idle CPU with 1,000 live user cgroups, LimitEvent latency', async () => {
    // UIDs 610000..: no account, outside every other test's and benchmark's range. About 5 minutes: 1,000 cgroups per hierarchy, four daemons.
    const tasks = num('BENCH_EVENT_TASKS', 10);
    results.limitEvents = await runLimitEvents({
      groups: num('BENCH_EVENT_GROUPS', 1000), firstUid: 610_000, idleMs: num('BENCH_EVENT_IDLE_MS', 30_000), events: num('BENCH_EVENT_COUNT', 20),
      runs: [{ pollSec: 2, tasks }, { pollSec: 1, tasks }, { pollSec: 1, tasks: null }],
    });
    write();
    const x = results.limitEvents;
    console.log('limit events', { idle: x.idle.map((i) => [i.label, i.corePercent]), latency: x.latency.map((l) => ({ pollSec: l.pollSec, ...l.ms, missed: l.missed })), load: x.load, leftovers: x.leftovers });
    expect(x.leftovers).toEqual([]);
  });

  it.runIf(ONLY.has('quotavm'))('11. Reconcile applying quotas for 1,000 users in the qemu VM (ext4 usrquota): setquota -b against every quota matching and against single setquota calls', async (ctx) => {
    // Boots its own VM (about 3 minutes before the runs); hold /tmp/e2e.lock around the whole bench run, as for the VM tests.
    const why = vmUnavailableReason();
    if (why) {
      console.warn(`*** SKIPPING quotavm: ${why} ***`);
      return ctx.skip();
    }
    results.quotaVm = await runQuotaVm({ users: num('BENCH_QUOTAVM_USERS', 1000), firstUid: num('BENCH_QUOTAVM_UID0', 20_000), rounds: num('BENCH_QUOTAVM_ROUNDS', 3) });
    write();
    const q = results.quotaVm;
    console.log('quota vm', { runs: q.runs, single: q.single, tool: q.tool, stderrCheck: q.stderrCheck, setupSec: q.setupSec, load: q.load });
    expect(q.runs.filter((r) => /differs/.test(r.label)).every((r) => r.errors === 0 && r.limitsSeen === q.opts.users)).toBe(true);
  }, 40 * 60_000);

  it.runIf(ONLY.has('portal'))('12. portal (diycloud-web on diycloudd, this host): dashboard API p99 at 50 clients, users page of 10,000, daemon CPU with 200 live clients', async () => {
    // UIDs 640000..: host accounts (removed afterwards) and database users, outside every other test's and benchmark's range. About 2 minutes.
    results.portal = await runPortal({
      liveClients: num('BENCH_PORTAL_LIVE', 200), dashClients: num('BENCH_PORTAL_CLIENTS', 50), dashLoads: num('BENCH_PORTAL_LOADS', 10), rounds: num('BENCH_PORTAL_ROUNDS', 2),
      queryCalls: num('BENCH_PORTAL_QUERY_CALLS', 60), windowSec: num('BENCH_PORTAL_WINDOW_SEC', 20), liveIntervalSec: 5, dbUsers: DB_USERS, firstUid: 640_000, historyTicks: num('BENCH_PORTAL_HISTORY', 360),
    });
    write();
    const p = results.portal;
    console.log('portal', { dash: p.dashboard.dash, session: p.dashboard.session, notFound: p.dashboard.notFound, users: p.users.calls.map((c) => [c.label, c.lat.median, c.lat.p99, c.errors]), live: p.live.windows, opened: p.live.opened, errors: p.live.errors, load: p.load });
    // the figures are only worth reporting if every request was answered as it should be
    expect(p.dashboard.phases.map((x) => x.firstErrors).flat()).toEqual([]);
    expect(p.users.calls.map((x) => x.firstErrors).flat()).toEqual([]);
    expect(p.users.rows).toBe(50);
    expect(p.live.opened).toBe(p.live.clients);
  }, 15 * 60_000);

  it.runIf(ONLY.has('usagesampler'))('13. usage sampler: CPU per tick at 1,000 live users (real sampler and SQLite store, fake counters), against 1 user', async () => {
    const ticks = num('BENCH_SAMPLER_TICKS', 400);
    const baseline = await runUsageSampler(1, ticks);
    const at = await runUsageSampler(num('BENCH_SAMPLER_USERS', 1000), ticks);
    results.usageSampler = { at, baseline };
    write();
    console.log('usage sampler', results.usageSampler);
  });
});
