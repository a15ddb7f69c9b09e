// GpuAccess where no device policy can be built (cgroupfs v2 without a BPF device program, backend none): groups only.

import type { GpuEnforcement } from '../../core/gpu';
import type { GpuAccess } from '../../core/ports';
import { deviceHolders, killAll } from '../gpu/gpu-holders';

/** cgroup v2 has no device file to write (a device policy there is a BPF program, which is not built), and none has no cgroup: only groups gate GPUs. */
export class GroupsOnlyGpuAccess implements GpuAccess {
  constructor(readonly backend: string, private readonly why: string, private readonly procRoot = '/proc') {}

  status(): GpuEnforcement {
    return { backend: this.backend, state: 'groups only', reason: this.why };
  }

  async apply(): Promise<void> {}

  async placeProcess(): Promise<'unsupported'> {
    return 'unsupported';
  }

  async holders(uid: number, nodePaths: readonly string[]): Promise<{ pids: number[]; unreadable: number }> {
    return deviceHolders(uid, nodePaths, this.procRoot);
  }

  async kill(pids: readonly number[]): Promise<number[]> {
    return killAll(pids);
  }
}
