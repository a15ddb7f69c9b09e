// Use case: catch user slices that appear without a PAM session the daemon saw (cron, linger, systemd-run).

import { isManagedUid } from '../core/login-policy';
import type { AppDeps } from './deps';
import { enforceAllocation } from './enforce-allocation';

/** Subscribes to the slice backend; each new managed user slice gets its allocation (best effort). */
export async function watchSlices(deps: AppDeps): Promise<void> {
  await deps.slices.watch((uid) => {
    if (!isManagedUid(uid, deps.config)) return;
    enforceAllocation(deps, uid).then(
      (r) => r.changed.length && deps.log.info(`uid ${uid}: new slice got its allocation (${r.changed.join(', ')})`, { uid }),
      (e: unknown) => deps.log.warn(`uid ${uid}: could not apply the allocation to a new slice: ${(e as Error).message}, ignoring`, { uid }),
    );
  });
}
