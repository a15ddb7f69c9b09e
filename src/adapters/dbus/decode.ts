// Decodes a{sv} arguments into plain values, strictly: only known keys, only accepted wire types.

import type { Variant } from 'dbus-next';
import { DiycloudError } from '../../core/errors';
import type { LimitsInput } from '../../core/limits-input';
import { printable } from '../../core/size';

type Dict = Record<string, Variant>;

export const INTEGER = ['y', 'n', 'q', 'i', 'u', 'x', 't'] as const;

/**
 * An a{sv} as dbus-next decodes it: a plain object. A "__proto__" key is not stored as a key by
 * the decoder but replaces the object's prototype, so it is detected by that and refused like any
 * other unknown key.
 */
export function dict(d: unknown, field: string): Dict {
  if (d === null || typeof d !== 'object' || Array.isArray(d)) throw new DiycloudError('InvalidArgument', `${field}: expected a dictionary (a{sv})`, { field });
  if (Object.getPrototypeOf(d) !== Object.prototype) throw new DiycloudError('InvalidArgument', `${field}: unknown key "__proto__"`, { field });
  return d as Dict;
}

/** A variant's value as a plain JS value: integers as numbers (a 64-bit one beyond 2^53 stays unsafe, which the use case refuses). */
const plain = (v: Variant): unknown => (typeof v.value === 'bigint' ? Number(v.value) : v.value);

/**
 * Plain values of an a{sv} whose keys are all known and of an accepted type; anything else is
 * InvalidArgument naming the key. A key whose spec is "limits" holds a nested limits dictionary.
 */
export function options(d: unknown, spec: Readonly<Record<string, readonly string[]>>, field: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(dict(d ?? {}, field))) {
    if (!Object.prototype.hasOwnProperty.call(spec, k)) throw new DiycloudError('InvalidArgument', `${field}: unknown key "${printable(k.slice(0, 40))}"; known keys: ${Object.keys(spec).join(', ')}`, { field });
    if (!spec[k].includes(v.signature)) throw new DiycloudError('InvalidArgument', `${field}.${k}: expected type ${spec[k].join(' or ')}, got ${printable(String(v.signature).slice(0, 20))}`, { field: k });
    out[k] = v.signature === 'a{sv}' ? limits(v.value, `${field}.${k}`) : plain(v);
  }
  return out;
}

/** The wire types of a limits dictionary (SetLimits, SetProfile, CreateUser's options.limits). */
const LIMIT_TYPES: Readonly<Record<string, readonly string[]>> = {
  cpu: ['d', 'u', 't'],
  memory: ['s', 't'],
  disk: ['s', 't'],
  gpu: ['s', 'b'],
  tasks: ['t', 'u'],
  // not a limit: what SetLimits does with processes holding a GPU it revokes ("report" or "kill")
  gpuRevoke: ['s'],
};

/**
 * A limits a{sv}: cpu (d, cores), memory and disk (s like "2G", or t bytes), gpu (s "none", "all" or "0,2"; b, the old flag), tasks (t).
 * Keys outside the list go through as they are, so the use case names them in its error (it knows
 * the keys); a known key of the wrong type is refused here, naming the type to use.
 */
export function limits(d: unknown, field = 'limits'): LimitsInput {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(dict(d, field))) {
    const types = Object.prototype.hasOwnProperty.call(LIMIT_TYPES, k) ? LIMIT_TYPES[k] : null;
    if (types && !types.includes(v.signature)) throw new DiycloudError('InvalidArgument', `limits.${k}: expected type ${types.join(' or ')}, got ${printable(String(v.signature).slice(0, 20))}`, { field: k });
    out[k] = plain(v);
  }
  return out;
}
