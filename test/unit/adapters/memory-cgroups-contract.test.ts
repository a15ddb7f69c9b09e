// The in-memory SliceManager fake passes the SliceManager port contract.

import { describe, it } from 'vitest';
import { MemorySliceManager } from '../../fakes/memory-slices';
import { SLICE_MANAGER_CONTRACT } from '../../contract/slice-manager-contract';

describe('MemorySliceManager honours the SliceManager contract', () => {
  it.each(SLICE_MANAGER_CONTRACT.map((c) => [c.name, c] as const))('%s', async (_n, c) => {
    const slices = new MemorySliceManager();
    slices.addSlice(1000);
    await c.run({ slices, liveUid: 1000, addSlice: async (uid) => slices.addSlice(uid), livePid: process.pid, sliceOf: async (pid) => slices.sliceOf(pid) });
  });
});
