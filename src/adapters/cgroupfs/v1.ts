// cgroup v1 spelling: cpu.cfs_*_us per 100 ms, memory.limit_in_bytes and soft_limit_in_bytes (-1 = none), pids.max.

import { UNLIMITED, type CgroupSettings, type U64 } from '../../core/enforcement-plan';
import type { CgroupState } from '../../core/ports';
import { CPU_PERIOD_USEC, known, parseCount, parseU64, perSecUsec, quotaPerPeriodUsec, type Dialect, type FileWrite, type ReadFn } from './dialect';

const bytes = (v: U64): string => (v === UNLIMITED ? '-1' : String(v));

/**
 * memoryHighBytes has no v1 file: memory.soft_limit_in_bytes is the closest. It differs: v2's
 * memory.high throttles and reclaims as soon as the group crosses it, whereas v1's soft limit only
 * makes the group the first to be reclaimed when the whole machine runs short of memory. So while
 * the plan ratchets a limit down on v1, usage shrinks only under global pressure (or not at all),
 * and the ratchet may hold memory.limit_in_bytes above the target for longer.
 */
export const V1_DIALECT: Dialect = {
  version: 'v1',
  writes(s: CgroupSettings): FileWrite[] {
    const w: FileWrite[] = [
      // The period first: the kernel checks quota against the period it already has.
      { controller: 'cpu', file: 'cpu.cfs_period_us', value: String(CPU_PERIOD_USEC), key: 'cpuQuotaPerSecUsec' },
      { controller: 'cpu', file: 'cpu.cfs_quota_us', value: s.cpuQuotaPerSecUsec === UNLIMITED ? '-1' : String(quotaPerPeriodUsec(s.cpuQuotaPerSecUsec)), key: 'cpuQuotaPerSecUsec' },
      // The soft ("high") limit before the hard one, as the plan's ratchet orders them.
      { controller: 'memory', file: 'memory.soft_limit_in_bytes', value: bytes(s.memoryHighBytes), key: 'memoryHighBytes' },
      { controller: 'memory', file: 'memory.limit_in_bytes', value: bytes(s.memoryMaxBytes), key: 'memoryMaxBytes' },
    ];
    if (s.tasksMax !== undefined) w.push({ controller: 'pids', file: 'pids.max', value: s.tasksMax === UNLIMITED ? 'max' : String(s.tasksMax), key: 'tasksMax' });
    return w;
  },
  read(read: ReadFn): CgroupState {
    const quota = parseU64(read('cpu', 'cpu.cfs_quota_us'));
    const period = parseCount(read('cpu', 'cpu.cfs_period_us'));
    const cpu = quota === UNLIMITED ? UNLIMITED : quota !== null && period ? perSecUsec(quota, period) : null;
    const memoryMaxBytes = parseU64(read('memory', 'memory.limit_in_bytes'));
    const settings = known({ cpuQuotaPerSecUsec: cpu, memoryMaxBytes, memoryHighBytes: parseU64(read('memory', 'memory.soft_limit_in_bytes')), tasksMax: parseU64(read('pids', 'pids.max')) });
    return {
      settings,
      memoryMaxBytes,
      memoryCurrentBytes: parseCount(read('memory', 'memory.usage_in_bytes')),
      cpuUsageNsec: parseCount(read('cpuacct', 'cpuacct.usage')),
      tasksCurrent: parseCount(read('pids', 'pids.current')),
    };
  },
};
