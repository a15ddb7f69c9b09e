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

export function resolveAllocation(o: RawOverrides | null, defaults: Allocation): EffectiveAllocation {
  const problems: string[] = [];
  const pick = <K extends keyof Allocation>(key: K, raw: unknown, parse: (v: never) => Allocation[K]): [Allocation[K], AllocationSource] => {
    if (raw === null || raw === undefined) return [defaults[key], 'default'];
    try {
      return [parse(raw as never), 'user'];
    } catch (e) {
      problems.push(`${key}: stored value ${JSON.stringify(raw)} is invalid (${(e as Error).message}); using the default`);
      return [defaults[key], 'default'];
    }
  };
  const positive = (v: number): number => {
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw new Error('not a positive number');
    return v;
  };
  const [cpuCores, cpuSrc] = pick('cpuCores', o?.cpu, positive);
  const [memoryMaxBytes, memSrc] = pick('memoryMaxBytes', o?.memory, (v: string) => parseSize(v, 'memory'));
  const [diskQuotaBytes, diskSrc] = pick('diskQuotaBytes', o?.disk, (v: string) => parseSize(v, 'disk'));
  const [gpuAccess, gpuSrc] = pick('gpuAccess', o?.gpu, (v: boolean) => v === true);
  const [tasksMax, tasksSrc] = pick('tasksMax', o?.tasks, (v: number) => {
    if (!Number.isSafeInteger(v) || v < 1) throw new Error('not a positive integer');
    return v;
  });
  return {
    allocation: { cpuCores, memoryMaxBytes, diskQuotaBytes, gpuAccess, tasksMax },
    sources: { cpuCores: cpuSrc, memoryMaxBytes: memSrc, diskQuotaBytes: diskSrc, gpuAccess: gpuSrc, tasksMax: tasksSrc },
    problems,
  };
}
