// E-mail address validation: a pragmatic subset of RFC 5321 that no tool will misread.

import { DiycloudError } from './errors';

const EMAIL_RE = /^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$/;

/** "" clears the address (null); anything else must look like local@domain.tld, at most 254 characters. */
export function validateEmail(email: unknown): string | null {
  if (email === '') return null;
  if (typeof email !== 'string' || email.length > 254 || !EMAIL_RE.test(email) || email.includes('..')) {
    throw new DiycloudError('InvalidArgument', 'email: expected an address like alice@example.org', { field: 'email' });
  }
  return email;
}
