// Unit: the floor and the machine ceiling.
import { describe, expect, it } from 'vitest';
import { checkAllocation, type Allocation, type AllocationBounds } from '../../../src/core/allocation';
import { GPU_NONE } from '../../../src/core/gpu-grant';

const G = 1024 ** 3;
const a: Allocation = { cpuCores: 1, memoryMaxBytes: 2 * G, diskQuotaBytes: 5 * G, gpus: GPU_NONE, tasksMax: null };
const b: AllocationBounds = { minCpuCores: 0.05, minMemoryBytes: 64 * 1024 ** 2, machineCpuCores: 2, machineMemoryBytes: 8 * G, aboveMachine: 'clamp' };

describe('checkAllocation', () => {
  it('passes an allocation inside the bounds unchanged', () => expect(checkAllocation(a, b)).toEqual({ allocation: a, warnings: [] }));
  it('refuses values below the floor with LimitOutOfRange naming the field', () => {
    expect(() => checkAllocation({ ...a, cpuCores: 0.01 }, b)).toThrow(/cpu: 0.01 cores is below the floor of 0.05/);
    expect(() => checkAllocation({ ...a, memoryMaxBytes: 1024 }, b)).toThrow(/memory: 1K is below the floor of 64M/);
    expect(() => checkAllocation({ ...a, cpuCores: NaN }, b)).toThrow(/cpu/);
    expect(() => checkAllocation({ ...a, tasksMax: 0 }, b)).toThrow(/tasks/);
  });
  it('clamps values above the machine, with a warning', () => {
    const r = checkAllocation({ ...a, cpuCores: 64, memoryMaxBytes: 100 * G }, b);
    expect(r.allocation).toMatchObject({ cpuCores: 2, memoryMaxBytes: 8 * G });
    expect(r.warnings).toHaveLength(2);
  });
  it('or refuses them when configured to', () => {
    expect(() => checkAllocation({ ...a, cpuCores: 64 }, { ...b, aboveMachine: 'reject' })).toThrow(/more than this machine has/);
  });
});
