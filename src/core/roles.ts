// Roles: names, the built-in set, and the Unix groups kept in step with them.

import { DiycloudError } from './errors';
import { printable } from './size';

export const BUILTIN_ROLES = ['admin', 'operator', 'user'] as const;

/** A role name follows the user-name rule: lowercase letters, digits, "_" and "-", at most 32. */
const ROLE_RE = /^[a-z_][a-z0-9_-]{0,31}$/;

export function validateRole(role: unknown, field = 'role'): string {
  if (typeof role !== 'string' || !ROLE_RE.test(role)) {
    throw new DiycloudError('InvalidArgument', `${field}: "${printable(String(role))}" is not a valid role name; use lowercase letters, digits, "_" and "-"`, { field });
  }
  return role;
}
