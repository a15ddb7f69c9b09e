// Use case: a user's record with the effective allocation and what is in force (GetUser's JSON).

import type { AllocationSource } from '../core/allocation';
import { isManagedUid } from '../core/login-policy';
import type { AppDeps } from './deps';
import { allocationFor } from './enforce-allocation';
import { resolveUser, type ResolvedUser } from './resolve-user';
import type { RawOverrides, SliceState } from '../core/ports';

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
  /** What the slice carries now and, when the user is logged in, live usage (bytes, ns of CPU, tasks). */
  slice: { exists: boolean; limits: Record<string, number | string> | null; memoryCurrent: number | null; cpuUsageNsec: number | null; tasks: number | null };
}

export async function getUser(deps: AppDeps, rawName: unknown): Promise<UserView> {
  const u = await resolveUser(deps, rawName);
  return userView(deps, u, await deps.slices.observe(u.uid), u.record ? deps.admin.role(u.record.role)?.profile ?? null : null);
}

/** The view of a resolved user, given what the slice carries now and the role's profile. */
export function userView(deps: AppDeps, u: ResolvedUser, state: SliceState | null, roleProfile: RawOverrides | null, computed?: ReturnType<typeof allocationFor>): UserView {
  const { allocation: a, eff } = computed ?? allocationFor(deps, u.uid, u.record, roleProfile);
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
    sources: { cpu: eff.sources.cpuCores, memory: eff.sources.memoryMaxBytes, disk: eff.sources.diskQuotaBytes, gpu: eff.sources.gpuAccess, tasks: eff.sources.tasksMax },
    slice: {
      exists: state !== null,
      limits: state ? { ...state.limits } : null,
      memoryCurrent: state?.memoryCurrentBytes ?? null,
      cpuUsageNsec: state?.cpuUsageNsec ?? null,
      tasks: state?.tasksCurrent ?? null,
    },
  };
}
