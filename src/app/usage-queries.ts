// Use cases: the portal's reads (GetUsageHistory, GetUsage, GetLimitEvents, ListSessions, GetHostSummary), each authorized first.

import { DiycloudError } from '../core/errors';
import { grantedIndices } from '../core/gpu-grant';
import { retentionCutoffUsec } from '../core/limit-events';
import type { Caller } from '../core/ports';
import { limitLevel, parseUsageRange, tierForRange, type UsageRange } from '../core/usage-history';
import type { UsageServices } from '../core/usage-ports';
import { validateUsername } from '../core/username';
import { ACTIONS, authorize } from './authorize';
import type { AppDeps } from './deps';
import { diskUsageOf, readDiskUsage } from './disk-usage';
import { decider } from './query-users';
import { resolveUser } from './resolve-user';

export const EVENTS_DEFAULT_LIMIT = 50;
export const EVENTS_MAX_LIMIT = 500;
export const SESSIONS_LIMIT = 100;
/** GetUsage: names per call. */
export const USAGE_MAX_USERS = 1000;

const services = (deps: AppDeps): UsageServices => {
  if (!deps.usage) throw new DiycloudError('Failed', 'usage history is not available in this daemon');
  return deps.usage;
};
const iso = (sec: number) => new Date(sec * 1000).toISOString();

/**
 * Reading your own data needs nothing; anyone else's needs read-users, asked before the name is
 * looked up (as GetUser): made-up names cost polkit checks, not name-service lookups.
 */
async function ownOrReadUsers(deps: AppDeps, caller: Caller, name: string): Promise<void> {
  if (caller.uid === 0) return;
  const record = deps.store.userByName(name);
  const own = record ? record.uid === caller.uid : (await deps.accounts.byUid(caller.uid))?.name === name;
  if (!own) await authorize(deps, caller, ACTIONS.readUsers, name);
}

export interface UsageHistoryView {
  user: string;
  uid: number;
  range: UsageRange;
  stepSec: number;
  points: { t: string; cpuPercent: number; memoryBytes: number; diskBytes: number | null; tasks: number | null }[];
}

export async function getUsageHistory(deps: AppDeps, caller: Caller, rawName: unknown, rawRange: unknown): Promise<UsageHistoryView> {
  const name = validateUsername(rawName);
  const range = parseUsageRange(rawRange);
  await ownOrReadUsers(deps, caller, name);
  const u = await resolveUser(deps, name);
  const s = services(deps);
  const t = tierForRange(range, Math.floor(deps.clock.now().getTime() / 1000), s.sampleIntervalSec);
  const points = s.store.history(u.uid, t.tier, t.sinceSec).map((p) => ({ t: iso(p.tSec), cpuPercent: p.cpuPercent, memoryBytes: p.memoryBytes, diskBytes: p.diskBytes, tasks: p.tasks }));
  return { user: u.name, uid: u.uid, range, stepSec: t.stepSec, points };
}

export interface UsageNow {
  /** null: the host does not measure it (measured false). */
  cpuPercent: number | null;
  memoryBytes: number | null;
  diskBytes: number | null;
  tasks: number | null;
  /** The user has a live cgroup (a session, a lingering user manager). */
  live: boolean;
  /** The host accounts the live cgroup's CPU and memory (false: live, but no figures: no cpu or memory controller there). */
  measured: boolean;
}

/**
 * The latest samples, from memory (no cgroup read). A user without a live cgroup is `live: false`
 * with zeros (and their last known disk usage); one with a live cgroup the host does not account is
 * `live: true, measured: false` with nulls.
 */
export async function getUsage(deps: AppDeps, caller: Caller, rawNames: unknown): Promise<{ sampledAt: string | null; users: Record<string, UsageNow> }> {
  if (!Array.isArray(rawNames)) throw new DiycloudError('InvalidArgument', 'users: expected an array of user names', { field: 'users' });
  if (rawNames.length > USAGE_MAX_USERS) throw new DiycloudError('InvalidArgument', `users: at most ${USAGE_MAX_USERS} names`, { field: 'users' });
  const names = [...new Set(rawNames.map((n) => validateUsername(n)))];
  for (const n of names) await ownOrReadUsers(deps, caller, n);
  const s = services(deps);
  const users: Record<string, UsageNow> = {};
  for (const n of names) {
    const u = await resolveUser(deps, n);
    const p = s.latest.latest(u.uid);
    const diskBytes = p?.diskBytes ?? s.latest.diskBytes(u.uid);
    users[n] = p
      ? { cpuPercent: p.cpuPercent, memoryBytes: p.memoryBytes, diskBytes, tasks: p.tasks, live: true, measured: true }
      : s.latest.unmeasured().has(u.uid)
        ? { cpuPercent: null, memoryBytes: null, diskBytes, tasks: null, live: true, measured: false }
        : { cpuPercent: 0, memoryBytes: 0, diskBytes, tasks: null, live: false, measured: false };
  }
  return { sampledAt: s.latest.sampledAt()?.toISOString() ?? null, users };
}

export interface LimitEventView {
  at: string;
  user: string | null;
  uid: number;
  resource: string;
  kind: string;
  count: number;
  detail: string;
}

/** Limit events within [Events] Retention, newest first: one user's (own, or read-users), or everyone's (read-users). */
export async function getLimitEvents(deps: AppDeps, caller: Caller, filter: { user?: unknown; limit?: unknown }): Promise<{ events: LimitEventView[] }> {
  const limit = filter.limit === undefined ? EVENTS_DEFAULT_LIMIT : filter.limit;
  if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1 || limit > EVENTS_MAX_LIMIT) {
    throw new DiycloudError('InvalidArgument', `filter.limit: expected an integer 1..${EVENTS_MAX_LIMIT}`, { field: 'limit' });
  }
  const name = filter.user === undefined ? null : validateUsername(filter.user);
  if (name === null) await authorize(deps, caller, ACTIONS.readUsers, '*');
  else await ownOrReadUsers(deps, caller, name);
  const uid = name === null ? null : (await resolveUser(deps, name)).uid;
  const since = retentionCutoffUsec(deps.clock.now().getTime(), deps.config.events?.retentionSec ?? 7 * 86400);
  const rows = services(deps).store.events(uid, since, limit);
  const names = new Map<number, string | null>();
  if (name !== null && uid !== null) names.set(uid, name);
  const nameOf = (u: number): string | null => {
    if (!names.has(u)) names.set(u, deps.store.userByUid(u)?.username ?? null);
    return names.get(u) ?? null;
  };
  return {
    events: rows.map((r) => ({
      at: new Date(Math.floor(r.atUsec / 1000)).toISOString(),
      user: nameOf(r.uid),
      uid: r.uid,
      resource: r.resource,
      kind: r.kind,
      count: r.count,
      detail: `${r.resource} ${r.kind}${r.count > 1 ? ` (${r.count} times)` : ''}`,
    })),
  };
}

export async function listSessions(deps: AppDeps, caller: Caller, rawName: unknown): Promise<{ sessions: { service: string; tty: string; rhost: string; openedAt: string; closedAt: string | null }[] }> {
  const name = validateUsername(rawName);
  await ownOrReadUsers(deps, caller, name);
  const u = await resolveUser(deps, name);
  return { sessions: services(deps).store.sessions(u.uid, SESSIONS_LIMIT) };
}

export interface HostSummary {
  sampledAt: string | null;
  users: { total: number; live: number };
  cpu: { capacityCores: number; allocatedCores: number; usedPercent: number; usedCores: number };
  memory: { capacityBytes: number; allocatedBytes: number; usedBytes: number };
  disk: { path: string; capacityBytes: number | null; allocatedBytes: number; usedBytes: number | null }[];
  gpus: { index: number; name: string | null; holders: string[] }[];
  overcommit: { cpu: number; memory: number };
  over: { user: string; resource: string; usage: number; limit: number; level: 'near' | 'over' | 'soft' }[];
}

const ratio = (a: number, b: number) => (b > 0 ? Math.round((a / b) * 1000) / 1000 : 0);

/**
 * The host view (read-users): capacity from the machine, the sum of the database users' decided
 * allocations, the sum of the latest samples of every live user, GPU grants by index, and the users
 * near (≥ 90 %) or over a limit (CPU and memory from the latest sample, disk from the bulk quota read).
 */
export async function getHostSummary(deps: AppDeps, caller: Caller): Promise<HostSummary> {
  await authorize(deps, caller, ACTIONS.readUsers, '*');
  const s = services(deps);
  const rows = deps.admin.listUsers({});
  const decide = decider(deps);
  const disk = await readDiskUsage(deps);
  const gpus = deps.gpus().devices;
  const present = gpus.map((g) => g.index);
  const holders = new Map<number, string[]>(present.map((i) => [i, []]));
  const over: HostSummary['over'] = [];
  let allocatedCores = 0;
  let allocatedBytes = 0;
  const diskAllocated = disk.paths.map(() => 0);
  for (const r of rows) {
    const a = decide(r).allocation;
    allocatedCores += a.cpuCores;
    allocatedBytes += a.memoryMaxBytes;
    for (const i of grantedIndices(a.gpus, present)) holders.get(i)?.push(r.username);
    const p = s.latest.latest(r.uid);
    const flag = (resource: string, usage: number, limit: number | null) => {
      const level = limitLevel(usage, limit);
      if (level && limit !== null) over.push({ user: r.username, resource, usage, limit, level });
    };
    if (p) {
      flag('cpu', Math.round(p.cpuPercent) / 100, a.cpuCores);
      flag('memory', p.memoryBytes, a.memoryMaxBytes);
      if (p.tasks !== null) flag('tasks', p.tasks, a.tasksMax);
    }
    diskUsageOf(disk, r.uid, a).forEach((v, i) => {
      if (a.diskQuotaBytes > 0) diskAllocated[i] += a.diskQuotaBytes;
      if (v.usedBytes === null || a.diskQuotaBytes <= 0) return;
      const level = limitLevel(v.usedBytes, a.diskQuotaBytes) ?? (v.softBytes && v.usedBytes > v.softBytes ? 'soft' : null);
      if (level) over.push({ user: r.username, resource: `disk:${v.path}`, usage: v.usedBytes, limit: a.diskQuotaBytes, level });
    });
  }
  let usedPercent = 0;
  let usedBytes = 0;
  for (const p of s.latest.all().values()) {
    usedPercent += p.cpuPercent;
    usedBytes += p.memoryBytes;
  }
  const capacityCores = deps.bounds.machineCpuCores;
  const capacityBytes = deps.bounds.machineMemoryBytes;
  const diskViews = await Promise.all(
    disk.paths.map(async (p, i) => {
      const fs = await s.filesystem(p.path).catch(() => null);
      const used = p.usage ? [...p.usage.values()].reduce((n, u) => n + u.usedBytes, 0) : null;
      return { path: p.path, capacityBytes: fs?.capacityBytes ?? null, allocatedBytes: diskAllocated[i], usedBytes: used };
    }),
  );
  return {
    sampledAt: s.latest.sampledAt()?.toISOString() ?? null,
    users: { total: rows.length, live: s.latest.all().size + s.latest.unmeasured().size },
    cpu: { capacityCores, allocatedCores: Math.round(allocatedCores * 1000) / 1000, usedPercent: Math.round(usedPercent * 100) / 100, usedCores: Math.round(usedPercent) / 100 },
    memory: { capacityBytes, allocatedBytes, usedBytes },
    disk: diskViews,
    gpus: gpus.map((g) => ({ index: g.index, name: g.model, holders: holders.get(g.index) ?? [] })),
    overcommit: { cpu: ratio(allocatedCores, capacityCores), memory: ratio(allocatedBytes, capacityBytes) },
    over: over.sort((a, b) => a.user.localeCompare(b.user) || a.resource.localeCompare(b.resource)),
  };
}
