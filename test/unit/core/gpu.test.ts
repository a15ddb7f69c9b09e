// Unit: GPU access policy, NVIDIA information parsing, and discovery over a fixture /dev and /proc.
import { afterAll, describe, expect, it } from 'vitest';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assessGpuAccess, parseNvidiaInformation } from '../../../src/core/gpu';
import { discoverGpus, groupsFromEtcGroup } from '../../../src/adapters/gpu/devfs-gpus';

const node = (path: string, mode: number, gid = 44, group: string | null = 'video') => ({ path, mode, gid, group, major: null, minor: null, owner: 'shared' as const });

describe('assessGpuAccess', () => {
  it('no nodes: nothing to enforce', () => expect(assessGpuAccess([], [])).toMatchObject({ enforceable: false, reason: 'no GPU device nodes found' }));
  it('NVIDIA default 0666 nodes cannot be limited by group, and says how to fix it', () => {
    const r = assessGpuAccess([], [node('/dev/nvidia0', 0o666, 0, 'root'), node('/dev/nvidiactl', 0o666, 0, 'root')]);
    expect(r.enforceable).toBe(false);
    expect(r.reason).toMatch(/\/dev\/nvidia0, \/dev\/nvidiactl are read\/write for everyone.*NVreg_DeviceFileMode=0660/);
  });
  it('group-only nodes: the group is what GPU access means', () => {
    const r = assessGpuAccess([], [node('/dev/nvidia0', 0o660), node('/dev/dri/renderD128', 0o660, 105, 'render')]);
    expect(r).toMatchObject({ enforceable: true, accessGroups: ['render', 'video'] });
  });
  it('root-only nodes grant no group access', () => expect(assessGpuAccess([], [node('/dev/kfd', 0o600, 0, 'root')]).enforceable).toBe(false));
  it('parses /proc/driver/nvidia/gpus/*/information', () => {
    expect(parseNvidiaInformation('Model: \t\t NVIDIA H100 80GB HBM3\nIRQ: 42\nBus Location: \t 0000:18:00.0\nDevice Minor: \t 3\n')).toEqual({ model: 'NVIDIA H100 80GB HBM3', busId: '0000:18:00.0', minor: 3 });
  });
});

describe('discoverGpus over a fixture tree', () => {
  const root = mkdtempSync(join(tmpdir(), 'diycloud-gpu-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  it('finds NVIDIA and DRM render nodes with their modes and groups, and the models', () => {
    mkdirSync(join(root, 'dev/dri'), { recursive: true });
    mkdirSync(join(root, 'proc/driver/nvidia/gpus/0000:18:00.0'), { recursive: true });
    for (const [f, mode] of [['dev/nvidia0', 0o660], ['dev/nvidiactl', 0o660], ['dev/dri/renderD128', 0o660], ['dev/dri/card0', 0o660], ['dev/null', 0o666]] as const) {
      writeFileSync(join(root, f), '');
      chmodSync(join(root, f), mode);
    }
    writeFileSync(join(root, 'proc/driver/nvidia/gpus/0000:18:00.0/information'), 'Model: NVIDIA H100\nBus Location: 0000:18:00.0\n');
    const gid = process.getgid?.() ?? 0;
    const inv = discoverGpus(groupsFromEtcGroup(`video:x:${gid}:\n`), { dev: join(root, 'dev'), proc: join(root, 'proc'), sys: join(root, 'sys') });
    expect(inv.nodes.map((n) => n.path)).toEqual(['/dev/dri/card0', '/dev/dri/renderD128', '/dev/nvidia0', '/dev/nvidiactl']);
    expect(inv.devices).toEqual([{ index: 0, model: 'NVIDIA H100', busId: '0000:18:00.0', vendor: 'nvidia', nodes: ['/dev/nvidia0'], migMinors: [] }]);
    // No /sys/class/drm here: the DRM nodes belong to no known GPU.
    expect(inv.nodes.filter((n) => n.owner === 'unassigned').map((n) => n.path)).toEqual(['/dev/dri/card0', '/dev/dri/renderD128']);
    expect(inv.sharedNodes).toEqual(['/dev/nvidiactl']);
    expect(inv.nodes[0]).toMatchObject({ mode: 0o660, gid, group: "video" });
  });
});

describe('discoverGpus on a snapshot of a real NVIDIA H200 host (test/fixtures/gpu-h200)', () => {
  const root = mkdtempSync(join(tmpdir(), 'diycloud-h200-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  it('finds the H200 and reports that its 0666 nodes make group-based GPU access unenforceable', () => {
    const fixture = join(__dirname, '../../fixtures/gpu-h200');
    for (const line of readFileSync(join(fixture, 'dev-stat.txt'), 'utf8').trim().split('\n')) {
      const [path, mode, , , ...type] = line.split(' ');
      const p = join(root, path);
      if (type.join(' ') === 'directory') mkdirSync(p, { recursive: true });
      else (mkdirSync(join(p, '..'), { recursive: true }), writeFileSync(p, ''), chmodSync(p, parseInt(mode, 8)));
    }
    mkdirSync(join(root, 'proc/driver/nvidia/gpus/0000:00:06.0'), { recursive: true });
    writeFileSync(join(root, 'proc/driver/nvidia/gpus/0000:00:06.0/information'), readFileSync(join(fixture, 'information')));
    const inv = discoverGpus(groupsFromEtcGroup('root:x:0:\n'), { dev: join(root, 'dev'), proc: join(root, 'proc'), sys: join(root, 'sys') });
    expect(inv.devices).toEqual([{ index: 0, model: 'NVIDIA H200', busId: '0000:00:06.0', vendor: 'nvidia', nodes: ['/dev/nvidia0'], migMinors: [] }]);
    expect(inv.sharedNodes).toEqual(['/dev/nvidia-uvm', '/dev/nvidia-uvm-tools', '/dev/nvidiactl']);
    expect(inv.nodes.map((n) => `${n.path} ${n.mode.toString(8)}`)).toEqual(['/dev/nvidia-uvm 666', '/dev/nvidia-uvm-tools 666', '/dev/nvidia0 666', '/dev/nvidiactl 666']);
    expect(inv.enforceable).toBe(false);
    expect(inv.reason).toMatch(/read\/write for everyone; GPU access cannot be limited by group/);
  });
});
