// Keeps a user's membership of the roles' Unix groups in step with their role, and of the GPU groups with their GPU grant.

import type { GpuGroupStore, GroupMembers } from '../core/enforcement-ports';
import { DiycloudError } from '../core/errors';
import type { GpuInventory } from '../core/gpu';
import { grantsAny, type GpuGrant } from '../core/gpu-grant';
import type { AccountAdmin, Clock } from '../core/ports';
import type { AppDeps } from './deps';

/** The user is a member of their role's Unix group (diycloud-admin, diycloud-operator …) and of no other role's. */
export async function syncGroups(deps: AppDeps, user: string, role: string): Promise<void> {
  const memberships = deps.admin
    .listRoles()
    .filter((r) => r.unixGroup !== null)
    .map((r) => ({ group: r.unixGroup as string, member: r.name === role }));
  if (memberships.length) await deps.accountAdmin.setMembership(user, memberships);
}

/** By default the GPU groups are the groups that own the discovered GPU nodes (e.g. video, render), root's excepted. */
export function defaultGpuGroups(inv: GpuInventory): string[] {
  return [...new Set(inv.nodes.filter((n) => n.gid !== 0 && n.group !== null).map((n) => n.group as string))].sort();
}

export interface GpuGroupDeps {
  readonly accountAdmin: AccountAdmin;
  readonly groupMembers: GroupMembers;
  readonly gpuGroups: GpuGroupStore;
  readonly clock: Clock;
}

/**
 * Defence in depth beside the device cgroup: a user with any GPU joins every GPU group, a user
 * without leaves them. Only memberships diycloud added (recorded in the store) are ever removed, so a
 * membership an admin gave stays whatever the grant; one diycloud added to a group no longer listed
 * as a GPU group is removed too. Every group is checked to exist before anything changes: a GPU
 * group that does not exist is InvalidArgument (field gpuGroups). Returns what changed.
 */
export async function syncGpuGroups(deps: GpuGroupDeps, user: { name: string; uid: number }, grant: GpuGrant, groups: readonly string[]): Promise<{ added: string[]; removed: string[] }> {
  const members = new Map<string, string[]>();
  for (const g of groups) {
    const m = await deps.groupMembers.members(g);
    if (m === null) throw new DiycloudError('InvalidArgument', `GPU group "${g}" does not exist; create it (groupadd) or name another group in the GPU groups setting`, { field: 'gpuGroups' });
    members.set(g, m);
  }
  const ours = new Set(deps.gpuGroups.addedGroups(user.uid));
  const want = grantsAny(grant) ? new Set(groups) : new Set<string>();
  const added: string[] = [];
  const removed: string[] = [];
  for (const g of [...want].sort()) {
    if (members.get(g)!.includes(user.name)) continue; // already in: the admin's (or ours, recorded earlier)
    await deps.accountAdmin.setMembership(user.name, [{ group: g, member: true }]);
    deps.gpuGroups.recordAdded(user.uid, g, deps.clock.now().toISOString());
    added.push(g);
  }
  for (const g of [...ours].sort()) {
    if (want.has(g)) continue;
    // Ours to remove; a group deleted meanwhile has no member left to remove.
    if ((members.get(g) ?? (await deps.groupMembers.members(g)) ?? []).includes(user.name)) {
      await deps.accountAdmin.setMembership(user.name, [{ group: g, member: false }]);
      removed.push(g);
    }
    deps.gpuGroups.forgetAdded(user.uid, g);
  }
  return { added, removed };
}

/**
 * The GPU groups for a user's current grant, best effort (the device cgroup is the enforcement; the
 * groups are defence in depth): a failure is logged and returned as a warning for the reply, never
 * thrown. The groups are [GPU] Groups, or those owning the discovered GPU nodes.
 */
export async function syncGpuGroupsOf(deps: AppDeps, user: { name: string; uid: number }, grant: GpuGrant): Promise<string | null> {
  const groups = deps.config.gpu.groups ?? defaultGpuGroups(deps.gpus());
  try {
    const r = await syncGpuGroups(deps, user, grant, groups);
    if (r.added.length || r.removed.length) deps.log.info(`${user.name}: GPU groups${r.added.length ? ` joined ${r.added.join(', ')}` : ''}${r.removed.length ? ` left ${r.removed.join(', ')}` : ''}`, { uid: user.uid });
    return null;
  } catch (e) {
    deps.log.error(`${user.name}: GPU groups not synchronized: ${(e as Error).message}`, { uid: user.uid });
    return `${user.name}: GPU groups not synchronized: ${(e as Error).message}`;
  }
}
