// The one error catalogue: every code with its D-Bus name, CLI exit code and PAM-hook behaviour.

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
  readonly hook: HookBehaviour;
  /** One line for docs/errors.md and the interface XML. */
  readonly summary: string;
}

export const ERROR_PREFIX = 'org.diycloud.Manager1.Error.';

export const ERROR_CATALOGUE = {
  Failed: { exitCode: 1, hook: 'failure-mode', summary: 'An unexpected internal error; details are in the journal.' },
  InvalidArgument: { exitCode: 2, hook: 'failure-mode', summary: 'An argument is malformed; the message names the field.' },
  NoSuchUser: { exitCode: 3, hook: 'allow', summary: 'The user does not exist (in NSS or in the database, as the method requires).' },
  PermissionDenied: { exitCode: 4, hook: 'failure-mode', summary: 'The caller is not allowed to call this method.' },
  InteractiveAuthorizationRequired: { exitCode: 5, hook: 'failure-mode', summary: 'Authorization needs an interactive prompt the caller did not allow.' },
  UserExists: { exitCode: 6, hook: 'failure-mode', summary: 'A user or group of that name already exists.' },
  NameReserved: { exitCode: 7, hook: 'failure-mode', summary: 'The name is reserved for the system.' },
  LimitOutOfRange: { exitCode: 8, hook: 'failure-mode', summary: 'A limit is below the configured floor or above what the machine allows.' },
  QuotaUnsupported: { exitCode: 9, hook: 'failure-mode', summary: 'The filesystem holding home directories cannot enforce disk quotas.' },
  Busy: { exitCode: 10, hook: 'failure-mode', summary: 'The daemon is overloaded or the target is being changed; retry later.' },
  BackendFailed: { exitCode: 11, hook: 'failure-mode', summary: 'An enforcement backend (systemd, quota, accounts) failed; details are in the journal.' },
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
