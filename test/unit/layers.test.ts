// Unit: the layer rule over the import graph (core imports nothing of ours and no I/O; app only core).
import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve, dirname } from 'node:path';

const SRC = join(__dirname, '../../src');

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

const graph = new Map<string, string[]>();
for (const f of files(SRC)) {
  const imports = [...readFileSync(f, 'utf8').matchAll(/^import[^'"]*['"]([^'"]+)['"]/gm)].map((m) => m[1]);
  graph.set(relative(SRC, f), imports.map((i) => (i.startsWith('.') ? relative(SRC, resolve(dirname(f), i)) + '.ts' : i)));
}
const layer = (f: string) => f.split('/')[0];

describe('layers', () => {
  it('core imports nothing of ours outside core, and no node: module or I/O library', () => {
    for (const [f, deps] of graph) {
      if (layer(f) !== 'core') continue;
      for (const d of deps) expect(d.startsWith('core/') || d === 'zod', `${f} imports ${d}`).toBe(true);
    }
  });
  it('app imports only core and app', () => {
    for (const [f, deps] of graph) if (layer(f) === 'app') for (const d of deps) expect(['core', 'app'], `${f} imports ${d}`).toContain(layer(d));
  });
  it('adapters import core, app types and adapters, never entry', () => {
    for (const [f, deps] of graph) if (layer(f) === 'adapters') for (const d of deps) expect(layer(d), `${f} imports ${d}`).not.toBe('entry');
  });
  it('has no import cycles', () => {
    const state = new Map<string, number>();
    const visit = (f: string, path: string[]): void => {
      if (state.get(f) === 2) return;
      if (state.get(f) === 1) throw new Error(`import cycle: ${[...path, f].join(' -> ')}`);
      state.set(f, 1);
      for (const d of graph.get(f) ?? []) if (graph.has(d)) visit(d, [...path, f]);
      state.set(f, 2);
    };
    for (const f of graph.keys()) visit(f, []);
  });
  it('keeps files small (about 300 lines)', () => {
    for (const f of graph.keys()) expect(readFileSync(join(SRC, f), 'utf8').split('\n').length, f).toBeLessThan(320);
  });
});
