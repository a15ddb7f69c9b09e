// The portal's HTTP client: JSON in and out, X-CSRF-Token on changes, errors mapped to one shape. No DOM.

export type ErrorKind = 'unauthenticated' | 'forbidden' | 'rateLimited' | 'notFound' | 'conflict' | 'invalid' | 'network' | 'server';

export class ApiError extends Error {
  constructor(readonly status: number, readonly code: string, message: string, readonly kind: ErrorKind) {
    super(message);
    this.name = 'ApiError';
  }
}

export function kindOf(status: number): ErrorKind {
  if (status === 0) return 'network';
  if (status === 401) return 'unauthenticated';
  if (status === 403) return 'forbidden';
  if (status === 404) return 'notFound';
  if (status === 409) return 'conflict';
  if (status === 429) return 'rateLimited';
  if (status >= 400 && status < 500) return 'invalid';
  return 'server';
}

/** Turns a non-2xx response (status + parsed body, or null) into an ApiError with a message for people. */
export function toApiError(status: number, body: unknown): ApiError {
  const e = (body && typeof body === 'object' && 'error' in body) ? (body as { error: unknown }).error : null;
  const code = e && typeof e === 'object' && typeof (e as { code?: unknown }).code === 'string' ? (e as { code: string }).code : 'Failed';
  const raw = e && typeof e === 'object' && typeof (e as { message?: unknown }).message === 'string' ? (e as { message: string }).message : '';
  const kind = kindOf(status);
  let message = raw;
  if (kind === 'forbidden') message = raw ? `Not allowed: ${raw}` : 'Not allowed.';
  else if (!message) {
    message = kind === 'unauthenticated' ? 'Please sign in.'
      : kind === 'rateLimited' ? 'Too many attempts. Try again later.'
      : kind === 'network' ? 'The server cannot be reached.'
      : `Request failed (HTTP ${status}).`;
  }
  return new ApiError(status, code, message, kind);
}

export type FetchLike = (url: string, init: { method: string; headers: Record<string, string>; body?: string; credentials: 'same-origin' }) => Promise<{ status: number; ok: boolean; text(): Promise<string> }>;

export interface ApiClient {
  get<T>(path: string): Promise<T>;
  send<T>(method: 'POST' | 'PUT' | 'PATCH' | 'DELETE', path: string, body?: unknown): Promise<T>;
  setCsrf(token: string | null): void;
}

/** onUnauthenticated: called on any 401 (except the login call itself), e.g. to go to the login page. */
export function createApi(fetchFn: FetchLike, onUnauthenticated: () => void = () => {}): ApiClient {
  let csrf: string | null = null;
  async function request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { Accept: 'application/json' };
    if (method !== 'GET') {
      if (csrf) headers['X-CSRF-Token'] = csrf;
      if (body !== undefined) headers['Content-Type'] = 'application/json';
    }
    let res;
    try {
      res = await fetchFn(`/api/v1${path}`, { method, headers, credentials: 'same-origin', ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
    } catch {
      throw toApiError(0, null);
    }
    const text = await res.text();
    let parsed: unknown = null;
    if (text) { try { parsed = JSON.parse(text); } catch { parsed = null; } }
    if (!res.ok) {
      const err = toApiError(res.status, parsed);
      if (err.kind === 'unauthenticated' && path !== '/login') onUnauthenticated();
      throw err;
    }
    return parsed as T;
  }
  return {
    get: (path) => request('GET', path),
    send: (method, path, body) => request(method, path, body),
    setCsrf: (t) => { csrf = t; },
  };
}

/** Query string from an object, skipping undefined/empty values. */
export function qs(params: Record<string, string | number | boolean | undefined | null>): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === null || v === '') continue;
    parts.push(`${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`);
  }
  return parts.length ? `?${parts.join('&')}` : '';
}

export const seg = (s: string | number): string => encodeURIComponent(String(s));
