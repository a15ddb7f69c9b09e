// Keeps a user's membership of the roles' Unix groups in step with their role.

import type { AppDeps } from './deps';

/** The user is a member of their role's Unix group (diycloud-admin, diycloud-operator …) and of no other role's. */
export async function syncGroups(deps: AppDeps, user: string, role: string): Promise<void> {
  const memberships = deps.admin
    .listRoles()
    .filter((r) => r.unixGroup !== null)
    .map((r) => ({ group: r.unixGroup as string, member: r.name === role }));
  if (memberships.length) await deps.accountAdmin.setMembership(user, memberships);
}
