// Use case: re-apply every allocation to every user cgroup and quota path, and undo stale limits.

import { diskDiffers, diskTargets, NO_CGROUP_LIMITS } from '../core/enforcement-plan';
import { isManagedUid } from '../core/login-policy';
import type { AppDeps } from './deps';
import { allocationOf, enforceAllocation } from './enforce-allocation';
import { forEachLimited } from './for-each-limited';
import { readDiskUsage } from './disk-usage';

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
 * 1. Every user cgroup in the managed range gets its decided allocation (only differing settings are sent).
 * 2. Every managed user in the database gets their disk quota where the filesystem's quota (one
 *    bulk read per path) differs from the plan: a quota set by hand, or lost to a restored backup.
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
  const diskDue = new Set<number>();
  for (const u of deps.admin.listUsers({})) {
    if (!isManagedUid(u.uid, deps.config)) continue;
    for (const want of diskTargets(allocationOf(deps, u.uid).allocation, policy)) {
      const p = disk.paths.find((x) => x.path === want.path);
      if (!p || p.state === 'off' || p.usage === null) continue;
      if (diskDiffers(p.usage.get(u.uid), want, p.softLimits)) diskDue.add(u.uid);
    }
  }
  const work = [...new Set([...managed, ...diskDue])].sort((a, b) => a - b);
  await forEachLimited(work, CONCURRENCY, async (uid) => {
    try {
      const r = await enforceAllocation(deps, uid, { purpose: 'reconcile', cgroup: live.has(uid) });
      const user = deps.store.userByUid(uid)?.username ?? null;
      if (r.changed.length) changed.push({ uid, user, properties: r.changed });
      for (const d of r.disk) {
        if (d.result === 'applied') quotas.push({ uid, user, path: d.path });
        if (d.result === 'failed') errors.push({ uid, error: `${d.path}: ${d.error}` });
      }
    } catch (e) {
      deps.log.warn(`reconcile: uid ${uid}: ${(e as Error).message}, ignoring`, { uid });
      errors.push({ uid, error: (e as Error).message });
    }
  });
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
  return { backend: deps.cgroups.backend, slices: uids.length, managed: managed.length, changed, quotas, reverted, released, errors, durationMs: deps.clock.now().getTime() - started };
}
