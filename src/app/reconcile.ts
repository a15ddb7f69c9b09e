// Use case: re-apply every allocation to every user cgroup and quota path, and undo stale limits.

import { diskDiffers, diskTargets, NO_CGROUP_LIMITS, type DiskSettings } from '../core/enforcement-plan';
import { isManagedUid } from '../core/login-policy';
import type { RawOverrides, UserRecord } from '../core/ports';
import type { AppDeps } from './deps';
import { decisionFor, enforceAllocation } from './enforce-allocation';
import { enforceDiskBatch, type DiskBatchItem, type DiskOutcome } from './enforce-disk';
import { forEachLimited } from './for-each-limited';
import { readDiskUsage } from './disk-usage';
import type { KeyedQueue } from './keyed-queue';

export interface ReconcileReport {
  readonly backend: string;
  /** User cgroups that exist now, and how many of them are in the managed range. */
  readonly slices: number;
  readonly managed: number;
  readonly changed: { uid: number; user: string | null; properties: string[] }[];
  /** Quotas set, per user and path (only where the filesystem's quota differed from the plan). */
  readonly quotas: { uid: number; user: string | null; path: string }[];
  /** Users whose cgroups (no longer managed) got their limits lifted, and empty cgroups removed (cgroupfs). */
  readonly reverted: number[];
  readonly released: number[];
  readonly errors: { uid: number; error: string }[];
  readonly durationMs: number;
}

/** How many users are worked on at once: enough to hide bus latency, few enough to stay fair to logins. */
const CONCURRENCY = 16;
/**
 * Users whose quotas go in one batch: their queues are held meanwhile, so a login of one of them
 * waits at most one batch (well under a second for 1,000 on real hardware; about 2 s in the TCG VM).
 */
const DISK_BATCH_USERS = 1000;

/**
 * 1. Every user cgroup in the managed range gets its decided allocation (only differing settings are sent).
 * 2. Every managed user (in the database, or with a cgroup) gets their disk quota where the
 *    filesystem's quota (one bulk read per path) differs from the plan: a quota set by hand, or
 *    lost to a restored backup; a user with a cgroup also where the read failed. The differing
 *    quotas go to the backend in batches (enforceDiskBatch: one setquota -b per 1,000 users on
 *    quota-tools), each batch decided and applied while its users' queues are held.
 * 3. Every UID diycloud once limited that is no longer managed (the range changed) gets its
 *    limits lifted, so no stale limit outlives its reason; empty diycloud cgroups are removed.
 * One user's failure is reported and does not stop the others.
 */
export async function reconcile(deps: AppDeps): Promise<ReconcileReport> {
  const started = deps.clock.now().getTime();
  const [uids, disk] = await Promise.all([deps.cgroups.listUsers(), readDiskUsage(deps)]);
  const managed = uids.filter((u) => isManagedUid(u, deps.config));
  const live = new Set(uids);
  const changed: ReconcileReport['changed'] = [];
  const quotas: ReconcileReport['quotas'] = [];
  const errors: ReconcileReport['errors'] = [];
  const policy = { paths: deps.quotas.map((q) => q.path), softShare: deps.config.quota.softShare };
  // Whose quota differs from the plan, by the bulk reads: nobody's quota costs a process unless it must change.
  // The listed records and one read per role stand in for allocationOf's two reads per user (this only picks who is due).
  const diskDue = new Map<number, Decided>();
  const roles = new RoleProfiles(deps);
  const records = new Map<number, UserRecord | null>(deps.admin.listUsers({}).map((u) => [u.uid, u]));
  for (const uid of managed) if (!records.has(uid)) records.set(uid, null);
  for (const [uid, record] of records) {
    if (!isManagedUid(uid, deps.config)) continue;
    const profile = roles.of(record);
    const targets = diskTargets(decisionFor(deps, uid, record, profile).allocation, policy).filter((want) => {
      const p = disk.paths.find((x) => x.path === want.path);
      if (!p || p.state === 'off') return false;
      return p.usage === null ? live.has(uid) : diskDiffers(p.usage.get(uid), want, p.softLimits);
    });
    if (targets.length) diskDue.set(uid, { record, profile, targets });
  }
  // The cgroup (and device) step per user; its disk steps are left out (no quota paths) and batched
  // below. A memory ratchet this schedules steps the cgroup only, which is all a ratchet changes.
  const cgroupOnly: AppDeps = { ...deps, quotas: [] };
  await forEachLimited(managed, CONCURRENCY, async (uid) => {
    try {
      const r = await enforceAllocation(cgroupOnly, uid, { purpose: 'reconcile', cgroup: true });
      if (r.changed.length) changed.push({ uid, user: deps.store.userByUid(uid)?.username ?? null, properties: r.changed });
    } catch (e) {
      deps.log.warn(`reconcile: uid ${uid}: ${(e as Error).message}, ignoring`, { uid });
      errors.push({ uid, error: (e as Error).message });
    }
  });
  const due = [...diskDue.keys()].sort((a, b) => a - b);
  for (let i = 0; i < due.length; i += DISK_BATCH_USERS) {
    const batch = due.slice(i, i + DISK_BATCH_USERS);
    const names = new Map<number, string | null>();
    const outcomes = await holding(deps.queue, batch, () => {
      // Read once all the batch's queues are held, so no change made before is undone: one listing, not a read per user.
      const fresh = new RoleProfiles(deps);
      const now = new Map(deps.admin.listUsers({}).map((u) => [u.uid, u]));
      return enforceDiskBatch(deps, batch.map((uid) => {
        const item = dueItem(deps, uid, now.get(uid) ?? null, diskDue.get(uid)!, fresh);
        names.set(uid, item.knownName);
        return item;
      }));
    }).catch((e: unknown) => new Map<number, DiskOutcome[]>(batch.map((uid) => [uid, diskDue.get(uid)!.targets.map(({ path }) => ({ path, result: 'failed' as const, warning: null, error: (e as Error).message }))])));
    for (const uid of batch) {
      const user = names.get(uid) ?? null;
      for (const d of outcomes.get(uid) ?? []) {
        if (d.result === 'applied') quotas.push({ uid, user, path: d.path });
        if (d.result === 'failed') errors.push({ uid, error: `${d.path}: ${d.error}` });
      }
    }
  }
  const reverted: number[] = [];
  for (const uid of deps.store.uidsWithApplied('cgroup')) {
    if (isManagedUid(uid, deps.config)) continue;
    try {
      if (live.has(uid)) await deps.cgroups.apply(uid, NO_CGROUP_LIMITS);
      deps.store.forgetApplied(uid, 'cgroup');
      reverted.push(uid);
    } catch (e) {
      errors.push({ uid, error: (e as Error).message });
    }
  }
  const released: number[] = [];
  // Serialized with the user's other work: never between a login's placement and its limits.
  for (const uid of uids) if (await deps.queue.run(uid, () => deps.cgroups.release(uid)).catch(() => false)) released.push(uid);
  changed.sort((a, b) => a.uid - b.uid);
  errors.sort((a, b) => a.uid - b.uid);
  return { backend: deps.cgroups.backend, slices: uids.length, managed: managed.length, changed, quotas, reverted, released, errors, durationMs: deps.clock.now().getTime() - started };
}

/** What decided a user's due quotas in the due check (targets: the paths where the filesystem differed). */
interface Decided {
  readonly record: UserRecord | null;
  readonly profile: RawOverrides | null;
  readonly targets: readonly DiskSettings[];
}

const sameOverrides = (a: RawOverrides | null, b: RawOverrides | null): boolean =>
  a === b || (a !== null && b !== null && a.cpu === b.cpu && a.memory === b.memory && a.disk === b.disk && a.gpu === b.gpu && a.tasks === b.tasks);

/**
 * The user's disk steps on the due paths, as their record and role profile say now (inside the
 * user's queue: an admin's change in between is not undone). The allocation is decided again only
 * when either changed since the due check: a decision is most of a quota's cost in a batch.
 */
function dueItem(deps: AppDeps, uid: number, record: UserRecord | null, before: Decided, roles: RoleProfiles): DiskBatchItem {
  const profile = roles.of(record);
  const was = before.record;
  const same = (was === null ? record === null : record !== null && record.role === was.role && sameOverrides(record.overrides, was.overrides)) && sameOverrides(profile, before.profile);
  const paths = new Set(before.targets.map((t) => t.path));
  const targets = same ? before.targets : diskTargets(decisionFor(deps, uid, record, profile).allocation, { paths: deps.quotas.map((q) => q.path).filter((p) => paths.has(p)), softShare: deps.config.quota.softShare });
  return { uid, knownName: record?.username ?? null, steps: targets.map((d) => ({ resource: 'disk', ...d, fatal: false })) };
}

/** Role profiles read once each (allocationOf reads the role for every user: most of its cost over 1,000 users). */
class RoleProfiles {
  private readonly seen = new Map<string, RawOverrides | null>();
  constructor(private readonly deps: AppDeps) {}
  of(record: UserRecord | null): RawOverrides | null {
    if (record === null) return null;
    if (!this.seen.has(record.role)) this.seen.set(record.role, this.deps.admin.role(record.role)?.profile ?? null);
    return this.seen.get(record.role)!;
  }
}

/** Runs `fn` once every key's queue has reached it, and keeps the keys' later work waiting until it settles. */
async function holding<T>(queue: KeyedQueue, keys: readonly number[], fn: () => Promise<T>): Promise<T> {
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  const held = keys.map(
    (k) =>
      new Promise<void>((reached) => {
        void queue.run(k, () => {
          reached();
          return released;
        });
      }),
  );
  try {
    await Promise.all(held);
    return await fn();
  } finally {
    release();
  }
}
