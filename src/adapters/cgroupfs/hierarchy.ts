// Which cgroup hierarchy this host has (v2 at the root, or v1 per-controller mounts), found from /proc/self/mountinfo.

import { parseMountinfo, type MountEntry } from '../proc/mountinfo';
import { nodeCgroupFs, readOptional, type CgroupFs } from './cgroupfs-fs';

/** The controllers diycloud writes. cpu and memory are required; cpuacct (usage) and pids (tasksMax) are optional. */
export type Controller = 'cpu' | 'cpuacct' | 'memory' | 'pids';

/** Every v1 controller name the kernel knows: the rest of a cgroup mount's super options are options. */
const V1_CONTROLLERS = new Set(['cpu', 'cpuacct', 'cpuset', 'memory', 'devices', 'freezer', 'net_cls', 'net_prio', 'blkio', 'perf_event', 'hugetlb', 'pids', 'rdma', 'misc']);

/** One v1 hierarchy: where it is mounted, and which controllers it carries (cpu and cpuacct are often together). */
export interface V1Hierarchy {
  readonly mountPoint: string;
  /** The hierarchy path at the mount point ("/" unless a sub-tree is bind-mounted): /proc/PID/cgroup paths start with it. */
  readonly root: string;
  readonly controllers: readonly string[];
}

export interface V1Probe {
  readonly version: 'v1';
  readonly hierarchies: Readonly<Record<'cpu' | 'memory', V1Hierarchy>> & Readonly<Record<'cpuacct' | 'pids', V1Hierarchy | null>>;
}

export interface V2Probe {
  readonly version: 'v2';
  readonly mountPoint: string;
  readonly root: string;
  /** The root's cgroup.controllers (what can be enabled below it). */
  readonly controllers: readonly string[];
}

export type CgroupfsProbe = V1Probe | V2Probe | { readonly version: null; readonly reason: string };

/**
 * The mount in force at each mount point is the last one listed there (a later mount hides an
 * earlier one at the same place).
 */
function inForce(mounts: readonly MountEntry[]): MountEntry[] {
  const byPoint = new Map<string, MountEntry>();
  for (const m of mounts) byPoint.set(m.mountPoint, m);
  return [...byPoint.values()];
}

/**
 * Probes the hierarchy diycloud would manage under `root`:
 *  - v2: a cgroup2 filesystem mounted at `root` itself whose cgroup.controllers has cpu and memory;
 *  - v1: cgroup (v1) mounts under `root` carrying cpu and memory (and, if there, cpuacct and pids),
 *    found by their super options, not by directory names, so "cpu,cpuacct" with its "cpu" and
 *    "cpuacct" symlinks, and separate "cpu" and "cpuacct" mounts, are both found. A hybrid host's
 *    cgroup2 at root/unified is not used: its controllers are bound to v1.
 *  - otherwise null, with the reason (for the factory's log line and for Cgroups=cgroupfs).
 * Each chosen mount is checked for its control file, so a mount hidden under a later one is not used.
 */
export function probeCgroupfs(root = '/sys/fs/cgroup', mountinfo?: string, fs: CgroupFs = nodeCgroupFs): CgroupfsProbe {
  let text = mountinfo;
  if (text === undefined) {
    try {
      text = fs.read('/proc/self/mountinfo');
    } catch (e) {
      return { version: null, reason: `/proc/self/mountinfo cannot be read (${(e as Error).message})` };
    }
  }
  const base = root.replace(/\/+$/, '') || '/';
  const mounts = inForce(parseMountinfo(text));
  const atRoot = mounts.find((m) => m.mountPoint === base);
  if (atRoot?.fsType === 'cgroup2') {
    const controllers = (readOptional(fs, `${base}/cgroup.controllers`) ?? '').trim().split(/\s+/).filter(Boolean);
    const missing = ['cpu', 'memory'].filter((c) => !controllers.includes(c));
    if (missing.length > 0) return { version: null, reason: `cgroup2 at ${base} offers no ${missing.join(' or ')} controller (cgroup.controllers: "${controllers.join(' ')}")` };
    return { version: 'v2', mountPoint: base, root: atRoot.root, controllers };
  }
  const find = (c: Controller): V1Hierarchy | null => {
    const m = mounts.find((x) => x.fsType === 'cgroup' && x.mountPoint.startsWith(`${base}/`) && x.superOptions.includes(c));
    if (!m) return null;
    const probeFile = { cpu: 'cpu.cfs_quota_us', cpuacct: 'cpuacct.usage', memory: 'memory.limit_in_bytes', pids: 'cgroup.procs' }[c];
    if (fs.stat(`${m.mountPoint}/${probeFile}`) === null) return null;
    return { mountPoint: m.mountPoint, root: m.root, controllers: m.superOptions.filter((o) => V1_CONTROLLERS.has(o)) };
  };
  const [cpu, memory] = [find('cpu'), find('memory')];
  if (!cpu || !memory) {
    const missing = [cpu ? null : 'cpu', memory ? null : 'memory'].filter(Boolean).join(' and ');
    return { version: null, reason: `no cgroup2 with controllers at ${base}, and no cgroup v1 ${missing} hierarchy mounted under it` };
  }
  return { version: 'v1', hierarchies: { cpu, memory, cpuacct: find('cpuacct'), pids: find('pids') } };
}
