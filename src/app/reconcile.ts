// Use case: re-apply every allocation to every user slice that exists now, and undo stale limits.

import { isManagedUid } from '../core/login-policy';
import { UNLIMITED, type SliceLimits } from '../core/limits-plan';
import type { AppDeps } from './deps';
import { enforceAllocation } from './enforce-allocation';
import { forEachLimited } from './for-each-limited';

export interface ReconcileReport {
  readonly backend: string;
  readonly slices: number;
  readonly managed: number;
  readonly changed: { uid: number; user: string | null; properties: string[] }[];
  readonly reverted: number[];
  readonly errors: { uid: number; error: string }[];
  readonly durationMs: number;
}

/** What lifting diycloud's limits means (TasksMax is left to systemd's default, see SliceLimits). */
export const NO_LIMITS: SliceLimits = { CPUQuotaPerSecUSec: UNLIMITED, MemoryMax: UNLIMITED, MemoryHigh: UNLIMITED };

/** How many slices are worked on at once: enough to hide bus latency, few enough to stay fair to logins. */
const CONCURRENCY = 16;

/**
 * 1. Every user slice in the managed range gets its effective allocation (only differing
 *    properties are sent).
 * 2. Every UID diycloud once limited that is no longer managed (the range changed) gets its
 *    limits lifted, so no stale limit outlives its reason.
 * One slice's failure is reported and does not stop the others.
 */
export async function reconcile(deps: AppDeps): Promise<ReconcileReport> {
  const started = Date.now();
  const uids = await deps.slices.listUserSlices();
  const managed = uids.filter((u) => isManagedUid(u, deps.config));
  const changed: ReconcileReport['changed'] = [];
  const errors: ReconcileReport['errors'] = [];
  await forEachLimited(managed, CONCURRENCY, async (uid) => {
    try {
      const r = await enforceAllocation(deps, uid);
      if (r.changed.length) changed.push({ uid, user: deps.store.userByUid(uid)?.username ?? null, properties: r.changed });
    } catch (e) {
      deps.log.warn(`reconcile: uid ${uid}: ${(e as Error).message}, ignoring`, { uid });
      errors.push({ uid, error: (e as Error).message });
    }
  });
  const live = new Set(uids);
  const reverted: number[] = [];
  for (const uid of deps.store.uidsWithAppliedLimits()) {
    if (isManagedUid(uid, deps.config)) continue;
    try {
      if (live.has(uid)) await deps.slices.apply(uid, NO_LIMITS);
      deps.store.forgetAppliedLimits(uid);
      reverted.push(uid);
    } catch (e) {
      errors.push({ uid, error: (e as Error).message });
    }
  }
  changed.sort((a, b) => a.uid - b.uid);
  return { backend: deps.slices.backend, slices: uids.length, managed: managed.length, changed, reverted, errors, durationMs: Date.now() - started };
}
