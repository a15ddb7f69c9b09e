// The ports of usage history: reading live users' counters, the sample rows, and the read-side tables (sessions, events).

import type { UsagePoint, UsageReading, UsageTierName } from './usage-history';

/** Reads every live user cgroup's counters in one pass (cgroupfs files, or the cgroup backend). */
export interface UsageReader {
  /** "cgroupfs files (v2)", "cgroupfs files (v1)", "cgroup backend" or "none". */
  readonly mode: string;
  readAll(): Promise<UsageReading[]>;
}

/** What one tick writes, in one transaction. */
export interface UsageTickWrite {
  readonly raw: readonly { uid: number; point: UsagePoint }[];
  readonly buckets: readonly { tier: '5min' | '30min'; uid: number; point: UsagePoint }[];
  /** Deletes rows older than the cutoffs for these uids (bounded: one B-tree seek per uid and tier). */
  readonly prune: { readonly uids: readonly number[]; readonly cutoffs: Readonly<Record<UsageTierName, number>> } | null;
}

export interface SessionRow {
  readonly service: string;
  readonly tty: string;
  readonly rhost: string;
  readonly openedAt: string;
  readonly closedAt: string | null;
}

export interface EventRow {
  readonly uid: number;
  readonly resource: string;
  readonly kind: string;
  readonly count: number;
  readonly atUsec: number;
}

export interface UsageStore {
  writeTick(w: UsageTickWrite): void;
  /** A user's points of one tier at or after `sinceSec`, oldest first. */
  history(uid: number, tier: UsageTierName, sinceSec: number): UsagePoint[];
  /** Deletes every row older than the cutoffs (all uids: a full scan, once at start-up). */
  pruneAll(cutoffs: Readonly<Record<UsageTierName, number>>): number;
  /** A user's sessions, newest first. */
  sessions(uid: number, limit: number): SessionRow[];
  /** Limit events at or after `sinceUsec`, newest first; of one uid, or of all when null. */
  events(uid: number | null, sinceUsec: number, limit: number): EventRow[];
}

/** The latest sample of each live user (kept in memory by the sampler), and the disk usage last read for every user. */
export interface LatestUsage {
  /** When the last tick ran (null: none yet). */
  sampledAt(): Date | null;
  /** A live user's latest point, or null when the user has no live cgroup (or no sample yet). */
  latest(uid: number): UsagePoint | null;
  /** Every live user's latest point. */
  all(): ReadonlyMap<number, UsagePoint>;
  /**
   * Users with a live cgroup whose CPU and memory the host does not account (no cpu or memory
   * controller there: a container without them, a v1 hierarchy without them): live, with no point.
   */
  unmeasured(): ReadonlySet<number>;
  /** Disk usage summed over the quota paths, for any user the last disk read listed. */
  diskBytes(uid: number): number | null;
}

/** A filesystem's size (statfs), for the host view. */
export type FilesystemSize = (path: string) => Promise<{ capacityBytes: number; freeBytes: number } | null>;

/** What the usage reads need beside AppDeps (built by the daemon; absent where a test does not sample). */
export interface UsageServices {
  readonly store: UsageStore;
  readonly latest: LatestUsage;
  readonly filesystem: FilesystemSize;
  readonly sampleIntervalSec: number;
}
