// The limits form (a user's limits, a role's profile) to the API's body: CPU cores and tasks are numbers
// on the wire (PUT /api/v1/users/{name}/limits, PUT /api/v1/profiles/{role}), sizes and GPUs strings.

/** A form field the page refuses before sending anything (its message is for the user). */
export class FormError extends Error {}

export const LIMIT_KEYS = ['cpu', 'memory', 'disk', 'gpu', 'tasks'] as const;
export type LimitKey = (typeof LIMIT_KEYS)[number];
export type LimitsInput = Record<LimitKey, string>;

export const emptyLimits = (): LimitsInput => ({ cpu: '', memory: '', disk: '', gpu: '', tasks: '' });

/** The fields the user filled in (blank = unchanged); throws a message for a CPU or task count that is not a number. */
export function limitsBody(v: LimitsInput): Record<string, string | number> {
  const body: Record<string, string | number> = {};
  for (const k of LIMIT_KEYS) {
    const t = v[k].trim();
    if (t === '') continue;
    if (k === 'cpu' || k === 'tasks') {
      if (!/^[0-9]+(\.[0-9]+)?$/.test(t) || (k === 'tasks' && t.includes('.'))) {
        throw new FormError(k === 'cpu' ? 'CPU cores: give a number of cores, like 2 or 1.5.' : 'Tasks: give a whole number.');
      }
      body[k] = Number(t);
    } else body[k] = t;
  }
  return body;
}
