// The in-memory GpuAccess fake passes the GpuAccess port contract (over a /proc/devices fixture with NVIDIA's classes).

import { describe, it } from 'vitest';
import { buildInventory } from '../../../src/core/gpu';
import { MemoryGpuAccess } from '../../fakes/memory-gpu-access';
import { GPU_ACCESS_CONTRACT, type Probe } from '../../contract/gpu-access-contract';

const PROC_DEVICES = 'Character devices:\n  1 mem\n  4 tty\n  5 /dev/tty\n  5 /dev/ptmx\n 10 misc\n128 ptm\n136 pts\n195 nvidia-frontend\n226 drm\n508 nvidia-uvm\n\nBlock devices:\n  7 loop\n259 blkext\n';
const NUMBERS: Record<Probe, [number, number][]> = {
  gpu0: [[195, 0]], gpu1: [[195, 1]], ctl: [[195, 255]], null: [[1, 3]], urandom: [[1, 9]], fuse: [[10, 229]], tun: [[10, 200]], pty: [[5, 2], [136, 3]],
};

describe('MemoryGpuAccess honours the GpuAccess contract', () => {
  const node = (rel: string, minor: number) => ({ rel, mode: 0o666, gid: 0, group: 'root', major: 195, minor });
  const inventory = buildInventory({ nodes: [node('nvidia0', 0), node('nvidia1', 1), node('nvidiactl', 255)], nvidia: [], migMinors: null, drm: new Map() });
  it.each(GPU_ACCESS_CONTRACT.map((c) => [c.name, c] as const))('%s', async (_n, c) => {
    const gpu = new MemoryGpuAccess();
    await c.run({
      gpu, uid: 4600, inventory, procDevices: PROC_DEVICES,
      probe: async (uid) => Object.fromEntries(Object.entries(NUMBERS).map(([p, nums]) => [p, nums.every(([ma, mi]) => gpu.mayOpen(uid, 'c', ma, mi)) ? 'ENXIO' : 'EPERM'])) as Record<Probe, string>,
      hold: async (uid) => {
        gpu.open.set(777, { uid, paths: ['/dev/nvidia1'] });
        return { pid: 777, path: '/dev/nvidia1', stop: async () => void gpu.open.delete(777) };
      },
    });
  });
});
