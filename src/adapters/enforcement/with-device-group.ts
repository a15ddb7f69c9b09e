// CgroupLimits that also moves a placed process into the user's device group, where the GPU backend keeps one of its own (cgroupfs v1).

import type { CgroupLimits, CgroupState, GpuAccess } from '../../core/ports';
import type { CgroupSettings } from '../../core/enforcement-plan';

/**
 * On cgroup v1 the devices controller is a hierarchy of its own: a login moved into the cpu and
 * memory groups is not in the devices group, so the device policy would not reach its session.
 * This wrapper places the process in both (the device group after the others, so a failure there
 * leaves the CPU and memory placement in force and is reported as BackendFailed like any placement
 * failure). Every other call goes to the wrapped backend unchanged. Where the GPU backend has no
 * group of its own (systemd: the slice is the group), `pickCgroupsWithDevices` returns `cgroups` itself.
 */
/** A GPU backend with a group of its own to remove once empty (CgroupfsV1Devices). */
type OwnGroup = GpuAccess & { release?(uid: number): boolean };

class WithDeviceGroup implements CgroupLimits {
  constructor(private readonly inner: CgroupLimits, private readonly gpu: OwnGroup) {}
  get backend(): string {
    return this.inner.backend;
  }
  listUsers(): Promise<number[]> {
    return this.inner.listUsers();
  }
  observe(uid: number): Promise<CgroupState | null> {
    return this.inner.observe(uid);
  }
  apply(uid: number, settings: CgroupSettings): Promise<void> {
    return this.inner.apply(uid, settings);
  }
  watch(onUser: (uid: number) => void): Promise<void> {
    return this.inner.watch(onUser);
  }
  async placeProcess(uid: number, pid: number): Promise<'placed' | 'unsupported'> {
    const r = await this.inner.placeProcess(uid, pid);
    if (r === 'placed') await this.gpu.placeProcess(uid, pid);
    return r;
  }
  /** The device group goes with the others (it holds the same processes, so it is empty when they are). */
  async release(uid: number): Promise<boolean> {
    const released = await this.inner.release(uid);
    if (released) this.gpu.release?.(uid);
    return released;
  }
}

export function withDeviceGroup(cgroups: CgroupLimits, gpu: OwnGroup): CgroupLimits {
  return gpu.backend === 'cgroupfs (v1)' ? new WithDeviceGroup(cgroups, gpu) : cgroups;
}
