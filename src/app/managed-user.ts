// Lookups every management use case shares: a managed user by name, and a role that must exist.

import { DiycloudError } from '../core/errors';
import type { UserRecord } from '../core/ports';
import type { AppDeps } from './deps';

/** A managed (database) user by name, resolved now; NoSuchUser when diycloud does not manage it. */
export function managedUser(deps: AppDeps, name: string): UserRecord {
  const r = deps.store.userByName(name);
  if (!r) throw new DiycloudError('NoSuchUser', `user "${name}" is not managed by diycloud (see diycloudctl user adopt)`);
  return r;
}

/** InvalidArgument naming the known roles when `role` is not one of them. */
export function requireRole(deps: AppDeps, role: string): void {
  if (!deps.admin.role(role)) {
    const known = deps.admin.listRoles().map((r) => r.name).join(', ');
    throw new DiycloudError('InvalidArgument', `role: unknown role "${role}"; known roles: ${known}`, { field: 'role' });
  }
}
