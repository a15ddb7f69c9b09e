// The device policy for one user's cgroup (pure): from a GpuGrant, the inventory and /proc/devices, what may be opened.

import type { GpuInventory, GpuNode } from './gpu';
import { grantedIndices, type GpuGrant } from './gpu-grant';

export interface DeviceClass {
  readonly major: number;
  readonly name: string;
}

export interface ProcDevices {
  readonly char: readonly DeviceClass[];
  readonly block: readonly DeviceClass[];
}

/** /proc/devices: "Character devices:" then "  1 mem" lines, a blank line, "Block devices:" and its lines. */
export function parseProcDevices(text: string): ProcDevices {
  const char: DeviceClass[] = [];
  const block: DeviceClass[] = [];
  let into: DeviceClass[] | null = null;
  for (const line of text.split('\n')) {
    if (/^Character devices:/.test(line)) into = char;
    else if (/^Block devices:/.test(line)) into = block;
    else {
      const m = /^\s*([0-9]+)\s+(\S+)\s*$/.exec(line);
      if (m && into) into.push({ major: Number(m[1]), name: m[2]! });
    }
  }
  return { char, block };
}

/** Character classes of GPU drivers. Major 195 is "nvidia-frontend" on older drivers and "nvidia" on newer ones. */
export const GPU_CLASS = /^(nvidia.*|drm|kfd)$/;
/** Minors on major 195 that are shared control nodes, not GPUs: nvidiactl 255, nvidia-modeset 254. */
const NVIDIA_CONTROL_MINORS = [254, 255];
/** NVIDIA's major for /dev/nvidiaN and nvidiactl, fixed by the driver (whatever its /proc/devices name). */
export const NVIDIA_MAJOR = 195;

export interface DeviceNumber {
  readonly major: number;
  /** null: every minor of the major. */
  readonly minor: number | null;
}

/**
 * The policy is always closed: a user's cgroup may open only what is listed, so a GPU node
 * (or a GPU driver that loads after login with a new major) is refused unless granted. Listed:
 *  - `otherChar`: every character class of /proc/devices that is not a GPU driver's (ptys, ttys,
 *    mem for /dev/null and urandom, misc for /dev/fuse, /dev/net/tun, /dev/loop-control …);
 *  - `block`: every block class (GPU access has nothing to do with disks; file modes still apply);
 *  - `gpu`: for a user with any GPU, the shared control nodes (nvidiactl, nvidia-modeset, the whole
 *    nvidia-uvm and kfd majors) and the granted GPUs' nodes and MIG minors; for "all", every GPU
 *    major whole. `gpuPaths` are the same as node paths (systemd resolves paths at apply time).
 * `restrict` is false on a host with no GPU node and no GPU driver: then nothing is restricted.
 */
export interface DevicePlan {
  readonly restrict: boolean;
  readonly otherChar: readonly DeviceClass[];
  readonly block: readonly DeviceClass[];
  /** Character device numbers of GPU nodes this user may open. */
  readonly gpu: readonly DeviceNumber[];
  /** GPU classes allowed whole (systemd: char-NAME). */
  readonly gpuClasses: readonly DeviceClass[];
  /** Paths of the GPU nodes allowed (systemd takes paths). */
  readonly gpuPaths: readonly string[];
  /** Paths of the GPU nodes refused (what a revoke looks for in open descriptors). */
  readonly deniedPaths: readonly string[];
  /** The GPU indices granted that exist. */
  readonly indices: readonly number[];
}

export function planDevicePolicy(grant: GpuGrant, inv: GpuInventory, procDevices: ProcDevices): DevicePlan {
  const gpuClassMajors = new Set(procDevices.char.filter((c) => GPU_CLASS.test(c.name)).map((c) => c.major));
  const gpuMajors = new Set([...gpuClassMajors, ...inv.nodes.flatMap((n) => (n.major === null ? [] : [n.major]))]);
  const restrict = gpuMajors.size > 0 || inv.nodes.length > 0;
  const indices = grantedIndices(grant, inv.devices.map((d) => d.index));
  const otherChar = dedupe(procDevices.char.filter((c) => !gpuMajors.has(c.major)));
  const block = dedupe([...procDevices.block]);
  if (!restrict) return { restrict, otherChar, block, gpu: [], gpuClasses: [], gpuPaths: [], deniedPaths: [], indices };
  const allowedNode = (n: GpuNode): boolean => n.owner === 'shared' || (typeof n.owner === 'number' && indices.includes(n.owner)) || (grant.kind === 'all' && n.owner === 'unassigned');
  if (indices.length === 0) {
    return { restrict, otherChar, block, gpu: [], gpuClasses: [], gpuPaths: [], deniedPaths: inv.nodes.map((n) => n.path), indices };
  }
  const allowed = inv.nodes.filter(allowedNode);
  const gpu: DeviceNumber[] = [];
  const add = (d: DeviceNumber) => {
    if (!gpu.some((g) => g.major === d.major && (g.minor === null || g.minor === d.minor))) gpu.push(d);
  };
  let gpuClasses: DeviceClass[] = [];
  if (grant.kind === 'all') {
    gpuClasses = dedupe(procDevices.char.filter((c) => GPU_CLASS.test(c.name)));
    for (const m of [...gpuMajors].sort((a, b) => a - b)) add({ major: m, minor: null });
  } else {
    // Majors that carry only shared nodes (nvidia-uvm, kfd) are allowed whole: their nodes may appear after login.
    const sharedOnly = [...gpuMajors].filter((m) => m !== NVIDIA_MAJOR && inv.nodes.every((n) => n.major !== m || n.owner === 'shared'));
    gpuClasses = dedupe(procDevices.char.filter((c) => /^(nvidia-uvm|kfd)$/.test(c.name)));
    for (const c of gpuClasses) add({ major: c.major, minor: null });
    for (const m of sharedOnly.sort((a, b) => a - b)) add({ major: m, minor: null });
    if (gpuMajors.has(NVIDIA_MAJOR)) for (const minor of NVIDIA_CONTROL_MINORS) add({ major: NVIDIA_MAJOR, minor });
    for (const n of allowed) if (n.major !== null && n.minor !== null) add({ major: n.major, minor: n.minor });
    const capsMajor = procDevices.char.find((c) => c.name === 'nvidia-caps')?.major ?? inv.nodes.find((n) => n.path.startsWith('/dev/nvidia-caps/') && n.major !== null)?.major ?? null;
    if (capsMajor !== null) for (const d of inv.devices.filter((x) => indices.includes(x.index))) for (const minor of d.migMinors) add({ major: capsMajor, minor });
  }
  return {
    restrict, otherChar, block, gpu, gpuClasses,
    gpuPaths: allowed.map((n) => n.path),
    deniedPaths: inv.nodes.filter((n) => !allowedNode(n)).map((n) => n.path),
    indices,
  };
}

function dedupe(classes: readonly DeviceClass[]): DeviceClass[] {
  const seen = new Set<string>();
  return classes.filter((c) => (seen.has(`${c.major} ${c.name}`) ? false : (seen.add(`${c.major} ${c.name}`), true)));
}

/** systemd's form: DevicePolicy and the DeviceAllow list (path or char-/block-NAME, access). */
export interface SystemdDeviceRules {
  readonly devicePolicy: 'auto' | 'closed';
  readonly deviceAllow: readonly (readonly [string, string])[];
}

/**
 * With DevicePolicy=closed systemd always adds the standard pseudo devices (/dev/null, zero, full,
 * random, urandom, tty, ptmx); the rest is listed by class name (char-NAME is resolved against
 * /proc/devices when systemd builds the cgroup's device program). Names that begin with "/"
 * (/dev/tty, /dev/console on major 5, /dev/vc/0 on 4) cannot be named that way: 5's nodes the
 * user needs are in the standard set, and 4 is also "tty". Unrestricted: auto, and no list.
 */
export function systemdDeviceRules(plan: DevicePlan): SystemdDeviceRules {
  if (!plan.restrict) return { devicePolicy: 'auto', deviceAllow: [] };
  const named = (prefix: string, cs: readonly DeviceClass[], access: string) =>
    [...new Set(cs.filter((c) => !c.name.startsWith('/')).map((c) => c.name))].map((n) => [`${prefix}-${n}`, access] as const);
  return {
    devicePolicy: 'closed',
    deviceAllow: [...named('char', plan.otherChar, 'rw'), ...named('block', plan.block, 'rw'), ...named('char', plan.gpuClasses, 'rw'), ...plan.gpuPaths.map((p) => [p, 'rw'] as const)],
  };
}

/**
 * cgroup v1 devices controller lines. Closed: "a" written to devices.deny (deny all, drop every
 * exception), then each allow line. Open: "a" written to devices.allow (allow all).
 */
export interface V1DeviceRules {
  readonly closed: boolean;
  /** Lines for devices.allow, as devices.list prints them ("c 1:* rwm", "b *:* rwm", "c 195:0 rwm"). */
  readonly allow: readonly string[];
}

export function v1DeviceRules(plan: DevicePlan): V1DeviceRules {
  if (!plan.restrict) return { closed: false, allow: ['a *:* rwm'] };
  const lines = [
    ...[...new Set(plan.otherChar.map((c) => c.major))].sort((a, b) => a - b).map((m) => `c ${m}:* rwm`),
    'b *:* rwm',
    ...plan.gpu.map((d) => `c ${d.major}:${d.minor ?? '*'} rwm`),
  ];
  return { closed: true, allow: [...new Set(lines)] };
}
