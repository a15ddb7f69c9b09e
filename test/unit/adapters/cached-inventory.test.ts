// Unit: the login path's GPU inventory is read again when the stamp changes or it is too old, and fresh() always reads.
import { describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CachedGpuInventory, statStamp } from '../../../src/adapters/gpu/cached-inventory';
import { buildInventory, type GpuInventory } from '../../../src/core/gpu';

const inv = (n: number): GpuInventory => buildInventory({
  nodes: Array.from({ length: n }, (_, i) => ({ rel: `nvidia${i}`, mode: 0o666, gid: 0, group: 'root', major: 195, minor: i })),
  nvidia: [], migMinors: null, drm: new Map(),
});

describe('CachedGpuInventory', () => {
  it('answers from the last read while the stamp is the same and the read is young; reads again otherwise', () => {
    let reads = 0, gpus = 1, stamp = 'a', now = 1_000;
    const c = new CachedGpuInventory(() => (reads++, inv(gpus)), () => now, () => stamp, 30_000);
    expect(c.current().nodes).toHaveLength(1);
    expect(c.current().nodes).toHaveLength(1);
    expect(reads).toBe(1);
    gpus = 2;
    stamp = 'b'; // a node appeared: its directory's mtime changed
    expect(c.current().nodes).toHaveLength(2);
    expect(reads).toBe(2);
    now += 29_999;
    expect(c.current()).toBeDefined();
    expect(reads).toBe(2);
    now += 1; // 30 s old
    c.current();
    expect(reads).toBe(3);
    now -= 60_000; // the clock stepped back: not trusted
    c.current();
    expect(reads).toBe(4);
    c.fresh();
    c.fresh();
    expect(reads).toBe(6);
  });

  it('statStamp changes when a node is added to a watched directory, and marks a missing path', () => {
    const dir = mkdtempSync(join(tmpdir(), 'diycloud-stamp-'));
    try {
      mkdirSync(join(dir, 'dri'));
      const paths = [dir, join(dir, 'dri'), join(dir, 'nope')];
      const before = statStamp(paths);
      expect(before.split(',')[2]).toBe('-');
      expect(statStamp(paths)).toBe(before);
      writeFileSync(join(dir, 'dri', 'renderD128'), '');
      expect(statStamp(paths)).not.toBe(before);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
