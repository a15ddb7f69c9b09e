// The line a user sees at login (pure): their allocation and current use, and a disk warning when one is due.

import type { GpuGrant } from './gpu-grant';

/** A quota path's share of the line: usage is null where it is not known without a read (the login path never reads). */
export interface LoginDisk {
  readonly path: string;
  readonly usedBytes: number | null;
  /** The allocation's quota on this path; 0: no quota. */
  readonly limitBytes: number;
}

export interface LoginLineInput {
  readonly cpuCores: number;
  readonly memoryMaxBytes: number;
  /** What the user's cgroup holds now (their other sessions and jobs); null where unknown. */
  readonly memoryCurrentBytes: number | null;
  readonly gpus: GpuGrant;
  /** Quota paths that hold or count quotas (paths with quotas off are left out by the caller). */
  readonly disk: readonly LoginDisk[];
}

/** The share of a quota at or above which the login line warns. */
export const DISK_WARN_RATIO = 0.9;

/**
 * "diycloud: 2 CPU cores, memory 1.2G of 4G, disk 3.1G of 20G, GPUs 0,2", then, on a line of its
 * own, a warning for each quota path at or over 90 % of the quota, or over it. The first line stays
 * under 100 characters for one quota path; more paths name each path.
 */
export function renderLoginLine(i: LoginLineInput): string {
  const parts = [cpu(i.cpuCores), `memory ${ofLimit(i.memoryCurrentBytes, i.memoryMaxBytes)}`];
  const quotas = i.disk.filter((d) => d.limitBytes > 0);
  if (quotas.length === 1) parts.push(`disk ${ofLimit(quotas[0].usedBytes, quotas[0].limitBytes)}`);
  else if (quotas.length > 1) parts.push(`disk ${quotas.map((d) => `${d.path} ${ofLimit(d.usedBytes, d.limitBytes)}`).join(', ')}`);
  parts.push(gpus(i.gpus));
  const lines = [`diycloud: ${parts.join(', ')}`];
  for (const d of quotas) {
    const w = diskWarning(d);
    if (w) lines.push(w);
  }
  return lines.join('\n');
}

/** The warning for one quota path, or null: over the quota, or at 90 % of it or more. */
export function diskWarning(d: LoginDisk): string | null {
  if (d.usedBytes === null || d.limitBytes <= 0) return null;
  const used = `${size(d.usedBytes)} of ${size(d.limitBytes)}`;
  if (d.usedBytes > d.limitBytes) return `diycloud: warning: you are over your disk quota on ${d.path} (${used}): writes there fail until you delete files`;
  if (d.usedBytes >= d.limitBytes * DISK_WARN_RATIO) {
    return `diycloud: warning: your disk quota on ${d.path} is ${Math.floor((d.usedBytes / d.limitBytes) * 100)}% used (${used})`;
  }
  return null;
}

function cpu(n: number): string {
  const c = Math.round(n * 100) / 100;
  return `${c} CPU ${c === 1 ? 'core' : 'cores'}`;
}

function gpus(g: GpuGrant): string {
  if (g.kind === 'none') return 'no GPUs';
  if (g.kind === 'all') return 'all GPUs';
  return `${g.indices.length === 1 ? 'GPU' : 'GPUs'} ${g.indices.join(',')}`;
}

function ofLimit(used: number | null, limit: number): string {
  return used === null ? size(limit) : `${size(used)} of ${size(limit)}`;
}

/** Sizes in the largest unit that fits, the way people read them: "2G", "1.5G" (1536M), "512M", "900K". */
function size(bytes: number): string {
  const units = ['K', 'M', 'G', 'T', 'P'];
  let v = bytes;
  let u = -1;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  if (u < 0) return String(Math.round(v));
  return `${v.toFixed(1).replace(/\.0$/, '')}${units[u]}`;
}
