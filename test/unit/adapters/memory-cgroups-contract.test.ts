// The in-memory CgroupLimits fake passes the CgroupLimits port contract.

import { describe, it } from 'vitest';
import { MemoryCgroups } from '../../fakes/memory-cgroups';
import { CGROUP_LIMITS_CONTRACT } from '../../contract/cgroup-limits-contract';

describe('MemoryCgroups honours the CgroupLimits contract', () => {
  it.each(CGROUP_LIMITS_CONTRACT.map((c) => [c.name, c] as const))('%s', async (_n, c) => {
    const cgroups = new MemoryCgroups();
    cgroups.addSlice(1000);
    await c.run({ cgroups, liveUid: 1000, addUser: async (uid) => cgroups.addSlice(uid), announcesNew: true, livePid: process.pid, groupOf: async (pid) => cgroups.sliceOf(pid) });
  });
});
