// Strict parsing and formatting of byte sizes ("2G", "512M", "1.5T", or a plain integer of bytes).

import { DiycloudError } from './errors';

const UNITS: Record<string, number> = { K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4, P: 1024 ** 5 };

// Digits, an optional fraction only when a unit follows, and one binary unit letter.
// Anything else (spaces, signs, exponents, hex, "GiB", trailing junk) is refused.
const SIZE_RE = /^(0|[1-9][0-9]{0,17})(?:\.([0-9]{1,6}))?([KMGTP])?$/;

/** Parses a size into bytes. Units are binary (K = 1024), as in systemd. Throws InvalidArgument. */
export function parseSize(input: string, field = 'size'): number {
  if (typeof input !== 'string' || input.length === 0 || input.length > 32) {
    throw new DiycloudError('InvalidArgument', `${field}: expected a size like 2G, 512M, 1.5T or a number of bytes`, { field });
  }
  const m = SIZE_RE.exec(input);
  if (!m || (m[2] !== undefined && m[3] === undefined)) {
    throw new DiycloudError('InvalidArgument', `${field}: "${printable(input)}" is not a size; use e.g. 2G, 512M, 1.5T or a number of bytes`, { field });
  }
  const unit = m[3] ? UNITS[m[3]] : 1;
  const bytes = Math.round(Number(`${m[1]}.${m[2] ?? '0'}`) * unit);
  if (!Number.isSafeInteger(bytes)) {
    throw new DiycloudError('InvalidArgument', `${field}: ${printable(input)} is too large`, { field });
  }
  return bytes;
}

/** Formats bytes the way parseSize reads them, exactly where possible ("2G", "1536M", "1000"). */
export function formatSize(bytes: number): string {
  for (const u of ['P', 'T', 'G', 'M', 'K'] as const) {
    if (bytes >= UNITS[u] && bytes % UNITS[u] === 0) return `${bytes / UNITS[u]}${u}`;
  }
  return String(bytes);
}

/** Renders untrusted text for an error message: bounded length, control characters escaped. */
export function printable(s: string, max = 40): string {
  const cut = s.length > max ? s.slice(0, max) + '…' : s;
  return cut.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}
