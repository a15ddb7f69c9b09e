// The front end's files from StaticDir: no path outside the directory (dot segments, encoded or
// not, and dotfiles are 404), long caching for hashed /assets/, index.html for other unknown paths.

import { readFile, stat } from 'node:fs/promises';
import { extname, resolve, sep } from 'node:path';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
  '.map': 'application/json',
};

export interface StaticFile {
  readonly body: Uint8Array;
  readonly contentType: string;
  readonly cacheControl: string;
}

/**
 * The decoded path's segments, or null when the raw path (as sent, before any URL normalization)
 * tries to leave the directory or name a dotfile.
 */
export function safeSegments(rawPath: string): string[] | null {
  const pathOnly = rawPath.split('?')[0].split('#')[0];
  let decoded: string;
  try {
    decoded = decodeURIComponent(pathOnly);
  } catch {
    return null;
  }
  if (decoded.includes('\0') || decoded.includes('\\')) return null;
  const segs = decoded.split('/').filter((s) => s !== '');
  if (segs.some((s) => s.startsWith('.'))) return null;
  return segs;
}

async function fileAt(dir: string, segs: string[]): Promise<string | null> {
  const root = resolve(dir);
  const full = resolve(root, ...segs);
  if (full !== root && !full.startsWith(root + sep)) return null;
  try {
    return (await stat(full)).isFile() ? full : null;
  } catch {
    return null;
  }
}

/** The file for a GET of `rawPath`, or null (404). */
export async function staticFile(dir: string, rawPath: string): Promise<StaticFile | null> {
  const segs = safeSegments(rawPath);
  if (segs === null) return null;
  const hashed = segs[0] === 'assets';
  let path = segs.length === 0 ? await fileAt(dir, ['index.html']) : await fileAt(dir, segs);
  // The SPA's own routes (/users/alice): index.html. A missing asset or file with an extension is a 404.
  if (path === null && !hashed && extname(segs[segs.length - 1] ?? '') === '') path = await fileAt(dir, ['index.html']);
  if (path === null) return null;
  const body = await readFile(path);
  return {
    body,
    contentType: TYPES[extname(path)] ?? 'application/octet-stream',
    cacheControl: hashed && path.startsWith(resolve(dir, 'assets') + sep) ? 'public, max-age=31536000, immutable' : 'no-cache',
  };
}
