// GPU access policy (pure): which device nodes exist, and whether group membership can gate them.

export interface GpuNode {
  readonly path: string;
  /** Permission bits, e.g. 0o660. */
  readonly mode: number;
  readonly gid: number;
  readonly group: string | null;
}

export interface GpuDevice {
  readonly index: number;
  readonly model: string | null;
  readonly busId: string | null;
}

export interface GpuInventory {
  readonly devices: GpuDevice[];
  readonly nodes: GpuNode[];
  /** Groups whose members may open every GPU node (what GPU access means for a user). */
  readonly accessGroups: string[];
  /** True when group membership decides access: no node is open to everyone. */
  readonly enforceable: boolean;
  readonly reason: string;
}

/**
 * GPU access is Unix group membership on the device nodes (/dev/nvidia*, /dev/dri/renderD*,
 * /dev/kfd). That only restricts anything when no node grants read/write to "other": NVIDIA's
 * driver creates its nodes 0666 unless NVreg_DeviceFileMode/NVreg_DeviceFileGID say otherwise.
 */
export function assessGpuAccess(devices: GpuDevice[], nodes: GpuNode[]): GpuInventory {
  if (nodes.length === 0) return { devices, nodes, accessGroups: [], enforceable: false, reason: 'no GPU device nodes found' };
  const open = nodes.filter((n) => (n.mode & 0o006) === 0o006);
  const groups = [...new Set(nodes.filter((n) => (n.mode & 0o060) === 0o060 && n.group !== null && n.gid !== 0).map((n) => n.group as string))].sort();
  if (open.length > 0) {
    return {
      devices, nodes, accessGroups: groups, enforceable: false,
      reason: `${open.map((n) => n.path).join(', ')} ${open.length === 1 ? 'is' : 'are'} read/write for everyone; GPU access cannot be limited by group (for NVIDIA set NVreg_DeviceFileMode=0660 and NVreg_DeviceFileGID)`,
    };
  }
  if (groups.length === 0) return { devices, nodes, accessGroups: [], enforceable: false, reason: 'the GPU nodes grant no group access; only root can use them' };
  return { devices, nodes, accessGroups: groups, enforceable: true, reason: `members of ${groups.join(', ')} can use the GPUs` };
}

/** Reads "Model:" and "Bus Location:" from /proc/driver/nvidia/gpus/<bus>/information text. */
export function parseNvidiaInformation(text: string, index: number): GpuDevice {
  const get = (k: string) => new RegExp(`^${k}:\\s*(.+)$`, 'm').exec(text)?.[1].trim() ?? null;
  return { index, model: get('Model'), busId: get('Bus Location') };
}
