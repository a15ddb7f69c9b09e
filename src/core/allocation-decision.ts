// Where a user's allocation is decided: user override, then role profile, then default; held to the bounds.

import { checkAllocation, type Allocation, type AllocationBounds, type AllocationSource } from './allocation';
import type { RawOverrides } from './ports';
import { parseGpuGrant } from './gpu-grant';
import { parseSize } from './size';

export interface EffectiveAllocation {
  readonly allocation: Allocation;
  readonly sources: Record<keyof Allocation, AllocationSource>;
  /** Stored values that could not be used (e.g. a hand-edited "2 G"); the next layer applies instead. */
  readonly problems: string[];
}

export interface AllocationDecision extends EffectiveAllocation {
  /** Values clamped to the machine. */
  readonly warnings: string[];
  /** Set when the resolved allocation was below the floor and the default is enforced instead (why). */
  readonly fellBack: string | null;
}

export interface DecisionInput {
  /** The user's own overrides (null: not in the database). */
  readonly user: RawOverrides | null;
  /** The user's role profile (null: none). */
  readonly role: RawOverrides | null;
  readonly defaults: Allocation;
  readonly bounds: AllocationBounds;
}

/**
 * The one decision every path enforces (login, reconcile, admin changes, GetUser):
 *  1. each value from the user's own override, then the role's profile, then the default; a stored
 *     value that cannot be parsed is skipped and named in `problems`;
 *  2. held to the bounds: above the machine clamped (or refused, with AboveMachine=reject);
 *  3. a result below the floor (only a hand-edited database can store one: every write is checked
 *     by checkPatched) falls back to the default allocation, so something is enforced, never nothing.
 */
export function decideAllocation(input: DecisionInput): AllocationDecision {
  const eff = resolveAllocation(input.user, input.defaults, input.role);
  try {
    const checked = checkAllocation(eff.allocation, input.bounds);
    return { ...eff, allocation: checked.allocation, warnings: checked.warnings, fellBack: null };
  } catch (e) {
    const fallback = checkAllocation(input.defaults, input.bounds);
    return { ...eff, allocation: fallback.allocation, warnings: fallback.warnings, fellBack: `${(e as Error).message}; enforcing the default allocation` };
  }
}

/**
 * Refuses a write whose resulting allocation is below the floor or (with reject) above the
 * machine: LimitOutOfRange, before anything is stored.
 */
export function checkPatched(input: DecisionInput): void {
  checkAllocation(resolveAllocation(input.user, input.defaults, input.role).allocation, input.bounds);
}

/** Step 1 alone: each value from the user's override, then the role's profile, then the default. */
export function resolveAllocation(user: RawOverrides | null, defaults: Allocation, role: RawOverrides | null = null): EffectiveAllocation {
  const problems: string[] = [];
  const pick = <K extends keyof Allocation>(key: K, rawKey: keyof RawOverrides, parse: (v: never) => Allocation[K]): [Allocation[K], AllocationSource] => {
    for (const [layer, src] of [[user, 'user'], [role, 'role']] as const) {
      const raw = layer?.[rawKey];
      if (raw === null || raw === undefined) continue;
      try {
        return [parse(raw as never), src];
      } catch (e) {
        problems.push(`${key}: stored ${src} value ${JSON.stringify(raw)} is invalid (${(e as Error).message}); ignoring it`);
      }
    }
    return [defaults[key], 'default'];
  };
  const positive = (v: number): number => {
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw new Error('not a positive number');
    return v;
  };
  const [cpuCores, cpuSrc] = pick('cpuCores', 'cpu', positive);
  const [memoryMaxBytes, memSrc] = pick('memoryMaxBytes', 'memory', (v: string) => parseSize(v, 'memory'));
  const [diskQuotaBytes, diskSrc] = pick('diskQuotaBytes', 'disk', (v: string) => parseSize(v, 'disk'));
  const [gpus, gpuSrc] = pick('gpus', 'gpu', (v: string) => parseGpuGrant(v));
  const [tasksMax, tasksSrc] = pick('tasksMax', 'tasks', (v: number) => {
    if (!Number.isSafeInteger(v) || v < 1) throw new Error('not a positive integer');
    return v;
  });
  return {
    allocation: { cpuCores, memoryMaxBytes, diskQuotaBytes, gpus, tasksMax },
    sources: { cpuCores: cpuSrc, memoryMaxBytes: memSrc, diskQuotaBytes: diskSrc, gpus: gpuSrc, tasksMax: tasksSrc },
    problems,
  };
}
