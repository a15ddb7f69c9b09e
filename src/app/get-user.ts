// Use case: a user's record with the decided allocation, what is in force, and usage (GetUser's JSON).

import type { Allocation, AllocationSource } from '../core/allocation';
import type { AllocationDecision } from '../core/allocation-decision';
import { isManagedUid } from '../core/login-policy';
import type { CgroupState, DiskUsage, QuotaState } from '../core/ports';
import type { AppDeps } from './deps';
import { decisionFor } from './enforce-allocation';
import { resolveUser, type ResolvedUser } from './resolve-user';

/** One quota path's view for a user: the filesystem's state, and usage beside the limit (bytes; null where unknown). */
export interface DiskView {
  path: string;
  state: QuotaState;
  usedBytes: number | null;
  softBytes: number | null;
  hardBytes: number | null;
  overQuota: boolean;
}

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
  allocation: { cpu: number; memory: number; disk: number; gpu: boolean; tasks: number | null };
  sources: Record<'cpu' | 'memory' | 'disk' | 'gpu' | 'tasks', AllocationSource>;
  /** What the user's cgroup carries now and, when the user is logged in, live usage (bytes, ns of CPU, tasks). */
  cgroup: { exists: boolean; settings: Record<string, number | string> | null; memoryCurrentBytes: number | null; cpuUsageNsec: number | null; tasksCurrent: number | null };
  /** One entry per quota path. */
  disk: DiskView[];
}

/** Every quota path's state and usage, one bulk read each (never one process per user). */
export interface DiskUsageTable {
  readonly paths: { path: string; state: QuotaState; softLimits: boolean; usage: Map<number, DiskUsage> | null }[];
}

export async function readDiskUsage(deps: AppDeps): Promise<DiskUsageTable> {
  const paths = await Promise.all(
    deps.quotas.map(async (q) => {
      const state = (await q.status().catch(() => null))?.state ?? 'off';
      const usage = state === 'off' ? null : await q.usage().catch((e: unknown) => {
        deps.log.warn(`disk usage of ${q.path} unreadable: ${(e as Error).message}`);
        return null;
      });
      return { path: q.path, state, softLimits: q.softLimits, usage };
    }),
  );
  return { paths };
}

/** A user's rows of the usage table, beside the limit their allocation sets. */
export function diskUsageOf(t: DiskUsageTable, uid: number, a: Allocation): DiskView[] {
  return t.paths.map((p) => {
    const u = p.usage?.get(uid) ?? null;
    const used = u?.usedBytes ?? (p.usage ? 0 : null);
    const hard = u ? u.hardBytes : null;
    return { path: p.path, state: p.state, usedBytes: used, softBytes: u ? u.softBytes : null, hardBytes: hard, overQuota: used !== null && a.diskQuotaBytes > 0 && used > a.diskQuotaBytes };
  });
}

export async function getUser(deps: AppDeps, rawName: unknown): Promise<UserView> {
  const u = await resolveUser(deps, rawName);
  const profile = u.record ? deps.admin.role(u.record.role)?.profile ?? null : null;
  const d = decisionFor(deps, u.uid, u.record, profile);
  const [state, disk] = await Promise.all([deps.cgroups.observe(u.uid), readDiskUsage(deps)]);
  return userView(deps, u, state, d, diskUsageOf(disk, u.uid, d.allocation));
}

/** The view of a resolved user, given what the cgroup carries now, the decision and the disk rows. */
export function userView(deps: AppDeps, u: ResolvedUser, state: CgroupState | null, d: AllocationDecision, disk: DiskView[]): UserView {
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
    allocation: { cpu: a.cpuCores, memory: a.memoryMaxBytes, disk: a.diskQuotaBytes, gpu: a.gpuAccess, tasks: a.tasksMax },
    sources: { cpu: d.sources.cpuCores, memory: d.sources.memoryMaxBytes, disk: d.sources.diskQuotaBytes, gpu: d.sources.gpuAccess, tasks: d.sources.tasksMax },
    cgroup: {
      exists: state !== null,
      settings: state ? { ...state.settings } : null,
      memoryCurrentBytes: state?.memoryCurrentBytes ?? null,
      cpuUsageNsec: state?.cpuUsageNsec ?? null,
      tasksCurrent: state?.tasksCurrent ?? null,
    },
    disk,
  };
}
