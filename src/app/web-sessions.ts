// Web sessions (org.diycloud.Web1): log in through PAM, look a session up, log out, and the Caller a session stands for.

import { DiycloudError } from '../core/errors';
import type { Caller } from '../core/ports';
import { isValidUsername } from '../core/username';
import type { LoginThrottle, TokenSource, WebSessionRecord, WebSessionTable } from '../core/web-session';
import { ACTIONS, authorize } from './authorize';
import type { AppDeps } from './deps';

/** The daemon's web-session state: one per daemon instance (built by the composition root). */
export interface WebState {
  readonly table: WebSessionTable;
  readonly throttle: LoginThrottle;
  readonly tokens: TokenSource;
  /**
   * The uid of the diycloud-web account, the only non-root sender Web1 serves (null: none yet, root only).
   * Looked up again while there is none, so an account made after the daemon started (diycloud-web
   * installed later, install.sh then systemd-sysusers) is served without a restart.
   */
  readonly serviceUid: () => Promise<number | null>;
}

export interface WebSessionView {
  readonly user: string;
  readonly uid: number;
  readonly role: string;
  readonly csrfToken: string;
  readonly idleExpiresAt: string;
  readonly absoluteExpiresAt: string;
}

/** One answer for every refused login (wrong password, unknown name, account refused): no oracle. */
const REFUSED = 'login refused: wrong user name or password, or the account may not log in';

/**
 * Login: throttle first (no PAM run past the limit), then PAM's auth and account phases
 * (PasswordVerifier: pam-verify, service "diycloud"; a disabled diycloud user is also refused by
 * pam_diycloud's account gate), then a NEW session: a presented token is never reused, so a session
 * id fixed before login is worthless. The password never leaves this call: it goes to pam-verify's stdin.
 */
export async function webLogin(deps: AppDeps, web: WebState, input: { user: unknown; password: unknown; address: string }): Promise<WebSessionView & { token: string }> {
  const nowMs = deps.clock.now().getTime();
  const user = typeof input.user === 'string' ? input.user : '';
  const address = input.address.slice(0, 64);
  const t = web.throttle.check(user.slice(0, 64), address, nowMs);
  if (!t.allowed) throw new DiycloudError('RateLimited', `too many failed logins for this ${t.by === 'user' ? 'user' : 'address'}; retry in ${t.retryAfterSec} s`);
  const password = typeof input.password === 'string' ? input.password : '';
  const fail = (why: string): never => {
    web.throttle.failed(user.slice(0, 64), address, nowMs);
    deps.log.warn(`web login of ${isValidUsername(user) ? user : '(invalid name)'} from ${address || '?'} refused: ${why}`, { action: 'web-login', target: isValidUsername(user) ? user : '' });
    throw new DiycloudError('AuthenticationFailed', REFUSED);
  };
  if (!isValidUsername(user) || password.length === 0 || password.length > 1024 || password.includes('\n')) return fail('malformed name or password');
  const account = await deps.accounts.byName(user);
  if (!account) return fail('no such account');
  const record = deps.store.userByName(user);
  if (record && !record.enabled) return fail('account disabled');
  if (!(await deps.passwords.verify(user, password))) return fail('PAM refused');
  web.throttle.succeeded(user);
  const token = web.tokens.newToken();
  const rec = web.table.create(web.tokens.keyOf(token), { user, uid: account.uid, csrfToken: web.tokens.newToken(), managedAtLogin: record !== null }, nowMs);
  deps.log.info(`web login of ${user} (uid ${account.uid}) from ${address || '?'}`, { action: 'web-login', target: user, caller_uid: account.uid });
  return { token, ...view(deps, web, rec) };
}

/** The live session of a token (its idle timer restarted), or SessionExpired. */
export function webSession(deps: AppDeps, web: WebState, token: unknown): WebSessionRecord {
  const rec = typeof token === 'string' && token.length > 0 && token.length <= 128 ? web.table.touch(web.tokens.keyOf(token), deps.clock.now().getTime()) : null;
  if (!rec) throw new DiycloudError('SessionExpired', 'the web session is unknown, logged out or expired; log in again');
  // A user disabled or deleted since login loses the session at once.
  const record = deps.store.userByUid(rec.uid);
  if (record && !record.enabled) {
    web.table.removeUid(rec.uid);
    throw new DiycloudError('SessionExpired', 'the account was disabled; the web session ended');
  }
  if (!record && rec.managedAtLogin) {
    web.table.removeUid(rec.uid);
    throw new DiycloudError('SessionExpired', 'the account was deleted; the web session ended');
  }
  return rec;
}

/** Session's reply: the view plus what polkit lets this user do (any error = false). */
export async function describeWebSession(deps: AppDeps, web: WebState, token: unknown, busName: string): Promise<WebSessionView & { can: Record<string, boolean> }> {
  const rec = webSession(deps, web, token);
  const caller = webCaller(rec, busName);
  const may = async (action: string): Promise<boolean> => authorize(deps, caller, action, rec.user).then(() => true, () => false);
  const [readUsers, manageLimits, manageUsers, setEnabled] = await Promise.all([ACTIONS.readUsers, ACTIONS.manageLimits, ACTIONS.manageUsers, ACTIONS.setEnabled].map(may));
  return { ...view(deps, web, rec), can: { readUsers, manageLimits, manageUsers, setEnabled } };
}

export function webLogout(web: WebState, token: unknown): void {
  if (typeof token === 'string' && token.length > 0 && token.length <= 128) web.table.remove(web.tokens.keyOf(token));
}

/** The Caller a web session stands for: its user's uid, never interactive, polkit subject by uid (kind "web"). */
export function webCaller(rec: WebSessionRecord, busName: string): Caller {
  return { busName, uid: rec.uid, pid: null, interactive: false, kind: 'web' };
}

function view(deps: AppDeps, web: WebState, rec: WebSessionRecord): WebSessionView {
  const t = web.table.times(rec);
  const role = rec.uid === 0 ? 'root' : deps.store.userByUid(rec.uid)?.role ?? 'unmanaged';
  return { user: rec.user, uid: rec.uid, role, csrfToken: rec.csrfToken, idleExpiresAt: new Date(t.idleExpiresAtMs).toISOString(), absoluteExpiresAt: new Date(t.absoluteExpiresAtMs).toISOString() };
}
