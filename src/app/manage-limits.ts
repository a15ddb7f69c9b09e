// Use cases for allocations: a user's own limits, role profiles, and the audit log.

import { checkAllocation } from '../core/allocation';
import { DiycloudError } from '../core/errors';
import { resolveAllocation } from '../core/effective-allocation';
import { parseLimits, type VariantIn } from '../core/limits-input';
import { isManagedUid } from '../core/login-policy';
import type { AuditRow, RawOverrides } from '../core/ports';
import { validateRole } from '../core/roles';
import { validateUsername } from '../core/username';
import { ACTIONS, authorize, authorizedChange, type Caller } from './authorize';
import type { AppDeps } from './deps';
import { enforceAllocation } from './enforce-allocation';
import { afterChange, managedUser } from './manage-users';

/** Refuses a patch whose resulting allocation is below the floor or (with reject) above the machine. */
export function checkPatched(deps: AppDeps, user: RawOverrides | null, role: RawOverrides | null): void {
  const eff = resolveAllocation(user, deps.config.defaults, role);
  checkAllocation(eff.allocation, deps.bounds);
}

export async function setLimits(deps: AppDeps, caller: Caller, rawName: unknown, limits: Record<string, VariantIn>): Promise<void> {
  const name = validateUsername(rawName);
  const patch = parseLimits(limits);
  await authorizedChange(deps, caller, ACTIONS.manageLimits, 'SetLimits', name, async () => {
    const r = managedUser(deps, name);
    checkPatched(deps, { ...r.overrides, ...patch }, deps.admin.role(r.role)?.profile ?? null);
    deps.admin.setUserLimits(r.uid, patch);
    await afterChange(deps, r);
  });
}

export async function resetLimits(deps: AppDeps, caller: Caller, rawName: unknown): Promise<void> {
  const name = validateUsername(rawName);
  await authorizedChange(deps, caller, ACTIONS.manageLimits, 'ResetLimits', name, async () => {
    const r = managedUser(deps, name);
    deps.admin.resetUserLimits(r.uid);
    await afterChange(deps, r);
  });
}

export async function setProfile(deps: AppDeps, caller: Caller, rawRole: unknown, limits: Record<string, VariantIn>): Promise<void> {
  const role = validateRole(rawRole);
  const patch = parseLimits(limits);
  await authorizedChange(deps, caller, ACTIONS.manageLimits, 'SetProfile', `role:${role}`, async () => {
    checkPatched(deps, null, { ...(deps.admin.role(role)?.profile ?? emptyProfile()), ...patch });
    deps.admin.setRoleProfile(role, patch);
    // Live slices of the role's members get the new profile now (their own overrides still win).
    const live = new Set(await deps.slices.listUserSlices());
    for (const u of deps.admin.listUsers({ role })) {
      if (live.has(u.uid) && isManagedUid(u.uid, deps.config)) await enforceAllocation(deps, u.uid);
      deps.events.emit('UserChanged', u.username, u.uid);
    }
  });
}

export interface ProfileView {
  role: string;
  builtin: boolean;
  unixGroup: string | null;
  members: number;
  profile: RawOverrides;
  allocation: { cpu: number; memory: number; disk: number; gpu: boolean; tasks: number | null };
}

export async function listProfiles(deps: AppDeps, caller: Caller): Promise<ProfileView[]> {
  await authorize(deps, caller, ACTIONS.readUsers, '*');
  return deps.admin.listRoles().map((r) => {
    const a = resolveAllocation(null, deps.config.defaults, r.profile).allocation;
    return {
      role: r.name,
      builtin: r.builtin,
      unixGroup: r.unixGroup,
      members: deps.admin.listUsers({ role: r.name }).length,
      profile: r.profile,
      allocation: { cpu: a.cpuCores, memory: a.memoryMaxBytes, disk: a.diskQuotaBytes, gpu: a.gpuAccess, tasks: a.tasksMax },
    };
  });
}

export async function auditLog(deps: AppDeps, caller: Caller, filter: { limit?: unknown; user?: unknown }): Promise<AuditRow[]> {
  const limit = filter.limit === undefined ? 100 : Number(filter.limit);
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > 100_000) throw new DiycloudError('InvalidArgument', 'filter.limit: expected 1 to 100000', { field: 'limit' });
  const target = filter.user === undefined ? undefined : validateUsername(filter.user, 'filter.user');
  await authorize(deps, caller, ACTIONS.readUsers, target ?? '*');
  return deps.admin.auditLog({ limit, target });
}

function emptyProfile(): RawOverrides {
  return { cpu: null, memory: null, disk: null, gpu: null, tasks: null };
}
