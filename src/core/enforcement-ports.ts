// The ports that hold a user to an allocation: one per resource (cgroups, disk quotas, GPU access).

import type { DevicePlan } from './device-rules';
import type { CgroupObservation, CgroupSettings, DiskSettings } from './enforcement-plan';
import type { GpuEnforcement } from './gpu';

export interface CgroupState extends CgroupObservation {
  /** Settings currently in force, as the backend reports them. */
  readonly settings: Partial<CgroupSettings>;
  /** Live usage; null where the kernel does not account it (no controller). */
  readonly cpuUsageNsec?: number | null;
  readonly tasksCurrent?: number | null;
}

/**
 * Where CPU, memory and task limits are enforced: systemd user slices, diycloud's own cgroups
 * (cgroupfs v1 or v2, hosts without systemd), or nothing (backend "none", record-only).
 */
export interface CgroupLimits {
  /** "systemd", "cgroupfs (v1)", "cgroupfs (v2)" or "none". */
  readonly backend: string;
  /** UIDs of every user cgroup that exists now. */
  listUsers(): Promise<number[]>;
  /** The user's cgroup usage and settings, or null when it does not exist. */
  observe(uid: number): Promise<CgroupState | null>;
  /** Sets the settings (creating the user's cgroup where the backend owns it). */
  apply(uid: number, settings: CgroupSettings): Promise<void>;
  /** Calls `onUser` whenever a user cgroup appears outside the login path (cron, linger); a no-op where nothing announces it. */
  watch(onUser: (uid: number) => void): Promise<void>;
  /**
   * Moves a running process into the user's cgroup and resolves once it is there; 'unsupported'
   * where the backend has none. Throws BackendFailed otherwise.
   */
  placeProcess(uid: number, pid: number): Promise<'placed' | 'unsupported'>;
  /** Removes the user's cgroup if no process is left in it (cgroupfs); true when removed. systemd collects its own. */
  release(uid: number): Promise<boolean>;
}

/** How far a filesystem holds users to their quotas. */
export type QuotaState = 'enforced' | 'accounting' | 'off';

/** One quota path as probed: the filesystem under it and what it can do. */
export interface QuotaPathStatus {
  /** The configured path. */
  readonly path: string;
  /** The mount point holding it, and its filesystem type (from /proc/self/mountinfo); null when not found. */
  readonly mountPoint: string | null;
  readonly fsType: string | null;
  /** The adapter in use: "quota-tools" (ext4, xfs), "btrfs" or "none". */
  readonly backend: string;
  readonly state: QuotaState;
  /** Why the state is not "enforced", and how to turn quotas on for this filesystem; null when enforced. */
  readonly reason: string | null;
  readonly fix: string | null;
}

/** A user's disk usage and limits on one quota path, in bytes (0 = no limit). */
export interface DiskUsage {
  readonly uid: number;
  readonly usedBytes: number;
  readonly softBytes: number;
  readonly hardBytes: number;
}

/** The user a quota belongs to: btrfs holds a qgroup on the home subvolume, quota-tools the UID. */
export interface QuotaOwner {
  readonly uid: number;
  readonly name: string;
  /** The home directory, or null when NSS gives none. */
  readonly home: string | null;
}

/** One user's limits in a batch (QuotaBackend.applyMany). */
export interface QuotaEntry {
  readonly owner: QuotaOwner;
  readonly settings: DiskSettings;
}

/** A batch entry that was not set: the error apply() would have thrown for that user alone. */
export interface QuotaEntryFailure {
  readonly uid: number;
  readonly error: Error;
}

/** Disk quotas on one quota path. One instance per configured path, chosen by filesystem type. */
export interface QuotaBackend {
  readonly path: string;
  /** "quota-tools", "btrfs" or "none". */
  readonly backend: string;
  /** Whether soft limits are held (btrfs qgroups have only a hard limit). */
  readonly softLimits: boolean;
  /**
   * Whether apply and applyMany read the owner's home (btrfs: the home's subvolume). False where the
   * UID alone names the quota (quota-tools, none): a batch then needs no name-service lookup per
   * user, and owner.home may be null. Absent: true.
   */
  readonly needsHome?: boolean;
  /** Probes the filesystem now (a remount may have changed it). */
  status(): Promise<QuotaPathStatus>;
  /**
   * Sets the user's limits. Throws QuotaUnsupported (its message says how to turn quotas on)
   * when the path cannot enforce, BackendFailed when the tool fails. Never deletes data: a limit
   * below current usage is set, and the user is then over quota.
   */
  apply(owner: QuotaOwner, settings: DiskSettings): Promise<void>;
  /**
   * Sets many users' limits (Reconcile, start-up) with as few child programs as the tool allows:
   * quota-tools feeds up to 1,000 users to one `setquota -b`; btrfs, whose `qgroup limit` takes one
   * qgroup, runs two at once. Resolves with the entries that were not set, each with the error
   * apply() would have thrown for it (QuotaUnsupported for every entry when the path cannot
   * enforce). One bad entry never stops the others, and it does not reject: where the tool's answer
   * does not say which entries failed, all of that run's entries count as failed (the next
   * Reconcile tries them again). Absent: callers apply one entry at a time.
   */
  applyMany?(entries: readonly QuotaEntry[]): Promise<QuotaEntryFailure[]>;
  /** Removes the user's limits (and, on btrfs, the qgroup); a user without any is not an error. */
  remove(owner: QuotaOwner): Promise<void>;
  /** Every user's usage on this path in one read (one repquota or qgroup listing, never one process per user). */
  usage(): Promise<Map<number, DiskUsage>>;
  /** A recent usage read's answer without reading (CachedQuota: younger than 2 s), else null; absent where nothing is cached. */
  cachedUsage?(): ReadonlyMap<number, DiskUsage> | null;
  /**
   * Called by CreateUser before useradd: true when the home must be created as its own subvolume
   * (btrfs), so that a qgroup can hold it. Quota-tools and none answer false.
   */
  wantsSubvolumeHome(home: string): Promise<boolean>;
}

/**
 * GPU access held by the kernel: a device policy on the user's cgroup (systemd: DevicePolicy and
 * DeviceAllow on user-UID.slice; cgroupfs v1: the devices controller). Where nothing can hold it
 * (cgroupfs v2 without a BPF device program, backend none) status() says "groups only" and apply()
 * does nothing: Unix group membership of the GPU nodes is then all there is.
 */
export interface GpuAccess {
  /** "systemd", "cgroupfs (v1)", "cgroupfs (v2)" or "none". */
  readonly backend: string;
  /** What is enforced and why (shown in Gpus and doctor). */
  status(): GpuEnforcement;
  /** Puts the plan on the user's cgroup (creating the device group where the backend owns it). Throws BackendFailed. */
  apply(uid: number, plan: DevicePlan): Promise<void>;
  /** Moves a process into the user's device group where the backend keeps one of its own (cgroupfs v1); 'unsupported' elsewhere. */
  placeProcess(uid: number, pid: number): Promise<'placed' | 'unsupported'>;
  /**
   * PIDs of the user's processes that hold any of these device nodes open (the device cgroup checks
   * only open(), not descriptors already held), and how many of the user's processes could not be
   * looked into (reading another user's /proc/PID/fd needs CAP_SYS_PTRACE).
   */
  holders(uid: number, nodePaths: readonly string[]): Promise<{ pids: number[]; unreadable: number }>;
  /** Ends these processes (SIGKILL); returns those that were signalled. */
  kill(pids: readonly number[]): Promise<number[]>;
}

/** The GPU group memberships diycloud added (schema/008), so that it never removes one it did not add. */
export interface GpuGroupStore {
  /** Groups diycloud added this UID to, sorted. */
  addedGroups(uid: number): string[];
  recordAdded(uid: number, group: string, at: string): void;
  forgetAdded(uid: number, group: string): void;
}

/** Who is in a Unix group (NSS): member names, or null when no such group exists. */
export interface GroupMembers {
  members(group: string): Promise<string[] | null>;
}
