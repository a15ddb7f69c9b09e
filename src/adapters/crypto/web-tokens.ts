// TokenSource on node:crypto: 256-bit random tokens (base64url) and their SHA-256 digests.

import { createHash, randomBytes } from 'node:crypto';
import type { TokenSource } from '../../core/web-session';

export const webTokens: TokenSource = {
  newToken: () => randomBytes(32).toString('base64url'),
  keyOf: (token) => createHash('sha256').update(token, 'utf8').digest('hex'),
};
