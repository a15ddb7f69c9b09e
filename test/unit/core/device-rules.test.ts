// Unit: the device policy for every case of issue 8 (none, some, all; majors from /proc/devices; nodes that appear later; no GPUs).

import { describe, expect, it } from 'vitest';
import { parseProcDevices, planDevicePolicy, systemdDeviceRules, v1DeviceRules } from '../../../src/core/device-rules';
import { buildInventory, type GpuInventory } from '../../../src/core/gpu';
import { GPU_ALL, GPU_NONE, parseGpuGrant } from '../../../src/core/gpu-grant';

const PROC = (nvidiaName: string, extra = '') => `Character devices:
  1 mem
  4 /dev/vc/0
  4 tty
  5 /dev/tty
  5 /dev/console
  5 /dev/ptmx
 10 misc
128 ptm
136 pts
${nvidiaName ? `195 ${nvidiaName}\n` : ''}226 drm
${extra}
Block devices:
  7 loop
259 blkext
`;
const n = (rel: string, major: number, minor: number) => ({ rel, mode: 0o666, gid: 0, group: 'root', major, minor });
const TWO: GpuInventory = buildInventory({
  nodes: [n('nvidia0', 195, 0), n('nvidia1', 195, 1), n('nvidiactl', 195, 255), n('nvidia-uvm', 508, 0), n('nvidia-uvm-tools', 508, 1), n('dri/card1', 226, 1), n('dri/renderD128', 226, 128), n('nvidia-caps/nvidia-cap3', 507, 3)],
  nvidia: [{ dir: '0000:18:00.0', model: 'A', busId: '0000:18:00.0', minor: 0 }, { dir: '0000:3b:00.0', model: 'B', busId: '0000:3b:00.0', minor: 1 }],
  migMinors: 'config 1\nmonitor 2\ngpu0/gi0/access 3\ngpu1/gi0/access 39\n',
  drm: new Map([['card1', { pci: '0000:3b:00.0', vendor: '0x10de' }], ['renderD128', { pci: '0000:18:00.0', vendor: '0x10de' }]]),
});
const proc = parseProcDevices(PROC('nvidia-frontend', '507 nvidia-caps\n508 nvidia-uvm\n'));
const v1 = (g: Parameters<typeof planDevicePolicy>[0], inv = TWO, p = proc) => v1DeviceRules(planDevicePolicy(g, inv, p));
const sd = (g: Parameters<typeof planDevicePolicy>[0], inv = TWO, p = proc) => systemdDeviceRules(planDevicePolicy(g, inv, p));
const SESSION_V1 = ['c 1:* rwm', 'c 4:* rwm', 'c 5:* rwm', 'c 10:* rwm', 'c 128:* rwm', 'c 136:* rwm', 'b *:* rwm'];

describe('parseProcDevices', () => {
  it('reads character and block classes', () => {
    const p = parseProcDevices(PROC('nvidia'));
    expect(p.char).toContainEqual({ major: 195, name: 'nvidia' });
    expect(p.char).toContainEqual({ major: 5, name: '/dev/ptmx' });
    expect(p.block).toEqual([{ major: 7, name: 'loop' }, { major: 259, name: 'blkext' }]);
  });
});

describe('a user without GPU access', () => {
  it('cgroup v1: closed, every non-GPU class open (ptys, /dev/null, fuse, tty), no GPU major at all', () => {
    const r = v1(GPU_NONE);
    expect(r.closed).toBe(true);
    expect(r.allow).toEqual(SESSION_V1);
    expect(r.allow.some((l) => /^c (195|226|507|508):/.test(l) || l.startsWith('a '))).toBe(false);
  });
  it('systemd: DevicePolicy=closed, classes by name (char-pts, char-misc for /dev/fuse …), nothing of NVIDIA or DRM', () => {
    const r = sd(GPU_NONE);
    expect(r.devicePolicy).toBe('closed');
    expect(r.deviceAllow).toEqual([['char-mem', 'rw'], ['char-tty', 'rw'], ['char-misc', 'rw'], ['char-ptm', 'rw'], ['char-pts', 'rw'], ['block-loop', 'rw'], ['block-blkext', 'rw']]);
  });
  it('the name of major 195 does not matter ("nvidia" on newer drivers, "nvidia-frontend" on older ones), nor whether it is listed at all', () => {
    for (const name of ['nvidia', 'nvidia-frontend', '']) {
      const r = v1(GPU_NONE, TWO, parseProcDevices(PROC(name)));
      expect(r.allow.some((l) => l.startsWith('c 195:'))).toBe(false);
      expect(sd(GPU_NONE, TWO, parseProcDevices(PROC(name))).deviceAllow.some(([p]) => /nvidia|drm/.test(p))).toBe(false);
    }
  });
  it('a GPU driver that loads after login (a major not in /proc/devices now) is refused: the policy is an allow list', () => {
    const r = v1(GPU_NONE);
    expect(r.allow.some((l) => l.includes('*:*') && !l.startsWith('b '))).toBe(false);
  });
  it('every GPU node is a denied path (what a revoke looks for)', () => {
    expect(planDevicePolicy(GPU_NONE, TWO, proc).deniedPaths).toEqual(TWO.nodes.map((x) => x.path));
  });
});

describe('a user with GPU 0 only', () => {
  const g = parseGpuGrant('0');
  it('cgroup v1: GPU 0, nvidiactl and nvidia-modeset minors, nvidia-uvm whole, GPU 0\'s DRM and MIG minors; never GPU 1', () => {
    const r = v1(g);
    expect(r.allow).toEqual([...SESSION_V1, 'c 508:* rwm', 'c 195:254 rwm', 'c 195:255 rwm', 'c 226:128 rwm', 'c 507:3 rwm', 'c 195:0 rwm']);
    expect(r.allow).not.toContain('c 195:1 rwm');
    expect(r.allow).not.toContain('c 226:1 rwm');
    expect(r.allow).not.toContain('c 507:39 rwm');
  });
  it('systemd: its node paths and char-nvidia-uvm; not GPU 1\'s', () => {
    const paths = sd(g).deviceAllow.map(([p]) => p);
    expect(paths).toEqual(expect.arrayContaining(['char-nvidia-uvm', '/dev/nvidia0', '/dev/nvidiactl', '/dev/nvidia-uvm', '/dev/nvidia-uvm-tools', '/dev/dri/renderD128', '/dev/nvidia-caps/nvidia-cap3', 'char-pts']));
    expect(paths).not.toContain('/dev/nvidia1');
    expect(paths).not.toContain('/dev/dri/card1');
    expect(paths).not.toContain('char-nvidia-frontend');
  });
  it('nvidia-uvm loaded but its nodes not made yet: its whole major is open, so the nodes made later work', () => {
    const noUvmNodes = { ...TWO, nodes: TWO.nodes.filter((x) => !x.path.includes('uvm')) };
    expect(v1(g, noUvmNodes)).toMatchObject({ allow: expect.arrayContaining(['c 508:* rwm']) });
  });
  it('denied paths are GPU 1\'s nodes', () => {
    expect(planDevicePolicy(g, TWO, proc).deniedPaths).toEqual(['/dev/dri/card1', '/dev/nvidia1']);
  });
  it('an index that is not on this host opens no GPU (stored grants are not re-checked at login)', () => {
    const p = planDevicePolicy(parseGpuGrant('5'), TWO, proc);
    expect(p.indices).toEqual([]);
    expect(v1DeviceRules(p).allow).toEqual(SESSION_V1);
  });
});

describe('a user with all GPUs', () => {
  it('every GPU major whole (nodes that appear later are covered), on v1 and as char- classes on systemd', () => {
    expect(v1(GPU_ALL).allow).toEqual([...SESSION_V1, 'c 195:* rwm', 'c 226:* rwm', 'c 507:* rwm', 'c 508:* rwm']);
    const paths = sd(GPU_ALL).deviceAllow.map(([p]) => p);
    expect(paths).toEqual(expect.arrayContaining(['char-nvidia-frontend', 'char-drm', 'char-nvidia-caps', 'char-nvidia-uvm', '/dev/nvidia1', '/dev/nvidia0']));
  });
});

describe('a host without GPUs', () => {
  it('restricts nothing: systemd auto with no list, v1 allow all', () => {
    const empty = buildInventory({ nodes: [], nvidia: [], migMinors: null, drm: new Map() });
    const p = parseProcDevices(PROC('').replace('226 drm\n', ''));
    expect(sd(GPU_NONE, empty, p)).toEqual({ devicePolicy: 'auto', deviceAllow: [] });
    expect(v1(GPU_NONE, empty, p)).toEqual({ closed: false, allow: ['a *:* rwm'] });
  });
  it('a GPU driver loaded without nodes yet still restricts (a node may be made any moment)', () => {
    const empty = buildInventory({ nodes: [], nvidia: [], migMinors: null, drm: new Map() });
    expect(v1(GPU_NONE, empty, proc).closed).toBe(true);
  });
});
