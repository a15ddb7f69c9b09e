// Unit: the login line (core/login-line.ts): what it says, its length, and when it warns about the disk.
import { describe, expect, it } from 'vitest';
import { diskWarning, renderLoginLine, type LoginLineInput } from '../../../src/core/login-line';
import { GPU_ALL, GPU_NONE, parseGpuGrant } from '../../../src/core/gpu-grant';

const M = 1024 ** 2;
const G = 1024 ** 3;
const plain: LoginLineInput = { cpuCores: 2, memoryMaxBytes: 4 * G, memoryCurrentBytes: 1.2 * G, gpus: parseGpuGrant('0,2'), disk: [{ path: '/home', usedBytes: 3.1 * G, limitBytes: 20 * G }] };

describe('renderLoginLine', () => {
  it('says the allocation and current use on one line', () => {
    expect(renderLoginLine(plain)).toBe('diycloud: 2 CPU cores, memory 1.2G of 4G, disk 3.1G of 20G, GPUs 0,2');
  });
  it('stays under 100 characters for a plain allocation, even with odd sizes', () => {
    const odd: LoginLineInput = { cpuCores: 0.33333, memoryMaxBytes: 1536 * M + 7, memoryCurrentBytes: 1023 * M + 5, gpus: parseGpuGrant('0,1,2,3,4,5,6,7'), disk: [{ path: '/home', usedBytes: 500.3 * G, limitBytes: 1000 * G + 1 }] };
    for (const i of [plain, odd]) {
      const line = renderLoginLine(i);
      expect(line).not.toContain('\n');
      expect(line.length, line).toBeLessThan(100);
    }
    expect(renderLoginLine(odd)).toBe('diycloud: 0.33 CPU cores, memory 1023M of 1.5G, disk 500.3G of 1000G, GPUs 0,1,2,3,4,5,6,7');
  });
  it('shows only the limit where usage is not known, and leaves out a disk without quota', () => {
    expect(renderLoginLine({ cpuCores: 1, memoryMaxBytes: 2 * G, memoryCurrentBytes: null, gpus: GPU_NONE, disk: [{ path: '/home', usedBytes: null, limitBytes: 10 * G }] })).toBe(
      'diycloud: 1 CPU core, memory 2G, disk 10G, no GPUs',
    );
    expect(renderLoginLine({ cpuCores: 1, memoryMaxBytes: 2 * G, memoryCurrentBytes: 0, gpus: GPU_ALL, disk: [{ path: '/home', usedBytes: 5 * G, limitBytes: 0 }] })).toBe(
      'diycloud: 1 CPU core, memory 0 of 2G, all GPUs',
    );
    expect(renderLoginLine({ ...plain, gpus: parseGpuGrant('3') })).toMatch(/, GPU 3$/);
  });
  it('names each quota path when there are several', () => {
    const line = renderLoginLine({ ...plain, disk: [{ path: '/home', usedBytes: G, limitBytes: 20 * G }, { path: '/scratch', usedBytes: null, limitBytes: 20 * G }] });
    expect(line).toBe('diycloud: 2 CPU cores, memory 1.2G of 4G, disk /home 1G of 20G, /scratch 20G, GPUs 0,2');
  });
  it('adds a warning line per path at 90 % of the quota or over it', () => {
    const text = renderLoginLine({ ...plain, disk: [{ path: '/home', usedBytes: 18.5 * G, limitBytes: 20 * G }, { path: '/scratch', usedBytes: 21 * G, limitBytes: 20 * G }, { path: '/data', usedBytes: 17 * G, limitBytes: 20 * G }] });
    const lines = text.split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[1]).toBe('diycloud: warning: your disk quota on /home is 92% used (18.5G of 20G)');
    expect(lines[2]).toBe('diycloud: warning: you are over your disk quota on /scratch (21G of 20G): writes there fail until you delete files');
  });
});

describe('diskWarning', () => {
  it('starts at exactly 90 %, not below, and needs known usage and a quota', () => {
    expect(diskWarning({ path: '/home', usedBytes: 9 * G, limitBytes: 10 * G })).toMatch(/90% used/);
    expect(diskWarning({ path: '/home', usedBytes: 9 * G - 1, limitBytes: 10 * G })).toBeNull();
    expect(diskWarning({ path: '/home', usedBytes: 10 * G, limitBytes: 10 * G })).toMatch(/100% used/);
    expect(diskWarning({ path: '/home', usedBytes: 10 * G + 1, limitBytes: 10 * G })).toMatch(/over your disk quota/);
    expect(diskWarning({ path: '/home', usedBytes: null, limitBytes: 10 * G })).toBeNull();
    expect(diskWarning({ path: '/home', usedBytes: 50 * G, limitBytes: 0 })).toBeNull();
  });
});
