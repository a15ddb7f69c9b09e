// Unit: enforce-gpu applies the device policy from a grant, and a narrowed grant's open descriptors are killed or reported.

import { describe, expect, it } from 'vitest';
import { enforceGpu, parseGpuRevokeMode, type GpuEnforceDeps } from '../../../src/app/enforce-gpu';
import { buildInventory } from '../../../src/core/gpu';
import { GPU_ALL, GPU_NONE, parseGpuGrant } from '../../../src/core/gpu-grant';
import { MemoryGpuAccess } from '../../fakes/memory-gpu-access';

const n = (rel: string, minor: number) => ({ rel, mode: 0o666, gid: 0, group: 'root', major: 195, minor });
const inventory = buildInventory({ nodes: [n('nvidia0', 0), n('nvidia1', 1), n('nvidiactl', 255)], nvidia: [], migMinors: null, drm: new Map() });
const PROC = 'Character devices:\n  1 mem\n136 pts\n195 nvidia\n\nBlock devices:\n  7 loop\n';

function deps(gpu = new MemoryGpuAccess()): GpuEnforceDeps & { gpuAccess: MemoryGpuAccess; lines: string[] } {
  const lines: string[] = [];
  const log = { debug: () => {}, info: (m: string) => lines.push(`info ${m}`), warn: (m: string) => lines.push(`warn ${m}`), error: (m: string) => lines.push(`error ${m}`) };
  return { gpuAccess: gpu, gpus: () => inventory, loginGpus: () => inventory, procDevices: () => PROC, log, lines };
}

describe('enforceGpu', () => {
  it('applies the grant: GPU 1 only opens 195:1 and nvidiactl', async () => {
    const d = deps();
    const r = await enforceGpu(d, 4600, parseGpuGrant('1'));
    expect(r).toMatchObject({ applied: true, indices: [1], holders: [], warning: null });
    expect(d.gpuAccess.mayOpen(4600, 'c', 195, 1)).toBe(true);
    expect(d.gpuAccess.mayOpen(4600, 'c', 195, 255)).toBe(true);
    expect(d.gpuAccess.mayOpen(4600, 'c', 195, 0)).toBe(false);
  });
  it('at login the inventory comes from the login cache; elsewhere it is read afresh', async () => {
    const one = buildInventory({ nodes: [n('nvidia0', 0), n('nvidiactl', 255)], nvidia: [], migMinors: null, drm: new Map() });
    const d = { ...deps(), loginGpus: () => one };
    expect((await enforceGpu(d, 4600, GPU_ALL, undefined, true)).indices).toEqual([0]);
    expect((await enforceGpu(d, 4600, GPU_ALL)).indices).toEqual([0, 1]);
  });
  it('at login (no revoke) open descriptors are not looked for', async () => {
    const d = deps();
    d.gpuAccess.open.set(900, { uid: 4600, paths: ['/dev/nvidia0'] });
    expect((await enforceGpu(d, 4600, GPU_NONE)).holders).toEqual([]);
  });
  it('revoke "report": the holders stay and the warning names them', async () => {
    const d = deps();
    d.gpuAccess.open.set(900, { uid: 4600, paths: ['/dev/nvidia0'] });
    d.gpuAccess.open.set(901, { uid: 4601, paths: ['/dev/nvidia0'] });
    const r = await enforceGpu(d, 4600, parseGpuGrant('1'), 'report');
    expect(r.holders).toEqual([900]);
    expect(r.killed).toEqual([]);
    expect(r.warning).toMatch(/processes 900 still hold GPU nodes no longer granted.*gpuRevoke=kill/);
    expect(d.gpuAccess.open.has(900)).toBe(true);
  });
  it('revoke "kill": only the user\'s holders of refused nodes are ended', async () => {
    const d = deps();
    d.gpuAccess.open.set(900, { uid: 4600, paths: ['/dev/nvidia0'] });
    d.gpuAccess.open.set(902, { uid: 4600, paths: ['/dev/nvidia1'] });
    const r = await enforceGpu(d, 4600, parseGpuGrant('1'), 'kill');
    expect(r.killed).toEqual([900]);
    expect(d.gpuAccess.open.has(902)).toBe(true);
    expect(d.lines.some((l) => l.startsWith('info') && l.includes('ended 1 process'))).toBe(true);
  });
  it('"all" refuses nothing, so nothing is looked for', async () => {
    const d = deps();
    d.gpuAccess.open.set(900, { uid: 4600, paths: ['/dev/nvidia0'] });
    expect((await enforceGpu(d, 4600, GPU_ALL, 'kill')).killed).toEqual([]);
  });
  it('a groups-only backend gets no policy, and says so', async () => {
    const d = deps();
    d.gpuAccess.state = 'groups only';
    expect((await enforceGpu(d, 4600, GPU_NONE)).applied).toBe(false);
    expect(d.gpuAccess.applied).toEqual([]);
  });
  it('revoke modes', () => {
    expect(parseGpuRevokeMode('kill')).toBe('kill');
    expect(parseGpuRevokeMode('report')).toBe('report');
    expect(parseGpuRevokeMode('KILL')).toBeNull();
  });
});

describe('enforceAllocation carries the GPU grant to the device policy', () => {
  it('login: the default grant (none) closes every GPU; [Defaults] GPU=2 opens GPU 2 and nvidiactl only; no cgroup step, no policy', async () => {
    const { testDeps } = await import('../../fakes/app-deps');
    const { enforceAllocation } = await import('../../../src/app/enforce-allocation');
    const d = testDeps();
    const r = await enforceAllocation(d, 1500, { purpose: 'login' });
    expect(r.gpu).toMatchObject({ applied: true, indices: [] });
    expect(d.gpuAccess.mayOpen(1500, 'c', 195, 0)).toBe(false);
    expect(d.gpuAccess.mayOpen(1500, 'c', 136, 2)).toBe(true);
    // ("1" alone would be the old flag, meaning all)
    const d1 = testDeps('[Users]\nUIDMin=1000\nUIDMax=1999\n[Defaults]\nGPU=2\n', { gpuIndices: [0, 1, 2] });
    await enforceAllocation(d1, 1500, { purpose: 'login' });
    expect([0, 1, 2, 255].map((m) => d1.gpuAccess.mayOpen(1500, 'c', 195, m))).toEqual([false, false, true, true]);
    const d2 = testDeps();
    expect((await enforceAllocation(d2, 1500, { purpose: 'reconcile', cgroup: false })).gpu).toBeNull();
    expect(d2.gpuAccess.applied).toEqual([]);
  });
});

describe('a failing device policy', () => {
  it('fails a login whose grant restricts GPUs (BackendFailed: FailureMode decides); is a logged warning for a reconcile, an admin change, or a grant of all GPUs', async () => {
    const { testDeps } = await import('../../fakes/app-deps');
    const { enforceAllocation } = await import('../../../src/app/enforce-allocation');
    const d = testDeps();
    d.gpuAccess.failApply = true;
    await expect(enforceAllocation(d, 1500, { purpose: 'login' })).rejects.toMatchObject({ code: 'BackendFailed', message: expect.stringMatching(/GPU device policy was not applied: apply failed/) });
    const r = await enforceAllocation(d, 1500, { purpose: 'reconcile' });
    expect(r.gpu?.warning).toMatch(/GPU device policy was not applied: apply failed/);
    expect(d.logs.some((l) => /error: .*GPU device policy was not applied.*ignoring/.test(l))).toBe(true);
    const all = testDeps('[Users]\nUIDMin=1000\nUIDMax=1999\n[Defaults]\nGPU=all\n');
    all.gpuAccess.failApply = true;
    expect((await enforceAllocation(all, 1500, { purpose: 'login' })).gpu?.warning).toMatch(/not applied/);
  });
});
