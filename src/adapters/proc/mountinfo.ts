// Pure parsing of /proc/self/mountinfo, and the mount that holds a (resolved) path.

/** One line of /proc/PID/mountinfo (proc(5)), with the octal escapes (\040 …) decoded. */
export interface MountEntry {
  readonly id: number;
  readonly parentId: number;
  /** "major:minor" of the filesystem (btrfs subvolumes of one filesystem share it). */
  readonly device: string;
  /** The directory of the filesystem that is mounted here ("/" or, for a btrfs subvolume mount, e.g. "/@home"). */
  readonly root: string;
  readonly mountPoint: string;
  /** Per-mount options (rw, nosuid, relatime …). */
  readonly mountOptions: readonly string[];
  readonly fsType: string;
  readonly source: string;
  /** Per-superblock options: where ext4 and xfs show usrquota, usrjquota=…, uqnoenforce. */
  readonly superOptions: readonly string[];
}

/** The kernel escapes space, tab, newline and backslash in paths as \ooo (seq_file's mangle). */
function unescape(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/**
 * Fields: ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL…] - FSTYPE SOURCE SUPEROPTIONS.
 * The optional fields (shared:N, master:N …) end at a lone "-". Malformed lines are skipped: the
 * kernel writes this file, and one odd line must not hide every other mount.
 */
export function parseMountinfo(text: string): MountEntry[] {
  const out: MountEntry[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const f = line.split(' ');
    const dash = f.indexOf('-', 6);
    if (f.length < 10 || dash < 0 || f.length < dash + 3) continue;
    const id = Number(f[0]);
    const parentId = Number(f[1]);
    if (!Number.isInteger(id) || !Number.isInteger(parentId)) continue;
    out.push({
      id,
      parentId,
      device: f[2],
      root: unescape(f[3]),
      mountPoint: unescape(f[4]),
      mountOptions: f[5].split(','),
      fsType: unescape(f[dash + 1]),
      source: unescape(f[dash + 2]),
      superOptions: (f[dash + 3] ?? '').split(',').filter((o) => o !== ''),
    });
  }
  return out;
}

/** Whether `dir` is `path` or one of its ancestors (both absolute, normalized). */
function contains(dir: string, path: string): boolean {
  return dir === '/' || path === dir || path.startsWith(dir + '/');
}

/**
 * The mount that holds `path`: the longest mount point that is a prefix of it. `path` must be
 * absolute and already resolved (realpath), or a symlink would lead to the wrong filesystem. Of
 * two mounts on the same point the later one is on top (mountinfo lists them in mount order).
 */
export function findMount(path: string, mounts: readonly MountEntry[]): MountEntry | null {
  let best: MountEntry | null = null;
  for (const m of withoutSelfBinds(mounts)) {
    if (!contains(m.mountPoint, path)) continue;
    if (best === null || m.mountPoint.length >= best.mountPoint.length) best = m;
  }
  return best;
}

/**
 * Drops bind mounts of a directory onto itself: a mount that shows, at its mount point, exactly
 * what an earlier mount of the same filesystem already shows there. systemd makes them for a
 * service's ReadWritePaths= under ProtectSystem=strict (diycloudd's /home), and inside such a
 * namespace /home would otherwise look like a mount point of its own, which quotaon and setquota
 * do not know. A btrfs subvolume mounted at /home (root /@home) is no such bind: / (root /@) does
 * not show /@home there.
 */
export function withoutSelfBinds(mounts: readonly MountEntry[]): MountEntry[] {
  return mounts.filter((m, i) => !mounts.slice(0, i).some((p) => p.device === m.device && p.mountPoint !== m.mountPoint && pathThroughMount(m.root, p) === m.mountPoint));
}

/** Whether a mount has any of these options, per mount or per superblock (`name=` matches `name=anything`). */
export function hasOption(m: MountEntry, names: readonly string[]): boolean {
  return [...m.mountOptions, ...m.superOptions].some((o) => names.some((n) => (n.endsWith('=') ? o.startsWith(n) : o === n)));
}

/**
 * Where a path inside the filesystem (relative to its top level, as `btrfs qgroup show` prints
 * it) is seen through this mount, or null when the mount does not show it (another subvolume).
 */
export function pathThroughMount(fsPath: string, m: MountEntry): string | null {
  const inFs = '/' + fsPath.replace(/^\/+/, '');
  if (!contains(m.root, inFs)) return null;
  const rest = m.root === '/' ? inFs : inFs.slice(m.root.length);
  if (rest === '' || rest === '/') return m.mountPoint;
  return m.mountPoint === '/' ? rest : m.mountPoint + rest;
}
