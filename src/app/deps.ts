// The ports and settings every use case receives (built by the composition root, or by a test).

import type { AllocationBounds } from '../core/allocation';
import type { Config } from '../core/config';
import type { GpuInventory } from '../core/gpu';
import type { ProcessTable } from '../core/placement';
import type { AccountAdmin, AccountDb, AdminStore, Authorizer, CgroupLimits, Clock, Events, GpuAccess, Logger, PasswordVerifier, QuotaBackend, Scheduler, SessionAdmin, Store } from '../core/ports';
import type { GpuGroupStore, GroupMembers } from '../core/enforcement-ports';
import type { LimitEventStore } from '../core/event-ports';
import type { UsageServices } from '../core/usage-ports';
import type { RequestServices } from '../core/request-ports';
import type { DecidedOrderCache } from './decided-order-cache';
import type { KeyedQueue } from './keyed-queue';

export interface AppDeps {
  readonly config: Config;
  readonly bounds: AllocationBounds;
  readonly store: Store;
  readonly admin: AdminStore;
  readonly authorizer: Authorizer;
  readonly accountAdmin: AccountAdmin;
  readonly sessions: SessionAdmin;
  readonly events: Events;
  readonly passwords: PasswordVerifier;
  /** The GPU inventory, read afresh. */
  readonly gpus: () => GpuInventory;
  /** The same for the login path: the last read while no GPU node came or went (adapters/gpu/cached-inventory.ts). */
  readonly loginGpus: () => GpuInventory;
  /** GPU access: the device policy on each user's cgroup (systemd, cgroupfs v1), or groups only. */
  readonly gpuAccess: GpuAccess;
  /** Who is in a Unix group (the GPU groups' sync), and which GPU-group memberships diycloud added. */
  readonly groupMembers: GroupMembers;
  readonly gpuGroups: GpuGroupStore;
  /** /proc/devices, read afresh (majors for the device policy). */
  readonly procDevices: () => string;
  /** CPU, memory and task limits: systemd slices, diycloud's own cgroups, or none. */
  readonly cgroups: CgroupLimits;
  /** Disk quotas: one backend per [Quota] path (none: disk allocations are recorded only). */
  readonly quotas: readonly QuotaBackend[];
  readonly accounts: AccountDb;
  /** /proc: who called OpenSession, and the login process to move into the user's cgroup. */
  readonly processes: ProcessTable;
  readonly log: Logger;
  readonly clock: Clock;
  readonly scheduler: Scheduler;
  /** Serializes all work on one UID. */
  readonly queue: KeyedQueue;
  /** Pending memory-ratchet timers by UID (owned by the daemon instance, not global). */
  readonly ratchets: Map<number, { cancel(): void }>;
  /** Limit events for GetUser's `events` (absent where a test does not need them: no events shown). */
  readonly limitEvents?: LimitEventStore;
  /** Usage history and the latest samples (app/sample-usage.ts; absent where a test does not need them). */
  readonly usage?: UsageServices;
  /** QueryUsers' sort=memory orders kept between calls (app/decided-order-cache.ts; absent: read and decided every call). */
  readonly decidedOrders?: DecidedOrderCache;
  /** The "request more" queue (app/limit-requests.ts; absent where a test does not need it). */
  readonly requests?: RequestServices;
}
