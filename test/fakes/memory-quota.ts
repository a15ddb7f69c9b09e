// An in-memory QuotaBackend for unit tests (quota-tools cannot run on this kernel); it passes the QuotaBackend contract like btrfs does.

import { DiycloudError } from '../../src/core/errors';
import type { DiskSettings } from '../../src/core/enforcement-plan';
import type { DiskUsage, QuotaBackend, QuotaOwner, QuotaPathStatus, QuotaState } from '../../src/core/ports';
import type { QuotaEntry, QuotaEntryFailure } from '../../src/core/enforcement-ports';

export class MemoryQuota implements QuotaBackend {
  readonly backend = 'memory';
  readonly softLimits = true;
  state: QuotaState = 'enforced';
  /** Limits and usage by uid. */
  readonly users = new Map<number, { softBytes: number; hardBytes: number; usedBytes: number }>();
  /** "apply UID HARD" and "remove UID", in order. */
  readonly ops: string[] = [];
  failApply = false;
  /** UIDs whose entry the next applies refuse (a quotactl failure for that user only). */
  readonly failUids = new Set<number>();
  /** The size of each applyMany call, in order. */
  readonly batches: number[] = [];
  readonly needsHome = false;
  /** How many bulk usage reads were made. */
  usageReads = 0;

  constructor(readonly path: string) {}

  async status(): Promise<QuotaPathStatus> {
    const on = this.state === 'enforced';
    return { path: this.path, mountPoint: this.path, fsType: 'memory', backend: this.backend, state: this.state, reason: on ? null : 'quotas are off', fix: on ? null : 'turn them on' };
  }

  async apply(owner: QuotaOwner, s: DiskSettings): Promise<void> {
    if (this.state !== 'enforced') throw new DiycloudError('QuotaUnsupported', `${this.path}: disk quotas are off; turn them on`);
    if (this.failApply) throw new DiycloudError('BackendFailed', 'injected setquota failure');
    if (this.failUids.has(owner.uid)) throw new DiycloudError('BackendFailed', `injected setquota failure for uid ${owner.uid}`);
    const u = this.users.get(owner.uid) ?? { softBytes: 0, hardBytes: 0, usedBytes: 0 };
    this.users.set(owner.uid, { ...u, softBytes: s.diskSoftBytes, hardBytes: s.diskHardBytes });
    this.ops.push(`apply ${owner.uid} ${s.diskHardBytes}`);
  }

  async applyMany(entries: readonly QuotaEntry[]): Promise<QuotaEntryFailure[]> {
    this.batches.push(entries.length);
    const failures: QuotaEntryFailure[] = [];
    for (const { owner, settings } of entries) await this.apply(owner, settings).catch((e: unknown) => void failures.push({ uid: owner.uid, error: e as Error }));
    return failures;
  }

  async remove(owner: QuotaOwner): Promise<void> {
    const u = this.users.get(owner.uid);
    if (u) this.users.set(owner.uid, { ...u, softBytes: 0, hardBytes: 0 });
    this.ops.push(`remove ${owner.uid}`);
  }

  async usage(): Promise<Map<number, DiskUsage>> {
    this.usageReads++;
    return new Map([...this.users].map(([uid, u]) => [uid, { uid, ...u }]));
  }

  async wantsSubvolumeHome(): Promise<boolean> {
    return false;
  }

  /** A user writes: usage grows (the fake never refuses a write; the kernel would past hardBytes). */
  use(uid: number, bytes: number): void {
    const u = this.users.get(uid) ?? { softBytes: 0, hardBytes: 0, usedBytes: 0 };
    this.users.set(uid, { ...u, usedBytes: u.usedBytes + bytes });
  }
}
