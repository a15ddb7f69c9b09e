// Use cases of the "request more" queue: FileRequest (for oneself), ListRequests, DecideRequest (manage-limits).

import { DiycloudError } from '../core/errors';
import { validateEmail } from '../core/email';
import { checkPendingCount, checkReason, checkState, decide, limitsInputFor, validateFiling, type LimitRequest } from '../core/limit-request';
import type { Caller } from '../core/ports';
import { decisionMail } from '../core/request-mail';
import type { RequestServices } from '../core/request-ports';
import { validateUsername } from '../core/username';
import { audited } from './audit';
import { ACTIONS, authorize } from './authorize';
import type { AppDeps } from './deps';
import { setLimits } from './manage-limits';

export const LIST_DEFAULT_LIMIT = 50;
export const LIST_MAX_LIMIT = 500;

const services = (deps: AppDeps): RequestServices => {
  if (!deps.requests) throw new DiycloudError('Failed', 'limit requests are not available in this daemon');
  return deps.requests;
};

/**
 * FileRequest: the caller files for themself (the bus sender's uid, never a name in the arguments),
 * and must be a user diycloud manages. Arguments, the pending cap and the identity are checked
 * before anything is written, and only a stored request gets an audit row: a local user's refused
 * attempts cannot grow the database (at most MAX_PENDING_PER_USER rows until someone decides).
 * Filing is serialized per uid, so the cap holds against concurrent calls.
 */
export async function fileRequest(deps: AppDeps, caller: Caller, rawResource: unknown, rawAmount: unknown, rawReason: unknown): Promise<LimitRequest> {
  const rq = services(deps);
  const f = validateFiling(str(rawResource, 'resource'), str(rawAmount, 'amount'), str(rawReason, 'reason'));
  return deps.queue.run(`request-file:${caller.uid}`, async () => {
    const me = deps.store.userByUid(caller.uid);
    if (!me) throw new DiycloudError('NoSuchUser', `uid ${caller.uid} is not a user diycloud manages; only managed users can file limit requests`);
    checkPendingCount(rq.store.pendingCount(me.uid));
    const r = await audited(deps, caller, 'FileRequest', me.username, async () =>
      rq.store.add({ user: me.username, uid: me.uid, resource: f.resource, amount: f.amount, reason: f.reason, filedAt: deps.clock.now().toISOString() }),
    (n) => `request ${n.id}: ${n.resource} ${n.amount}`);
    rq.signals.changed(r.id, r.user, r.state);
    return r;
  });
}

export interface ListOptions {
  user?: unknown;
  state?: unknown;
  offset?: unknown;
  limit?: unknown;
}

/**
 * ListRequests, newest first. With `user`: that user's requests; one's own need nothing, anyone
 * else's need read-users (asked before the name is looked up). Without `user`: everyone's for a
 * caller read-users allows, else the caller's own (a refusal, or any error of the check, narrows
 * the list; it never widens it).
 */
export async function listRequests(deps: AppDeps, caller: Caller, o: ListOptions): Promise<{ requests: LimitRequest[]; total: number }> {
  const rq = services(deps);
  const state = o.state === undefined ? 'all' : checkState(str(o.state, 'state'));
  const offset = whole(o.offset, 'offset', 0, 0, Number.MAX_SAFE_INTEGER);
  const limit = whole(o.limit, 'limit', LIST_DEFAULT_LIMIT, 1, LIST_MAX_LIMIT);
  let uid: number | undefined;
  if (o.user !== undefined) {
    const name = validateUsername(o.user, 'user');
    const record = deps.store.userByName(name);
    const own = record ? record.uid === caller.uid : (await deps.accounts.byUid(caller.uid))?.name === name;
    if (!own && caller.uid !== 0) await authorize(deps, caller, ACTIONS.readUsers, name);
    uid = record?.uid ?? (await deps.accounts.byName(name))?.uid;
    if (uid === undefined) return { requests: [], total: 0 };
  } else if (caller.uid !== 0) {
    const everyone = await authorize(deps, { ...caller, interactive: false }, ACTIONS.readUsers, '*').then(() => true, () => false);
    if (!everyone) uid = caller.uid;
  }
  return rq.store.list({ uid, state, offset, limit });
}

/**
 * DecideRequest. Authorized with manage-limits for the request's user ("*" for an unknown id, so an
 * unauthorized caller learns nothing about which ids exist), then, serialized per request: re-read
 * it (NoSuchRequest, RequestClosed), and for an approval apply the limit through SetLimits itself
 * (its validation, enforcement, audit row and UserChanged signal). A failed SetLimits leaves the
 * request pending. The decision is stored, audited, signalled, and mailed to the requester when
 * [Requests] Mailer is set (best effort: a mail failure is logged, the decision stands).
 */
export async function decideRequest(deps: AppDeps, caller: Caller, rawId: unknown, rawApprove: unknown, rawReason: unknown): Promise<LimitRequest & { warnings: string[] }> {
  const rq = services(deps);
  const id = whole(rawId, 'id', undefined, 1, Number.MAX_SAFE_INTEGER);
  if (typeof rawApprove !== 'boolean') throw new DiycloudError('InvalidArgument', 'approve: expected a boolean', { field: 'approve' });
  const reason = checkReason('reason', str(rawReason, 'reason'), !rawApprove);
  const first = rq.store.get(id);
  try {
    await authorize(deps, caller, ACTIONS.manageLimits, first?.user ?? '*');
  } catch (e) {
    deps.log.warn(`refused: DecideRequest ${id} by uid ${caller.uid} (pid ${caller.pid ?? '?'}): ${(e as Error).message}`, { caller_uid: caller.uid, action: 'DecideRequest', target: `request:${id}` });
    throw e;
  }
  if (!first) throw new DiycloudError('NoSuchRequest', `no limit request has id ${id}`);
  const verb = rawApprove ? 'approve' : 'deny';
  const out = await deps.queue.run(`request:${id}`, () =>
    // Audited under the requester's name (so `audit --user NAME` shows the decisions on her requests), the id in the detail.
    audited(deps, caller, 'DecideRequest', first.user, async () => {
      const req = rq.store.get(id);
      if (!req) throw new DiycloudError('NoSuchRequest', `no limit request has id ${id}`);
      const decided = decide(req, rawApprove, caller.uid, reason, deps.clock.now().toISOString());
      const warnings = rawApprove ? await setLimits(deps, caller, req.user, limitsInputFor(req.resource, req.amount)) : [];
      if (!rq.store.saveDecision(decided)) throw new DiycloudError('RequestClosed', `request ${id} was decided meanwhile`);
      return { ...decided, warnings };
    }, (r) => `request ${r.id}: ${verb} ${r.resource} ${r.amount}${r.decisionReason ? `: ${r.decisionReason}` : ''}`),
  );
  rq.signals.changed(out.id, out.user, out.state);
  if (rq.mailer) await mailDecision(deps, rq, caller, out);
  return out;
}

/** Best effort: no address, a bad one or a failing mailer is a journal line, never the reply. */
async function mailDecision(deps: AppDeps, rq: RequestServices, caller: Caller, r: LimitRequest): Promise<void> {
  try {
    const address = deps.store.userByUid(r.uid)?.email ?? null;
    if (!address) {
      deps.log.info(`request ${r.id}: ${r.user} has no e-mail address; no decision mail sent`, { uid: r.uid });
      return;
    }
    const to = validateEmail(address) as string;
    const decider = caller.uid === 0 ? 'root' : (deps.store.userByUid(caller.uid)?.username ?? (await deps.accounts.byUid(caller.uid))?.name ?? `uid ${caller.uid}`);
    await rq.mailer!.send(to, decisionMail(r, to, decider));
  } catch (e) {
    deps.log.warn(`request ${r.id}: decision mail to ${r.user} failed: ${(e as Error).message}, ignoring`, { uid: r.uid });
  }
}

function str(v: unknown, field: string): string {
  if (typeof v !== 'string') throw new DiycloudError('InvalidArgument', `${field}: expected a string`, { field });
  return v;
}

function whole(v: unknown, field: string, dflt: number | undefined, min: number, max: number): number {
  if (v === undefined && dflt !== undefined) return dflt;
  const n = Number(v);
  if (typeof v !== 'number' || !Number.isSafeInteger(n) || n < min || n > max) throw new DiycloudError('InvalidArgument', `${field}: expected a whole number from ${min} to ${max}`, { field });
  return n;
}
