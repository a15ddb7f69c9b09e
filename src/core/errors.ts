// The one error catalogue: every code with its D-Bus name, CLI exit code, HTTP status and PAM-hook behaviour.

/**
 * How the PAM hook treats an error reply:
 * - "allow": the daemon says the login is none of its business (e.g. an unknown name): the
 *   login proceeds in either failure mode.
 * - "failure-mode": the hook applies its configured failure mode (open: allow, closed: refuse
 *   in the account phase).
 */
export type HookBehaviour = 'allow' | 'failure-mode';

export interface ErrorSpec {
  /** Exit status of diycloudctl when a call fails with this code. */
  readonly exitCode: number;
  /** The status diycloud-web answers with when a call fails with this code. */
  readonly httpStatus: number;
  readonly hook: HookBehaviour;
  /** One line for docs/errors.md and the interface XML. */
  readonly summary: string;
}

export const ERROR_PREFIX = 'org.diycloud.Manager1.Error.';

export const ERROR_CATALOGUE = {
  Failed: { exitCode: 1, httpStatus: 500, hook: 'failure-mode', summary: 'An unexpected internal error; details are in the journal.' },
  InvalidArgument: { exitCode: 2, httpStatus: 400, hook: 'failure-mode', summary: 'An argument is malformed; the message names the field.' },
  NoSuchUser: { exitCode: 3, httpStatus: 404, hook: 'allow', summary: 'The user does not exist (in NSS or in the database, as the method requires).' },
  PermissionDenied: { exitCode: 4, httpStatus: 403, hook: 'failure-mode', summary: 'The caller is not allowed to call this method.' },
  InteractiveAuthorizationRequired: { exitCode: 5, httpStatus: 403, hook: 'failure-mode', summary: 'Authorization needs an interactive prompt the caller did not allow.' },
  UserExists: { exitCode: 6, httpStatus: 409, hook: 'failure-mode', summary: 'A user or group of that name already exists.' },
  NameReserved: { exitCode: 7, httpStatus: 409, hook: 'failure-mode', summary: 'The name is reserved for the system.' },
  LimitOutOfRange: { exitCode: 8, httpStatus: 422, hook: 'failure-mode', summary: 'A limit is below the configured floor or above what the machine allows.' },
  QuotaUnsupported: { exitCode: 9, httpStatus: 422, hook: 'failure-mode', summary: 'The filesystem holding home directories cannot enforce disk quotas.' },
  Busy: { exitCode: 10, httpStatus: 503, hook: 'failure-mode', summary: 'The daemon is overloaded or the target is being changed; retry later.' },
  BackendFailed: { exitCode: 11, httpStatus: 502, hook: 'failure-mode', summary: 'An enforcement backend (systemd, quota, accounts) failed; details are in the journal.' },
  AuthenticationFailed: { exitCode: 12, httpStatus: 401, hook: 'failure-mode', summary: 'A web login was refused: wrong name or password, or the account may not log in.' },
  SessionExpired: { exitCode: 13, httpStatus: 401, hook: 'failure-mode', summary: 'The web session is unknown, logged out or expired; log in again.' },
  RateLimited: { exitCode: 14, httpStatus: 429, hook: 'failure-mode', summary: 'Too many attempts from this user or address; the message says when to retry.' },
  NoSuchRequest: { exitCode: 15, httpStatus: 404, hook: 'failure-mode', summary: 'No limit request has that id (or the caller may not see it).' },
  RequestClosed: { exitCode: 16, httpStatus: 409, hook: 'failure-mode', summary: 'The limit request was already approved or denied.' },
  Conflict: { exitCode: 17, httpStatus: 409, hook: 'failure-mode', summary: 'Something diycloud did not make is in the way (a file where its link or certificate goes); the message names it.' },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

export const ERROR_CODES = Object.keys(ERROR_CATALOGUE) as ErrorCode[];

export function dbusErrorName(code: ErrorCode): string {
  return ERROR_PREFIX + code;
}

/** Maps a D-Bus error name back to a code; names outside our catalogue give undefined. */
export function codeFromDbusName(name: string): ErrorCode | undefined {
  if (!name.startsWith(ERROR_PREFIX)) return undefined;
  const code = name.slice(ERROR_PREFIX.length);
  return Object.prototype.hasOwnProperty.call(ERROR_CATALOGUE, code) ? (code as ErrorCode) : undefined;
}

/** The typed error every layer throws. `message` is safe to show a caller; `cause` is not. */
export class DiycloudError extends Error {
  readonly code: ErrorCode;
  /** The offending field, for InvalidArgument and LimitOutOfRange. */
  readonly field: string | undefined;

  constructor(code: ErrorCode, message: string, opts: { field?: string; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'DiycloudError';
    this.code = code;
    this.field = opts.field;
  }
}

export function invalidArgument(field: string, message: string): DiycloudError {
  return new DiycloudError('InvalidArgument', `${field}: ${message}`, { field });
}
