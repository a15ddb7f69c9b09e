// Use case: QueryUsers, a filtered, sorted page of the managed users (and the record building ListUsers shares).

import type { AllocationDecision } from '../core/allocation-decision';
import { grantsAny } from '../core/gpu-grant';
import type { Caller, CgroupState, UserAllocationRow, UserRecord } from '../core/ports';
import { COLUMN_SORT_KEYS, columnSort, matchesDecided, pageOfOrdered, parseUserQuery, selectPage, selectPageInNameOrder, type ColumnSortKey, type DecidedFacts, type UserQuery } from '../core/user-query';
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
 * listing's lean row (UserAllocationRow) is decided on its user's record, read for the first of each
 * pair. The cache is a tree of Maps, one level per part (keys compare by SameValueZero: null, 2 and
 * "2" stay apart), so a row costs six lookups and no key string.
 */
export function decider(deps: AppDeps): (r: UserRecord | UserAllocationRow) => AllocationDecision {
  const profiles = new Map(deps.admin.listRoles().map((r) => [r.name, r.profile]));
  const decided: PairTree = new Map();
  return (r) => {
    const o = r.overrides;
    const leaf = level(level(level(level(level(decided, r.role), o.cpu), o.memory), o.disk), o.gpu);
    let d = leaf.get(o.tasks) as AllocationDecision | undefined;
    if (!d) {
      const record = 'createdAt' in r ? r : deps.store.userByUid(r.uid);
      leaf.set(o.tasks, (d = decisionFor(deps, r.uid, record, profiles.get(r.role) ?? null)));
    }
    return d;
  };
}

type PairTree = Map<string | number | null, PairTree | AllocationDecision>;

function level(m: PairTree, key: string | number | null): PairTree {
  let next = m.get(key) as PairTree | undefined;
  if (!next) m.set(key, (next = new Map()));
  return next;
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
function selectUids(deps: AppDeps, q: UserQuery, decide: (r: UserAllocationRow) => AllocationDecision, disk: DiskUsageTable): { total: number; uids: number[] } {
  const filter = { role: q.role ?? undefined, enabled: q.enabled ?? undefined };
  const uids = (rows: readonly { uid: number }[]) => rows.map((r) => r.uid);
  const search = q.search;
  const desc = q.order === 'desc';
  const isColumn = (COLUMN_SORT_KEYS as readonly string[]).includes(q.sort);
  // SQL's lower() folds ASCII only: with a search and any other text, all is done here, on every row.
  if (search !== null && deps.admin.hasNonAsciiText(filter)) {
    const rows = deps.admin.listUserKeys({ ...filter, sort: 'name', desc: false });
    const { total, page } = selectPage(rows, (r) => ({ name: r.username, uid: r.uid, email: r.email, role: r.role, enabled: r.enabled, ...decidedFacts(deps, q, decide, disk, r) }), q);
    return { total, uids: uids(page) };
  }
  const f = { ...filter, search: search ?? undefined };
  const sort = columnSort(q);
  if (sort !== null) return { total: deps.admin.countUsers(f), uids: uids(deps.admin.listUserKeys({ ...f, sort, desc, page: { offset: q.offset, limit: q.limit } })) };
  if (isColumn) {
    // A column sort with a filter on the decided allocation or disk usage: SQL orders, this filters.
    const rows = deps.admin.listUserAllocations({ ...f, sort: q.sort as ColumnSortKey, desc });
    const { total, page } = pageOfOrdered(rows, (r) => matchesDecided(decidedFacts(deps, q, decide, disk, r), q), q);
    return { total, uids: uids(page) };
  }
  const inOrder = (page: UserQuery) =>
    selectPageInNameOrder(deps.admin.listUserAllocations({ ...f, sort: 'name', desc: false }), (r) => decidedFacts(deps, q, decide, disk, r), page);
  // sort=memory reads nothing but stored rows and the fixed configuration: its whole order is kept.
  const cache = q.sort === 'memory' && q.overQuota === null ? deps.decidedOrders : undefined;
  if (!cache) {
    const { total, page } = inOrder(q);
    return { total, uids: uids(page) };
  }
  const shape = JSON.stringify([f.role, f.enabled, f.search, q.hasGpu, q.order]);
  const revision = deps.admin.listingRevision();
  let all = cache.get(shape, revision);
  if (!all) cache.set(shape, revision, (all = uids(inOrder({ ...q, offset: 0, limit: Number.MAX_SAFE_INTEGER }).page)));
  return { total: all.length, uids: all.slice(q.offset, q.offset + q.limit) };
}

/** A user's decided facts: the allocation's, the disk usage's (only when the query filters on it), the latest usage sample's. */
function decidedFacts(deps: AppDeps, q: UserQuery, decide: (r: UserAllocationRow) => AllocationDecision, disk: DiskUsageTable, r: UserAllocationRow): DecidedFacts {
  const a = decide(r).allocation;
  const overQuota = q.overQuota !== null && diskUsageOf(disk, r.uid, a).some((p) => p.overQuota);
  const now = deps.usage?.latest.latest(r.uid); // cpuUsage, memoryUsage: the latest sample (app/sample-usage.ts)
  return { memoryBytes: a.memoryMaxBytes, hasGpu: grantsAny(a.gpus), overQuota, cpuPercent: now?.cpuPercent ?? 0, memoryUsedBytes: now?.memoryBytes ?? 0 };
}
