// ProcessTable over /proc: a process's name, parent, effective UID, start time and cgroup.

import { readFileSync } from 'node:fs';
import { parseProcCgroup, parseProcStat, parseProcStatus, type ProcessFacts, type ProcessTable } from '../../core/placement';

/**
 * Three reads per process (stat, status, cgroup), only of files that any process may read: under
 * the daemon's unit (no CAP_SYS_PTRACE) /proc/PID/exe and /proc/PID/environ of other processes
 * cannot be opened. `root` is for tests with fixture directories; the daemon always uses /proc.
 */
export class ProcProcessTable implements ProcessTable {
  constructor(private readonly root = '/proc', readonly selfPid = process.pid) {}

  inspect(pid: number): ProcessFacts | null {
    if (!Number.isSafeInteger(pid) || pid <= 0) return null;
    const dir = `${this.root}/${pid}`;
    try {
      const stat = parseProcStat(readFileSync(`${dir}/stat`, 'utf8'));
      const status = parseProcStatus(readFileSync(`${dir}/status`, 'utf8'));
      const cgroup = parseProcCgroup(readFileSync(`${dir}/cgroup`, 'utf8'));
      if (!stat || !status) return null;
      return { pid, comm: stat.comm, ppid: status.ppid, euid: status.euid, startTime: stat.startTime, cgroup };
    } catch {
      return null; // no such process, or it exited while being read
    }
  }
}
