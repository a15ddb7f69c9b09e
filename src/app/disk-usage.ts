// Disk usage beside the limit, read in bulk: one read per quota path for any number of users.

import type { Allocation } from '../core/allocation';
import type { DiskUsage, QuotaState } from '../core/ports';
import type { AppDeps } from './deps';

/** One quota path's view for a user: the filesystem's state, and usage beside the limit (bytes; null where unknown). */
export interface DiskView {
  path: string;
  state: QuotaState;
  usedBytes: number | null;
  softBytes: number | null;
  hardBytes: number | null;
  overQuota: boolean;
}

/** Every quota path's state and usage, one bulk read each (never one process per user). */
export interface DiskUsageTable {
  readonly paths: { path: string; state: QuotaState; softLimits: boolean; usage: Map<number, DiskUsage> | null }[];
}

export async function readDiskUsage(deps: AppDeps): Promise<DiskUsageTable> {
  const paths = await Promise.all(
    deps.quotas.map(async (q) => {
      const state = (await q.status().catch(() => null))?.state ?? 'off';
      const usage = state === 'off' ? null : await q.usage().catch((e: unknown) => {
        deps.log.warn(`disk usage of ${q.path} unreadable: ${(e as Error).message}`);
        return null;
      });
      return { path: q.path, state, softLimits: q.softLimits, usage };
    }),
  );
  return { paths };
}

/** A user's rows of the usage table, beside the limit their allocation sets. */
export function diskUsageOf(t: DiskUsageTable, uid: number, a: Allocation): DiskView[] {
  return t.paths.map((p) => {
    const u = p.usage?.get(uid) ?? null;
    const used = u?.usedBytes ?? (p.usage ? 0 : null);
    const hard = u ? u.hardBytes : null;
    return { path: p.path, state: p.state, usedBytes: used, softBytes: u ? u.softBytes : null, hardBytes: hard, overQuota: used !== null && a.diskQuotaBytes > 0 && used > a.diskQuotaBytes };
  });
}
