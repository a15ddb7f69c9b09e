// GPU discovery from /dev and /proc/driver/nvidia: device nodes, their modes and groups, and models.

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { assessGpuAccess, parseNvidiaInformation, type GpuDevice, type GpuInventory, type GpuNode } from '../../core/gpu';

const NODE_RE = /^(nvidia[0-9]+|nvidiactl|nvidia-uvm|nvidia-uvm-tools|nvidia-modeset|kfd)$/;

function list(dir: string): string[] {
  try {
    return readdirSync(dir).sort();
  } catch {
    return [];
  }
}

/** `groupName` resolves a gid (the caller passes an NSS lookup); roots are parameters for tests. */
export function discoverGpus(groupName: (gid: number) => string | null, roots = { dev: '/dev', proc: '/proc' }): GpuInventory {
  const paths = [
    ...list(roots.dev).filter((f) => NODE_RE.test(f)).map((f) => join(roots.dev, f)),
    ...list(join(roots.dev, 'dri')).filter((f) => /^renderD[0-9]+$/.test(f)).map((f) => join(roots.dev, 'dri', f)),
  ];
  const nodes: GpuNode[] = [];
  for (const p of paths) {
    try {
      const st = statSync(p);
      nodes.push({ path: p.replace(roots.dev, '/dev'), mode: st.mode & 0o777, gid: st.gid, group: groupName(st.gid) });
    } catch {
      // vanished between readdir and stat: skip
    }
  }
  const gpuDir = join(roots.proc, 'driver', 'nvidia', 'gpus');
  const devices: GpuDevice[] = list(gpuDir).map((bus, i) => {
    try {
      return parseNvidiaInformation(readFileSync(join(gpuDir, bus, 'information'), 'utf8'), i);
    } catch {
      return { index: i, model: null, busId: bus };
    }
  });
  return assessGpuAccess(devices, nodes);
}

/** Group names from /etc/group text (NSS "files"); directory groups resolve to null. */
export function groupsFromEtcGroup(text: string): (gid: number) => string | null {
  const byGid = new Map<number, string>();
  for (const line of text.split('\n')) {
    const f = line.split(':');
    if (f.length >= 3 && /^[0-9]+$/.test(f[2])) byGid.set(Number(f[2]), f[0]);
  }
  return (gid) => byGid.get(gid) ?? null;
}
