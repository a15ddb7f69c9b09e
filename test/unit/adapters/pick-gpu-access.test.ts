// Unit: the GpuAccess backend follows the cgroup backend; cgroup v2 without systemd and none say "groups only".

import { describe, expect, it } from 'vitest';
import { pickGpuAccess } from '../../../src/adapters/enforcement/pick-gpu-access';
import { withDeviceGroup } from '../../../src/adapters/enforcement/with-device-group';
import type { CgroupFs } from '../../../src/adapters/cgroupfs/cgroupfs-fs';
import type { BusClient } from '../../../src/adapters/dbus/bus-client';
import { MemoryCgroups } from '../../fakes/memory-cgroups';
import { MemoryGpuAccess } from '../../fakes/memory-gpu-access';

const MOUNTINFO = '35 30 0:32 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices\n31 30 0:28 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n';
const fs = (files: string[]): CgroupFs => ({
  read: () => '', write: () => {}, mkdir: () => {}, chmod: () => {}, rmdir: () => {}, subdirs: () => [],
  stat: (p) => (files.includes(p) ? { isDirectory: false, uid: 0, mode: 0o644 } : null),
});
const cg = (backend: string) => Object.assign(new MemoryCgroups(), { backend }) as unknown as MemoryCgroups;
const client = {} as BusClient;

describe('pickGpuAccess', () => {
  it('systemd → SystemdDevices (device cgroup)', () => {
    expect(pickGpuAccess(cg('systemd'), client).status()).toMatchObject({ backend: 'systemd', state: 'device cgroup' });
  });
  it('cgroupfs (v1) with a devices hierarchy → the devices controller', () => {
    const g = pickGpuAccess(cg('cgroupfs (v1)'), client, { mountinfo: MOUNTINFO, fs: fs(['/sys/fs/cgroup/devices/devices.list']) });
    expect(g.status()).toMatchObject({ backend: 'cgroupfs (v1)', state: 'device cgroup' });
    expect(g.status().reason).toMatch(/\/sys\/fs\/cgroup\/devices/);
  });
  it('cgroupfs (v1) without a devices hierarchy → groups only, saying why', () => {
    expect(pickGpuAccess(cg('cgroupfs (v1)'), client, { mountinfo: MOUNTINFO.split('\n')[1]!, fs: fs([]) }).status()).toMatchObject({ state: 'groups only', reason: expect.stringMatching(/without a devices hierarchy/) });
  });
  it('cgroupfs (v2) → groups only (no BPF device program)', () => {
    expect(pickGpuAccess(cg('cgroupfs (v2)'), client).status()).toEqual({ backend: 'cgroupfs (v2)', state: 'groups only', reason: 'groups only (cgroup v2 without systemd: no BPF device program)' });
  });
  it('none → groups only', () => expect(pickGpuAccess(cg('none'), client).status().state).toBe('groups only'));
});

describe('withDeviceGroup', () => {
  it('on cgroupfs v1 a placed process joins the device group too; elsewhere the backend is returned as is', async () => {
    const inner = new MemoryCgroups();
    const gpu = Object.assign(new MemoryGpuAccess(), { backend: 'cgroupfs (v1)' }) as unknown as MemoryGpuAccess;
    const wrapped = withDeviceGroup(inner, gpu);
    expect(await wrapped.placeProcess(1500, process.pid)).toBe('placed');
    expect(gpu.placements).toEqual([{ uid: 1500, pid: process.pid }]);
    expect(withDeviceGroup(inner, new MemoryGpuAccess())).toBe(inner);
  });
});
