// diycloud-web's pure policy: the session cookie, which requests need CSRF and Origin checks, the
// security headers, and how a failure becomes an HTTP answer (docs/http-api.md).

import { ERROR_CATALOGUE, type ErrorCode } from './errors';

export const SESSION_COOKIE = '__Host-diycloud-session';
/** The daemon's tokens: 256 random bits in base64url, 43 characters. */
const TOKEN_RE = /^[A-Za-z0-9_-]{43}$/;

const COOKIE_ATTRS = 'Path=/; HttpOnly; Secure; SameSite=Strict';

/** Set-Cookie value for a new session; Max-Age up to the session's absolute expiry (at least 1 s). */
export function sessionCookie(token: string, absoluteExpiresAt: string, nowMs: number): string {
  const left = Math.floor((Date.parse(absoluteExpiresAt) - nowMs) / 1000);
  const maxAge = Number.isFinite(left) ? `; Max-Age=${Math.max(1, left)}` : '';
  return `${SESSION_COOKIE}=${token}; ${COOKIE_ATTRS}${maxAge}`;
}

/** Set-Cookie value that makes the browser forget the session cookie. */
export function clearedCookie(): string {
  return `${SESSION_COOKIE}=; ${COOKIE_ATTRS}; Max-Age=0`;
}

/** The session token in a Cookie header, when there is one that looks like a token. */
export function tokenFromCookieHeader(header: string | undefined): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() !== SESSION_COOKIE) continue;
    const v = part.slice(eq + 1).trim();
    return TOKEN_RE.test(v) ? v : undefined;
  }
  return undefined;
}

/** Requests that change state (they need the CSRF header and a matching Origin). */
export function isChangingMethod(method: string): boolean {
  return !['GET', 'HEAD', 'OPTIONS'].includes(method.toUpperCase());
}

export interface OriginFacts {
  readonly origin: string | undefined;
  readonly secFetchSite: string | undefined;
  readonly host: string | undefined;
  /** [Web] PublicOrigin when configured, e.g. "https://cloud.example.org". */
  readonly publicOrigin: string | undefined;
}

/** The origin the portal is served from: the configured one, else https:// and the request's Host. */
export function expectedOrigin(f: OriginFacts): string | undefined {
  if (f.publicOrigin) return f.publicOrigin.replace(/\/+$/, '');
  return f.host ? `https://${f.host}` : undefined;
}

/**
 * A changing request (and /login) must carry an Origin equal to the expected one; a browser's
 * Sec-Fetch-Site, when sent, must say same-origin. Anything missing or odd is a refusal.
 */
export function changingRequestOriginOk(f: OriginFacts): boolean {
  const want = expectedOrigin(f);
  if (!want || !f.origin || f.origin !== want) return false;
  return f.secFetchSite === undefined || f.secFetchSite === 'same-origin';
}

/**
 * The live stream is a GET (EventSource sends no Origin for same-origin requests): refused when a
 * browser says it is not same-origin, or when an Origin is sent and differs.
 */
export function streamOriginOk(f: OriginFacts): boolean {
  if (f.secFetchSite !== undefined && f.secFetchSite !== 'same-origin' && f.secFetchSite !== 'none') return false;
  if (f.origin === undefined) return true;
  return f.origin === expectedOrigin(f);
}

export const CONTENT_SECURITY_POLICY =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/** Headers on every response. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'Content-Security-Policy': CONTENT_SECURITY_POLICY,
  'X-Frame-Options': 'DENY',
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

export interface ErrorAnswer {
  readonly status: number;
  readonly body: { error: { code: string; message: string } };
}

/** The client-side outcomes of a bus call that are not catalogue codes. */
const CLIENT_CODES: Record<string, { code: ErrorCode; message: string }> = {
  Unavailable: { code: 'Busy', message: 'diycloudd is not reachable; try again later' },
  Timeout: { code: 'Busy', message: 'diycloudd did not answer in time; try again later' },
};

/** A failure as {status, body}: catalogue codes keep their status and message, all else is 500. */
export function errorAnswer(e: unknown): ErrorAnswer {
  const code = (e as { code?: unknown } | null)?.code;
  const message = (e as { message?: unknown } | null)?.message;
  if (typeof code === 'string' && Object.prototype.hasOwnProperty.call(ERROR_CATALOGUE, code)) {
    const c = code as ErrorCode;
    if (c === 'Failed') return internalError();
    return { status: ERROR_CATALOGUE[c].httpStatus, body: { error: { code: c, message: typeof message === 'string' ? firstLine(message) : c } } };
  }
  if (typeof code === 'string' && CLIENT_CODES[code]) {
    const m = CLIENT_CODES[code];
    return { status: ERROR_CATALOGUE[m.code].httpStatus, body: { error: { code: m.code, message: m.message } } };
  }
  return internalError();
}

export function internalError(): ErrorAnswer {
  return { status: 500, body: { error: { code: 'Failed', message: 'internal error' } } };
}

/** An answer for a code of ours with our own message. */
export function answerFor(code: ErrorCode, message: string): ErrorAnswer {
  return { status: ERROR_CATALOGUE[code].httpStatus, body: { error: { code, message } } };
}

function firstLine(s: string): string {
  return s.split('\n')[0].slice(0, 500);
}
