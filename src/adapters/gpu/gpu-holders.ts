// Which of a user's processes hold device nodes open (/proc/PID/fd links), and ending them: what a GPU revoke needs.

import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';

/** The real UID of /proc/PID/status ("Uid:\treal\teffective…"), or null when the process is gone. */
function realUid(procRoot: string, pid: string): number | null {
  try {
    const m = /^Uid:\s+([0-9]+)/m.exec(readFileSync(join(procRoot, pid, 'status'), 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/**
 * PIDs (ascending) of processes whose real UID is `uid` and that have any of `paths` open, and how
 * many of the user's processes could not be looked into (/proc/PID/fd of another user needs
 * CAP_SYS_PTRACE, which the shipped unit does not give). A process or descriptor that vanishes during
 * the scan is skipped; descriptors of other users are never read.
 */
export function deviceHolders(uid: number, paths: readonly string[], procRoot = '/proc'): { pids: number[]; unreadable: number } {
  if (paths.length === 0) return { pids: [], unreadable: 0 };
  let unreadable = 0;
  const want = new Set(paths);
  const pids: number[] = [];
  let entries: string[];
  try {
    entries = readdirSync(procRoot);
  } catch {
    return { pids: [], unreadable: 0 };
  }
  for (const pid of entries.filter((e) => /^[0-9]+$/.test(e))) {
    if (realUid(procRoot, pid) !== uid) continue;
    let fds: string[];
    try {
      fds = readdirSync(join(procRoot, pid, 'fd'));
    } catch (e) {
      if ((e as { code?: string }).code === 'EACCES') unreadable++;
      continue;
    }
    for (const fd of fds) {
      try {
        if (want.has(readlinkSync(join(procRoot, pid, 'fd', fd)))) {
          pids.push(Number(pid));
          break;
        }
      } catch {
        // closed meanwhile
      }
    }
  }
  return { pids: pids.sort((a, b) => a - b), unreadable };
}

/** SIGKILL to each PID; returns those that were signalled (a process that already ended is skipped). */
export function killAll(pids: readonly number[], kill: (pid: number, sig: NodeJS.Signals) => void = (p, s) => process.kill(p, s)): number[] {
  const done: number[] = [];
  for (const pid of pids) {
    if (!Number.isSafeInteger(pid) || pid <= 1) continue;
    try {
      kill(pid, 'SIGKILL');
      done.push(pid);
    } catch {
      // ESRCH: already gone
    }
  }
  return done;
}
