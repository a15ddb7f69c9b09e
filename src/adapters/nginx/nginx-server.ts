// NginxServer on a real host: nginx.conf's user directive, the site's symlink (sites-enabled or conf.d), and `nginx -t`.

import { lstat, readFile, readlink, stat, symlink, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { DiycloudError } from '../../core/errors';
import { parseNginxUserDirective, WEB_LAYOUT, type LinkState, type NginxServer, type NginxTestResult } from '../../core/web-portal';
import { runProgram } from '../exec/run-program';
import type { RunFn } from '../exec/program-runner';

export interface NginxPaths {
  readonly program: string;
  /** The main configuration, read for its `user` directive and given to `nginx -t -c`. */
  readonly mainConf: string;
  /** Its presence marks the Debian layout (the link goes here, named without .conf). */
  readonly sitesEnabledDir: string;
  /** Where the link goes elsewhere (Fedora, RHEL), named diycloud-web.conf. */
  readonly confDir: string;
  /** What the link points at: the package's site file. */
  readonly siteFile: string;
  /** `nginx -p`: a prefix for a test against a private tree; undefined on a real host. */
  readonly prefix?: string;
}

export const NGINX_PATHS: NginxPaths = {
  program: '/usr/sbin/nginx',
  mainConf: '/etc/nginx/nginx.conf',
  sitesEnabledDir: '/etc/nginx/sites-enabled',
  confDir: '/etc/nginx/conf.d',
  siteFile: WEB_LAYOUT.siteFile,
};

const exists = (p: string): Promise<boolean> => stat(p).then(() => true, () => false);

/**
 * The link is a symlink whose target is exactly the site file's absolute path (the packages'
 * prerm removes it by that test too). Anything else in its place (a file, a directory, a link
 * elsewhere) is the admin's and is reported, never changed. `nginx -t` runs with an explicit
 * `-c` (and `-p` for tests) and the clean environment; its verdict is the exit status, its
 * words (stderr) are passed on.
 */
export class HostNginxServer implements NginxServer {
  constructor(private readonly paths: NginxPaths = NGINX_PATHS, private readonly run: RunFn = runProgram) {}

  installed(): Promise<boolean> {
    return exists(this.paths.program);
  }

  async userDirective(): Promise<string | null> {
    const text = await readFile(this.paths.mainConf, 'utf8').catch(() => '');
    return parseNginxUserDirective(text);
  }

  async linkPath(): Promise<string> {
    const debian = await stat(this.paths.sitesEnabledDir).then((s) => s.isDirectory(), () => false);
    return debian ? join(this.paths.sitesEnabledDir, 'diycloud-web') : join(this.paths.confDir, 'diycloud-web.conf');
  }

  async linkState(): Promise<LinkState> {
    const path = await this.linkPath();
    const st = await lstat(path).catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') return null;
      throw new DiycloudError('BackendFailed', `cannot look at ${path}: ${e.code ?? e.message}`);
    });
    if (st === null) return { kind: 'absent' };
    if (st.isSymbolicLink()) {
      const target = await readlink(path);
      return target === this.paths.siteFile ? { kind: 'ours' } : { kind: 'foreign', what: `a symlink to ${target}` };
    }
    return { kind: 'foreign', what: st.isDirectory() ? 'a directory' : 'a file' };
  }

  async link(): Promise<void> {
    const path = await this.linkPath();
    // symlink(2) fails with EEXIST rather than replace anything that appeared meanwhile.
    await symlink(this.paths.siteFile, path).catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'EEXIST') throw new DiycloudError('Conflict', `${path} appeared meanwhile: left as it is`);
      throw new DiycloudError('BackendFailed', `cannot link ${path}: ${e.code ?? e.message}`);
    });
  }

  async unlink(): Promise<void> {
    const path = await this.linkPath();
    if ((await this.linkState()).kind !== 'ours') throw new DiycloudError('Conflict', `${path} is not diycloud's link: left as it is`);
    await unlink(path);
  }

  async test(): Promise<NginxTestResult> {
    const args = ['-t', '-q', ...(this.paths.prefix !== undefined ? ['-p', this.paths.prefix] : []), '-c', this.paths.mainConf];
    const r = await this.run(this.paths.program, args, { timeoutMs: 30_000 });
    const words = r.stderr.trim().split('\n').map((l) => l.trim()).filter((l) => l !== '').join('\n');
    return { ok: r.code === 0, message: r.code === 0 ? words || 'syntax is ok' : words || `nginx -t exited with ${r.code ?? r.signal}` };
  }
}
