// Describes the machine a benchmark ran on (read at run time): CPU, cores, RAM, kernel, Node versions.
import { cpus, totalmem, release, availableParallelism } from 'node:os';
import { readFileSync } from 'node:fs';

export interface Machine { cpu: string; cores: number; ramGiB: number; kernel: string; os: string; hostNode: string; containerNode?: string; containerOs?: string }

export function describeHost(): Machine {
  let os = 'unknown';
  try { os = /^PRETTY_NAME="?([^"\n]*)/m.exec(readFileSync('/etc/os-release', 'utf8'))?.[1] ?? os; } catch { /* keep unknown */ }
  return {
    cpu: cpus()[0]?.model.trim() ?? 'unknown',
    cores: availableParallelism(),
    ramGiB: Math.round((totalmem() / 1024 ** 3) * 10) / 10,
    kernel: release(),
    os,
    hostNode: process.version,
  };
}
