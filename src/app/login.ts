// Use cases of the login path: the account phase, session open and session close.

import { decideLogin, isManagedUid, type LoginDecision } from '../core/login-policy';
import type { SessionEvent } from '../core/ports';
import { validateUsername } from '../core/username';
import type { AppDeps } from './deps';
import { enforceAllocation, type EnforceResult } from './enforce-allocation';
import { resolveUser } from './resolve-user';
import { sessionField } from './session-field';

/** The account phase: never touches NSS, so it stays fast and works when a directory is down. */
export function checkLogin(deps: AppDeps, args: { user: unknown; service: unknown; rhost: unknown }): LoginDecision {
  const name = validateUsername(args.user);
  sessionField('service', args.service);
  sessionField('rhost', args.rhost);
  return decideLogin({ record: deps.store.userByName(name), range: deps.config });
}

export interface SessionArgs {
  user: unknown;
  service: unknown;
  tty: unknown;
  rhost: unknown;
}

/**
 * The session phase: the slice gets the allocation before the user's shell starts, then the session
 * is recorded and last_login updated. Users outside the managed range are left alone.
 */
export async function openSession(deps: AppDeps, args: SessionArgs): Promise<EnforceResult | null> {
  const ev = await sessionEvent(deps, args);
  if (!isManagedUid(ev.uid, deps.config)) return null;
  const result = await enforceAllocation(deps, ev.uid);
  deps.store.openSession(ev, deps.clock.now().toISOString());
  return result;
}

export async function closeSession(deps: AppDeps, args: SessionArgs): Promise<void> {
  const ev = await sessionEvent(deps, args);
  if (!isManagedUid(ev.uid, deps.config)) return;
  if (!deps.store.closeSession(ev, deps.clock.now().toISOString())) {
    deps.log.debug(`no open session of ${ev.username} on ${ev.service}/${ev.tty} to close, ignoring`, { uid: ev.uid });
  }
}

async function sessionEvent(deps: AppDeps, args: SessionArgs): Promise<SessionEvent> {
  const service = sessionField('service', args.service);
  const tty = sessionField('tty', args.tty);
  const rhost = sessionField('rhost', args.rhost);
  const user = await resolveUser(deps, args.user);
  return { uid: user.uid, username: user.name, service, tty, rhost };
}
