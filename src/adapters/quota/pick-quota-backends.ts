// Chooses one QuotaBackend per configured quota path by the filesystem's type, the way Cockpit picks its package manager.

import { DiycloudError } from '../../core/errors';
import type { QuotaBackend } from '../../core/ports';
import { BtrfsQgroupBackend } from './btrfs-qgroups';
import { NoQuotaBackend } from './no-quota';
import { backendFor, locateQuotaPath } from './probe';
import type { QuotaDeps } from './quota-deps';
import { QuotaToolsBackend } from './quota-tools';

/**
 * ext2/3/4 and xfs: quota-tools; btrfs: qgroups; anything else: none. The choice is by type only:
 * whether quotas are on is each backend's status(), probed again on every call, so turning them on
 * later needs no restart. Throws InvalidArgument (a config error, at start) when a path does not
 * exist, is not a mount point, or names the same filesystem as another path.
 */
export async function pickQuotaBackends(paths: readonly string[], deps: QuotaDeps): Promise<QuotaBackend[]> {
  const out: QuotaBackend[] = [];
  const seen = new Map<string, string>();
  for (const path of paths) {
    const m = await locateQuotaPath(path, deps);
    const other = seen.get(m.mountPoint);
    if (other !== undefined) throw new DiycloudError('InvalidArgument', `[Quota] Paths: ${path} and ${other} are the same mount (${m.mountPoint}); name it once`, { field: 'Quota.Paths' });
    seen.set(m.mountPoint, path);
    const kind = backendFor(m.fsType);
    out.push(kind === 'quota-tools' ? new QuotaToolsBackend(path, m.mountPoint, deps) : kind === 'btrfs' ? new BtrfsQgroupBackend(path, m.mountPoint, deps) : new NoQuotaBackend(path, deps));
  }
  return out;
}

/**
 * Sets the soft-limit grace period on every quota-tools path (btrfs and none have no grace).
 * Returns the failures instead of throwing: a path whose quotas are off cannot take one yet, and
 * that must not stop the daemon (the lead logs them with ", ignoring").
 */
export async function setGracePeriods(backends: readonly QuotaBackend[], graceSec: number): Promise<{ path: string; error: string }[]> {
  const failures: { path: string; error: string }[] = [];
  for (const b of backends) {
    if (!(b instanceof QuotaToolsBackend)) continue;
    try {
      const s = await b.status();
      if (s.state === 'off') {
        failures.push({ path: b.path, error: `quotas are off${s.reason ? ` (${s.reason})` : ''}` });
        continue;
      }
      await b.setGrace(graceSec);
    } catch (e) {
      const cause = (e as Error).cause;
      failures.push({ path: b.path, error: `${(e as Error).message}${cause instanceof Error ? `: ${cause.message}` : ''}` });
    }
  }
  return failures;
}
