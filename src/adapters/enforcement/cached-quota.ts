// A QuotaBackend that remembers its probe and its bulk usage read for a moment, so that logins, lists and reconciles share them.

import type { DiskSettings } from '../../core/enforcement-plan';
import type { QuotaEntry, QuotaEntryFailure } from '../../core/enforcement-ports';
import type { DiskUsage, QuotaBackend, QuotaOwner, QuotaPathStatus } from '../../core/ports';

/** How long answers are kept: the probe (a remount is rare), and usage (a list must not start one repquota per call). */
export const QUOTA_CACHE_MS = { status: 30_000, usage: 2_000 } as const;

/**
 * Concurrent callers share one probe and one usage read in flight. A failed read is not kept.
 * apply, applyMany and remove pass through and drop the usage answer (it no longer shows the limits).
 */
export class CachedQuota implements QuotaBackend {
  private status_: { at: number; p: Promise<QuotaPathStatus> } | null = null;
  private usage_: { at: number; p: Promise<Map<number, DiskUsage>> } | null = null;
  /** usage_'s answer once it has arrived. */
  private settled: Map<number, DiskUsage> | null = null;
  /** Present when the inner backend has it: callers fall back to apply() one by one otherwise. */
  readonly applyMany?: (entries: readonly QuotaEntry[]) => Promise<QuotaEntryFailure[]>;

  constructor(private readonly inner: QuotaBackend, private readonly nowMs: () => number = () => Date.now(), private readonly ttl = QUOTA_CACHE_MS) {
    const many = inner.applyMany?.bind(inner);
    if (many) {
      this.applyMany = async (entries) => {
        this.usage_ = null;
        this.settled = null;
        return many(entries);
      };
    }
  }

  get path(): string {
    return this.inner.path;
  }
  get backend(): string {
    return this.inner.backend;
  }
  get softLimits(): boolean {
    return this.inner.softLimits;
  }
  get needsHome(): boolean {
    return this.inner.needsHome ?? true;
  }

  status(): Promise<QuotaPathStatus> {
    this.status_ = this.fresh(this.status_, this.ttl.status, () => this.inner.status(), () => (this.status_ = null));
    return this.status_.p;
  }

  usage(): Promise<Map<number, DiskUsage>> {
    const before = this.usage_;
    this.usage_ = this.fresh(this.usage_, this.ttl.usage, () => this.inner.usage(), () => (this.usage_ = null));
    if (this.usage_ !== before) {
      const entry = this.usage_;
      this.settled = null;
      entry.p.then((m) => void (this.usage_ === entry && (this.settled = m)), () => undefined);
    }
    return this.usage_.p;
  }

  /** The last usage read while it is fresh, without starting one (null: stale, failed or still in flight): for the login line. */
  cachedUsage(): ReadonlyMap<number, DiskUsage> | null {
    return this.usage_ && this.nowMs() - this.usage_.at < this.ttl.usage ? this.settled : null;
  }

  async apply(owner: QuotaOwner, settings: DiskSettings): Promise<void> {
    this.usage_ = null;
    this.settled = null;
    await this.inner.apply(owner, settings);
  }

  async remove(owner: QuotaOwner): Promise<void> {
    this.usage_ = null;
    this.settled = null;
    await this.inner.remove(owner);
  }

  wantsSubvolumeHome(home: string): Promise<boolean> {
    return this.inner.wantsSubvolumeHome(home);
  }

  private fresh<T>(entry: { at: number; p: Promise<T> } | null, ttlMs: number, read: () => Promise<T>, drop: () => void): { at: number; p: Promise<T> } {
    const now = this.nowMs();
    if (entry && now - entry.at < ttlMs) return entry;
    const p = read();
    p.catch(drop);
    return { at: now, p };
  }
}
