// Chooses the GpuAccess backend to match the cgroup backend already picked (the device policy lives on the same user cgroup).

import type { CgroupLimits, GpuAccess } from '../../core/ports';
import type { BusClient } from '../dbus/bus-client';
import { CgroupfsV1Devices } from '../cgroupfs/cgroupfs-devices';
import { GroupsOnlyGpuAccess } from './groups-only-gpu';
import { nodeCgroupFs, type CgroupFs } from '../cgroupfs/cgroupfs-fs';
import { SystemdDevices } from '../systemd/systemd-devices';
import { parseMountinfo } from '../proc/mountinfo';

/**
 *  - systemd: DevicePolicy/DeviceAllow on user-UID.slice (systemd builds the device program for v1 and v2);
 *  - cgroupfs (v1): the devices controller, when a v1 hierarchy carries it;
 *  - cgroupfs (v2): a device policy there is a BPF program (BPF_PROG_TYPE_CGROUP_DEVICE) and diycloud
 *    does not build one, so GPU access is held by Unix groups only, and status() says so;
 *  - none: groups only.
 */
export function pickGpuAccess(cgroups: CgroupLimits, client: BusClient, opts: { mountinfo?: string; fs?: CgroupFs } = {}): GpuAccess {
  if (cgroups.backend === 'systemd') return new SystemdDevices(client);
  if (cgroups.backend === 'cgroupfs (v1)') {
    const fs = opts.fs ?? nodeCgroupFs;
    const text = opts.mountinfo ?? safeRead(fs, '/proc/self/mountinfo');
    const byPoint = new Map(parseMountinfo(text).map((m) => [m.mountPoint, m]));
    const m = [...byPoint.values()].find((x) => x.fsType === 'cgroup' && x.superOptions.includes('devices'));
    if (m && fs.stat(`${m.mountPoint}/devices.list`) !== null) return new CgroupfsV1Devices(m.mountPoint);
    return new GroupsOnlyGpuAccess(cgroups.backend, 'groups only (cgroup v1 without a devices hierarchy: mount the devices controller for the kernel to hold GPU access)');
  }
  if (cgroups.backend === 'cgroupfs (v2)') return new GroupsOnlyGpuAccess(cgroups.backend, 'groups only (cgroup v2 without systemd: no BPF device program)');
  return new GroupsOnlyGpuAccess(cgroups.backend, 'groups only (no cgroup backend: nothing is enforced by the kernel)');
}

function safeRead(fs: CgroupFs, path: string): string {
  try {
    return fs.read(path);
  } catch {
    return '';
  }
}
