// The front end's production build: small initial load, nothing fetched from other hosts, no inline script.
import { mkdtempSync, readFileSync, rmSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { build } from 'vite';

const root = join(__dirname, '..', '..', '..');
let out = '';

// XML namespace identifiers in the DOM library are names, not addresses that are ever fetched.
const NAMESPACES = new Set(['http://www.w3.org/2000/svg', 'http://www.w3.org/1999/xhtml', 'http://www.w3.org/1998/Math/MathML', 'http://www.w3.org/1999/xlink', 'http://www.w3.org/XML/1998/namespace']);

function externalUrls(text: string): string[] {
  return (text.match(/https?:\/\/[^\s"'`)<>\\]+/g) ?? []).filter((u) => !NAMESPACES.has(u));
}

/** The files index.html loads at once: its script src and stylesheet/modulepreload href. */
function referencedAssets(html: string): string[] {
  const refs = [...html.matchAll(/<(?:script|link)\b[^>]*?(?:src|href)="([^"]+)"/g)].map((m) => m[1] as string);
  return refs.filter((r) => r.startsWith('/assets/'));
}

beforeAll(async () => {
  out = mkdtempSync(join(tmpdir(), 'diycloud-web-'));
  await build({ configFile: join(root, 'web', 'vite.config.ts'), logLevel: 'silent', build: { outDir: out, emptyOutDir: true } });
}, 60_000);
afterAll(() => { if (out) rmSync(out, { recursive: true, force: true }); });

describe('web bundle', () => {
  it('initial load (index.html + what it references) gzips to at most 200 KB', () => {
    const html = readFileSync(join(out, 'index.html'), 'utf8');
    const assets = referencedAssets(html);
    expect(assets.some((a) => a.endsWith('.js'))).toBe(true);
    expect(assets.some((a) => a.endsWith('.css'))).toBe(true);
    let total = gzipSync(html).length;
    for (const a of assets) total += gzipSync(readFileSync(join(out, a))).length;
    expect(total).toBeLessThanOrEqual(200 * 1024);
    expect(total).toBeGreaterThan(1000);
  });

  it('assets are hashed under /assets/', () => {
    const files = readdirSync(join(out, 'assets'));
    expect(files.length).toBeGreaterThan(0);
    for (const f of files) expect(f).toMatch(/-[A-Za-z0-9_-]{8}\.(js|css)$/);
  });

  it('references no other host and has no inline script', () => {
    const html = readFileSync(join(out, 'index.html'), 'utf8');
    expect(externalUrls(html)).toEqual([]);
    for (const m of html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)) {
      expect(m[1]).toMatch(/\bsrc="\/assets\//);
      expect((m[2] ?? '').trim()).toBe('');
    }
    expect(html).not.toMatch(/\sstyle=/);
    expect(html).not.toMatch(/\son[a-z]+=/i);
    for (const f of readdirSync(join(out, 'assets'))) {
      expect(externalUrls(readFileSync(join(out, 'assets', f), 'utf8')), f).toEqual([]);
    }
  });

  it('the URL check is not blind', () => {
    expect(externalUrls('x "https://cdn.example/a.js" http://www.w3.org/2000/svg')).toEqual(['https://cdn.example/a.js']);
    expect(referencedAssets('<script type="module" src="/assets/a-12345678.js"></script><link rel="stylesheet" href="/assets/b.css">')).toEqual(['/assets/a-12345678.js', '/assets/b.css']);
  });
});
