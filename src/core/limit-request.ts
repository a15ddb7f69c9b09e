// The "request more" queue's pure model: validating a filed request (with the SetLimits validation),
// the state machine pending -> approved | denied, and the limits an approval hands to SetLimits.

import { DiycloudError } from './errors';
import { parseLimits, type LimitsInput } from './limits-input';
import { printable } from './size';

export const REQUEST_RESOURCES = ['cpu', 'memory', 'disk', 'gpu', 'tasks'] as const;
export type RequestResource = (typeof REQUEST_RESOURCES)[number];
export type RequestState = 'pending' | 'approved' | 'denied';
export const REASON_MAX_CHARS = 500;
/** At most this many pending requests per user (FileRequest refuses the next one). */
export const MAX_PENDING_PER_USER = 5;

export interface LimitRequest {
  readonly id: number;
  readonly user: string;
  readonly uid: number;
  readonly resource: RequestResource;
  readonly amount: string;
  readonly reason: string;
  readonly state: RequestState;
  readonly filedAt: string;
  readonly decidedAt: string | null;
  readonly decidedBy: number | null;
  readonly decisionReason: string | null;
  readonly applied: boolean;
}

const bad = (field: string, msg: string) => new DiycloudError('InvalidArgument', `${field}: ${msg}`, { field });

export function checkReason(field: string, reason: string, required: boolean): string {
  const r = reason.trim();
  if (required && r.length === 0) throw bad(field, 'give a reason (1 to 500 characters)');
  if ([...r].length > REASON_MAX_CHARS) throw bad(field, `at most ${REASON_MAX_CHARS} characters`);
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u0008\u000b-\u001f\u007f]/.test(r)) throw bad(field, 'control characters are not allowed');
  return r;
}

/** The limits input SetLimits would get for this resource and amount string (cpu/tasks are numbers there). */
export function limitsInputFor(resource: RequestResource, amount: string): LimitsInput {
  if (resource === 'cpu' || resource === 'tasks') {
    const n = /^[0-9]+(\.[0-9]+)?$/.test(amount) ? Number(amount) : NaN;
    return { [resource]: n };
  }
  return { [resource]: amount };
}

/** Validates FileRequest's arguments; the amount comes back canonical (as SetLimits stores it). */
export function validateFiling(resource: string, amount: string, reason: string): { resource: RequestResource; amount: string; reason: string } {
  if (!(REQUEST_RESOURCES as readonly string[]).includes(resource)) {
    throw bad('resource', `unknown resource "${printable(resource)}"; known: ${REQUEST_RESOURCES.join(', ')}`);
  }
  const res = resource as RequestResource;
  let parsed;
  try {
    parsed = parseLimits(limitsInputFor(res, amount.trim()));
  } catch (e) {
    if (e instanceof DiycloudError && e.code === 'InvalidArgument') throw bad('amount', e.message);
    throw e;
  }
  const v = parsed[res];
  if (v === undefined || v === null) throw bad('amount', 'missing');
  return { resource: res, amount: String(v), reason: checkReason('reason', reason, true) };
}

/** The state machine: only a pending request can be decided. */
export function decide(req: LimitRequest, approve: boolean, deciderUid: number, reason: string, now: string): LimitRequest {
  if (req.state !== 'pending') throw new DiycloudError('RequestClosed', `request ${req.id} is already ${req.state}`);
  const r = checkReason('reason', reason, !approve); // a denial needs a reason
  return { ...req, state: approve ? 'approved' : 'denied', decidedAt: now, decidedBy: deciderUid, decisionReason: r || null, applied: approve };
}

export function checkPendingCount(pending: number): void {
  if (pending >= MAX_PENDING_PER_USER) {
    throw bad('resource', `you already have ${pending} pending requests (at most ${MAX_PENDING_PER_USER}); wait for a decision`);
  }
}

export function checkState(state: string): RequestState | 'all' {
  if (state === 'pending' || state === 'approved' || state === 'denied' || state === 'all') return state;
  throw bad('state', 'expected pending, approved, denied or all');
}

/** The store port (adapters/store/sqlite-requests.ts). */
export interface RequestFilter {
  readonly uid?: number;
  readonly state: RequestState | 'all';
  readonly limit: number;
  readonly offset: number;
}
export interface RequestStore {
  add(r: Omit<LimitRequest, 'id' | 'state' | 'decidedAt' | 'decidedBy' | 'decisionReason' | 'applied'>): LimitRequest;
  get(id: number): LimitRequest | null;
  list(f: RequestFilter): { total: number; requests: LimitRequest[] };
  pendingCount(uid: number): number;
  /** Stores a decision only if the request is still pending (false: someone decided it first). */
  saveDecision(r: LimitRequest): boolean;
}
