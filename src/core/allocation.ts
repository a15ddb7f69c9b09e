// The allocation value type and the policy that keeps it between the floor and the machine.

import { DiycloudError } from './errors';
import type { GpuGrant } from './gpu-grant';
import { formatSize } from './size';

/** What one account may use. `null` means "no limit" for that resource; a disk quota of 0 too. */
export interface Allocation {
  readonly cpuCores: number;
  readonly memoryMaxBytes: number;
  readonly diskQuotaBytes: number;
  /** Which GPUs the account may open (the device cgroup enforces it; docs/gpu.md). */
  readonly gpus: GpuGrant;
  readonly tasksMax: number | null;
}

/** Where each value of an effective allocation came from. */
export type AllocationSource = 'user' | 'role' | 'default';

export interface AllocationBounds {
  readonly minCpuCores: number;
  readonly minMemoryBytes: number;
  /** The smallest disk quota (0, "no quota", is always allowed). Absent: no floor. */
  readonly minDiskBytes?: number;
  /** The machine's capacity; limits above it follow `aboveMachine`. */
  readonly machineCpuCores: number;
  readonly machineMemoryBytes: number;
  /** "clamp": an allocation above the machine is enforced as the machine's size; "reject": it is refused. */
  readonly aboveMachine: 'clamp' | 'reject';
}

export interface CheckedAllocation {
  readonly allocation: Allocation;
  /** Human-readable notes about values that were clamped. */
  readonly warnings: string[];
}

/**
 * Holds an allocation to the bounds. Below the floor is always an error (LimitOutOfRange): a
 * 1-byte memory limit is a typo, not a policy. Above the machine is clamped or refused.
 */
export function checkAllocation(a: Allocation, b: AllocationBounds): CheckedAllocation {
  if (!(a.cpuCores >= b.minCpuCores)) {
    throw new DiycloudError('LimitOutOfRange', `cpu: ${a.cpuCores} cores is below the floor of ${b.minCpuCores}`, { field: 'cpu' });
  }
  if (!(a.memoryMaxBytes >= b.minMemoryBytes)) {
    throw new DiycloudError('LimitOutOfRange', `memory: ${formatSize(a.memoryMaxBytes)} is below the floor of ${formatSize(b.minMemoryBytes)}`, { field: 'memory' });
  }
  if (!(Number.isSafeInteger(a.diskQuotaBytes) && a.diskQuotaBytes >= 0) || (a.diskQuotaBytes > 0 && a.diskQuotaBytes < (b.minDiskBytes ?? 0))) {
    throw new DiycloudError('LimitOutOfRange', `disk: ${formatSize(a.diskQuotaBytes)} is below the floor of ${formatSize(b.minDiskBytes ?? 0)} (0 means no quota)`, { field: 'disk' });
  }
  if (a.tasksMax !== null && !(Number.isSafeInteger(a.tasksMax) && a.tasksMax >= 1)) {
    throw new DiycloudError('LimitOutOfRange', `tasks: ${a.tasksMax} must be a positive integer`, { field: 'tasks' });
  }
  const warnings: string[] = [];
  let { cpuCores, memoryMaxBytes } = a;
  if (cpuCores > b.machineCpuCores) {
    if (b.aboveMachine === 'reject') {
      throw new DiycloudError('LimitOutOfRange', `cpu: ${cpuCores} cores is more than this machine has (${b.machineCpuCores})`, { field: 'cpu' });
    }
    warnings.push(`cpu ${cpuCores} clamped to the machine's ${b.machineCpuCores} cores`);
    cpuCores = b.machineCpuCores;
  }
  if (memoryMaxBytes > b.machineMemoryBytes) {
    if (b.aboveMachine === 'reject') {
      throw new DiycloudError('LimitOutOfRange', `memory: ${formatSize(memoryMaxBytes)} is more than this machine has (${formatSize(b.machineMemoryBytes)})`, { field: 'memory' });
    }
    warnings.push(`memory ${formatSize(memoryMaxBytes)} clamped to the machine's ${formatSize(b.machineMemoryBytes)}`);
    memoryMaxBytes = b.machineMemoryBytes;
  }
  return { allocation: { ...a, cpuCores, memoryMaxBytes }, warnings };
}
