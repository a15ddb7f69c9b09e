// Use case: a user's record with the decided allocation, what is in force, and usage (GetUser's JSON).

import type { AllocationSource } from '../core/allocation';
import type { AllocationDecision } from '../core/allocation-decision';
import { formatGpuGrant } from '../core/gpu-grant';
import { isManagedUid } from '../core/login-policy';
import type { CgroupState } from '../core/ports';
import { diskUsageOf, readDiskUsage, type DiskView } from './disk-usage';
import type { AppDeps } from './deps';
import { decisionFor } from './enforce-allocation';
import { recentLimitEvents } from './limit-events';
import { resolveUser, type ResolvedUser } from './resolve-user';

/** The documented JSON schema of GetUser (docs/dbus-api.md). */
export interface UserView {
  name: string;
  uid: number;
  managed: boolean;
  inDatabase: boolean;
  email: string | null;
  role: string;
  enabled: boolean;
  created: string | null;
  lastLogin: string | null;
  allocation: { cpu: number; memory: number; disk: number; gpu: string; tasks: number | null };
  sources: Record<'cpu' | 'memory' | 'disk' | 'gpu' | 'tasks', AllocationSource>;
  /** What the user's cgroup carries now and, when the user is logged in, live usage (bytes, ns of CPU, tasks). */
  cgroup: { exists: boolean; settings: Record<string, number | string> | null; memoryCurrentBytes: number | null; cpuUsageNsec: number | null; tasksCurrent: number | null };
  /** One entry per quota path. */
  disk: DiskView[];
  /** Limit events, newest first: the last 20 within [Events] Retention (at: ISO 8601). */
  events: { at: string; resource: string; kind: string; count: number }[];
}

export async function getUser(deps: AppDeps, rawName: unknown): Promise<UserView> {
  const u = await resolveUser(deps, rawName);
  const profile = u.record ? deps.admin.role(u.record.role)?.profile ?? null : null;
  const d = decisionFor(deps, u.uid, u.record, profile);
  const [state, disk] = await Promise.all([deps.cgroups.observe(u.uid), readDiskUsage(deps)]);
  return userView(deps, u, state, d, diskUsageOf(disk, u.uid, d.allocation));
}

/**
 * The view of a resolved user, given what the cgroup carries now, the decision and the disk rows.
 * `events` defaults to one query for this user; a listing passes what one bulk read found instead.
 */
export function userView(deps: AppDeps, u: ResolvedUser, state: CgroupState | null, d: AllocationDecision, disk: DiskView[], events: UserView['events'] = recentLimitEvents(deps, u.uid)): UserView {
  const a = d.allocation;
  return {
    name: u.name,
    uid: u.uid,
    managed: isManagedUid(u.uid, deps.config),
    inDatabase: u.record !== null,
    email: u.record?.email ?? null,
    role: u.record?.role ?? 'user',
    enabled: u.record?.enabled ?? true,
    created: u.record?.createdAt ?? null,
    lastLogin: u.record?.lastLogin ?? null,
    allocation: { cpu: a.cpuCores, memory: a.memoryMaxBytes, disk: a.diskQuotaBytes, gpu: formatGpuGrant(a.gpus), tasks: a.tasksMax },
    sources: { cpu: d.sources.cpuCores, memory: d.sources.memoryMaxBytes, disk: d.sources.diskQuotaBytes, gpu: d.sources.gpus, tasks: d.sources.tasksMax },
    cgroup: {
      exists: state !== null,
      settings: state ? { ...state.settings } : null,
      memoryCurrentBytes: state?.memoryCurrentBytes ?? null,
      cpuUsageNsec: state?.cpuUsageNsec ?? null,
      tasksCurrent: state?.tasksCurrent ?? null,
    },
    disk,
    events,
  };
}
