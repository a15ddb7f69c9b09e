// Use case: put a user's GPU grant on their cgroup as a device policy, and deal with descriptors a narrowed grant leaves open.

import { parseProcDevices, planDevicePolicy } from '../core/device-rules';
import type { GpuInventory } from '../core/gpu';
import type { GpuGrant } from '../core/gpu-grant';
import type { GpuAccess, Logger } from '../core/ports';

/** What SetLimits may ask for when access is taken away from a user with processes on the GPU (limits option `gpuRevoke`). */
export type GpuRevokeMode = 'kill' | 'report';

export function parseGpuRevokeMode(v: unknown): GpuRevokeMode | null {
  return v === 'kill' || v === 'report' ? v : null;
}

export interface GpuEnforceDeps {
  readonly gpuAccess: GpuAccess;
  /** The inventory, read afresh. */
  readonly gpus: () => GpuInventory;
  /** The inventory at a login: the last read while no GPU node came or went. */
  readonly loginGpus: () => GpuInventory;
  /** /proc/devices, read at apply time (majors are assigned when drivers load; 195's name changed across NVIDIA drivers). */
  readonly procDevices: () => string;
  readonly log: Logger;
}

export interface GpuOutcome {
  /** Whether a policy was sent to the backend (false where it holds groups only). */
  readonly applied: boolean;
  /** GPU indices the user may open now. */
  readonly indices: readonly number[];
  /** The user's processes that still hold a node they may no longer open. */
  readonly holders: readonly number[];
  /** Those ended (revoke "kill"). */
  readonly killed: readonly number[];
  /** The user's processes whose descriptors could not be read (no CAP_SYS_PTRACE): they may hold nodes too. */
  readonly unreadable: number;
  /** For the reply: what is still open, or null. */
  readonly warning: string | null;
}

/**
 * Applies the device policy for `grant` to `uid`'s cgroup. With `revoke` (an admin's change, not a
 * login) it then looks for the user's processes that hold a refused node open: the device cgroup is
 * checked at open() only, so such a process keeps its GPU until it closes it. "kill" ends them
 * (SIGKILL), "report" leaves them and says so in the warning. `atLogin`: the inventory may come
 * from the login cache. Throws what the backend throws.
 */
export async function enforceGpu(deps: GpuEnforceDeps, uid: number, grant: GpuGrant, revoke?: GpuRevokeMode, atLogin = false): Promise<GpuOutcome> {
  const plan = planDevicePolicy(grant, atLogin ? deps.loginGpus() : deps.gpus(), parseProcDevices(deps.procDevices()));
  const applied = deps.gpuAccess.status().state === 'device cgroup';
  if (applied) await deps.gpuAccess.apply(uid, plan);
  const none = { applied, indices: plan.indices, holders: [], killed: [], unreadable: 0, warning: null };
  if (!revoke || plan.deniedPaths.length === 0) return none;
  const { pids, unreadable } = await deps.gpuAccess.holders(uid, plan.deniedPaths);
  const unseen = unreadable > 0 ? ` ${unreadable} of the user's processes could not be looked into (reading their descriptors needs CAP_SYS_PTRACE; docs/gpu.md).` : '';
  if (pids.length === 0) return { ...none, unreadable, warning: unseen ? `uid ${uid}: GPU access narrowed.${unseen}` : null };
  if (revoke === 'kill') {
    const killed = await deps.gpuAccess.kill(pids);
    deps.log.info(`uid ${uid}: GPU access narrowed; ended ${killed.length} process(es) holding a GPU it may no longer open: ${killed.join(', ')}`, { uid });
    return { applied, indices: plan.indices, holders: pids, killed, unreadable, warning: `uid ${uid}: ended processes ${killed.join(', ')} that held GPUs no longer granted.${unseen}` };
  }
  const warning = `uid ${uid}: processes ${pids.join(', ')} still hold GPU nodes no longer granted; the device cgroup does not close open descriptors: they keep the GPU until they exit (end them, or repeat the change with gpuRevoke=kill).${unseen}`;
  deps.log.warn(warning, { uid });
  return { applied, indices: plan.indices, holders: pids, killed: [], unreadable, warning };
}

/** At login on a backend with its own device group (cgroupfs v1): the login process joins it, so its session inherits the policy. */
export async function placeInGpuGroup(deps: Pick<GpuEnforceDeps, 'gpuAccess'>, uid: number, pid: number): Promise<'placed' | 'unsupported'> {
  return deps.gpuAccess.placeProcess(uid, pid);
}
