// An in-memory SliceManager for unit tests; it passes the SliceManager port contract like the systemd adapter.

import type { SliceLimits, U64 } from '../../src/core/limits-plan';
import type { SliceManager, SliceState } from '../../src/core/ports';

export class MemorySliceManager implements SliceManager {
  readonly backend = 'memory';
  readonly slices = new Map<number, { limits: Partial<Record<keyof SliceLimits, U64>>; memoryCurrentBytes: number | null }>();
  readonly applied: { uid: number; limits: SliceLimits }[] = [];
  private listener: ((uid: number) => void) | null = null;
  failApply = false;

  /** A slice appearing outside the login path (linger, cron). */
  addSlice(uid: number, memoryCurrentBytes: number | null = null): void {
    this.slices.set(uid, { limits: {}, memoryCurrentBytes });
    this.listener?.(uid);
  }

  async listUserSlices(): Promise<number[]> {
    return [...this.slices.keys()].sort((a, b) => a - b);
  }

  async observe(uid: number): Promise<SliceState | null> {
    const s = this.slices.get(uid);
    if (!s) return null;
    return { limits: { ...s.limits }, memoryCurrentBytes: s.memoryCurrentBytes, memoryMaxBytes: s.limits.MemoryMax ?? null };
  }

  async apply(uid: number, limits: SliceLimits): Promise<void> {
    if (this.failApply) throw new Error('injected apply failure');
    const s = this.slices.get(uid) ?? { limits: {}, memoryCurrentBytes: null };
    Object.assign(s.limits, limits);
    this.slices.set(uid, s);
    this.applied.push({ uid, limits });
  }

  async watch(onSlice: (uid: number) => void): Promise<void> {
    this.listener = onSlice;
  }
}
