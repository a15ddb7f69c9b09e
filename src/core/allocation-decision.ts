// Resolves a user's effective allocation from their overrides and the default, naming each source.

import type { Allocation, AllocationSource } from './allocation';
import type { RawOverrides } from './ports';
import { parseSize } from './size';

export interface EffectiveAllocation {
  readonly allocation: Allocation;
  readonly sources: Record<keyof Allocation, AllocationSource>;
  /** Stored values that could not be used (e.g. a hand-edited "2 G"); the default applies instead. */
  readonly problems: string[];
}

/**
 * Each value comes from the user's own override first, then the role's profile, then the default.
 * A stored value that cannot be used (e.g. a hand-edited "2 G") is skipped and reported.
 */
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
  const [gpuAccess, gpuSrc] = pick('gpuAccess', 'gpu', (v: boolean) => v === true);
  const [tasksMax, tasksSrc] = pick('tasksMax', 'tasks', (v: number) => {
    if (!Number.isSafeInteger(v) || v < 1) throw new Error('not a positive integer');
    return v;
  });
  return {
    allocation: { cpuCores, memoryMaxBytes, diskQuotaBytes, gpuAccess, tasksMax },
    sources: { cpuCores: cpuSrc, memoryMaxBytes: memSrc, diskQuotaBytes: diskSrc, gpuAccess: gpuSrc, tasksMax: tasksSrc },
    problems,
  };
}
