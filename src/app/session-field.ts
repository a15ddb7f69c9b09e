// Validation of the free-form PAM items (service, tty, rhost) that reach the daemon.

import { DiycloudError } from '../core/errors';

/** PAM items come from remote peers: bounded, printable, stored as data and never interpreted. */
export const MAX_SESSION_FIELD = 256;

export function sessionField(field: string, value: unknown): string {
  if (typeof value !== 'string') throw new DiycloudError('InvalidArgument', `${field}: expected a string`, { field });
  if (value.length > MAX_SESSION_FIELD) {
    throw new DiycloudError('InvalidArgument', `${field}: longer than ${MAX_SESSION_FIELD} characters`, { field });
  }
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(value)) {
    throw new DiycloudError('InvalidArgument', `${field}: contains control characters`, { field });
  }
  return value;
}
