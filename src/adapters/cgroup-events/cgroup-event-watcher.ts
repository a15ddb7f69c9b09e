// LimitWatcher on cgroupfs: inotify on v2 memory.events/pids.events, a poll on v1, cpu.stat at a slow, spread-out interval.

import { closeSync, openSync, readSync, readdirSync, watch, constants, type FSWatcher } from 'node:fs';
import type { LimitSample, LimitWatcher } from '../../core/event-ports';
import type { CounterSnapshot } from '../../core/limit-events';
import { errnoOf } from '../cgroupfs/cgroupfs-fs';
import { memoryCounters, keyedValue, throttledUsec, type CounterFile, type EventLayout } from './event-layout';
import { pidsEventsAreLocal, SubtreePidsEvents } from './subtree-pids';

export interface WatcherOptions {
  /** v1: how often every user's fast files are read. */
  readonly pollIntervalMs: number;
  /** How often each user's cpu.stat is read (spread over the interval: 1/N of the users per tick). */
  readonly sampleIntervalMs: number;
  /** How often the parent directories are listed for cgroups that appeared or vanished. */
  readonly rescanIntervalMs: number;
  readonly isManaged: (uid: number) => boolean;
  readonly nowMs?: () => number;
  /** Reports a cgroup dropped for an unexpected error (vanishing ones are dropped silently). */
  readonly onError?: (uid: number, e: Error) => void;
}

/** Errors meaning the cgroup (or the file) is gone: stop watching it. */
const GONE = new Set(['ENOENT', 'ENODEV', 'ESRCH', 'EBADF', 'ENOTDIR']);

interface Tracked {
  readonly fds: { memory: number | null; pids: number | null; cpu: number | null; pidsMax: number | null };
  readonly watchers: FSWatcher[];
  /** The fast files' last bytes (null: absent or not read yet): a poll that finds them unchanged reports nothing and allocates nothing. */
  lastMemory: Buffer | null;
  lastPids: Buffer | null;
  /** v1 polls pids.events only while pids.max is set (see checkPidsLimit). */
  pidsLimited: boolean;
  /** v2 kernels before 6.13: refused forks are summed over the subtree at the slow interval (subtree-pids.ts). */
  subtreePids: SubtreePidsEvents | null;
}

/**
 * Files are opened once per cgroup and re-read with pread at offset 0 (cgroup files are seq_files
 * that regenerate on a read from 0): a third of the CPU of open+read+close per reading. A
 * removed cgroup's open file answers ENODEV, which drops it; so does the rescan.
 */
export class CgroupEventWatcher implements LimitWatcher {
  private readonly users = new Map<number, Tracked>();
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly buf = Buffer.alloc(4096);
  private onSample: ((s: LimitSample) => void) | null = null;
  private cpuTick = 0;
  private readonly nowMs: () => number;

  constructor(private readonly layout: EventLayout, private readonly opts: WatcherOptions) {
    this.nowMs = opts.nowMs ?? (() => Date.now());
  }

  get mode(): string {
    return this.layout.version === 'v2' ? 'inotify (cgroup v2)' : `poll every ${this.opts.pollIntervalMs / 1000} s (cgroup v1)`;
  }

  /** UIDs watched now (for tests and the benchmark). */
  watched(): number[] {
    return [...this.users.keys()];
  }

  async start(onSample: (s: LimitSample) => void): Promise<void> {
    this.onSample = onSample;
    this.rescan(false);
    const every = (ms: number, fn: () => void) => {
      const t = setInterval(fn, ms);
      t.unref();
      this.timers.push(t);
    };
    every(this.opts.rescanIntervalMs, () => this.rescan(true));
    if (this.layout.version === 'v1') every(this.opts.pollIntervalMs, () => this.pollAll());
    // cpu.stat: one tick a second, each reading 1/N of the users, so every user is read once per interval.
    every(1000, () => this.sampleCpuSlice(Math.max(1, Math.round(this.opts.sampleIntervalMs / 1000))));
  }

  stop(): void {
    for (const t of this.timers.splice(0)) clearInterval(t);
    for (const uid of [...this.users.keys()]) this.drop(uid);
    this.onSample = null;
  }

  /** Lists the parents: tracks new managed user cgroups, drops those that vanished. */
  private rescan(fresh: boolean): void {
    const parent = (this.layout.memory ?? this.layout.cpu)?.parent;
    if (!parent) return;
    let names: string[];
    try {
      names = readdirSync(parent, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name);
    } catch (e) {
      if (GONE.has(errnoOf(e) ?? '')) names = []; // no user cgroup yet (diycloud/ is made at the first login)
      else throw e;
    }
    const present = new Set<number>();
    for (const n of names) {
      const uid = this.layout.uidOf(n);
      if (uid === null || !this.opts.isManaged(uid)) continue;
      present.add(uid);
      if (!this.users.has(uid)) this.track(uid, fresh);
    }
    for (const uid of [...this.users.keys()]) if (!present.has(uid)) this.drop(uid);
  }

  private path(f: CounterFile, uid: number): string {
    return `${f.parent}/${this.layout.name(uid)}/${f.file}`;
  }

  private track(uid: number, fresh: boolean): void {
    const open = (f: CounterFile | null): number | null => {
      if (!f) return null;
      try {
        return openSync(this.path(f, uid), constants.O_RDONLY | constants.O_NOFOLLOW);
      } catch (e) {
        if (GONE.has(errnoOf(e) ?? '')) return null;
        throw e;
      }
    };
    const pidsMax = this.layout.version === 'v1' && this.layout.pids ? open({ parent: this.layout.pids.parent, file: 'pids.max' }) : null;
    const userDir = this.layout.pids ? `${this.layout.pids.parent}/${this.layout.name(uid)}` : null;
    const subtreePids = this.layout.version === 'v2' && userDir !== null && pidsEventsAreLocal(userDir) ? new SubtreePidsEvents(userDir) : null;
    const t: Tracked = { fds: { memory: open(this.layout.memory), pids: subtreePids ? null : open(this.layout.pids), cpu: open(this.layout.cpu), pidsMax }, watchers: [], lastMemory: null, lastPids: null, pidsLimited: true, subtreePids };
    this.users.set(uid, t);
    if (this.layout.version === 'v2') {
      for (const f of [this.layout.memory, subtreePids ? null : this.layout.pids]) {
        if (!f) continue;
        try {
          const w = watch(this.path(f, uid), { persistent: false }, () => this.readFast(uid, false));
          w.on('error', () => this.drop(uid));
          t.watchers.push(w);
        } catch (e) {
          if (!GONE.has(errnoOf(e) ?? '')) this.opts.onError?.(uid, e as Error);
        }
      }
    }
    // The first reading: a baseline (or, for a cgroup that appeared since the start, news).
    if (this.readFast(uid, true, fresh)) this.readCpu(uid); // (readCpu also reads pids.max)
  }

  private drop(uid: number): void {
    const t = this.users.get(uid);
    if (!t) return;
    this.users.delete(uid);
    for (const w of t.watchers) w.close();
    for (const fd of Object.values(t.fds)) if (fd !== null) closeSync(fd);
  }

  /** pread from offset 0; null when the fd is absent; throws the errno error otherwise. */
  private readFd(fd: number | null): string | null {
    if (fd === null) return null;
    const n = readSync(fd, this.buf, 0, this.buf.length, 0);
    return this.buf.toString('latin1', 0, n);
  }

  /**
   * Reads memory and pids; reports a sample when they changed (or always when `force`). False when
   * the cgroup is gone. The bytes are compared in the shared buffer, so an unchanged cgroup (every
   * cgroup at almost every v1 poll) costs its preads and no allocation.
   */
  private readFast(uid: number, force: boolean, fresh = false): boolean {
    const t = this.users.get(uid);
    if (!t) return false;
    try {
      const memory = this.changed(t.fds.memory, t.lastMemory);
      if (memory !== undefined) t.lastMemory = memory;
      const pids = force || t.pidsLimited ? this.changed(t.fds.pids, t.lastPids) : undefined;
      if (pids !== undefined) t.lastPids = pids;
      if (!force && memory === undefined && pids === undefined) return true;
      const mem = t.lastMemory?.toString('latin1') ?? null;
      const m = mem === null ? { oomKill: null, memoryHigh: null } : memoryCounters(this.layout.version, mem);
      this.emit(uid, { ...m, tasksMax: t.lastPids === null ? null : keyedValue(t.lastPids.toString('latin1'), 'max'), throttledUsec: null }, fresh);
      return true;
    } catch (e) {
      this.failed(uid, e);
      return false;
    }
  }

  /** pread from offset 0 into the shared buffer: undefined when the bytes equal `last`, else a copy of them (null: no fd). Throws the errno error. */
  private changed(fd: number | null, last: Buffer | null): Buffer | null | undefined {
    if (fd === null) return last === null ? undefined : null;
    const n = readSync(fd, this.buf, 0, this.buf.length, 0);
    if (last !== null && last.length === n && this.buf.compare(last, 0, n, 0, n) === 0) return undefined;
    return Buffer.from(this.buf.subarray(0, n));
  }

  private readCpu(uid: number): void {
    const t = this.users.get(uid);
    if (!t || t.fds.cpu === null) return;
    try {
      this.checkPidsLimit(t);
      const text = this.readFd(t.fds.cpu)!;
      this.emit(uid, { oomKill: null, memoryHigh: null, tasksMax: t.subtreePids ? t.subtreePids.read() : null, throttledUsec: throttledUsec(this.layout.version, text) }, false);
    } catch (e) {
      this.failed(uid, e);
    }
  }

  /**
   * v1 polling cost: with pids.max at "max" (diycloud writes none while the allocation has no
   * task limit) no fork can fail at this group's own limit, so only memory is polled, halving the
   * reads. pids.max is re-read at the slow interval and at the first reading; the pids.events
   * value read then stays the baseline, so forks refused after a limit appears are still counted,
   * at the next poll once the slow reading has seen the limit.
   */
  private checkPidsLimit(t: Tracked): void {
    const max = this.readFd(t.fds.pidsMax);
    if (max !== null) t.pidsLimited = max.trim() !== 'max';
  }

  private pollAll(): void {
    for (const uid of [...this.users.keys()]) this.readFast(uid, false);
  }

  /** Tick k reads the users whose position is k modulo `slices`: each user once per interval, however few there are. */
  private sampleCpuSlice(slices: number): void {
    const slot = this.cpuTick++ % slices;
    let i = 0;
    for (const uid of [...this.users.keys()]) if (i++ % slices === slot) this.readCpu(uid);
  }

  private emit(uid: number, c: Omit<CounterSnapshot, 'atMs' | 'quota'>, fresh: boolean): void {
    this.onSample?.({ uid, counters: { atMs: this.nowMs(), quota: {}, ...c }, fresh });
  }

  private failed(uid: number, e: unknown): void {
    if (!GONE.has(errnoOf(e) ?? '')) this.opts.onError?.(uid, e as Error);
    this.drop(uid);
  }
}
