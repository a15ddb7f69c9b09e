// The ports of limit events: the cgroup watcher, the signal, the rows, and the user's terminals.

import type { CounterSnapshot, LimitKind, LimitResource } from './limit-events';

/** One reading of a user's cgroup counters. */
export interface LimitSample {
  readonly uid: number;
  /** Fields not read this time are null (see CounterSnapshot); quota is always empty here (disk is read by the use case). */
  readonly counters: CounterSnapshot;
  /**
   * True when the cgroup appeared after the watcher's first scan: its counters started at 0 after
   * the watcher began, so what they already show is new. False for the first reading of a cgroup
   * that was there at start-up (a baseline, no events).
   */
  readonly fresh: boolean;
}

/**
 * Watches every managed user's cgroup: on a kernel notification (cgroup v2 memory.events and
 * pids.events), at a poll interval (cgroup v1, which notifies nothing Node can wait on), and at
 * the slow interval (cpu.stat, which never notifies). Cgroups that vanish are dropped.
 */
export interface LimitWatcher {
  /** "inotify (v2)", "poll every 2 s (v1)" or "none": for the start-up log line and docs. */
  readonly mode: string;
  start(onSample: (s: LimitSample) => void): Promise<void>;
  stop(): void;
}

/** A stored event, newest first when listed. */
export interface LimitEventRow {
  readonly uid: number;
  readonly resource: LimitResource;
  readonly kind: LimitKind;
  readonly count: number;
  /** µs since the epoch. */
  readonly atUsec: number;
}

export interface LimitEventStore {
  add(row: LimitEventRow): void;
  /** The newest `limit` rows of `uid` at or after `sinceUsec`. */
  recent(uid: number, sinceUsec: number, limit: number): LimitEventRow[];
  /** What `recent` returns, for every uid at once (one query for a listing): newest first within each uid. */
  recentOfAll(sinceUsec: number, limitPerUid: number): LimitEventRow[];
  /** What `recent` returns, for each of `uids` (one query for a page of users): ordered as `recentOfAll`. */
  recentOfUids(uids: readonly number[], sinceUsec: number, limitPerUid: number): LimitEventRow[];
  /** Deletes rows older than `beforeUsec`; the number deleted. */
  prune(beforeUsec: number): number;
}

/** The LimitEvent(u uid, s resource, s kind, t count) signal. */
export interface LimitEventSignals {
  limitEvent(uid: number, resource: LimitResource, kind: LimitKind, count: number): void;
}

/** Short messages on a user's logged-in terminals (those that accept messages: mesg y). */
export interface TerminalNotifier {
  /** Writes `line` to each of the user's terminals; resolves with how many received it. Never throws. */
  notify(uid: number, line: string): Promise<number>;
}
