// Resolves a user name to its UID and database record: the database first, then NSS.

import { DiycloudError } from '../core/errors';
import type { UserRecord } from '../core/ports';
import { validateUsername } from '../core/username';
import type { AppDeps } from './deps';

export interface ResolvedUser {
  readonly name: string;
  readonly uid: number;
  readonly record: UserRecord | null;
}

/**
 * Resources are keyed by UID, never by name. A database user's UID is the one recorded when
 * diycloud took it under management; any other name is looked up in NSS (files, LDAP, SSSD).
 * Throws InvalidArgument for a malformed name and NoSuchUser when neither knows it.
 */
export async function resolveUser(deps: AppDeps, rawName: unknown): Promise<ResolvedUser> {
  const name = validateUsername(rawName);
  const record = deps.store.userByName(name);
  if (record) return { name, uid: record.uid, record };
  const account = await deps.accounts.byName(name);
  if (!account) throw new DiycloudError('NoSuchUser', `user "${name}" does not exist`);
  return { name, uid: account.uid, record: deps.store.userByUid(account.uid) };
}
