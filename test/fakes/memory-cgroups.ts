// An in-memory SliceManager for unit tests; it passes the SliceManager port contract like the systemd adapter.

import { existsSync } from 'node:fs';
import { DiycloudError } from '../../src/core/errors';
import type { SliceLimits, U64 } from '../../src/core/limits-plan';
import type { SliceManager, SliceState } from '../../src/core/ports';

export class MemorySliceManager implements SliceManager {
  readonly backend = 'memory';
  readonly slices = new Map<number, { limits: Partial<Record<keyof SliceLimits, U64>>; memoryCurrentBytes: number | null }>();
  readonly applied: { uid: number; limits: SliceLimits }[] = [];
  /** Every placeProcess that succeeded, in order. */
  readonly placements: { uid: number; pid: number }[] = [];
  /** Placements and applies in the order they happened ("place UID PID", "apply UID"). */
  readonly ops: string[] = [];
  private listener: ((uid: number) => void) | null = null;
  failApply = false;
  failPlace = false;
  /** Whether a PID names a live process (unit tests with made-up PIDs replace it). */
  isLive = (pid: number): boolean => Number.isInteger(pid) && pid > 0 && existsSync(`/proc/${pid}`);

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
    this.ops.push(`apply ${uid}`);
  }

  /** Like systemd: the slice exists afterwards, and a PID that is not a live process is refused. */
  async placeProcess(uid: number, pid: number): Promise<'placed'> {
    if (this.failPlace) throw new DiycloudError('BackendFailed', 'injected placement failure');
    if (!this.isLive(pid)) throw new DiycloudError('BackendFailed', `process ${pid} does not exist`);
    if (!this.slices.has(uid)) this.addSlice(uid);
    this.placements.push({ uid, pid });
    this.ops.push(`place ${uid} ${pid}`);
    return 'placed';
  }

  /** The UID whose slice holds `pid` by the last placement, or null. */
  sliceOf(pid: number): number | null {
    return this.placements.filter((p) => p.pid === pid).pop()?.uid ?? null;
  }

  async watch(onSlice: (uid: number) => void): Promise<void> {
    this.listener = onSlice;
  }
}
