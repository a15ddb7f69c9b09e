// Use case: catch user cgroups that appear without a PAM session the daemon saw (cron, linger, systemd-run).

import { isManagedUid } from '../core/login-policy';
import type { AppDeps } from './deps';
import { enforceAllocation } from './enforce-allocation';

/** Subscribes to the cgroup backend; each new managed user cgroup gets its allocation (best effort). */
export async function watchCgroups(deps: AppDeps): Promise<void> {
  await deps.cgroups.watch((uid) => {
    if (!isManagedUid(uid, deps.config)) return;
    enforceAllocation(deps, uid, { purpose: 'reconcile' }).then(
      (r) => r.changed.length && deps.log.info(`uid ${uid}: new cgroup got its allocation (${r.changed.join(', ')})`, { uid }),
      (e: unknown) => deps.log.warn(`uid ${uid}: could not apply the allocation to a new cgroup: ${(e as Error).message}, ignoring`, { uid }),
    );
  });
}
