// GPU inventory (pure): which GPUs and device nodes exist, which node belongs to which GPU, and whether groups can gate them.

/** Who a node belongs to: one GPU (its index), every GPU user (control nodes), or nobody known (an unmapped DRM node). */
export type GpuNodeOwner = number | 'shared' | 'unassigned';

export interface GpuNode {
  readonly path: string;
  /** Permission bits, e.g. 0o660. */
  readonly mode: number;
  readonly gid: number;
  readonly group: string | null;
  /** Character device numbers (null when the entry is not a character device, e.g. a test fixture file). */
  readonly major: number | null;
  readonly minor: number | null;
  readonly owner: GpuNodeOwner;
}

export interface GpuDevice {
  /** NVIDIA: the device minor (/dev/nvidiaN, "Device Minor:"); other vendors: numbered after the NVIDIA ones by PCI address. */
  readonly index: number;
  readonly model: string | null;
  readonly busId: string | null;
  readonly vendor: 'nvidia' | 'amd' | 'intel';
  /** This GPU's own nodes (its /dev/nvidiaN, MIG nodes, DRM card and render nodes). */
  readonly nodes: string[];
  /** NVIDIA MIG capability minors of this GPU (from /proc/driver/nvidia-caps/mig-minors), present as nodes or not. */
  readonly migMinors: number[];
}

/** What the kernel holds for GPU access on this host, as the GpuAccess backend reports it. */
export interface GpuEnforcement {
  /** "systemd", "cgroupfs (v1)", "cgroupfs (v2)" or "none". */
  readonly backend: string;
  /** "device cgroup": the kernel refuses GPU nodes a user was not granted; "groups only": only Unix groups gate them. */
  readonly state: 'device cgroup' | 'groups only';
  readonly reason: string;
}

export interface GpuInventory {
  readonly devices: GpuDevice[];
  /** Every GPU node: the GPUs' own, the shared control nodes, and unassigned DRM nodes. */
  readonly nodes: GpuNode[];
  /** Paths of nodes every user with any GPU needs (nvidiactl, nvidia-uvm*, nvidia-modeset, kfd). */
  readonly sharedNodes: string[];
  /** Groups whose members may open every GPU node (what GPU access means for a user). */
  readonly accessGroups: string[];
  /** True when group membership decides access: no node is open to everyone. */
  readonly enforceable: boolean;
  readonly reason: string;
  /** Filled in by the daemon from its GpuAccess backend (absent in discovery alone). */
  readonly enforcement?: GpuEnforcement;
}

/** What a node's file name says about it (before any sysfs mapping). */
export function classifyNodeName(rel: string): { owner: GpuNodeOwner; nvidiaIndex?: number } | null {
  const m = /^nvidia([0-9]+)$/.exec(rel);
  if (m) return { owner: Number(m[1]), nvidiaIndex: Number(m[1]) };
  if (/^(nvidiactl|nvidia-uvm|nvidia-uvm-tools|nvidia-modeset|kfd)$/.test(rel)) return { owner: 'shared' };
  if (/^nvidia-caps\/nvidia-cap[0-9]+$/.test(rel)) return { owner: 'unassigned' };
  if (/^dri\/(renderD[0-9]+|card[0-9]+)$/.test(rel)) return { owner: 'unassigned' };
  return null;
}

/**
 * GPU access by Unix group membership on the device nodes only restricts anything when no node
 * grants read/write to "other": NVIDIA's driver creates its nodes 0666 unless NVreg_DeviceFileMode
 * and NVreg_DeviceFileGID say otherwise. (The device cgroup is what holds users: see `enforcement`.)
 */
export function assessGpuAccess(devices: GpuDevice[], nodes: GpuNode[]): GpuInventory {
  const sharedNodes = nodes.filter((n) => n.owner === 'shared').map((n) => n.path);
  const base = { devices, nodes, sharedNodes };
  if (nodes.length === 0) return { ...base, accessGroups: [], enforceable: false, reason: 'no GPU device nodes found' };
  const open = nodes.filter((n) => (n.mode & 0o006) === 0o006);
  const groups = [...new Set(nodes.filter((n) => (n.mode & 0o060) === 0o060 && n.group !== null && n.gid !== 0).map((n) => n.group as string))].sort();
  if (open.length > 0) {
    return {
      ...base, accessGroups: groups, enforceable: false,
      reason: `${open.map((n) => n.path).join(', ')} ${open.length === 1 ? 'is' : 'are'} read/write for everyone; GPU access cannot be limited by group (for NVIDIA set NVreg_DeviceFileMode=0660 and NVreg_DeviceFileGID)`,
    };
  }
  if (groups.length === 0) return { ...base, accessGroups: [], enforceable: false, reason: 'the GPU nodes grant no group access; only root can use them' };
  return { ...base, accessGroups: groups, enforceable: true, reason: `members of ${groups.join(', ')} can use the GPUs` };
}

export interface NvidiaInformation {
  readonly model: string | null;
  readonly busId: string | null;
  /** "Device Minor:": the N of /dev/nvidiaN, which is the GPU's index. */
  readonly minor: number | null;
}

/** Reads "Model:", "Bus Location:" and "Device Minor:" from /proc/driver/nvidia/gpus/<bus>/information text. */
export function parseNvidiaInformation(text: string): NvidiaInformation {
  const get = (k: string) => new RegExp(`^${k}:\\s*(.+)$`, 'm').exec(text)?.[1].trim() ?? null;
  const minor = get('Device Minor');
  return { model: get('Model'), busId: get('Bus Location'), minor: minor !== null && /^[0-9]+$/.test(minor) ? Number(minor) : null };
}

/**
 * /proc/driver/nvidia-caps/mig-minors: "config 1", "monitor 2", "gpu0/gi1/access 12",
 * "gpu0/gi1/ci0/access 13" … (the gpuN is the device minor). Every possible MIG capability is
 * listed whether its /dev/nvidia-caps/nvidia-capM node exists yet or not, so a policy can name
 * nodes that nvidia-modprobe makes later. config and monitor are admin capabilities: no GPU's.
 */
export function parseMigMinors(text: string): Map<number, number> {
  const byMinor = new Map<number, number>();
  for (const line of text.split('\n')) {
    const m = /^gpu([0-9]+)\/\S+\s+([0-9]+)\s*$/.exec(line.trim());
    if (m) byMinor.set(Number(m[2]), Number(m[1]));
  }
  return byMinor;
}

/** The PCI vendor of a DRM node's device (sysfs "vendor" file, e.g. "0x10de"); other vendors are not GPUs we gate. */
export function gpuVendor(vendorFile: string | null): GpuDevice['vendor'] | null {
  const v = (vendorFile ?? '').trim().toLowerCase();
  return v === '0x10de' ? 'nvidia' : v === '0x1002' ? 'amd' : v === '0x8086' ? 'intel' : null;
}

/** Raw facts discovery gathered; `buildInventory` turns them into the inventory. */
export interface GpuFacts {
  /** Every candidate node found under /dev, its path relative to /dev ("nvidia0", "dri/renderD128"). */
  readonly nodes: readonly { rel: string; mode: number; gid: number; group: string | null; major: number | null; minor: number | null }[];
  /** One entry per /proc/driver/nvidia/gpus/<bus>/information. */
  readonly nvidia: readonly (NvidiaInformation & { dir: string })[];
  /** mig-minors text, or null. */
  readonly migMinors: string | null;
  /** For each DRM node name ("card0", "renderD128"): the PCI address its sysfs device resolves to, and the vendor file. */
  readonly drm: ReadonlyMap<string, { pci: string; vendor: string | null }>;
}

/**
 * Index mapping: NVIDIA GPUs take their device minor (the "Device Minor:" of their information file,
 * or N of a /dev/nvidiaN that has none, as on a host whose nodes were made without the driver).
 * DRM nodes belong to the GPU on their PCI address; AMD and Intel GPUs (DRM only) are numbered after
 * the highest NVIDIA index in PCI address order. MIG nodes belong to the GPU mig-minors names.
 * DRM nodes of other vendors (BMC VGA, virtual displays) are not GPU nodes.
 */
export function buildInventory(f: GpuFacts): GpuInventory {
  const pciKey = (s: string | null) => (s ?? '').toLowerCase();
  const dev = new Map<number, { index: number; model: string | null; busId: string | null; vendor: GpuDevice['vendor']; nodes: string[]; migMinors: number[] }>();
  let fallback = 0;
  for (const info of [...f.nvidia].sort((a, b) => a.dir.localeCompare(b.dir))) {
    let index = info.minor;
    if (index === null) {
      while (dev.has(fallback) || f.nvidia.some((o) => o.minor === fallback)) fallback++;
      index = fallback;
    }
    dev.set(index, { index, model: info.model, busId: info.busId ?? info.dir, vendor: 'nvidia', nodes: [], migMinors: [] });
  }
  const nodes: GpuNode[] = [];
  const migOwner = f.migMinors ? parseMigMinors(f.migMinors) : new Map<number, number>();
  const byPci = new Map<string, number>([...dev.values()].map((d) => [pciKey(d.busId), d.index]));
  const others = [...new Set([...f.drm.values()].filter((d) => gpuVendor(d.vendor) !== null && gpuVendor(d.vendor) !== 'nvidia').map((d) => d.pci))].filter((p) => !byPci.has(pciKey(p))).sort();
  let next = Math.max(-1, ...[...dev.keys()], ...f.nodes.map((n) => classifyNodeName(n.rel)?.nvidiaIndex ?? -1)) + 1;
  for (const pci of others) {
    const d = [...f.drm.values()].find((x) => x.pci === pci)!;
    dev.set(next, { index: next, model: null, busId: pci, vendor: gpuVendor(d.vendor)!, nodes: [], migMinors: [] });
    byPci.set(pciKey(pci), next++);
  }
  for (const n of [...f.nodes].sort((a, b) => a.rel.localeCompare(b.rel))) {
    const c = classifyNodeName(n.rel);
    if (!c) continue;
    let owner = c.owner;
    if (c.nvidiaIndex !== undefined && !dev.has(c.nvidiaIndex)) dev.set(c.nvidiaIndex, { index: c.nvidiaIndex, model: null, busId: null, vendor: 'nvidia', nodes: [], migMinors: [] });
    if (n.rel.startsWith('nvidia-caps/')) owner = (n.minor !== null ? migOwner.get(n.minor) : undefined) ?? 'unassigned';
    if (n.rel.startsWith('dri/')) {
      const d = f.drm.get(n.rel.slice(4));
      if (d && gpuVendor(d.vendor) === null) continue; // not a GPU (BMC VGA, virtio display)
      owner = (d ? byPci.get(pciKey(d.pci)) : undefined) ?? 'unassigned';
    }
    const path = `/dev/${n.rel}`;
    nodes.push({ path, mode: n.mode, gid: n.gid, group: n.group, major: n.major, minor: n.minor, owner });
    if (typeof owner === 'number') dev.get(owner)?.nodes.push(path);
  }
  for (const [minor, gpu] of migOwner) dev.get(gpu)?.migMinors.push(minor);
  const devices = [...dev.values()].sort((a, b) => a.index - b.index).map((d) => ({ ...d, migMinors: d.migMinors.sort((a, b) => a - b) }));
  return assessGpuAccess(devices, nodes);
}

/** The inventory with the backend's enforcement state (what the Gpus property and doctor show). */
export function withEnforcement(inv: GpuInventory, enforcement: GpuEnforcement): GpuInventory {
  return { ...inv, enforcement };
}

/**
 * One line for doctor: "ok" when the device cgroup holds GPU access (or there are no GPUs), "warn"
 * when only groups do, with the fix (NVreg_DeviceFileMode/GID, or systemd/cgroup v1).
 */
export function gpuEnforcementCheck(inv: GpuInventory): { status: 'ok' | 'warn'; detail: string; fix: string | null } {
  const n = inv.devices.length;
  if (n === 0 && inv.nodes.length === 0) return { status: 'ok', detail: 'no GPUs on this host', fix: null };
  const gpus = `${n} GPU${n === 1 ? '' : 's'} (${inv.devices.map((d) => d.index).join(', ')})`;
  const e = inv.enforcement;
  if (e?.state === 'device cgroup') return { status: 'ok', detail: `${gpus}: ${e.reason} (backend ${e.backend})`, fix: null };
  if (inv.enforceable) return { status: 'warn', detail: `${gpus}: ${e?.reason ?? 'groups only'}; ${inv.reason}`, fix: 'only group membership holds GPU access: run diycloudd under systemd or on cgroup v1 for the device cgroup (docs/gpu.md)' };
  return { status: 'warn', detail: `${gpus}: ${e?.reason ?? 'groups only'}; ${inv.reason}`, fix: 'nothing holds users to their GPU grant: set NVreg_DeviceFileMode=0660 and NVreg_DeviceFileGID for the group check, and run under systemd or cgroup v1 for the device cgroup (docs/gpu.md)' };
}
