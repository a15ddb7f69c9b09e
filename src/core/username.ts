// Strict validation of Unix user names as diycloud accepts them.

import { DiycloudError } from './errors';
import { printable } from './size';

/**
 * A valid name starts with a lowercase letter or "_", continues with lowercase letters, digits,
 * "_" or "-", and is at most 32 characters long (the utmp limit). This refuses names that are
 * empty, numeric (which tools would read as a UID), dash-leading (read as options), or that hold
 * ":", "/", whitespace, control characters or uppercase letters.
 */
const NAME_RE = /^[a-z_][a-z0-9_-]{0,31}$/;

export const MAX_USERNAME_LENGTH = 32;

export function isValidUsername(name: unknown): name is string {
  return typeof name === 'string' && NAME_RE.test(name);
}

export function validateUsername(name: unknown, field = 'user'): string {
  if (typeof name !== 'string' || name.length === 0) {
    throw new DiycloudError('InvalidArgument', `${field}: a user name is required`, { field });
  }
  if (name.length > MAX_USERNAME_LENGTH) {
    throw new DiycloudError('InvalidArgument', `${field}: user names are at most ${MAX_USERNAME_LENGTH} characters (got ${name.length})`, { field });
  }
  if (!NAME_RE.test(name)) {
    throw new DiycloudError(
      'InvalidArgument',
      `${field}: "${printable(name)}" is not a valid user name; use lowercase letters, digits, "_" and "-", starting with a letter or "_"`,
      { field },
    );
  }
  return name;
}

/** Names no one may create, whatever NSS says today. */
export const RESERVED_NAMES: ReadonlySet<string> = new Set(['root', 'nobody', 'nogroup', 'daemon', 'bin', 'sys', 'sync', 'games', 'man', 'lp', 'mail', 'news', 'uucp', 'proxy', 'www-data', 'backup', 'list', 'irc', 'gnats', 'systemd-network', 'systemd-resolve', 'messagebus', 'polkitd', 'sshd', 'admin', 'operator', 'diycloud']);

/** Why a (valid) name may not be created, or null. */
export function reservedNameProblem(name: string): string | null {
  if (RESERVED_NAMES.has(name)) return `"${name}" is reserved for the system`;
  // Role groups (diycloud-admin, diycloud-operator, and any diycloud-* a role may map to later):
  // an account of that name would get the group as its primary group, and with it the role's rights.
  if (name.startsWith('diycloud-')) return `"${name}": names starting with "diycloud-" are reserved for role groups`;
  return null;
}
