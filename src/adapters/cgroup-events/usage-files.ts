// UsageReader on cgroupfs: every live user cgroup's memory, CPU usage and task count from its files, opened once and re-read with pread.

import { closeSync, openSync, readSync, readdirSync } from 'node:fs';
import type { UsageReading } from '../../core/usage-history';
import type { UsageReader } from '../../core/usage-ports';
import type { CgroupfsProbe } from '../cgroupfs/hierarchy';
import { PARENT_GROUP } from '../cgroupfs/cgroupfs-limits';
import { uidFromSliceName } from '../systemd/unit-names';

/** One counter: the directory holding the user cgroups of its controller, the file, and how to parse it. */
interface Counter {
  readonly parent: string;
  readonly file: string;
  readonly parse: (text: string) => number | null;
}

export interface UsageLayout {
  readonly version: 'v1' | 'v2';
  readonly memory: Counter;
  readonly cpu: Counter | null;
  readonly tasks: Counter | null;
  /** A directory name's uid (user-UID.slice or user-UID), or null. */
  uidOf(name: string): number | null;
}

const whole = (t: string): number | null => (/^[0-9]+$/.test(t.trim()) ? Number(t.trim()) : null);
const usageUsecAsNsec = (t: string): number | null => {
  const m = /^usage_usec ([0-9]+)$/m.exec(t);
  return m ? Number(m[1]) * 1000 : null;
};
const cgroupfsUid = (name: string): number | null => {
  const m = /^user-(0|[1-9][0-9]{0,9})$/.exec(name);
  return m && Number(m[1]) <= 0xfffffffe ? Number(m[1]) : null;
};

/**
 * Where the counters are: systemd's user.slice/user-UID.slice, or diycloud/user-UID (cgroupfs), at
 * the v2 root or in each v1 hierarchy. The same files GetUser reads through the backend (v2:
 * memory.current, cpu.stat usage_usec, pids.current; v1: memory.usage_in_bytes, cpuacct.usage,
 * pids.current). null where there is no hierarchy.
 */
export function usageLayout(backend: string, probe: CgroupfsProbe | null): UsageLayout | null {
  if (!probe || probe.version === null || backend === 'none') return null;
  const sub = backend === 'systemd' ? 'user.slice' : PARENT_GROUP;
  const uidOf = backend === 'systemd' ? uidFromSliceName : cgroupfsUid;
  if (probe.version === 'v2') {
    const parent = `${probe.mountPoint}/${sub}`;
    return { version: 'v2', memory: { parent, file: 'memory.current', parse: whole }, cpu: { parent, file: 'cpu.stat', parse: usageUsecAsNsec }, tasks: { parent, file: 'pids.current', parse: whole }, uidOf };
  }
  const h = probe.hierarchies;
  return {
    version: 'v1',
    memory: { parent: `${h.memory.mountPoint}/${sub}`, file: 'memory.usage_in_bytes', parse: whole },
    cpu: h.cpuacct ? { parent: `${h.cpuacct.mountPoint}/${sub}`, file: 'cpuacct.usage', parse: whole } : null,
    tasks: h.pids ? { parent: `${h.pids.mountPoint}/${sub}`, file: 'pids.current', parse: whole } : null,
    uidOf,
  };
}

type Kind = 'memory' | 'cpu' | 'tasks';
const KINDS: Kind[] = ['memory', 'cpu', 'tasks'];

/**
 * Each pass lists the parent directories (cgroups come and go), opens the files of new cgroups,
 * closes those of vanished ones, and re-reads every open file from offset 0 (a cgroup seq_file
 * regenerates on a read from 0): a third of the CPU of open+read+close. A file that answers an
 * error is closed and opened again at the next pass if its cgroup is still listed.
 */
export class CgroupfsUsageReader implements UsageReader {
  private readonly fds = new Map<string, number>();
  private readonly buf = Buffer.alloc(4096);

  constructor(private readonly layout: UsageLayout) {}

  get mode(): string {
    return `cgroupfs files (${this.layout.version})`;
  }

  async readAll(): Promise<UsageReading[]> {
    const byUid = new Map<number, { cpuUsageNsec: number | null; memoryBytes: number | null; tasks: number | null }>();
    const live = new Set<string>();
    for (const kind of KINDS) {
      const c = this.layout[kind];
      if (!c) continue;
      let names: string[];
      try {
        names = readdirSync(c.parent);
      } catch {
        continue; // no user cgroup in this hierarchy yet
      }
      for (const name of names) {
        const uid = this.layout.uidOf(name);
        if (uid === null) continue;
        const path = `${c.parent}/${name}/${c.file}`;
        live.add(path);
        const v = this.read(path, c.parse);
        // A user is live when their memory cgroup is (the controller every layout has).
        if (kind === 'memory') {
          if (v === undefined) continue;
          byUid.set(uid, { cpuUsageNsec: null, memoryBytes: v, tasks: null });
        } else {
          const u = byUid.get(uid);
          if (u && v !== undefined) u[kind === 'cpu' ? 'cpuUsageNsec' : 'tasks'] = v;
        }
      }
    }
    for (const [path, fd] of this.fds) {
      if (live.has(path)) continue;
      this.close(path, fd);
    }
    return [...byUid].map(([uid, u]) => ({ uid, ...u }));
  }

  /** The parsed value (null: unparsable), or undefined when the file cannot be read. */
  private read(path: string, parse: (t: string) => number | null): number | null | undefined {
    let fd = this.fds.get(path);
    try {
      if (fd === undefined) this.fds.set(path, (fd = openSync(path, 'r')));
      const n = readSync(fd, this.buf, 0, this.buf.length, 0);
      return parse(this.buf.toString('latin1', 0, n));
    } catch {
      if (fd !== undefined) this.close(path, fd);
      return undefined;
    }
  }

  private close(path: string, fd: number): void {
    this.fds.delete(path);
    try {
      closeSync(fd);
    } catch {
      // already gone
    }
  }

  /** Closes every file (daemon stop, tests). */
  stop(): void {
    for (const [path, fd] of this.fds) this.close(path, fd);
  }
}
