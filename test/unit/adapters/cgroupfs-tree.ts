// A temp dir tree that behaves like cgroupfs (v1 or v2) and /proc/PID/cgroup, for the cgroupfs adapter's unit tests.

import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nodeCgroupFs, type CgroupFs } from '../../../src/adapters/cgroupfs/cgroupfs-fs';

/** What v1 reads back for "no limit" with 4 KiB pages. */
export const V1_NO_LIMIT = '9223372036854771712';
const PAGE = 4096;

const FILES: Record<string, Record<string, string>> = {
  cpu: { 'cpu.cfs_period_us': '100000', 'cpu.cfs_quota_us': '-1', 'cpu.stat': 'nr_periods 0\nnr_throttled 0\n' },
  cpuacct: { 'cpuacct.usage': '0' },
  memory: { 'memory.limit_in_bytes': V1_NO_LIMIT, 'memory.soft_limit_in_bytes': V1_NO_LIMIT, 'memory.usage_in_bytes': '0' },
  pids: { 'pids.max': 'max', 'pids.current': '0' },
  v2: { 'cgroup.subtree_control': '', 'cgroup.controllers': 'cpu memory pids', 'cpu.max': 'max 100000', 'cpu.stat': 'usage_usec 0\n', 'memory.max': 'max', 'memory.high': 'max', 'memory.current': '0', 'pids.max': 'max', 'pids.current': '0' },
};

function errno(code: string, what: string): Error {
  return Object.assign(new Error(`${code}: ${what}`), { code });
}

export interface FakeCgroupTree {
  readonly root: string;
  readonly proc: string;
  readonly mountinfo: string;
  readonly fs: CgroupFs;
  /** A process the tree knows (its /proc/PID/cgroup), in the root group of every hierarchy. */
  addProcess(pid: number): void;
  /** The process exits: it leaves /proc and every cgroup.procs. */
  exit(pid: number): void;
  /** The next write of `pid` to a cgroup.procs finds it gone (ESRCH), as if it exited mid-move. */
  dieOnMove(pid: number): void;
  /** Writes to this file name are accepted and ignored (as if something else reset the value). */
  ignoreWrites(file: string): void;
  /** Moves are accepted but /proc/PID/cgroup does not change. */
  freezeProc(): void;
  read(rel: string): string;
  exists(rel: string): boolean;
  cleanup(): void;
}

/**
 * v1: hierarchies "cpu,cpuacct" (one mount for both, like Debian's), "memory" and "pids" (or the
 * given list); v2: one cgroup2 tree at the root. Kernel behaviour kept: mkdir fills a group with
 * its control files, memory limits round down to pages, lowering a v1 limit below usage is
 * EBUSY, a CFS quota under 1 ms is EINVAL, rmdir of a group with processes or children is EBUSY.
 */
export function fakeCgroupTree(version: 'v1' | 'v2', mounts: string[] = ['cpu,cpuacct', 'memory', 'pids']): FakeCgroupTree {
  const top = mkdtempSync(join(tmpdir(), 'diycloud-cgfs-'));
  const root = join(top, 'cgroup');
  const proc = join(top, 'proc');
  mkdirSync(proc);
  const hierarchies = version === 'v2' ? [''] : mounts;
  const controllersAt = (dir: string): string[] => {
    const h = hierarchies.find((m) => dir === join(root, m) || dir.startsWith(join(root, m) + '/'));
    return h === undefined ? [] : version === 'v2' ? ['v2'] : h.split(',');
  };
  const fill = (dir: string): void => {
    writeFileSync(join(dir, 'cgroup.procs'), '');
    for (const c of controllersAt(dir)) for (const [f, v] of Object.entries(FILES[c]!)) writeFileSync(join(dir, f), v);
  };
  for (const h of hierarchies) {
    mkdirSync(join(root, h), { recursive: true });
    fill(join(root, h));
  }
  const mountinfo = version === 'v2'
    ? `25 1 0:22 / ${root} rw,nosuid shared:4 - cgroup2 cgroup2 rw,nsdelegate\n`
    : [`24 1 0:20 / ${root} rw - tmpfs tmpfs rw,mode=755`, ...mounts.map((m, i) => `${30 + i} 24 0:${30 + i} / ${root}/${m} rw shared:${9 + i} - cgroup cgroup rw,${m}`)].join('\n') + '\n';
  const dying = new Set<number>();
  const ignored = new Set<string>();
  let frozen = false;
  const procFile = (pid: number) => join(proc, String(pid), 'cgroup');
  const rel = (dir: string, h: string) => dir.slice(join(root, h).length) || '/';
  const setProcLine = (pid: number, dir: string): void => {
    if (frozen) return;
    const h = hierarchies.find((m) => dir.startsWith(join(root, m)))!;
    const lines = readFileSync(procFile(pid), 'utf8').trim().split('\n').map((l) => {
      const [id, ctl] = l.split(':');
      const mine = version === 'v2' ? id === '0' : ctl === h;
      return mine ? `${id}:${ctl}:${rel(dir, h)}` : l;
    });
    writeFileSync(procFile(pid), lines.join('\n') + '\n');
  };
  const allProcs = (dir: string): string[] => {
    const out = existsSync(join(dir, 'cgroup.procs')) ? [join(dir, 'cgroup.procs')] : [];
    for (const d of readdirSync(dir, { withFileTypes: true })) if (d.isDirectory()) out.push(...allProcs(join(dir, d.name)));
    return out;
  };
  const drop = (pid: number, h: string): void => {
    for (const f of allProcs(join(root, h))) writeFileSync(f, readFileSync(f, 'utf8').split('\n').filter((l) => l !== '' && l !== String(pid)).map((l) => l + '\n').join(''));
  };
  const pages = (v: string, unlimited: string): string => (v === '-1' || v === 'max' ? unlimited : String(Math.floor(Number(v) / PAGE) * PAGE));

  const fs: CgroupFs = {
    ...nodeCgroupFs,
    mkdir(path, mode) {
      nodeCgroupFs.mkdir(path, mode);
      fill(path);
    },
    rmdir(path) {
      if (readFileSync(join(path, 'cgroup.procs'), 'utf8').trim() !== '' || nodeCgroupFs.subdirs(path).length > 0) throw errno('EBUSY', `rmdir ${path}`);
      rmSync(path, { recursive: true });
    },
    write(path, value) {
      const dir = path.slice(0, path.lastIndexOf('/'));
      const file = path.slice(path.lastIndexOf('/') + 1);
      if (!existsSync(path)) throw errno('ENOENT', path);
      if (ignored.has(file)) return;
      let stored = value;
      if (file === 'cgroup.procs') {
        const pid = Number(value);
        if (!existsSync(procFile(pid)) || dying.has(pid)) {
          if (dying.has(pid)) rmSync(join(proc, String(pid)), { recursive: true, force: true });
          throw errno('ESRCH', `write ${path}`);
        }
        const h = hierarchies.find((m) => dir.startsWith(join(root, m)))!;
        drop(pid, h);
        stored = readFileSync(path, 'utf8') + `${pid}\n`;
        setProcLine(pid, dir);
      } else if (file === 'memory.limit_in_bytes' || file === 'memory.soft_limit_in_bytes') {
        if (file === 'memory.limit_in_bytes' && value !== '-1' && Number(value) < Number(readFileSync(join(dir, 'memory.usage_in_bytes'), 'utf8'))) throw errno('EBUSY', `write ${path}`);
        stored = pages(value, V1_NO_LIMIT);
      } else if (file === 'memory.max' || file === 'memory.high') {
        stored = pages(value, 'max');
      } else if (file === 'cpu.cfs_quota_us' && value !== '-1' && Number(value) < 1000) {
        throw errno('EINVAL', `write ${path}`);
      } else if (file === 'cgroup.subtree_control') {
        const on = new Set(readFileSync(path, 'utf8').trim().split(/\s+/).filter(Boolean));
        for (const t of value.trim().split(/\s+/)) on.add(t.replace(/^\+/, ''));
        stored = [...on].join(' ');
      }
      writeFileSync(path, stored);
    },
  };
  return {
    root,
    proc,
    mountinfo,
    fs,
    addProcess(pid) {
      mkdirSync(join(proc, String(pid)), { recursive: true });
      const lines = version === 'v2' ? ['0::/'] : mounts.map((m, i) => `${i + 1}:${m}:/`);
      writeFileSync(procFile(pid), lines.join('\n') + '\n');
    },
    exit(pid) {
      for (const h of hierarchies) drop(pid, h);
      rmSync(join(proc, String(pid)), { recursive: true, force: true });
    },
    dieOnMove: (pid) => void dying.add(pid),
    ignoreWrites: (file) => void ignored.add(file),
    freezeProc: () => void (frozen = true),
    read: (p) => readFileSync(join(root, p), 'utf8'),
    exists: (p) => existsSync(join(root, p)),
    cleanup: () => rmSync(top, { recursive: true, force: true }),
  };
}
