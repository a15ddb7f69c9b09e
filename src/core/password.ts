// What a password passed to chpasswd may be (its strength is PAM's business, not ours).

import { DiycloudError } from './errors';

export const MAX_PASSWORD_BYTES = 512;

/** A non-empty string of at most 512 bytes, without newline or NUL (chpasswd reads lines). */
export function validatePassword(p: unknown, field = 'password'): string {
  if (typeof p !== 'string' || p.length === 0) throw new DiycloudError('InvalidArgument', `${field}: expected a non-empty string`, { field });
  if (utf8Length(p) > MAX_PASSWORD_BYTES) throw new DiycloudError('InvalidArgument', `${field}: longer than ${MAX_PASSWORD_BYTES} bytes`, { field });
  if (/[\n\r\0]/.test(p)) throw new DiycloudError('InvalidArgument', `${field}: must not contain a newline or NUL`, { field });
  return p;
}

/** The old password of SetPassword: empty (an admin's reset) or a password as above. */
export function validateOldPassword(p: unknown): string {
  if (p === '') return '';
  if (typeof p !== 'string' || utf8Length(p) > MAX_PASSWORD_BYTES || /[\n\r\0]/.test(p)) {
    throw new DiycloudError('InvalidArgument', `old_password: expected a string without newline or NUL, at most ${MAX_PASSWORD_BYTES} bytes`, { field: 'old_password' });
  }
  return p;
}

/** UTF-8 length without Buffer (core does no I/O and imports no node: module). */
function utf8Length(s: string): number {
  let n = 0;
  for (const ch of s) {
    const c = ch.codePointAt(0) as number;
    n += c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
  }
  return n;
}
