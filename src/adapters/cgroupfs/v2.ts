// cgroup v2 spelling (cpu.max "QUOTA PERIOD", memory.max, memory.high, pids.max) and enabling controllers down the tree.

import { UNLIMITED, type CgroupSettings, type U64 } from '../../core/enforcement-plan';
import type { CgroupState } from '../../core/ports';
import { CPU_PERIOD_USEC, known, parseCount, parseU64, perSecUsec, quotaPerPeriodUsec, type Dialect, type FileWrite, type ReadFn } from './dialect';
import type { CgroupFs } from './cgroupfs-fs';

const max = (v: U64): string => (v === UNLIMITED ? 'max' : String(v));

export const V2_DIALECT: Dialect = {
  version: 'v2',
  writes(s: CgroupSettings): FileWrite[] {
    const cpu = s.cpuQuotaPerSecUsec === UNLIMITED ? 'max' : String(quotaPerPeriodUsec(s.cpuQuotaPerSecUsec));
    const w: FileWrite[] = [
      { controller: 'cpu', file: 'cpu.max', value: `${cpu} ${CPU_PERIOD_USEC}`, key: 'cpuQuotaPerSecUsec' },
      // memory.high before memory.max, as the plan's ratchet orders them.
      { controller: 'memory', file: 'memory.high', value: max(s.memoryHighBytes), key: 'memoryHighBytes' },
      { controller: 'memory', file: 'memory.max', value: max(s.memoryMaxBytes), key: 'memoryMaxBytes' },
    ];
    if (s.tasksMax !== undefined) w.push({ controller: 'pids', file: 'pids.max', value: max(s.tasksMax), key: 'tasksMax' });
    return w;
  },
  read(read: ReadFn): CgroupState {
    const [q, p] = (read('cpu', 'cpu.max') ?? '').trim().split(/\s+/);
    const quota = parseU64(q ?? null);
    const period = parseCount(p ?? null);
    const cpu = quota === UNLIMITED ? UNLIMITED : quota !== null && period ? perSecUsec(quota, period) : null;
    const memoryMaxBytes = parseU64(read('memory', 'memory.max'));
    const settings = known({ cpuQuotaPerSecUsec: cpu, memoryMaxBytes, memoryHighBytes: parseU64(read('memory', 'memory.high')), tasksMax: parseU64(read('pids', 'pids.max')) });
    // cpu.stat's usage_usec is there in every v2 group, with or without the cpu controller.
    const usage = /^usage_usec ([0-9]+)$/m.exec(read('cpuacct', 'cpu.stat') ?? '')?.[1];
    return {
      settings,
      memoryMaxBytes,
      memoryCurrentBytes: parseCount(read('memory', 'memory.current')),
      cpuUsageNsec: usage === undefined ? null : Number(usage) * 1000,
      tasksCurrent: parseCount(read('pids', 'pids.current')),
    };
  },
};

/**
 * Enables `wanted` controllers in `dir`'s cgroup.subtree_control, writing only those not yet on
 * (one "+name" per write, so a controller the kernel refuses is named in the error). A v2 group
 * can only enable controllers for its children while it holds no processes itself ("no internal
 * processes"; the root is exempt): diycloud/ therefore never holds one, only its user-UID groups do.
 */
export function enableControllers(fs: CgroupFs, dir: string, wanted: readonly string[]): void {
  const on = fs.read(`${dir}/cgroup.subtree_control`).trim().split(/\s+/);
  for (const c of wanted) if (!on.includes(c)) fs.write(`${dir}/cgroup.subtree_control`, `+${c}`);
}
