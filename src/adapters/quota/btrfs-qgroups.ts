// QuotaBackend on btrfs qgroups: each home is its own subvolume, and the subvolume's level-0 qgroup holds the user's limit.

import { dirname } from 'node:path';
import type { DiskSettings } from '../../core/enforcement-plan';
import { DiycloudError } from '../../core/errors';
import type { QuotaEntry, QuotaEntryFailure } from '../../core/enforcement-ports';
import type { DiskUsage, QuotaBackend, QuotaOwner, QuotaPathStatus } from '../../core/ports';
import type { RunResult } from '../exec/run-program';
import { findMount, parseMountinfo, pathThroughMount, type MountEntry } from '../proc/mountinfo';
import { probeInUse, quotaUnsupported } from './probe';
import { isMissing, LISTING_MAX_BYTES, type QuotaDeps } from './quota-deps';

/** The inode number of every btrfs subvolume's root directory (BTRFS_FIRST_FREE_OBJECTID). */
export const SUBVOLUME_ROOT_INO = 256;

/** One row of `btrfs qgroup show --raw -r -e`; limits are null for "none". */
export interface QgroupRow {
  readonly level: number;
  readonly subvolId: number;
  readonly referencedBytes: number;
  readonly exclusiveBytes: number;
  readonly maxReferencedBytes: number | null;
  readonly maxExclusiveBytes: number | null;
  /** Relative to the filesystem's top level; "<toplevel>", "<stale>", "<under deletion>" … for qgroups without a live path. */
  readonly path: string;
}

export function qgroupShowArgs(mountPoint: string): string[] {
  return ['qgroup', 'show', '--raw', '-r', '-e', '--', mountPoint];
}

/**
 * Parses (btrfs-progs 6.2):
 *   Qgroupid    Referenced    Exclusive  Max referenced  Max exclusive   Path
 *   --------    ----------    ---------  --------------  -------------   ----
 *   0/5              16384        16384            none           none   <toplevel>
 *   0/256         10469376     10469376        10485760           none   home_u
 * The path is the rest of the line (it may hold spaces). Any other line fails the read.
 */
export function parseQgroupShow(text: string): QgroupRow[] {
  const rows: QgroupRow[] = [];
  const limit = (v: string) => (v === 'none' ? null : Number(v));
  for (const line of text.split('\n')) {
    if (line.trim() === '' || /^Qgroupid\s/.test(line) || /^-+\s/.test(line)) continue;
    const m = /^([0-9]+)\/([0-9]+)\s+([0-9]+)\s+([0-9]+)\s+([0-9]+|none)\s+([0-9]+|none)(?:\s+(.*?))?\s*$/.exec(line);
    if (!m) throw new DiycloudError('BackendFailed', `unexpected btrfs qgroup show line: ${line.slice(0, 200)}`);
    rows.push({ level: Number(m[1]), subvolId: Number(m[2]), referencedBytes: Number(m[3]), exclusiveBytes: Number(m[4]), maxReferencedBytes: limit(m[5]), maxExclusiveBytes: limit(m[6]), path: m[7] ?? '' });
  }
  return rows;
}

/** Whether a listing row names a subvolume that exists (not the top level, a stale or a dying qgroup). */
function livePath(r: QgroupRow): boolean {
  return r.level === 0 && r.path !== '' && !r.path.startsWith('<');
}

type Home = { kind: 'missing' } | { kind: 'subvolume'; real: string } | { kind: 'plain'; real: string } | { kind: 'elsewhere'; real: string; mount: MountEntry | null } | { kind: 'mount-point'; real: string };

function failed(what: string, r: RunResult): DiycloudError {
  return new DiycloudError('BackendFailed', `${what} failed`, { cause: new Error(`exit ${r.code}: ${r.stderr.trim().slice(0, 300)}`) });
}

/**
 * How many `btrfs qgroup limit` processes applyMany runs at once. The tool takes one qgroup per
 * call, so a batch is one process per user. On the 2-core development host (a loop device, loaded
 * by other work; test/integration/btrfs-quota-batch.test.ts, three runs) a quota cost 14.7-19.7 ms
 * one at a time, 14.0-16.5 ms two at once, 14.3-15.6 four and 13.5-17.5 eight: within the noise,
 * parallelism gains little here; two (the cores) overlap process start-up and leave logins room.
 */
export const BTRFS_APPLY_CONCURRENCY = 2;

/** How many lifted qgroups are remembered for a later destroy (bounded: one per deleted user, dropped oldest first). */
const MAX_REMEMBERED = 1024;

/**
 * - Only a hard limit: qgroups have no soft limit and no grace period, so diskSoftBytes is ignored
 *   (softLimits is false, and usage reports softBytes 0). The limit is on referenced bytes.
 * - A home must be its own subvolume (checked by stat: its root directory is inode 256) on this
 *   mount, or apply throws QuotaUnsupported saying how to make it one. A plain directory is never
 *   limited: `qgroup limit` on it would limit the subvolume around it (e.g. all of /home).
 * - Deleting a user: remove() lifts the limit while the home exists and remembers its subvolume
 *   ID; the second remove() after userdel --remove (shadow ≥ 4.7 deletes a subvolume home with
 *   `btrfs subvolume delete -C`) waits for the cleaner (subvolume sync) and destroys the stale
 *   qgroup 0/ID. Newer kernels (seen on 6.18) drop that qgroup with the subvolume: nothing is left.
 *   After a daemon restart between the two calls the ID is forgotten and a stale, limit-free
 *   qgroup may stay (harmless; `btrfs qgroup clear-stale MOUNT` removes it).
 * - applyMany: `qgroup limit` takes one qgroup, so it is one process per user, two at once.
 * - usage is one qgroup listing; each live subvolume is mapped to the owner of its root directory
 *   (one stat each, no process); of a user's subvolumes the outermost (fewest path segments) is their home.
 */
export class BtrfsQgroupBackend implements QuotaBackend {
  readonly backend = 'btrfs';
  readonly softLimits = false;
  /** The qgroup is the home's subvolume's. */
  readonly needsHome = true;
  private readonly lifted = new Map<number, number>();

  constructor(readonly path: string, private readonly mountPoint: string, private readonly deps: QuotaDeps) {}

  status(): Promise<QuotaPathStatus> {
    return probeInUse(this.path, this.backend, this.deps, this.mountPoint);
  }

  async apply(owner: QuotaOwner, settings: DiskSettings): Promise<void> {
    if (!Number.isSafeInteger(settings.diskHardBytes) || settings.diskHardBytes < 0) throw new DiycloudError('Failed', `bad disk limit ${settings.diskHardBytes}`);
    const real = await this.subvolumeHome(owner);
    // 0 is "no limit" in DiskSettings, as in setquota; btrfs spells it "none".
    const size = settings.diskHardBytes > 0 ? String(settings.diskHardBytes) : 'none';
    const r = await this.btrfs(['qgroup', 'limit', '--', size, real]);
    if (r.code === 0) return;
    const s = await this.status();
    if (s.state !== 'enforced') throw quotaUnsupported(s);
    throw failed(`btrfs qgroup limit for ${owner.name} on ${real}`, r);
  }

  /** One apply() per entry, BTRFS_APPLY_CONCURRENCY at a time (`qgroup limit` cannot batch); each failure is that entry's. */
  async applyMany(entries: readonly QuotaEntry[]): Promise<QuotaEntryFailure[]> {
    const failures: QuotaEntryFailure[] = [];
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < entries.length) {
        const { owner, settings } = entries[next++];
        await this.apply(owner, settings).catch((e: unknown) => void failures.push({ uid: owner.uid, error: e as Error }));
      }
    };
    await Promise.all(Array.from({ length: Math.min(BTRFS_APPLY_CONCURRENCY, entries.length) }, worker));
    return failures;
  }

  async remove(owner: QuotaOwner): Promise<void> {
    const home = owner.home === null ? ({ kind: 'missing' } as const) : await this.classify(owner.home);
    if (home.kind === 'subvolume') {
      const id = await this.rootId(home.real);
      const r = await this.btrfs(['qgroup', 'limit', '--', 'none', home.real]);
      if (r.code !== 0 && !/not enabled/i.test(r.stderr)) throw failed(`btrfs qgroup limit none for ${owner.name} on ${home.real}`, r);
      this.remember(owner.uid, id);
      return;
    }
    if (home.kind !== 'missing') return; // no subvolume of theirs, so no qgroup of theirs
    const id = this.lifted.get(owner.uid);
    if (id === undefined) return;
    this.lifted.delete(owner.uid);
    await this.destroyStale(id);
  }

  async usage(): Promise<Map<number, DiskUsage>> {
    const r = await this.btrfs(qgroupShowArgs(this.mountPoint), { timeoutMs: 60_000, maxOutputBytes: LISTING_MAX_BYTES });
    if (r.code !== 0) throw failed(`btrfs qgroup show ${this.mountPoint}`, r);
    if (r.stdout.length >= LISTING_MAX_BYTES) throw new DiycloudError('BackendFailed', `btrfs qgroup show ${this.mountPoint} printed more than ${LISTING_MAX_BYTES} bytes`);
    const mount = await this.ownMount();
    const rows = parseQgroupShow(r.stdout).filter(livePath);
    const owners = await Promise.all(
      rows.map(async (row) => {
        const at = mount === null ? null : pathThroughMount(row.path, mount);
        if (at === null || at === this.mountPoint) return null;
        const st = await this.deps.stat(at);
        return st !== null && st.isDirectory && st.ino === SUBVOLUME_ROOT_INO ? { row, at, uid: st.uid } : null;
      }),
    );
    // A user may own several subvolumes (nested ones they created, snapshots): the outermost, by
    // path depth, is their home. Only their own entry can be affected: a subvolume's root
    // directory is owned by whoever created it, and only root can give it away.
    const depth = (p: string) => p.split('/').length;
    const best = new Map<number, { row: QgroupRow; at: string }>();
    for (const o of owners) {
      if (o === null) continue;
      const had = best.get(o.uid);
      if (!had || depth(o.at) < depth(had.at) || (depth(o.at) === depth(had.at) && o.at < had.at)) best.set(o.uid, o);
    }
    return new Map([...best].map(([uid, { row }]) => [uid, { uid, usedBytes: row.referencedBytes, softBytes: 0, hardBytes: row.maxReferencedBytes ?? 0 }]));
  }

  /** True when the home's parent directory is on this btrfs mount: useradd then creates the home as a subvolume. */
  async wantsSubvolumeHome(home: string): Promise<boolean> {
    let parent: string;
    try {
      parent = await this.deps.realpath(dirname(home));
    } catch (e) {
      if (isMissing(e)) return false;
      throw e;
    }
    const m = findMount(parent, parseMountinfo(await this.deps.readMountinfo()));
    return m !== null && m.fsType === 'btrfs' && m.mountPoint === this.mountPoint;
  }

  /** The resolved home, when it is a subvolume on this mount; QuotaUnsupported with the way out otherwise. */
  private async subvolumeHome(owner: QuotaOwner): Promise<string> {
    const { name, home } = owner;
    if (home === null) throw new DiycloudError('QuotaUnsupported', `${name} has no home directory: on btrfs (${this.path}) a quota holds the home's subvolume`);
    const h = await this.classify(home);
    if (h.kind === 'subvolume') return h.real;
    if (h.kind === 'missing') throw new DiycloudError('QuotaUnsupported', `the home of ${name} (${home}) does not exist: on btrfs (${this.path}) a quota holds the home's subvolume; create it with btrfs subvolume create ${home} (then chown ${name}: ${home})`);
    if (h.kind === 'elsewhere') throw new DiycloudError('QuotaUnsupported', `the home of ${name} (${home}) is not on ${this.path} (it is on ${h.mount?.mountPoint ?? 'an unknown mount'}${h.mount ? `, ${h.mount.fsType}` : ''}): a btrfs quota on ${this.path} can only hold a subvolume there`);
    if (h.kind === 'mount-point') throw new DiycloudError('QuotaUnsupported', `the home of ${name} (${home}) is the mount point ${this.mountPoint} itself: its subvolume holds every other home too; give ${name} a home below it`);
    throw new DiycloudError(
      'QuotaUnsupported',
      `the home of ${name} (${home}) is a plain directory on btrfs: a qgroup can only hold a subvolume; make it a subvolume while ${name} is logged out (btrfs subvolume create ${home}.new && cp -a --reflink=always ${home}/. ${home}.new/ && chown --reference=${home} ${home}.new && chmod --reference=${home} ${home}.new && mv ${home} ${home}.old && mv ${home}.new ${home}; remove ${home}.old once checked), then set the quota again`,
    );
  }

  private async classify(home: string): Promise<Home> {
    let real: string;
    try {
      real = await this.deps.realpath(home);
    } catch (e) {
      if (isMissing(e)) return { kind: 'missing' };
      throw e;
    }
    const mount = findMount(real, parseMountinfo(await this.deps.readMountinfo()));
    if (mount === null || mount.mountPoint !== this.mountPoint || mount.fsType !== 'btrfs') return { kind: 'elsewhere', real, mount };
    if (real === this.mountPoint) return { kind: 'mount-point', real };
    const st = await this.deps.stat(real);
    if (st === null) return { kind: 'missing' };
    return st.isDirectory && st.ino === SUBVOLUME_ROOT_INO ? { kind: 'subvolume', real } : { kind: 'plain', real };
  }

  private async ownMount(): Promise<MountEntry | null> {
    const m = findMount(this.mountPoint, parseMountinfo(await this.deps.readMountinfo()));
    return m !== null && m.mountPoint === this.mountPoint ? m : null;
  }

  private async rootId(real: string): Promise<number> {
    const r = await this.btrfs(['inspect-internal', 'rootid', '--', real]);
    const id = Number(r.stdout.trim());
    if (r.code !== 0 || !Number.isSafeInteger(id) || id < SUBVOLUME_ROOT_INO) throw failed(`btrfs inspect-internal rootid ${real}`, r);
    return id;
  }

  private remember(uid: number, id: number): void {
    this.lifted.delete(uid);
    this.lifted.set(uid, id);
    if (this.lifted.size > MAX_REMEMBERED) this.lifted.delete(this.lifted.keys().next().value as number);
  }

  /** Destroys qgroup 0/ID once its subvolume is gone (only then: a live subvolume keeps its qgroup). */
  private async destroyStale(id: number): Promise<void> {
    // The cleaner drops a deleted subvolume in the background; until then the kernel refuses to destroy its qgroup.
    await this.btrfs(['subvolume', 'sync', '--', this.mountPoint, String(id)], { timeoutMs: 120_000 }).catch(() => null);
    const r = await this.btrfs(qgroupShowArgs(this.mountPoint), { timeoutMs: 60_000, maxOutputBytes: LISTING_MAX_BYTES });
    if (r.code !== 0) {
      if (/not enabled/i.test(r.stderr)) return;
      throw failed(`btrfs qgroup show ${this.mountPoint}`, r);
    }
    const row = parseQgroupShow(r.stdout).find((q) => q.level === 0 && q.subvolId === id);
    if (row === undefined || livePath(row)) return;
    const d = await this.btrfs(['qgroup', 'destroy', '--', `0/${id}`, this.mountPoint]);
    if (d.code !== 0 && !/No such file/i.test(d.stderr)) throw failed(`btrfs qgroup destroy 0/${id} ${this.mountPoint}`, d);
  }

  private btrfs(args: string[], opts?: { timeoutMs?: number; maxOutputBytes?: number }): Promise<RunResult> {
    return this.deps.run(this.deps.tools.btrfs, args, opts);
  }
}
