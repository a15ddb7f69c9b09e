// The distribution packages for the e2e tests: built once per source tree by packaging/build-packages.sh (the
// documented command), cached under the e2e cache, and copied into containers and chroots.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { E2E_CACHE, REPO_ROOT, type Container, type Dist } from './container';

export interface Packages {
  dir: string;
  deb: Record<Dist, string>;
  /** diycloud-web, the portal (packaging/web-files), for each release and as an RPM. */
  webDeb: Record<Dist, string>;
  rpm: string;
  webRpm: string;
  lintian: Record<Dist, string>;
}

/** What the packages are made of: every file git tracks or would track, outside the tests and benchmarks. */
function sourceKey(): string {
  const r = spawnSync('bash', ['-c',
    'git ls-files -co --exclude-standard -z | grep -zvE "^(test|bench)/" | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -c1-16; ' +
    'sha256sum test/e2e/images/build-rootfs.sh | cut -c1-16'], { cwd: REPO_ROOT, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`cannot hash the source tree: ${r.stderr}`);
  return r.stdout.trim().split('\n').join('-');
}

function runAsync(cmd: string, args: string[], timeoutMs: number): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: REPO_ROOT, stdio: ['ignore', 'ignore', 'pipe'], detached: true });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr = (stderr + d).slice(-20_000); });
    const timer = setTimeout(() => { try { process.kill(-child.pid!, 'SIGKILL'); } catch { /* gone */ } }, timeoutMs);
    child.on('close', (code, sig) => { clearTimeout(timer); resolve({ code: code ?? (sig ? 128 : 1), stderr }); });
  });
}

/** Builds (or reuses) the bookworm and trixie .debs and the RPMs (diycloud and diycloud-web) of this source tree. */
export async function ensurePackages(): Promise<Packages> {
  const root = join(E2E_CACHE, 'packages');
  const dir = join(root, sourceKey());
  const done = join(dir, '.complete');
  if (!existsSync(done)) {
    mkdirSync(root, { recursive: true });
    // flock: two test files asking at once build once; build-packages.sh itself caches the build roots and addons.
    const r = await runAsync('flock', [join(E2E_CACHE, '.lock-packages'), 'bash', '-c',
      'set -e; [ -e "$1/.complete" ] && exit 0; rm -rf "$1"; bash packaging/build-packages.sh --out "$1" bookworm trixie rpm; touch "$1/.complete"',
      'sh', dir], 2_400_000);
    if (r.code !== 0) throw new Error(`packaging/build-packages.sh failed (${r.code}):\n${r.stderr.slice(-6000)}`);
    for (const old of readdirSync(root)) if (join(root, old) !== dir && !old.startsWith('.')) rmSync(join(root, old), { recursive: true, force: true });
  }
  const files = readdirSync(dir);
  const pick = (re: RegExp) => {
    const f = files.find((n) => re.test(n));
    if (!f) throw new Error(`no file matching ${re} in ${dir}: ${files.join(' ')}`);
    return join(dir, f);
  };
  return {
    dir,
    deb: { bookworm: pick(/^diycloud_.*\+deb12_amd64\.deb$/), trixie: pick(/^diycloud_.*\+deb13_amd64\.deb$/) },
    webDeb: { bookworm: pick(/^diycloud-web_.*\+deb12_all\.deb$/), trixie: pick(/^diycloud-web_.*\+deb13_all\.deb$/) },
    rpm: pick(/^diycloud-[0-9].*\.x86_64\.rpm$/),
    webRpm: pick(/^diycloud-web-[0-9].*\.noarch\.rpm$/),
    lintian: { bookworm: readFileSync(pick(/^lintian-bookworm\.txt$/), 'utf8'), trixie: readFileSync(pick(/^lintian-trixie\.txt$/), 'utf8') },
  };
}

/**
 * Copies a host file into the container's filesystem, under /var/tmp: not part of any listing we compare, and (unlike
 * /tmp, a tmpfs that systemd-nspawn mounts over the rootfs's /tmp) the same directory inside and outside.
 */
export function copyIn(c: Container, hostPath: string, name: string): string {
  const inside = `/var/tmp/${name}`;
  const r = spawnSync('cp', ['--', hostPath, join(c.root, 'var/tmp', name)]);
  if (r.status !== 0) throw new Error(`copying ${hostPath} into ${c.name} failed: ${r.stderr}`);
  return inside;
}

/**
 * The paths that change on any Debian system whatever is installed, so a before/after listing leaves them out:
 * dpkg's and apt's own records (they remember every package that ever was), systemd's and logind's runtime state,
 * the backup files shadow-utils writes beside what it edits, and two files any login or account change leaves in /run:
 * pam_motd's /run/motd.dynamic and /run/agetty.reload (agetty is told to reread /etc/issue).
 */
export const LISTING = `find /etc /usr /var/lib /run -xdev \\( -path /var/lib/dpkg -o -path /var/lib/apt -o -path /run/systemd \\
  -o -path /run/user -o -path /run/log -o -path /var/lib/systemd -o -path /run/sshd -o -path /run/dbus -o -path /var/lib/polkit-1 \\
  -o -path /run/utmp -o -path /run/mount -o -path /run/lock -o -path /var/lib/private -o -path /etc/.pwd.lock \\
  -o -path /run/motd.dynamic -o -path /run/agetty.reload \\) -prune \\
  -o ! -regex '/etc/\\(passwd\\|group\\|shadow\\|gshadow\\|subuid\\|subgid\\)-' -print | LC_ALL=C sort`;

/** `sha256sum` of every file in /etc/pam.d, one line each. */
export const PAM_HASHES = 'cd /etc/pam.d && sha256sum -- * | LC_ALL=C sort -k2';

/** The lines of a listing that are in one and not the other. */
export function listingDiff(before: string, after: string): { added: string[]; removed: string[] } {
  const b = new Set(before.trim().split('\n'));
  const a = new Set(after.trim().split('\n'));
  return { added: [...a].filter((l) => !b.has(l)), removed: [...b].filter((l) => !a.has(l)) };
}
