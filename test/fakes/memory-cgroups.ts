// An in-memory CgroupLimits for unit tests; it passes the CgroupLimits port contract like the real adapters.

import { existsSync } from 'node:fs';
import { DiycloudError } from '../../src/core/errors';
import type { CgroupSettings, U64 } from '../../src/core/enforcement-plan';
import type { CgroupLimits, CgroupState } from '../../src/core/ports';

export class MemoryCgroups implements CgroupLimits {
  readonly backend = 'memory';
  readonly slices = new Map<number, { settings: Partial<Record<keyof CgroupSettings, U64>>; memoryCurrentBytes: number | null }>();
  readonly applied: { uid: number; settings: CgroupSettings }[] = [];
  /** UIDs whose cgroup release() removed. */
  readonly released: number[] = [];
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
    this.slices.set(uid, { settings: {}, memoryCurrentBytes });
    this.listener?.(uid);
  }

  async listUsers(): Promise<number[]> {
    return [...this.slices.keys()].sort((a, b) => a - b);
  }

  async observe(uid: number): Promise<CgroupState | null> {
    const s = this.slices.get(uid);
    if (!s) return null;
    return { settings: { ...s.settings }, memoryCurrentBytes: s.memoryCurrentBytes, memoryMaxBytes: s.settings.memoryMaxBytes ?? null };
  }

  async apply(uid: number, settings: CgroupSettings): Promise<void> {
    if (this.failApply) throw new Error('injected apply failure');
    const s = this.slices.get(uid) ?? { settings: {}, memoryCurrentBytes: null };
    Object.assign(s.settings, settings);
    this.slices.set(uid, s);
    this.applied.push({ uid, settings });
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

  async watch(onUser: (uid: number) => void): Promise<void> {
    this.listener = onUser;
  }

  /** UIDs whose cgroup holds no process any more (a cgroup from addSlice or a placement holds some). */
  readonly emptied = new Set<number>();

  /** Like cgroupfs: a cgroup is removed only once no process is left in it. */
  async release(uid: number): Promise<boolean> {
    if (!this.emptied.has(uid) || !this.slices.delete(uid)) return false;
    this.emptied.delete(uid);
    this.released.push(uid);
    return true;
  }
}
