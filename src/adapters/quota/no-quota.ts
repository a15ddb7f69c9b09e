// QuotaBackend "none": a quota path whose filesystem cannot hold per-user quotas (tmpfs, overlay, NFS …); disk allocations are recorded only.

import type { DiskUsage, QuotaBackend, QuotaPathStatus } from '../../core/ports';
import { probeInUse, quotaUnsupported } from './probe';
import type { QuotaDeps } from './quota-deps';

/** status() probes again (the reason names the filesystem type); apply() refuses with the fix; remove() and usage() have nothing to do. */
export class NoQuotaBackend implements QuotaBackend {
  readonly backend = 'none';
  readonly softLimits = false;

  constructor(readonly path: string, private readonly deps: QuotaDeps) {}

  status(): Promise<QuotaPathStatus> {
    return probeInUse(this.path, this.backend, this.deps);
  }

  async apply(): Promise<void> {
    throw quotaUnsupported(await this.status());
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
