// GPU discovery from /dev, /proc/driver/nvidia and /sys/class/drm: device nodes, their numbers, modes and groups, and which GPU owns each.

import { readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { buildInventory, classifyNodeName, parseNvidiaInformation, type GpuFacts, type GpuInventory } from '../../core/gpu';

export interface GpuRoots {
  readonly dev: string;
  readonly proc: string;
  readonly sys: string;
}

const ROOTS: GpuRoots = { dev: '/dev', proc: '/proc', sys: '/sys' };

function list(dir: string): string[] {
  try {
    return readdirSync(dir).sort();
  } catch {
    return [];
  }
}

function readOrNull(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

/** glibc's encoding of dev_t (major in bits 8-19 and 32+, minor in bits 0-7 and 20+). */
export function splitRdev(rdev: number): { major: number; minor: number } {
  const hi = Math.floor(rdev / 2 ** 32);
  const lo = rdev % 2 ** 32;
  return { major: ((lo >>> 8) & 0xfff) | ((hi & 0xfffff000) >>> 0), minor: (lo & 0xff) | ((lo >>> 12) & 0xfff00) };
}

/**
 * Only reads: readdir and stat of /dev entries (never opens a node, so the daemon's own
 * DevicePolicy=closed does not matter), and world-readable /proc and /sys files.
 * `groupName` resolves a gid (the caller passes an NSS lookup); roots are parameters for tests.
 */
export function discoverGpus(groupName: (gid: number) => string | null, roots: Partial<GpuRoots> = {}): GpuInventory {
  const r = { ...ROOTS, ...roots };
  const rels = [
    ...list(r.dev),
    ...list(join(r.dev, 'dri')).map((f) => `dri/${f}`),
    ...list(join(r.dev, 'nvidia-caps')).map((f) => `nvidia-caps/${f}`),
  ].filter((rel) => classifyNodeName(rel) !== null);
  const nodes: GpuFacts['nodes'][number][] = [];
  for (const rel of rels) {
    try {
      const st = statSync(join(r.dev, rel));
      const num = st.isCharacterDevice() ? splitRdev(st.rdev) : { major: null, minor: null };
      nodes.push({ rel, mode: st.mode & 0o777, gid: st.gid, group: groupName(st.gid), ...num });
    } catch {
      // vanished between readdir and stat: skip
    }
  }
  const gpuDir = join(r.proc, 'driver', 'nvidia', 'gpus');
  const nvidia = list(gpuDir).map((dir) => {
    const text = readOrNull(join(gpuDir, dir, 'information'));
    return { dir, ...(text === null ? { model: null, busId: dir, minor: null } : parseNvidiaInformation(text)) };
  });
  const drm = new Map<string, { pci: string; vendor: string | null }>();
  for (const name of list(join(r.sys, 'class', 'drm')).filter((f) => /^(card|renderD)[0-9]+$/.test(f))) {
    try {
      const device = realpathSync(join(r.sys, 'class', 'drm', name, 'device'));
      drm.set(name, { pci: basename(device), vendor: readOrNull(join(device, 'vendor')) });
    } catch {
      // no device link (a virtual card): the node stays unassigned
    }
  }
  return buildInventory({ nodes, nvidia, migMinors: readOrNull(join(r.proc, 'driver', 'nvidia-caps', 'mig-minors')), drm });
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
