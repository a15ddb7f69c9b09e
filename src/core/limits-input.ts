// Decodes the a{sv} limits of SetLimits/SetProfile into typed values, strictly.

import { DiycloudError } from './errors';
import { formatSize, parseSize, printable } from './size';
import type { RawOverrides } from './ports';

/** A D-Bus variant as the codec hands it over: its signature and its value. */
export interface VariantIn {
  readonly signature: string;
  readonly value: unknown;
}

export const LIMIT_KEYS = ['cpu', 'memory', 'disk', 'gpu', 'tasks'] as const;

const bad = (field: string, msg: string) => new DiycloudError('InvalidArgument', `limits.${field}: ${msg}`, { field });

function size(field: string, v: VariantIn): string {
  if (v.signature === 's') return formatSize(parseSize(String(v.value), `limits.${field}`));
  if (v.signature === 't') {
    const n = Number(v.value as bigint);
    if (!Number.isSafeInteger(n)) throw bad(field, 'too large');
    return formatSize(n);
  }
  throw bad(field, `expected a size string (s) or bytes (t), got type ${v.signature}`);
}

/**
 * Keys: cpu (d, cores), memory and disk (s like "2G", or t bytes), gpu (b), tasks (t). Unknown
 * keys and wrong types are InvalidArgument naming the key; the floor and the machine ceiling are
 * checked by the caller on the resulting effective allocation.
 */
export function parseLimits(input: Record<string, VariantIn>): Partial<RawOverrides> {
  const out: { -readonly [K in keyof RawOverrides]?: RawOverrides[K] } = {};
  const keys = Object.keys(input);
  if (keys.length === 0) throw new DiycloudError('InvalidArgument', `limits: give at least one of ${LIMIT_KEYS.join(', ')}`, { field: 'limits' });
  for (const k of keys) {
    const v = input[k];
    switch (k) {
      case 'cpu': {
        const n = v.signature === 'd' || v.signature === 'u' || v.signature === 't' ? Number(v.value) : NaN;
        if (!(Number.isFinite(n) && n > 0)) throw bad(k, 'expected a positive number of cores (type d)');
        out.cpu = n;
        break;
      }
      case 'memory':
        out.memory = size(k, v);
        break;
      case 'disk':
        out.disk = size(k, v);
        break;
      case 'gpu':
        if (v.signature !== 'b') throw bad(k, 'expected a boolean (type b)');
        out.gpu = v.value === true;
        break;
      case 'tasks': {
        const n = v.signature === 't' || v.signature === 'u' ? Number(v.value) : NaN;
        if (!(Number.isSafeInteger(n) && n >= 1)) throw bad(k, 'expected a positive integer (type t)');
        out.tasks = n;
        break;
      }
      default:
        throw new DiycloudError('InvalidArgument', `limits: unknown key "${printable(k)}"; known keys: ${LIMIT_KEYS.join(', ')}`, { field: 'limits' });
    }
  }
  return out;
}
