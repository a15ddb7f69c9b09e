// Unit: the inventory's index mapping (NVIDIA device minors, DRM by PCI address, MIG minors, AMD), and the parsing helpers.

import { describe, expect, it } from 'vitest';
import { buildInventory, classifyNodeName, gpuVendor, parseMigMinors, parseNvidiaInformation, type GpuFacts } from '../../../src/core/gpu';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const n = (rel: string, major: number | null, minor: number | null, mode = 0o666) => ({ rel, mode, gid: 0, group: 'root', major, minor });
const facts = (f: Partial<GpuFacts>): GpuFacts => ({ nodes: [], nvidia: [], migMinors: null, drm: new Map(), ...f });

describe('parsing', () => {
  it('the real H200 information file gives its model, bus and device minor', () => {
    const text = readFileSync(join(__dirname, '../../fixtures/gpu-h200/information'), 'utf8');
    expect(parseNvidiaInformation(text)).toEqual({ model: 'NVIDIA H200', busId: '0000:00:06.0', minor: 0 });
  });
  it('information without Device Minor gives minor null', () => expect(parseNvidiaInformation('Model: X\n').minor).toBeNull());
  it('mig-minors: GPU capabilities by minor; config and monitor belong to no GPU', () => {
    const m = parseMigMinors('config 1\nmonitor 2\ngpu0/gi0/access 3\ngpu0/gi0/ci0/access 4\ngpu1/gi2/access 39\n');
    expect([...m]).toEqual([[3, 0], [4, 0], [39, 1]]);
  });
  it('node names: per-GPU, shared and DRM', () => {
    expect(classifyNodeName('nvidia3')).toEqual({ owner: 3, nvidiaIndex: 3 });
    expect(classifyNodeName('nvidiactl')?.owner).toBe('shared');
    expect(classifyNodeName('nvidia-uvm-tools')?.owner).toBe('shared');
    expect(classifyNodeName('kfd')?.owner).toBe('shared');
    expect(classifyNodeName('dri/renderD128')?.owner).toBe('unassigned');
    expect(classifyNodeName('nvidia-caps/nvidia-cap3')?.owner).toBe('unassigned');
    expect(classifyNodeName('null')).toBeNull();
    expect(classifyNodeName('nvidia-nvswitchctl')).toBeNull();
  });
  it('vendors', () => {
    expect(gpuVendor('0x10de\n')).toBe('nvidia');
    expect(gpuVendor('0x1002')).toBe('amd');
    expect(gpuVendor('0x1a03')).toBeNull(); // ASPEED BMC VGA
  });
});

describe('buildInventory', () => {
  it('NVIDIA index is the device minor, not the order of the PCI directories', () => {
    const inv = buildInventory(facts({
      nodes: [n('nvidia0', 195, 0), n('nvidia1', 195, 1), n('nvidiactl', 195, 255)],
      nvidia: [{ dir: '0000:18:00.0', model: 'A', busId: '0000:18:00.0', minor: 1 }, { dir: '0000:3b:00.0', model: 'B', busId: '0000:3b:00.0', minor: 0 }],
    }));
    expect(inv.devices.map((d) => `${d.index} ${d.model} ${d.nodes.join(' ')}`)).toEqual(['0 B /dev/nvidia0', '1 A /dev/nvidia1']);
    expect(inv.sharedNodes).toEqual(['/dev/nvidiactl']);
  });
  it('nodes made without a driver (no /proc/driver/nvidia) still give GPUs by their N', () => {
    const inv = buildInventory(facts({ nodes: [n('nvidia0', 195, 0), n('nvidia2', 195, 2)] }));
    expect(inv.devices.map((d) => [d.index, d.model])).toEqual([[0, null], [2, null]]);
  });
  it('DRM nodes belong to the GPU on their PCI address; MIG nodes to the GPU mig-minors names; other vendors are not GPU nodes', () => {
    const inv = buildInventory(facts({
      nodes: [n('nvidia0', 195, 0), n('nvidia1', 195, 1), n('dri/card0', 226, 0), n('dri/card1', 226, 1), n('dri/renderD129', 226, 129), n('nvidia-caps/nvidia-cap3', 508, 3), n('nvidia-caps/nvidia-cap39', 508, 39), n('nvidia-caps/nvidia-cap1', 508, 1, 0o400)],
      nvidia: [{ dir: '0000:18:00.0', model: 'A', busId: '0000:18:00.0', minor: 0 }, { dir: '0000:3B:00.0', model: 'B', busId: '0000:3B:00.0', minor: 1 }],
      migMinors: 'config 1\nmonitor 2\ngpu0/gi0/access 3\ngpu1/gi0/access 39\ngpu1/gi1/access 48\n',
      drm: new Map([['card0', { pci: '0000:02:00.0', vendor: '0x1a03' }], ['card1', { pci: '0000:3b:00.0', vendor: '0x10de' }], ['renderD129', { pci: '0000:3b:00.0', vendor: '0x10de' }]]),
    }));
    expect(inv.nodes.map((x) => x.path)).not.toContain('/dev/dri/card0');
    expect(inv.devices[1]).toMatchObject({ index: 1, nodes: ['/dev/dri/card1', '/dev/dri/renderD129', '/dev/nvidia-caps/nvidia-cap39', '/dev/nvidia1'], migMinors: [39, 48] });
    expect(inv.devices[0]).toMatchObject({ nodes: ['/dev/nvidia-caps/nvidia-cap3', '/dev/nvidia0'], migMinors: [3] });
    expect(inv.nodes.find((x) => x.path.endsWith('nvidia-cap1'))?.owner).toBe('unassigned');
  });
  it('AMD GPUs (DRM and kfd only) are numbered after the NVIDIA ones, by PCI address; kfd is shared', () => {
    const inv = buildInventory(facts({
      nodes: [n('kfd', 235, 0), n('dri/card0', 226, 0), n('dri/renderD128', 226, 128), n('dri/card1', 226, 1), n('dri/renderD129', 226, 129)],
      drm: new Map([['card0', { pci: '0000:c1:00.0', vendor: '0x1002' }], ['renderD128', { pci: '0000:c1:00.0', vendor: '0x1002' }], ['card1', { pci: '0000:83:00.0', vendor: '0x1002' }], ['renderD129', { pci: '0000:83:00.0', vendor: '0x1002' }]]),
    }));
    expect(inv.devices.map((d) => `${d.index} ${d.vendor} ${d.busId} ${d.nodes.join(' ')}`)).toEqual(['0 amd 0000:83:00.0 /dev/dri/card1 /dev/dri/renderD129', '1 amd 0000:c1:00.0 /dev/dri/card0 /dev/dri/renderD128']);
    expect(inv.sharedNodes).toEqual(['/dev/kfd']);
  });
  it('keeps the old JSON fields', () => {
    const inv = buildInventory(facts({ nodes: [n('nvidia0', 195, 0)] }));
    expect(Object.keys(inv)).toEqual(expect.arrayContaining(['devices', 'nodes', 'accessGroups', 'enforceable', 'reason']));
  });
});

describe('gpuEnforcementCheck (for doctor)', () => {
  const inv = buildInventory(facts({ nodes: [n('nvidia0', 195, 0)] }));
  it('device cgroup: ok', async () => {
    const { gpuEnforcementCheck, withEnforcement } = await import('../../../src/core/gpu');
    expect(gpuEnforcementCheck(withEnforcement(inv, { backend: 'systemd', state: 'device cgroup', reason: 'r' })).status).toBe('ok');
  });
  it('groups only with 0666 nodes: warn, and says how to fix it', async () => {
    const { gpuEnforcementCheck, withEnforcement } = await import('../../../src/core/gpu');
    const c = gpuEnforcementCheck(withEnforcement(inv, { backend: 'cgroupfs (v2)', state: 'groups only', reason: 'groups only (cgroup v2 without systemd: no BPF device program)' }));
    expect(c.status).toBe('warn');
    expect(c.detail).toMatch(/no BPF device program/);
    expect(c.fix).toMatch(/NVreg_DeviceFileMode=0660/);
  });
  it('no GPUs: ok', async () => {
    const { gpuEnforcementCheck } = await import('../../../src/core/gpu');
    expect(gpuEnforcementCheck(buildInventory(facts({}))).detail).toBe('no GPUs on this host');
  });
});
