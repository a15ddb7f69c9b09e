// Builds the daemon from its parts and runs it until SIGTERM/SIGINT.

import * as dbus from 'dbus-next';
import { readFileSync } from 'node:fs';
import { availableParallelism, totalmem } from 'node:os';
import { join } from 'node:path';
import { checkAllocation } from '../core/allocation';
import { DiycloudError } from '../core/errors';
import type { Logger } from '../core/ports';
import { DecidedOrderCache } from '../app/decided-order-cache';
import type { AppDeps } from '../app/deps';
import { KeyedQueue } from '../app/keyed-queue';
import { reconcile } from '../app/reconcile';
import { watchCgroups } from '../app/watch-cgroups';
import { watchSessionEnds } from '../app/watch-sessions';
import { recoverIntents } from '../app/recover-intents';
import { GetentAccountDb } from '../adapters/accounts/getent-accounts';
import { loadConfig } from '../adapters/config/load-config';
import { BusClient } from '../adapters/dbus/bus-client';
import { CallerResolver } from '../adapters/dbus/caller';
import { LOGIN_NAME, MANAGER_NAME, managerObject } from '../adapters/dbus/manager-object';
import { createRouter } from '../adapters/dbus/router';
import { WEB_CALL_LIMITS, webObject } from '../adapters/dbus/web-object';
import { webTokens } from '../adapters/crypto/web-tokens';
import { DEFAULT_THROTTLE_POLICY, DEFAULT_WEB_POLICY, LoginThrottle, WebSessionTable } from '../core/web-session';
import { openDatabase, SqliteStore } from '../adapters/store/sqlite-store';
import { SqliteAdminStore } from '../adapters/store/sqlite-admin-store';
import { withBusyErrors } from '../adapters/store/busy-errors';
import { PolkitAuthorizer } from '../adapters/polkit/polkit-authorizer';
import { SHADOW_PATHS, ShadowAccountAdmin } from '../adapters/accounts/shadow-account-admin';
import { LogindSessions } from '../adapters/systemd/logind-sessions';
import { BusEvents } from '../adapters/dbus/bus-events';
import { PamVerifier } from '../adapters/accounts/pam-verifier';
import { GetentGroupMembers } from '../adapters/gpu/getent-group-members';
import { SqliteGpuGroups } from '../adapters/store/sqlite-gpu-groups';
import { discoverGpus, groupsFromEtcGroup } from '../adapters/gpu/devfs-gpus';
import { CachedGpuInventory } from '../adapters/gpu/cached-inventory';
import { pickCgroupLimits, type CgroupChoice } from '../adapters/enforcement/pick-cgroup-limits';
import { pickGpuAccess } from '../adapters/enforcement/pick-gpu-access';
import { withDeviceGroup } from '../adapters/enforcement/with-device-group';
import { withEnforcement } from '../core/gpu';
import { CgroupfsLimits } from '../adapters/cgroupfs/cgroupfs-limits';
import { probeCgroupfs } from '../adapters/cgroupfs/hierarchy';
import { mountPointOf } from '../adapters/quota/probe';
import { CachedQuota } from '../adapters/enforcement/cached-quota';
import { pickQuotaBackends, setGracePeriods } from '../adapters/quota/pick-quota-backends';
import { systemQuotaDeps } from '../adapters/quota/quota-deps';
import { PriorityLane } from '../adapters/async/priority-lane';
import { ProgramRunner } from '../adapters/exec/program-runner';
import { ProcProcessTable } from '../adapters/proc/proc-table';
import { isManagedUid } from '../core/login-policy';
import { LimitEventRecorder, diskLevelsOf } from '../app/limit-events';
import { CgroupEventWatcher } from '../adapters/cgroup-events/cgroup-event-watcher';
import type { LimitWatcher } from '../core/event-ports';
import { eventLayout } from '../adapters/cgroup-events/event-layout';
import { BusLimitEventSignals } from '../adapters/dbus/limit-event-signals';
import { SqliteLimitEvents } from '../adapters/store/sqlite-limit-events';
import { TtyNotifier } from '../adapters/terminal/tty-notifier';
import { statfs } from 'node:fs/promises';
import { UsageSampler, observeUsageReader, summedDisk, withUnmeasured } from '../app/sample-usage';
import { readDiskUsage } from '../app/disk-usage';
import { CgroupfsUsageReader, usageLayout } from '../adapters/cgroup-events/usage-files';
import { SqliteUsage } from '../adapters/store/sqlite-usage';
import { SqliteRequests } from '../adapters/store/sqlite-requests';
import { BusRequestSignals } from '../adapters/dbus/request-signals';
import { SendmailMailer } from '../adapters/mail/sendmail-mailer';

/** The installed tree: dist/entry/ → the package root holding schema/ and dbus/. */
const PKG_ROOT = join(__dirname, '..', '..');

export interface DaemonOptions {
  config: string;
  busAddress?: string;
  database?: string;
  backend?: string;
  checkConfig?: boolean;
}

/**
 * Start-up order: config (fail fast, exit 2) → database and migrations → bus connection →
 * backend probe → serve the object → own the name (DO_NOT_QUEUE: a second daemon exits) →
 * subscribe to new slices → reconcile every existing slice. Logins are served from the moment
 * the name is owned; the start-up reconcile runs behind them.
 */
export async function startDaemon(opts: DaemonOptions, log: Logger): Promise<void> {
  const fileConfig = loadConfig(opts.config);
  const backend = opts.backend ?? fileConfig.backend.cgroups;
  if (!['auto', 'systemd', 'cgroupfs', 'none'].includes(backend)) throw new DiycloudError('InvalidArgument', `--backend: expected auto, systemd, cgroupfs or none, got "${backend}"`);
  const config = { ...fileConfig, backend: { cgroups: backend as CgroupChoice, databasePath: opts.database ?? fileConfig.backend.databasePath } };
  if (opts.checkConfig) {
    process.stdout.write(JSON.stringify(config, null, 2) + '\n');
    return;
  }
  const version = (JSON.parse(readFileSync(join(PKG_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
  const db = openDatabase(config.backend.databasePath, join(PKG_ROOT, 'schema'));
  const store = withBusyErrors(new SqliteStore(db));

  const address = opts.busAddress ?? process.env.DBUS_SYSTEM_BUS_ADDRESS ?? 'unix:path=/run/dbus/system_bus_socket';
  // Three connections, so that what any local user can send never queues ahead of a login:
  //  - `bus` owns org.diycloud.Manager1 and receives everyone's calls (a flood lands here);
  //  - `loginBus` owns the root-only org.diycloud.Login1 (the hook's way in) and carries all of
  //    the daemon's own calls (caller lookups, systemd, logind), whose replies must not wait
  //    behind a flood in `bus`'s incoming queue;
  //  - `polkitBus` carries polkit's checks, which any user can cause, with their own 128 pending replies.
  const bus = dbus.sessionBus({ busAddress: address });
  const loginBus = dbus.sessionBus({ busAddress: address });
  const polkitBus = dbus.sessionBus({ busAddress: address });
  let stopping = false;
  for (const [b, what] of [[bus, 'bus connection'], [loginBus, 'login bus connection'], [polkitBus, 'polkit bus connection']] as const) {
    b.on('error', (e: Error) => {
      log.error(`${what} failed: ${e.message}`);
      if (!stopping) process.exit(1);
    });
  }
  const lane = new PriorityLane();
  // On the login connection: systemd and logind calls (64) and caller lookups (32), under 128.
  const client = new BusClient(loginBus, { timeoutMs: 5_000, maxInFlight: 64, lane });
  const credentials = new BusClient(loginBus, { timeoutMs: 5_000, maxInFlight: 32, lane });
  const programs = new ProgramRunner(lane);
  const pickedCgroups = await pickCgroupLimits(config.backend.cgroups, client, log, () => {
    const p = probeCgroupfs();
    return p.version === null ? { limits: null, reason: p.reason } : { limits: new CgroupfsLimits(p) };
  });
  // GPU access lives on the same user cgroup; on cgroup v1 a placed login joins the devices group too.
  const gpuAccess = pickGpuAccess(pickedCgroups, client);
  const cgroups = withDeviceGroup(pickedCgroups, gpuAccess);
  log.info(`GPU access: ${gpuAccess.status().state} (${gpuAccess.status().reason})`);
  // Quota paths: a bad one ([Quota] Paths naming no mount point) refuses to start (exit 2).
  const quotaDeps = systemQuotaDeps(programs.run);
  const quotaBackends = await pickQuotaBackends(config.quota.paths ?? [await mountPointOf('/home', quotaDeps)], quotaDeps);
  const quotas = quotaBackends.map((q) => new CachedQuota(q));
  // [GPU] Groups naming a group that does not exist refuses to start (exit 2), like a bad quota path.
  const groupMembers = new GetentGroupMembers(programs.run);
  for (const g of config.gpu.groups ?? []) {
    if ((await groupMembers.members(g)) === null) throw new DiycloudError('InvalidArgument', `[GPU] Groups: group "${g}" does not exist; create it (groupadd ${g}) or take it out of the list`, { field: 'GPU.Groups' });
  }
  const clock = { now: () => new Date() };
  const gpuInventory = new CachedGpuInventory(() => withEnforcement(discoverGpus(groupsFromEtcGroup(readFileSync('/etc/group', 'utf8'))), gpuAccess.status()), () => Date.now());
  // Limit events: the watcher (inotify on v2, a poll on v1), rows, the LimitEvent signal and terminal lines (best effort).
  const limitEventStore = withBusyErrors(new SqliteLimitEvents(db));
  // Usage history: the counter files where a hierarchy is at hand (no bus call per user), else the backend's observe().
  const usageFiles = cgroups.backend === 'none' ? null : usageLayout(cgroups.backend.startsWith('cgroupfs') ? 'cgroupfs' : cgroups.backend, probeCgroupfs());
  const usageStore = withBusyErrors(new SqliteUsage(db));
  const usageIntervalSec = config.usage?.sampleIntervalSec ?? 10;
  const sampler = new UsageSampler({
    reader: usageFiles ? withUnmeasured(new CgroupfsUsageReader(usageFiles), () => cgroups.listUsers()) : cgroups.backend === 'none' ? { mode: 'none', readAll: async () => [] } : observeUsageReader(cgroups),
    store: usageStore,
    log,
    nowMs: () => Date.now(),
    isManaged: (uid) => isManagedUid(uid, config),
    intervalSec: usageIntervalSec,
    diskUsage: async () => summedDisk((await readDiskUsage(deps)).paths),
    diskEverySec: 60,
  });
  const deps: AppDeps = {
    config,
    bounds: { ...config.floor, machineCpuCores: availableParallelism(), machineMemoryBytes: totalmem(), aboveMachine: config.aboveMachine },
    store,
    admin: withBusyErrors(new SqliteAdminStore(db)),
    // An interactive check waits for a person typing a password: a client of its own, with a long timeout.
    authorizer: new PolkitAuthorizer(new BusClient(polkitBus, { timeoutMs: 5_000, maxInFlight: 64 }), new BusClient(polkitBus, { timeoutMs: 120_000, maxInFlight: 16 }), ownProcess()),
    accountAdmin: new ShadowAccountAdmin(log, { ...SHADOW_PATHS, useradd: config.accounts.useradd, userdel: config.accounts.userdel, chpasswd: config.accounts.chpasswd }, programs.run),
    sessions: new LogindSessions(client, log),
    events: new BusEvents(bus),
    passwords: new PamVerifier(config.accounts.pamVerify, programs.run),
    gpus: () => gpuInventory.fresh(),
    loginGpus: () => gpuInventory.current(),
    gpuAccess,
    groupMembers,
    gpuGroups: withBusyErrors(new SqliteGpuGroups(db)),
    procDevices: () => readFileSync('/proc/devices', 'utf8'),
    cgroups,
    quotas,
    accounts: new GetentAccountDb({ clock, run: programs.run }),
    processes: new ProcProcessTable(),
    log,
    clock,
    scheduler: { after: (ms, fn) => { const t = setTimeout(fn, ms); t.unref(); return { cancel: () => clearTimeout(t) }; } },
    queue: new KeyedQueue(),
    ratchets: new Map(),
    limitEvents: limitEventStore,
    usage: {
      store: usageStore,
      latest: sampler,
      sampleIntervalSec: usageIntervalSec,
      filesystem: async (path) => {
        const f = await statfs(path);
        return { capacityBytes: f.blocks * f.bsize, freeBytes: f.bavail * f.bsize };
      },
    },
    decidedOrders: new DecidedOrderCache(),
    requests: { store: withBusyErrors(new SqliteRequests(db)), signals: new BusRequestSignals(bus), mailer: config.requests?.mailer ? new SendmailMailer(config.requests.mailer, programs.run) : null },
  };
  checkAllocation(config.defaults, deps.bounds); // [Defaults] above the machine with AboveMachine=reject: refuse to start (exit 2)
  const eventProbe = cgroups.backend === 'none' ? null : probeCgroupfs();
  const layout = eventProbe ? eventLayout(cgroups.backend.startsWith('cgroupfs') ? 'cgroupfs' : cgroups.backend, eventProbe) : null;
  const isManaged = (uid: number) => isManagedUid(uid, config);
  // Without a hierarchy (backend none) only disk quota events are recorded.
  const watcher: LimitWatcher = layout
    ? new CgroupEventWatcher(layout, { pollIntervalMs: config.events.pollIntervalSec * 1000, sampleIntervalMs: config.events.sampleIntervalSec * 1000, rescanIntervalMs: 2_000, isManaged, onError: (uid, e) => log.warn(`uid ${uid}: cgroup counters unreadable: ${e.message}; not watched until it reappears`, { uid }) })
    : { mode: 'none (no cgroup hierarchy)', start: async () => {}, stop: () => {} };
  const recorder = new LimitEventRecorder({ watcher, store: limitEventStore, signals: new BusLimitEventSignals(bus), terminals: config.events.terminalMessages ? new TtyNotifier(log) : null, log, nowMs: () => Date.now(), config: config.events, isManaged, diskLevels: () => diskLevelsOf(deps) });
  sampler.start();
  log.info(`usage history: sampling live users every ${usageIntervalSec} s (${usageFiles ? `cgroupfs files` : cgroups.backend === 'none' ? 'nothing to sample: backend none' : 'through the cgroup backend'})`);
  await recorder.start().then(() => log.info(`limit events: watching user cgroups by ${watcher.mode}`), (e: unknown) => log.error(`limit events: cannot watch user cgroups: ${(e as Error).message}; no limit events are recorded`));
  const xml = readFileSync(join(PKG_ROOT, 'dbus', 'org.diycloud.Manager1.xml'), 'utf8');
  const object = managerObject(deps, xml, version);
  const callers = new CallerResolver(credentials);
  bus.addMethodHandler(createRouter({ bus, object, callers, log, lane }));
  // org.diycloud.Web1 on the public connection: diycloud-web's sessions (docs/security.md "The web path").
  let webUid = (await deps.accounts.byName('diycloud-web').catch(() => null))?.uid ?? null;
  const serviceUid = async (): Promise<number | null> => webUid ?? (webUid = (await deps.accounts.byName('diycloud-web').catch(() => null))?.uid ?? null);
  const w = config.web;
  const webPolicy = w ? { ...DEFAULT_WEB_POLICY, idleMs: w.idleSec * 1000, absoluteMs: w.absoluteSec * 1000, maxPerUser: w.maxSessionsPerUser } : DEFAULT_WEB_POLICY;
  const throttlePolicy = w ? { windowMs: w.loginFailureWindowSec * 1000, perUser: w.loginFailuresPerUser, perAddress: w.loginFailuresPerAddress } : DEFAULT_THROTTLE_POLICY;
  const web = { table: new WebSessionTable(webPolicy), throttle: new LoginThrottle(throttlePolicy), tokens: webTokens, serviceUid };
  const webXml = readFileSync(join(PKG_ROOT, 'dbus', 'org.diycloud.Web1.xml'), 'utf8');
  bus.addMethodHandler(createRouter({ bus, object: webObject(deps, web, object, webXml), callers, log, lane, limits: WEB_CALL_LIMITS }));
  loginBus.addMethodHandler(createRouter({ bus: loginBus, object, callers, log, lane }));

  // Before serving: finish or undo account changes a crash interrupted.
  await recoverIntents(deps).catch((e: unknown) => log.error(`crash recovery failed: ${(e as Error).message}; it is retried at the next start`));
  // Login1 first: once Manager1 appears (systemd's Type=dbus readiness), the hook's name is there too.
  for (const [b, name] of [[loginBus, LOGIN_NAME], [bus, MANAGER_NAME]] as const) {
    const reply = await b.requestName(name, dbus.NameFlag.DO_NOT_QUEUE);
    if (reply !== dbus.RequestNameReply.PRIMARY_OWNER && reply !== dbus.RequestNameReply.ALREADY_OWNER) {
      throw new Error(`${name} is already owned by another process (reply ${reply}); is diycloudd already running?`);
    }
  }
  log.info(`diycloudd ${version} serving ${MANAGER_NAME} on ${address}, backend ${cgroups.backend}, quotas ${quotas.map((q) => `${q.path} (${q.backend})`).join(', ') || 'none'}, database ${config.backend.databasePath}`);

  const shutdown = (sig: string): void => {
    stopping = true;
    log.info(`received ${sig}, stopping`);
    for (const t of deps.ratchets.values()) t.cancel();
    bus.disconnect();
    loginBus.disconnect();
    polkitBus.disconnect();
    store.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));

  // Best effort: logins are already served; a failure here is logged and Reconcile can be rerun.
  for (const f of await setGracePeriods(quotaBackends, config.quota.gracePeriodSec)) log.warn(`${f.path}: grace period not set: ${f.error}, ignoring`);
  await watchCgroups(deps).catch((e: unknown) => log.error(`cannot watch for new user cgroups: ${(e as Error).message}; cgroups that appear without a login get their limits at the next Reconcile`));
  await watchSessionEnds(deps).catch((e: unknown) => log.warn(`cannot watch logind sessions: ${(e as Error).message}; session ends are recorded only from PAM close_session calls`));
  const report = await reconcile(deps).catch((e: unknown) => {
    log.error(`start-up reconcile failed: ${(e as Error).message}, ignoring`);
    return null;
  });
  if (report) log.info(`start-up reconcile: ${report.slices} user cgroups, ${report.changed.length} changed, ${report.quotas.length} quotas set, ${report.reverted.length} reverted, ${report.errors.length} errors in ${report.durationMs} ms`);
}

/** diycloudd's pid and start time (field 22 of /proc/self/stat): the process a web session's polkit subject names. */
function ownProcess(): { pid: number; startTime: bigint } {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { pid: process.pid, startTime: BigInt(fields[19]) };
}
