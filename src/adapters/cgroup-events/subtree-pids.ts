// Refused forks of a user's whole cgroup subtree, for cgroup v2 kernels whose pids.events is not hierarchical.

import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { errnoOf } from '../cgroupfs/cgroupfs-fs';
import { keyedValue } from './event-layout';

/** Bounds on the walk: a user's subtree is a slice, its sessions and the user manager's units. */
const MAX_DEPTH = 8;
const MAX_GROUPS = 2000;

/**
 * Before Linux 6.13 (no pids.events.local), a fork refused by a pids.max is counted in pids.events
 * of the cgroup the forking task is in, not of the ancestor whose limit refused it: the user's slice
 * (where diycloud sets the limit) keeps "max 0" while its session scopes count (seen in the VM on
 * Debian 12's 6.1). From 6.13 the file is hierarchical and the slice's own counter is enough.
 */
export function pidsEventsAreLocal(cgroupDir: string): boolean {
  return !existsSync(`${cgroupDir}/pids.events.local`) && existsSync(`${cgroupDir}/pids.events`);
}

/**
 * Sums "max" of pids.events over a subtree as a counter that only grows: each cgroup adds its growth
 * since the previous reading; a cgroup first seen after the first reading adds all of its count (it
 * was made since); a cgroup that went away takes nothing back (so a session's end is no "reset").
 */
export class SubtreePidsEvents {
  private prev = new Map<string, number>();
  private total = 0;
  private readings = 0;

  constructor(private readonly dir: string) {}

  read(): number {
    const next = new Map<string, number>();
    this.walk(this.dir, 0, next);
    for (const [path, count] of next) {
      const before = this.prev.get(path);
      this.total += before === undefined ? (this.readings === 0 ? 0 : count) : Math.max(0, count - before);
    }
    this.prev = next;
    this.readings++;
    return this.total;
  }

  private walk(dir: string, depth: number, out: Map<string, number>): void {
    if (out.size >= MAX_GROUPS) return;
    try {
      const n = keyedValue(readFileSync(`${dir}/pids.events`, 'latin1'), 'max');
      if (n !== null) out.set(dir, n);
      if (depth >= MAX_DEPTH) return;
      for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) this.walk(`${dir}/${e.name}`, depth + 1, out);
    } catch (e) {
      if (!['ENOENT', 'ENODEV', 'ENOTDIR'].includes(errnoOf(e) ?? '')) throw e; // a scope that ended meanwhile
    }
  }
}
