// Use case: make one user's slice carry their effective allocation (the heart of every path).

import { checkAllocation, type Allocation } from '../core/allocation';
import { resolveAllocation, type EffectiveAllocation } from '../core/effective-allocation';
import type { RawOverrides, UserRecord } from '../core/ports';
import { isManagedUid } from '../core/login-policy';
import { diffLimits, planLimits, type SliceLimits } from '../core/limits-plan';
import type { AppDeps } from './deps';

export interface EnforceResult {
  readonly uid: number;
  readonly limits: SliceLimits;
  /** Properties that differed from what the slice carried and were set. */
  readonly changed: (keyof SliceLimits)[];
  /** False while a memory ratchet is still lowering MemoryMax. */
  readonly done: boolean;
}

/** The allocation to enforce for a UID: its database overrides over the default, held to the bounds. */
export function effectiveAllocationFor(deps: AppDeps, uid: number): Allocation {
  const record = deps.store.userByUid(uid);
  return allocationFor(deps, uid, record, record ? deps.admin.role(record.role)?.profile ?? null : null).allocation;
}

/** The effective allocation (with sources) of a record and its role's profile, held to the bounds. */
export function allocationFor(deps: AppDeps, uid: number, record: UserRecord | null, roleProfile: RawOverrides | null): { allocation: Allocation; eff: EffectiveAllocation } {
  const eff = resolveAllocation(record?.overrides ?? null, deps.config.defaults, roleProfile);
  return { allocation: held(deps, uid, eff), eff };
}

function held(deps: AppDeps, uid: number, eff: EffectiveAllocation): Allocation {
  for (const p of eff.problems) deps.log.error(`uid ${uid}: ${p}`, { uid });
  try {
    const checked = checkAllocation(eff.allocation, deps.bounds);
    for (const w of checked.warnings) deps.log.warn(`uid ${uid}: ${w}`, { uid });
    return checked.allocation;
  } catch (e) {
    // A stored value below the floor (hand-edited database): enforce the default instead of nothing.
    deps.log.error(`uid ${uid}: ${(e as Error).message}; enforcing the default allocation`, { uid });
    return checkAllocation(deps.config.defaults, deps.bounds).allocation;
  }
}

/**
 * Applies the plan for `uid`, serialized with every other operation on that UID. Nothing is sent
 * when the slice already carries the plan; otherwise the whole set goes in one SetUnitProperties
 * call (and `changed` names the properties that differed). When memory must come down below
 * current usage, a ratchet step is scheduled (see planLimits).
 */
export function enforceAllocation(deps: AppDeps, uid: number): Promise<EnforceResult> {
  return deps.queue.run(uid, async () => {
    const allocation = effectiveAllocationFor(deps, uid);
    const state = await deps.slices.observe(uid);
    const step = planLimits(allocation, state ?? { memoryCurrentBytes: null, memoryMaxBytes: null });
    const changed = diffLimits(state?.limits ?? null, step.limits);
    if (changed.length > 0) await deps.slices.apply(uid, step.limits);
    // Best effort: the slice carries the limits now; the record only helps lift stale limits later.
    try {
      deps.store.setAppliedLimits(uid, step.limits, deps.clock.now().toISOString());
    } catch (e) {
      deps.log.warn(`uid ${uid}: could not record the applied limits: ${(e as Error).message}, ignoring`, { uid });
    }
    scheduleRatchet(deps, uid, step.done);
    return { uid, limits: step.limits, changed, done: step.done };
  });
}

function scheduleRatchet(deps: AppDeps, uid: number, done: boolean): void {
  deps.ratchets.get(uid)?.cancel();
  deps.ratchets.delete(uid);
  if (done) return;
  const timer = deps.scheduler.after(deps.config.ratchetIntervalMs, () => {
    deps.ratchets.delete(uid);
    if (!isManagedUid(uid, deps.config)) return;
    enforceAllocation(deps, uid).catch((e: unknown) =>
      deps.log.warn(`uid ${uid}: memory ratchet step failed: ${(e as Error).message}, ignoring`, { uid }),
    );
  });
  deps.ratchets.set(uid, timer);
}
