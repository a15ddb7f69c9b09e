// Use case: QueryUsers, a filtered, sorted page of the managed users (and the record building ListUsers shares).

import type { AllocationDecision } from '../core/allocation-decision';
import { grantsAny } from '../core/gpu-grant';
import type { Caller, CgroupState, UserKeyRow, UserRecord } from '../core/ports';
import { columnSort, matchesSearch, pageOfOrdered, parseUserQuery, selectPage, type UserQuery } from '../core/user-query';
import { ACTIONS, authorize } from './authorize';
import type { AppDeps } from './deps';
import { diskUsageOf, readDiskUsage, type DiskUsageTable } from './disk-usage';
import { decisionFor } from './enforce-allocation';
import { forEachLimited } from './for-each-limited';
import { userView, type UserView } from './get-user';
import { recentLimitEventsOf } from './limit-events';

/** QueryUsers' JSON (docs/dbus-api.md): the page, and how many users matched in all. */
export interface UserPage {
  total: number;
  offset: number;
  limit: number;
  users: UserView[];
}

/**
 * Decides each distinct (role, overrides) pair once: most users share their role's allocation. A
 * listing's lean row (UserKeyRow) is decided on its user's record, read for the first of each pair.
 */
export function decider(deps: AppDeps): (r: UserRecord | UserKeyRow) => AllocationDecision {
  const profiles = new Map(deps.admin.listRoles().map((r) => [r.name, r.profile]));
  const decided = new Map<string, AllocationDecision>();
  return (r) => {
    const key = pairKey(r);
    let d = decided.get(key);
    if (!d) {
      const record = 'createdAt' in r ? r : deps.store.userByUid(r.uid);
      decided.set(key, (d = decisionFor(deps, r.uid, record, profiles.get(r.role) ?? null)));
    }
    return d;
  };
}

/** The (role, overrides) pair as a string, each part tagged and strings length-prefixed: two pairs get one key only if equal. */
function pairKey(r: UserRecord | UserKeyRow): string {
  const o = r.overrides;
  let key = `${r.role.length}:${r.role}`;
  for (const v of [o.cpu, o.memory, o.disk, o.gpu, o.tasks]) key += v === null ? '|-' : typeof v === 'number' ? `|n${v}` : `|s${String(v).length}:${v}`;
  return key;
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
  const events = recentLimitEventsOf(deps, rows.map((r) => r.uid));
  return rows.map((r) => {
    const d = decide(r);
    return userView(deps, { name: r.username, uid: r.uid, record: r }, states.get(r.uid) ?? null, d, diskUsageOf(disk, r.uid, d.allocation), events.get(r.uid) ?? []);
  });
}

/**
 * Validates the query before anything else, asks for read-users as ListUsers does, then selects the
 * page: in SQL when the sort and filters are columns (core columnSort), else over the lean listing
 * with the decided allocations, the bulk disk usage read and the usage samples (core selectPage).
 * The selection and the page's records come from one read transaction; only the page's records
 * read cgroups and limit events.
 */
export async function queryUsers(deps: AppDeps, caller: Caller, raw: Readonly<Record<string, unknown>>): Promise<UserPage> {
  const q = parseUserQuery(raw);
  await authorize(deps, caller, ACTIONS.readUsers, '*');
  const decide = decider(deps);
  // One read per quota path for all users: the overQuota filter and the page's records share it.
  const disk = await readDiskUsage(deps);
  const { total, records } = deps.admin.transaction(() => {
    const s = selectUids(deps, q, decide, disk);
    const byUid = new Map(deps.admin.usersByUids(s.uids).map((r) => [r.uid, r]));
    return { total: s.total, records: s.uids.map((uid) => byUid.get(uid)).filter((r): r is UserRecord => r !== undefined) };
  });
  return { total, offset: q.offset, limit: q.limit, users: await userViews(deps, records, decide, disk) };
}

/** The query's matches (total) and its page's uids, in its order. */
function selectUids(deps: AppDeps, q: UserQuery, decide: (r: UserKeyRow) => AllocationDecision, disk: DiskUsageTable): { total: number; uids: number[] } {
  const filter = { role: q.role ?? undefined, enabled: q.enabled ?? undefined };
  const uids = (rows: readonly UserKeyRow[]) => rows.map((r) => r.uid);
  const sort = columnSort(q);
  if (sort !== null) {
    const desc = q.order === 'desc';
    const search = q.search;
    // SQL's lower() folds ASCII only: with a search and any other text, the search is done here.
    if (search === null || !deps.admin.hasNonAsciiText(filter)) {
      const f = { ...filter, search: search ?? undefined };
      return { total: deps.admin.countUsers(f), uids: uids(deps.admin.listUserKeys({ ...f, sort, desc, page: { offset: q.offset, limit: q.limit } })) };
    }
    const { total, page } = pageOfOrdered(deps.admin.listUserKeys({ ...filter, sort, desc }), (r) => matchesSearch(r.username, r.email, search), q);
    return { total, uids: uids(page) };
  }
  const { total, page } = selectPage(
    deps.admin.listUserKeys({ ...filter, sort: 'name', desc: false }),
    (r) => {
      const a = decide(r).allocation;
      const overQuota = q.overQuota !== null && diskUsageOf(disk, r.uid, a).some((p) => p.overQuota);
      const now = deps.usage?.latest.latest(r.uid); // cpuUsage, memoryUsage: the latest sample (app/sample-usage.ts)
      return { name: r.username, uid: r.uid, email: r.email, role: r.role, enabled: r.enabled, memoryBytes: a.memoryMaxBytes, hasGpu: grantsAny(a.gpus), overQuota, cpuPercent: now?.cpuPercent ?? 0, memoryUsedBytes: now?.memoryBytes ?? 0 };
    },
    q,
  );
  return { total, uids: uids(page) };
}
