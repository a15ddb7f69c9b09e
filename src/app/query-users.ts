// Use case: QueryUsers, a filtered, sorted page of the managed users (and the record building ListUsers shares).

import type { AllocationDecision } from '../core/allocation-decision';
import { grantsAny } from '../core/gpu-grant';
import type { Caller, CgroupState, UserRecord } from '../core/ports';
import { parseUserQuery, selectPage } from '../core/user-query';
import { ACTIONS, authorize } from './authorize';
import type { AppDeps } from './deps';
import { diskUsageOf, readDiskUsage, type DiskUsageTable } from './disk-usage';
import { decisionFor } from './enforce-allocation';
import { forEachLimited } from './for-each-limited';
import { userView, type UserView } from './get-user';
import { recentLimitEventsOfAll } from './limit-events';

/** QueryUsers' JSON (docs/dbus-api.md): the page, and how many users matched in all. */
export interface UserPage {
  total: number;
  offset: number;
  limit: number;
  users: UserView[];
}

/** Decides each distinct (role, overrides) pair once: most users share their role's allocation. */
export function decider(deps: AppDeps): (r: UserRecord) => AllocationDecision {
  const profiles = new Map(deps.admin.listRoles().map((r) => [r.name, r.profile]));
  const decided = new Map<string, AllocationDecision>();
  return (r) => {
    const key = `${r.role}\0${JSON.stringify(r.overrides)}`;
    let d = decided.get(key);
    if (!d) decided.set(key, (d = decisionFor(deps, r.uid, r, profiles.get(r.role) ?? null)));
    return d;
  };
}

/**
 * The records of `rows`: one cgroup listing and one bulk event read for all, and a cgroup read only
 * for those with a live cgroup, a few at a time (a long listing must not queue up ahead of the
 * logins' calls to systemd).
 */
export async function userViews(deps: AppDeps, rows: readonly UserRecord[], decide: (r: UserRecord) => AllocationDecision, diskRead: DiskUsageTable | Promise<DiskUsageTable>): Promise<UserView[]> {
  const [listed, disk] = await Promise.all([deps.cgroups.listUsers(), diskRead]);
  const live = new Set(listed);
  const states = new Map<number, CgroupState | null>();
  await forEachLimited(rows.filter((r) => live.has(r.uid)), 24, async (r) => void states.set(r.uid, await deps.cgroups.observe(r.uid)));
  const events = recentLimitEventsOfAll(deps);
  return rows.map((r) => {
    const d = decide(r);
    return userView(deps, { name: r.username, uid: r.uid, record: r }, states.get(r.uid) ?? null, d, diskUsageOf(disk, r.uid, d.allocation), events.get(r.uid) ?? []);
  });
}

/**
 * Validates the query before anything else, asks for read-users as ListUsers does, then filters,
 * sorts and pages on what the database rows, the decided allocations and the bulk disk usage read
 * already give; only the page's records read cgroups.
 */
export async function queryUsers(deps: AppDeps, caller: Caller, raw: Readonly<Record<string, unknown>>): Promise<UserPage> {
  const q = parseUserQuery(raw);
  await authorize(deps, caller, ACTIONS.readUsers, '*');
  const rows = deps.admin.listUsers({ role: q.role ?? undefined, enabled: q.enabled ?? undefined });
  const decide = decider(deps);
  // One read per quota path for all users: the overQuota filter and the page's records share it.
  const disk = await readDiskUsage(deps);
  const { total, page } = selectPage(
    rows,
    (r) => {
      const a = decide(r).allocation;
      const overQuota = q.overQuota !== null && diskUsageOf(disk, r.uid, a).some((p) => p.overQuota);
      const now = deps.usage?.latest.latest(r.uid); // cpuUsage, memoryUsage: the latest sample (app/sample-usage.ts)
      return { name: r.username, uid: r.uid, email: r.email, role: r.role, enabled: r.enabled, memoryBytes: a.memoryMaxBytes, hasGpu: grantsAny(a.gpus), overQuota, cpuPercent: now?.cpuPercent ?? 0, memoryUsedBytes: now?.memoryBytes ?? 0 };
    },
    q,
  );
  return { total, offset: q.offset, limit: q.limit, users: await userViews(deps, page, decide, disk) };
}
