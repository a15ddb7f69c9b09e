// Use cases for allocations: a user's own limits, role profiles, and the audit log.

import { checkPatched, resolveAllocation } from '../core/allocation-decision';
import { DiycloudError } from '../core/errors';
import { formatGpuGrant } from '../core/gpu-grant';
import { parseLimits, type LimitsInput } from '../core/limits-input';
import { isManagedUid } from '../core/login-policy';
import type { AuditRow, Caller, RawOverrides } from '../core/ports';
import { validateRole } from '../core/roles';
import { validateUsername } from '../core/username';
import { ACTIONS, authorize, authorizedChange } from './authorize';
import { checkGpuPatch } from './check-gpus';
import type { AppDeps } from './deps';
import { allocationOf, enforceAfterChange, enforceAllocation } from './enforce-allocation';
import { syncGpuGroupsOf } from './sync-groups';
import { requireEnforcedQuotas } from './enforce-disk';
import { parseGpuRevokeMode, type GpuRevokeMode } from './enforce-gpu';
import { managedUser } from './managed-user';

/** Returns the warnings for the reply (a user now over quota: nothing was deleted). */
export async function setLimits(deps: AppDeps, caller: Caller, rawName: unknown, limits: LimitsInput): Promise<string[]> {
  const name = validateUsername(rawName);
  const { gpuRevoke: rawRevoke, ...rest } = limits;
  const gpuRevoke = rawRevoke === undefined ? 'report' : parseGpuRevokeMode(rawRevoke);
  if (gpuRevoke === null) throw new DiycloudError('InvalidArgument', 'limits.gpuRevoke: expected "report" (leave processes that hold a revoked GPU open, and name them) or "kill"', { field: 'gpuRevoke' });
  const patch = parseLimits(rest);
  return authorizedChange(deps, caller, ACTIONS.manageLimits, 'SetLimits', name, async () => {
    const r = managedUser(deps, name);
    checkGpuPatch(deps, patch);
    checkPatched({ user: { ...r.overrides, ...patch }, role: deps.admin.role(r.role)?.profile ?? null, defaults: deps.config.defaults, bounds: deps.bounds });
    return applyChange(deps, r.uid, patch.disk !== undefined, () => deps.admin.setUserLimits(r.uid, patch), gpuRevoke);
  }, warningsDetail);
}

export async function resetLimits(deps: AppDeps, caller: Caller, rawName: unknown): Promise<string[]> {
  const name = validateUsername(rawName);
  return authorizedChange(deps, caller, ACTIONS.manageLimits, 'ResetLimits', name, async () => {
    const r = managedUser(deps, name);
    return applyChange(deps, r.uid, r.overrides.disk !== null, () => deps.admin.resetUserLimits(r.uid));
  }, warningsDetail);
}

/**
 * Stores the change, then enforces it. When the disk allocation changed and a quota cannot be held
 * (QuotaUnsupported, BackendFailed), the stored change is undone: the reply is an error, and
 * nothing has changed.
 */
async function applyChange(deps: AppDeps, uid: number, diskChanged: boolean, write: () => void, gpuRevoke: GpuRevokeMode = 'report'): Promise<string[]> {
  const before = deps.store.userByUid(uid);
  if (!before) throw new DiycloudError('NoSuchUser', `uid ${uid} is no longer managed`);
  write();
  try {
    return await enforceAfterChange(deps, deps.store.userByUid(uid) ?? before, diskChanged, gpuRevoke);
  } catch (e) {
    if (diskChanged) {
      deps.admin.transaction(() => {
        deps.admin.resetUserLimits(uid);
        deps.admin.setUserLimits(uid, before.overrides);
      });
      await enforceAllocation(deps, uid, { purpose: 'reconcile', cgroup: (await deps.cgroups.observe(uid)) !== null }).catch(() => undefined);
    }
    throw e;
  }
}

export async function setProfile(deps: AppDeps, caller: Caller, rawRole: unknown, limits: LimitsInput): Promise<string[]> {
  const role = validateRole(rawRole);
  const patch = parseLimits(limits);
  return authorizedChange(deps, caller, ACTIONS.manageLimits, 'SetProfile', `role:${role}`, async () => {
    checkGpuPatch(deps, patch);
    checkPatched({ user: null, role: { ...(deps.admin.role(role)?.profile ?? emptyProfile()), ...patch }, defaults: deps.config.defaults, bounds: deps.bounds });
    // A quota the filesystem cannot hold is refused before the profile changes (members keep theirs).
    if (patch.disk !== undefined) await requireEnforcedQuotas(deps);
    deps.admin.setRoleProfile(role, patch);
    // Live cgroups of the role's members get the new profile now, disk quotas in any case (their own overrides still win).
    const live = new Set(await deps.cgroups.listUsers());
    const warnings: string[] = [];
    for (const u of deps.admin.listUsers({ role })) {
      if (!isManagedUid(u.uid, deps.config)) continue;
      const r = await enforceAllocation(deps, u.uid, { purpose: patch.disk !== undefined ? 'change' : 'reconcile', cgroup: live.has(u.uid), warnings: true }).catch((e: unknown) => {
        warnings.push(`${u.username}: ${(e as Error).message}`);
        return null;
      });
      const groups = patch.gpu === undefined ? null : await syncGpuGroupsOf(deps, { name: u.username, uid: u.uid }, allocationOf(deps, u.uid).allocation.gpus);
      if (groups) warnings.push(groups);
      for (const d of r?.disk ?? []) if (d.warning) warnings.push(d.warning);
      deps.events.emit('UserChanged', u.username, u.uid);
    }
    return warnings;
  }, warningsDetail);
}

/** The audit line of a change that answered warnings (e.g. over quota). */
const warningsDetail = (w: string[]): string => w.join('; ');


export interface ProfileView {
  role: string;
  builtin: boolean;
  unixGroup: string | null;
  members: number;
  profile: RawOverrides;
  allocation: { cpu: number; memory: number; disk: number; gpu: string; tasks: number | null };
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
      allocation: { cpu: a.cpuCores, memory: a.memoryMaxBytes, disk: a.diskQuotaBytes, gpu: formatGpuGrant(a.gpus), tasks: a.tasksMax },
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
