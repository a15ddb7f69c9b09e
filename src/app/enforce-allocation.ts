// Use case: make one user's cgroup and disk quotas carry their decided allocation (the heart of every path).

import type { Allocation } from '../core/allocation';
import { decideAllocation, type AllocationDecision } from '../core/allocation-decision';
import { diffCgroup, planEnforcement, type CgroupSettings, type Purpose } from '../core/enforcement-plan';
import { DiycloudError } from '../core/errors';
import { isManagedUid } from '../core/login-policy';
import type { CgroupState, RawOverrides, UserRecord } from '../core/ports';
import type { AppDeps } from './deps';
import { enforceDisk, type DiskOutcome } from './enforce-disk';
import { enforceGpu, type GpuOutcome, type GpuRevokeMode } from './enforce-gpu';
import { syncGpuGroupsOf } from './sync-groups';

export interface EnforceResult {
  readonly uid: number;
  /** The allocation enforced, and the cgroup as observed before (null: none, or the cgroup step did not run): the login line's data. */
  readonly allocation: Allocation;
  readonly state: CgroupState | null;
  readonly settings: CgroupSettings;
  /** Settings that differed from what the cgroup carried and were set. */
  readonly changed: (keyof CgroupSettings)[];
  /** False while a memory ratchet is still lowering the memory limit. */
  readonly done: boolean;
  /** One outcome per quota path. */
  readonly disk: readonly DiskOutcome[];
  /** The device policy's outcome; null when the cgroup step did not run. */
  readonly gpu: GpuOutcome | null;
}

/** The decision for a UID from its record and role profile (core/allocation-decision.ts), with its problems logged. */
export function decisionFor(deps: AppDeps, uid: number, record: UserRecord | null, roleProfile: RawOverrides | null): AllocationDecision {
  const d = decideAllocation({ user: record?.overrides ?? null, role: roleProfile, defaults: deps.config.defaults, bounds: deps.bounds });
  for (const p of d.problems) deps.log.error(`uid ${uid}: ${p}`, { uid });
  for (const w of d.warnings) deps.log.warn(`uid ${uid}: ${w}`, { uid });
  if (d.fellBack) deps.log.error(`uid ${uid}: ${d.fellBack}`, { uid });
  return d;
}

/** The allocation to enforce for a UID now (its database record, if any, and its role's profile). */
export function allocationOf(deps: AppDeps, uid: number): { allocation: Allocation; record: UserRecord | null } {
  const record = deps.store.userByUid(uid);
  const profile = record ? deps.admin.role(record.role)?.profile ?? null : null;
  return { allocation: decisionFor(deps, uid, record, profile).allocation, record };
}

export interface EnforceOptions {
  /** Why: decides which steps are fatal (core/enforcement-plan.ts Purpose). */
  readonly purpose: Purpose;
  /** Whether the cgroup step runs (false when the user has no cgroup now: nothing to limit yet). Default true. */
  readonly cgroup?: boolean;
  /** Whether applied quotas are checked against usage for the reply's warnings (an admin's change; not logins or reconcile). */
  readonly warnings?: boolean;
  /** An admin's change: what to do with the user's processes that hold GPUs no longer granted (enforce-gpu.ts). Unset: not looked for. */
  readonly gpuRevoke?: GpuRevokeMode;
}

/**
 * Applies the plan for `uid`, serialized with every other operation on that UID:
 *  - the cgroup step: nothing is sent when the cgroup already carries it; otherwise the whole set
 *    in one call (`changed` names what differed). When memory must come down below current usage,
 *    a ratchet step is scheduled;
 *  - the disk steps (enforce-disk.ts), fatal only for an admin's change of the disk allocation.
 * What was applied is recorded per resource, best effort: the kernel holds the limits already.
 */
export function enforceAllocation(deps: AppDeps, uid: number, opts: EnforceOptions = { purpose: 'login' }): Promise<EnforceResult> {
  return deps.queue.run(uid, async () => {
    const { allocation, record } = allocationOf(deps, uid);
    const withCgroup = opts.cgroup ?? true;
    const state = withCgroup ? await deps.cgroups.observe(uid) : null;
    const plan = planEnforcement(allocation, state, { paths: deps.quotas.map((q) => q.path), softShare: deps.config.quota.softShare }, opts.purpose);
    let changed: (keyof CgroupSettings)[] = [];
    if (withCgroup) {
      changed = diffCgroup(state?.settings ?? null, plan.cgroup.settings);
      if (changed.length > 0) await deps.cgroups.apply(uid, plan.cgroup.settings);
      recordBestEffort(deps, uid, () => deps.store.setApplied(uid, { resource: 'cgroup', settings: plan.cgroup.settings }, deps.clock.now().toISOString()));
      scheduleRatchet(deps, uid, plan.cgroup.done);
    }
    // The device policy goes on the same user cgroup, every time (systemd resolves char-NAME and node paths as it applies them).
    const gpu = withCgroup ? await enforceGpuStep(deps, uid, allocation, opts) : null;
    const disk = await enforceDisk(deps, uid, record?.username ?? null, plan.disk, opts.purpose, opts.warnings ?? false);
    return { uid, allocation, state, settings: plan.cgroup.settings, changed, done: plan.cgroup.done, disk, gpu };
  });
}

/**
 * At a login whose grant restricts GPUs (not "all"), a failed device policy is BackendFailed, like
 * the cgroup step: a new slice without it would leave 0666 nodes open to the user, so [Hook]
 * FailureMode decides (closed refuses the session; open lets it in with the error in the journal).
 * Elsewhere (admin changes, Reconcile, a grant of all GPUs) it is best effort: logged as an error and
 * the reply's warning; the policy in force stays (systemd keeps its drop-in, cgroupfs its
 * devices.list), and the next login or Reconcile tries again.
 */
async function enforceGpuStep(deps: AppDeps, uid: number, allocation: Allocation, opts: EnforceOptions): Promise<GpuOutcome> {
  try {
    return await enforceGpu(deps, uid, allocation.gpus, opts.gpuRevoke, opts.purpose === 'login');
  } catch (e) {
    const warning = `uid ${uid}: the GPU device policy was not applied: ${(e as Error).message}`;
    if (opts.purpose === 'login' && allocation.gpus.kind !== 'all') throw new DiycloudError('BackendFailed', warning, { cause: e });
    deps.log.error(`${warning}, ignoring`, { uid });
    return { applied: false, indices: [], holders: [], killed: [], unreadable: 0, warning };
  }
}

function recordBestEffort(deps: AppDeps, uid: number, write: () => void): void {
  try {
    write();
  } catch (e) {
    deps.log.warn(`uid ${uid}: could not record the applied limits: ${(e as Error).message}, ignoring`, { uid });
  }
}

/**
 * After an admin's change to one user: their cgroup gets the new allocation when it exists (a user
 * who is not logged in gets it at the next login), and their disk quotas in any case; the change is
 * announced. Returns the warnings for the reply (e.g. "alice is over quota on /home").
 */
export async function enforceAfterChange(deps: AppDeps, r: UserRecord, diskChanged: boolean, gpuRevoke: GpuRevokeMode = 'report'): Promise<string[]> {
  const live = isManagedUid(r.uid, deps.config) && (await deps.cgroups.observe(r.uid)) !== null;
  const result = await enforceAllocation(deps, r.uid, { purpose: diskChanged ? 'change' : 'reconcile', cgroup: live, warnings: true, gpuRevoke });
  const groups = await syncGpuGroupsOf(deps, { name: r.username, uid: r.uid }, allocationOf(deps, r.uid).allocation.gpus);
  deps.events.emit('UserChanged', r.username, r.uid);
  return [...result.disk.flatMap((d) => (d.warning ? [d.warning] : [])), ...(result.gpu?.warning ? [result.gpu.warning] : []), ...(groups ? [groups] : [])];
}

/** Drops the UID's pending memory ratchet step, if any (a new plan replaces it; a deleted user needs none). */
export function cancelRatchet(deps: Pick<AppDeps, 'ratchets'>, uid: number): void {
  deps.ratchets.get(uid)?.cancel();
  deps.ratchets.delete(uid);
}

function scheduleRatchet(deps: AppDeps, uid: number, done: boolean): void {
  cancelRatchet(deps, uid);
  if (done) return;
  const timer = deps.scheduler.after(deps.config.ratchetIntervalMs, () => {
    deps.ratchets.delete(uid);
    if (!isManagedUid(uid, deps.config)) return;
    enforceAllocation(deps, uid, { purpose: 'reconcile' }).catch((e: unknown) =>
      deps.log.warn(`uid ${uid}: memory ratchet step failed: ${(e as Error).message}, ignoring`, { uid }),
    );
  });
  deps.ratchets.set(uid, timer);
}
