// Web sessions and login throttling (decision (b), docs/security.md "The web path"): pure state, no I/O.

/**
 * A web session lives in diycloudd's memory, keyed by a digest of its token (the token itself is
 * never kept). It ends when idle for `idleMs`, `absoluteMs` after login whatever happens, at logout,
 * or when its user opens one session too many (the oldest goes). A daemon restart ends them all.
 */
export interface WebSessionPolicy {
  readonly idleMs: number;
  readonly absoluteMs: number;
  readonly maxPerUser: number;
  readonly maxTotal: number;
}

/** How many failed logins are allowed in `windowMs`, per user name and per client address. */
export interface LoginThrottlePolicy {
  readonly windowMs: number;
  readonly perUser: number;
  readonly perAddress: number;
}

export const DEFAULT_WEB_POLICY: WebSessionPolicy = { idleMs: 30 * 60_000, absoluteMs: 12 * 3600_000, maxPerUser: 16, maxTotal: 10_000 };
export const DEFAULT_THROTTLE_POLICY: LoginThrottlePolicy = { windowMs: 15 * 60_000, perUser: 5, perAddress: 20 };

export interface WebSessionRecord {
  readonly user: string;
  readonly uid: number;
  readonly csrfToken: string;
  /** Whether diycloud managed the user at login: a managed user whose record is gone was deleted since. */
  readonly managedAtLogin?: boolean;
  readonly createdAtMs: number;
  lastSeenMs: number;
}

export interface SessionTimes {
  readonly idleExpiresAtMs: number;
  readonly absoluteExpiresAtMs: number;
}

export class WebSessionTable {
  private readonly byKey = new Map<string, WebSessionRecord>();

  constructor(private readonly policy: WebSessionPolicy) {}

  get size(): number {
    return this.byKey.size;
  }

  /** Adds a session under a fresh key; evicts the user's oldest past the per-user cap, and expired or oldest ones past the total cap. */
  create(key: string, rec: Omit<WebSessionRecord, 'lastSeenMs' | 'createdAtMs'>, nowMs: number): WebSessionRecord {
    this.sweep(nowMs);
    const mine = [...this.byKey.entries()].filter(([, r]) => r.uid === rec.uid).sort((a, b) => a[1].createdAtMs - b[1].createdAtMs);
    for (const [k] of mine.slice(0, Math.max(0, mine.length - this.policy.maxPerUser + 1))) this.byKey.delete(k);
    while (this.byKey.size >= this.policy.maxTotal) this.byKey.delete(this.byKey.keys().next().value as string);
    const r: WebSessionRecord = { ...rec, createdAtMs: nowMs, lastSeenMs: nowMs };
    this.byKey.set(key, r);
    return r;
  }

  /** The live session under `key`, with its idle timer restarted; null (and forgotten) when expired. */
  touch(key: string, nowMs: number): WebSessionRecord | null {
    const r = this.byKey.get(key);
    if (!r) return null;
    if (this.expired(r, nowMs)) {
      this.byKey.delete(key);
      return null;
    }
    r.lastSeenMs = nowMs;
    return r;
  }

  remove(key: string): boolean {
    return this.byKey.delete(key);
  }

  /** Ends every session of a uid (a disabled or deleted user); returns how many. */
  removeUid(uid: number): number {
    let n = 0;
    for (const [k, r] of this.byKey) if (r.uid === uid && this.byKey.delete(k)) n++;
    return n;
  }

  times(r: WebSessionRecord): SessionTimes {
    return { idleExpiresAtMs: Math.min(r.lastSeenMs + this.policy.idleMs, r.createdAtMs + this.policy.absoluteMs), absoluteExpiresAtMs: r.createdAtMs + this.policy.absoluteMs };
  }

  sweep(nowMs: number): void {
    for (const [k, r] of this.byKey) if (this.expired(r, nowMs)) this.byKey.delete(k);
  }

  private expired(r: WebSessionRecord, nowMs: number): boolean {
    return nowMs - r.lastSeenMs >= this.policy.idleMs || nowMs - r.createdAtMs >= this.policy.absoluteMs;
  }
}

export type ThrottleDecision = { readonly allowed: true } | { readonly allowed: false; readonly retryAfterSec: number; readonly by: 'user' | 'address' };

/**
 * Failed logins are counted per user name and per client address in a sliding window; past either
 * limit every attempt is refused, without running PAM, until the oldest failure leaves the window.
 * A success clears the user's failures (not the address's: one address may be guessing many names).
 */
export class LoginThrottle {
  private readonly users = new Map<string, number[]>();
  private readonly addresses = new Map<string, number[]>();

  constructor(private readonly policy: LoginThrottlePolicy, private readonly maxKeys = 100_000) {}

  check(user: string, address: string, nowMs: number): ThrottleDecision {
    const u = this.recent(this.users, user, nowMs);
    if (u.length >= this.policy.perUser) return { allowed: false, by: 'user', retryAfterSec: this.retry(u, nowMs) };
    const a = address ? this.recent(this.addresses, address, nowMs) : [];
    if (a.length >= this.policy.perAddress) return { allowed: false, by: 'address', retryAfterSec: this.retry(a, nowMs) };
    return { allowed: true };
  }

  failed(user: string, address: string, nowMs: number): void {
    this.push(this.users, user, nowMs);
    if (address) this.push(this.addresses, address, nowMs);
  }

  succeeded(user: string): void {
    this.users.delete(user);
  }

  private recent(m: Map<string, number[]>, k: string, nowMs: number): number[] {
    const list = (m.get(k) ?? []).filter((t) => nowMs - t < this.policy.windowMs);
    if (list.length) m.set(k, list);
    else m.delete(k);
    return list;
  }

  private push(m: Map<string, number[]>, k: string, nowMs: number): void {
    if (!m.has(k) && m.size >= this.maxKeys) m.delete(m.keys().next().value as string);
    m.set(k, [...this.recent(m, k, nowMs), nowMs]);
  }

  private retry(list: number[], nowMs: number): number {
    return Math.max(1, Math.ceil((list[0] + this.policy.windowMs - nowMs) / 1000));
  }
}

/** Random tokens and their digests (adapters/crypto/web-tokens.ts: node:crypto). */
export interface TokenSource {
  /** A new unguessable token: 256 random bits, base64url. */
  newToken(): string;
  /** The key a token is kept under (its SHA-256), so the table never holds a usable token. */
  keyOf(token: string): string;
}
