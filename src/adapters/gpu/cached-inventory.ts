// The GPU inventory for the login path: read again only when /dev, /dev/dri, /dev/nvidia-caps or /etc/group changed, or it is older than maxAgeMs.

import { statSync } from 'node:fs';
import type { GpuInventory } from '../../core/gpu';

/** What the stamp covers: a GPU node appearing or going changes its directory's mtime; a group renamed changes /etc/group. */
export const GPU_STAMP_PATHS = ['/dev', '/dev/dri', '/dev/nvidia-caps', '/etc/group'] as const;

/**
 * mtime and inode of each path ("-" where it does not exist): one stat per path, no directory
 * listing. A missing path (/dev/dri and /dev/nvidia-caps on most hosts) is not an exception: a
 * thrown ENOENT with its stack trace was two thirds of this function's cost at every login.
 */
export function statStamp(paths: readonly string[] = GPU_STAMP_PATHS): string {
  return paths.map((p) => {
    try {
      const s = statSync(p, { bigint: true, throwIfNoEntry: false });
      return s ? `${s.mtimeNs}:${s.ino}` : '-';
    } catch {
      return '-'; // EACCES, ENOTDIR: as good as absent for the stamp
    }
  }).join(',');
}

/**
 * Discovery lists /dev, stats every GPU node, reads /etc/group, /proc/driver/nvidia and /sys/class/drm:
 * a fifth of the daemon's CPU per OpenSession when it ran at every login (profiled here). current()
 * answers from the last read while the stamp is unchanged and the read is younger than maxAgeMs; a
 * node added or removed (a driver loaded, a MIG instance made) changes the stamp, so the next login
 * reads again. What the stamp does not see (a node's mode or group changed in place) is picked up
 * within maxAgeMs, and by every fresh() read: Reconcile, SetLimits' checks, the Gpus property.
 */
export class CachedGpuInventory {
  private last: { stamp: string; atMs: number; inventory: GpuInventory } | null = null;

  constructor(
    private readonly read: () => GpuInventory,
    private readonly nowMs: () => number,
    private readonly stamp: () => string = statStamp,
    private readonly maxAgeMs = 30_000,
  ) {}

  /** Reads the inventory now, and keeps it for current(). */
  fresh(): GpuInventory {
    const stamp = this.stamp(); // before the read: a change during it makes the next stamp differ
    const inventory = this.read();
    this.last = { stamp, atMs: this.nowMs(), inventory };
    return inventory;
  }

  /** The last read while nothing it covers changed and it is recent; otherwise a fresh read. */
  current(): GpuInventory {
    const l = this.last;
    const age = l ? this.nowMs() - l.atMs : Infinity;
    if (l && age >= 0 && age < this.maxAgeMs && l.stamp === this.stamp()) return l.inventory;
    return this.fresh();
  }
}
