// QuotaBackend "none": a quota path whose filesystem cannot hold per-user quotas (tmpfs, overlay, NFS …); disk allocations are recorded only.

import type { QuotaEntry, QuotaEntryFailure } from '../../core/enforcement-ports';
import type { DiskUsage, QuotaBackend, QuotaPathStatus } from '../../core/ports';
import { probeInUse, quotaUnsupported } from './probe';
import type { QuotaDeps } from './quota-deps';

/** status() probes again (the reason names the filesystem type); apply() and applyMany() refuse with the fix; remove() and usage() have nothing to do. */
export class NoQuotaBackend implements QuotaBackend {
  readonly backend = 'none';
  readonly softLimits = false;
  readonly needsHome = false;

  constructor(readonly path: string, private readonly deps: QuotaDeps) {}

  status(): Promise<QuotaPathStatus> {
    return probeInUse(this.path, this.backend, this.deps);
  }

  async apply(): Promise<void> {
    throw quotaUnsupported(await this.status());
  }

  async applyMany(entries: readonly QuotaEntry[]): Promise<QuotaEntryFailure[]> {
    if (entries.length === 0) return [];
    const e = quotaUnsupported(await this.status());
    return entries.map((x) => ({ uid: x.owner.uid, error: e }));
  }

  async remove(): Promise<void> {
    // No quota was ever set here.
  }

  async usage(): Promise<Map<number, DiskUsage>> {
    return new Map();
  }

  async wantsSubvolumeHome(): Promise<boolean> {
    return false;
  }
}
