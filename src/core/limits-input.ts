// Validates the limits of SetLimits/SetProfile/CreateUser (already decoded from the wire) into stored override values, strictly.

import { DiycloudError } from './errors';
import { formatGpuGrant, grantFromFlag, parseGpuGrant } from './gpu-grant';
import { formatSize, parseSize, printable } from './size';
import type { RawOverrides } from './ports';

/**
 * Limits as an entry point hands them over, in plain values: cpu (cores), memory and disk (a size
 * string like "2G", or bytes), gpu ("none", "all", "0,2"; a boolean is the old flag), tasks (integer). The wire types are checked by the
 * entry point's decoder (the D-Bus adapter for a{sv}); the values are checked here.
 */
export type LimitsInput = Readonly<Record<string, unknown>>;

export const LIMIT_KEYS = ['cpu', 'memory', 'disk', 'gpu', 'tasks'] as const;

const bad = (field: string, msg: string) => new DiycloudError('InvalidArgument', `limits.${field}: ${msg}`, { field });

function size(field: string, v: unknown): string {
  if (typeof v === 'string') {
    try {
      return formatSize(parseSize(v, `limits.${field}`));
    } catch (e) {
      throw new DiycloudError('InvalidArgument', (e as Error).message, { field }); // the key, like every other limits error
    }
  }
  if (typeof v === 'number') {
    if (!Number.isSafeInteger(v) || v < 0) throw bad(field, 'too large, or not a whole number of bytes');
    return formatSize(v);
  }
  throw bad(field, 'expected a size string such as 2G, or a number of bytes');
}

/** "none", "all", indices "0,2", or the old boolean (true = all, false = none); stored in the canonical form. */
function gpu(v: unknown): string {
  if (typeof v === 'boolean') return formatGpuGrant(grantFromFlag(v));
  if (typeof v !== 'string') throw bad('gpu', 'expected "none", "all" or GPU indices such as "0,2"');
  try {
    return formatGpuGrant(parseGpuGrant(v));
  } catch (e) {
    throw bad('gpu', (e as Error).message);
  }
}

/** Unknown keys and wrong values are InvalidArgument naming the key; the floor and ceiling are checked on the resulting allocation. */
export function parseLimits(input: LimitsInput): Partial<RawOverrides> {
  const out: { -readonly [K in keyof RawOverrides]?: RawOverrides[K] } = {};
  const keys = Object.keys(input);
  if (keys.length === 0) throw new DiycloudError('InvalidArgument', `limits: give at least one of ${LIMIT_KEYS.join(', ')}`, { field: 'limits' });
  for (const k of keys) {
    const v = input[k];
    switch (k) {
      case 'cpu':
        if (!(typeof v === 'number' && Number.isFinite(v) && v > 0)) throw bad(k, 'expected a positive number of cores');
        out.cpu = v;
        break;
      case 'memory':
        out.memory = size(k, v);
        break;
      case 'disk':
        out.disk = size(k, v);
        break;
      case 'gpu':
        out.gpu = gpu(v);
        break;
      case 'tasks':
        if (!(typeof v === 'number' && Number.isSafeInteger(v) && v >= 1)) throw bad(k, 'expected a positive integer');
        out.tasks = v;
        break;
      default:
        throw new DiycloudError('InvalidArgument', `limits: unknown key "${printable(k)}"; known keys: ${LIMIT_KEYS.join(', ')}`, { field: 'limits' });
    }
  }
  return out;
}
