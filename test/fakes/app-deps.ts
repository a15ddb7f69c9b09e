// Builds AppDeps for unit tests: the real SQLite store in memory, in-memory cgroups and quotas, fake NSS and timers.

import { join } from 'node:path';
import type { AppDeps } from '../../src/app/deps';
import { KeyedQueue } from '../../src/app/keyed-queue';
import { parseConfig } from '../../src/core/config';
import type { Account, Logger, ShadowExpiry } from '../../src/core/ports';
import { openDatabase, SqliteStore } from '../../src/adapters/store/sqlite-store';
import { SqliteAdminStore } from '../../src/adapters/store/sqlite-admin-store';
import type { AuthorizationResult } from '../../src/core/ports';
import type { ProcessFacts } from '../../src/core/placement';
import { MemoryCgroups } from './memory-cgroups';
import { MemoryQuota } from './memory-quota';
import { SqliteGpuGroups } from '../../src/adapters/store/sqlite-gpu-groups';
import { MemoryGpuAccess } from './memory-gpu-access';
import { buildInventory } from '../../src/core/gpu';

export interface TestDeps extends AppDeps {
  /** What the fake authorizer answers, per "uid action"; anything else is denied. */
  readonly grants: Map<string, AuthorizationResult>;
  readonly events: AppDeps['events'] & { readonly emitted: string[] };
  readonly groupCalls: string[];
  /** logind sessions per uid, as the fake SessionAdmin reports them. */
  readonly liveSessions: Map<number, number>;
  /** Makes the next useradd or chpasswd fail with this message. */
  readonly failNext: { create?: string; password?: string };
  /** The callback the session watcher registered (call it to end a logind session). */
  readonly ended: { cb?: (s: { uid: number; service: string | null; tty: string | null }) => void };
  /** The in-memory cgroups (the same object as `cgroups`). */
  readonly slices: MemoryCgroups;
  readonly cgroups: MemoryCgroups;
  /** The in-memory device policies (the same object as `gpuAccess`). */
  readonly gpuAccess: MemoryGpuAccess;
  /** Unix groups and their members as NSS would list them (the GPU groups' sync reads it; setMembership does not write it). */
  readonly unixGroups: Map<string, string[]>;
  /** The in-memory quota of the one quota path /home (only with `{ quota: true }`). */
  readonly quota: MemoryQuota | null;
  readonly nss: Map<string, number>;
  /** The processes the fake ProcessTable knows, by PID (the daemon itself is PID 99). */
  readonly procs: Map<number, ProcessFacts>;
  /** Groups NSS knows besides each user's own group. */
  readonly groups: Set<string>;
  /** Shadow expiry per user as the fake AccountAdmin keeps it (absent: never). */
  readonly expiries: Map<string, ShadowExpiry>;
  readonly logs: string[];
  readonly db: ReturnType<typeof openDatabase>;
  /** Runs timers that are due (the scheduler never uses real time). */
  runTimers(): void;
}

export function testDeps(conf = '[Users]\nUIDMin=1000\nUIDMax=1999\n', opts: { quota?: boolean; gpuIndices?: number[] } = {}): TestDeps {
  const cgroups = new MemoryCgroups();
  const quota = opts.quota ? new MemoryQuota('/home') : null;
  const db = openDatabase(':memory:', join(__dirname, '../../schema'));
  const logs: string[] = [];
  const log: Logger = {
    debug: (m) => logs.push(`debug: ${m}`),
    info: (m) => logs.push(`info: ${m}`),
    warn: (m) => logs.push(`warn: ${m}`),
    error: (m) => logs.push(`error: ${m}`),
  };
  const nss = new Map<string, number>();
  const procs = new Map<number, ProcessFacts>();
  const groups = new Set<string>();
  const expiries = new Map<string, ShadowExpiry>();
  const grants = new Map<string, AuthorizationResult>();
  const emitted: string[] = [];
  const groupCalls: string[] = [];
  const liveSessions = new Map<number, number>();
  const unixGroups = new Map<string, string[]>();
  const failNext: { create?: string; password?: string } = {};
  const ended: { cb?: (s: { uid: number; service: string | null; tty: string | null }) => void } = {};
  const timers: (() => void)[] = [];
  // a host with GPUs 0 and 1 unless the test says otherwise (GPU grants are checked against it)
  const inventory = () => {
    const indices = opts.gpuIndices ?? [0, 1];
    const node = (rel: string, minor: number) => ({ rel, mode: 0o666, gid: 0, group: 'root', major: 195, minor });
    return buildInventory({
      nodes: indices.length ? [...indices.map((i) => node(`nvidia${i}`, i)), node('nvidiactl', 255)] : [],
      nvidia: indices.map((i) => ({ dir: `0000:0${i}:00.0`, model: 'Test GPU', busId: `0000:0${i}:00.0`, minor: i })),
      migMinors: null,
      drm: new Map(),
    });
  };
  const config = parseConfig(conf, { uidMin: 1000, uidMax: 60000 });
  return {
    config,
    bounds: { ...config.floor, machineCpuCores: 8, machineMemoryBytes: 64 * 1024 ** 3, aboveMachine: config.aboveMachine },
    store: new SqliteStore(db),
    admin: new SqliteAdminStore(db),
    authorizer: { check: async (c, action) => grants.get(`${c.uid} ${action}`) ?? 'denied' },
    accountAdmin: {
      setMembership: async (user, ms) => void groupCalls.push(...ms.map((m) => `${user} ${m.member ? '+' : '-'}${m.group}`)),
      disable: async (user) => {
        groupCalls.push(`${user} disable`);
        const before = expiries.get(user) ?? 'never';
        expiries.set(user, { days: 1 });
        return before;
      },
      enable: async (user, expiry) => {
        groupCalls.push(`${user} enable ${expiry === null ? 'unknown' : expiry === 'never' ? 'never' : expiry.days}`);
        expiries.set(user, expiry ?? 'never');
      },
      createAccount: async (a) => {
        if (failNext.create) throw Object.assign(new Error(failNext.create), { code: 'BackendFailed' });
        nss.set(a.name, a.uid);
        groupCalls.push(`useradd ${a.name} ${a.uid} ${a.shell} ${a.homeMode}`);
      },
      setPassword: async (user, pw) => {
        if (failNext.password) throw new Error(failNext.password);
        groupCalls.push(`chpasswd ${user} ${pw.length}`);
      },
      deleteAccount: async (user, removeHome) => {
        nss.delete(user);
        groupCalls.push(`userdel ${user}${removeHome ? ' --remove' : ''}`);
      },
    },
    sessions: {
      terminateUser: async (uid) => {
        groupCalls.push(`terminate ${uid}`);
        liveSessions.delete(uid);
      },
      watchEnded: async (cb) => void (ended.cb = cb),
      sessionCount: async (uid) => liveSessions.get(uid) ?? 0,
    },
    liveSessions,
    failNext,
    ended,
    events: { emitted, emit: (sig, name, uid) => void emitted.push(`${sig} ${name} ${uid}`) },
    passwords: { verify: async (user: string, pw: string) => pw === `${user}-old` },
    gpus: inventory,
    loginGpus: inventory,
    gpuAccess: new MemoryGpuAccess(),
    unixGroups,
    groupMembers: { members: async (g: string) => unixGroups.get(g) ?? null },
    gpuGroups: new SqliteGpuGroups(db),
    procDevices: () => 'Character devices:\n  1 mem\n  5 /dev/tty\n136 pts\n195 nvidia\n\nBlock devices:\n  7 loop\n',
    grants,
    groupCalls,
    slices: cgroups,
    cgroups,
    quota,
    quotas: quota ? [quota] : [],
    accounts: {
      byName: async (n: string): Promise<Account | null> => (nss.has(n) ? { name: n, uid: nss.get(n)!, home: `/home/${n}` } : null),
      byUid: async (uid: number): Promise<Account | null> => {
        const e = [...nss.entries()].find(([, u]) => u === uid);
        return e ? { name: e[0], uid } : null;
      },
      forget: () => undefined,
      groupExists: async (g: string) => groups.has(g) || nss.has(g),
    },
    groups,
    expiries,
    processes: { selfPid: 99, inspect: (pid) => procs.get(pid) ?? null },
    procs,
    log,
    clock: { now: () => new Date('2026-11-25T12:00:00Z') },
    scheduler: {
      after: (_ms, fn) => {
        let live = true;
        timers.push(() => live && fn());
        return { cancel: () => void (live = false) };
      },
    },
    queue: new KeyedQueue(),
    ratchets: new Map(),
    nss,
    logs,
    db,
    runTimers: () => timers.splice(0).forEach((t) => t()),
  };
}

export function addUser(d: TestDeps, u: { name: string; uid: number; active?: boolean; cpu?: number | null; memory?: string | null; tasks?: number | null }): void {
  const id = d.db.prepare('INSERT INTO users (username, uid, is_active) VALUES (?, ?, ?)').run(u.name, u.uid, u.active === false ? 0 : 1).lastInsertRowid;
  d.db.prepare('INSERT INTO resource_allocations (user_id, cpu_limit, mem_limit, tasks_max) VALUES (?, ?, ?, ?)').run(id, u.cpu ?? null, u.memory ?? null, u.tasks ?? null);
}
