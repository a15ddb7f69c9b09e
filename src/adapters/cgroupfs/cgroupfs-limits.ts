// CgroupLimits on cgroupfs for hosts without systemd as PID 1: diycloud's own diycloud/user-UID groups (v1 or v2).

import { DiycloudError, invalidArgument } from '../../core/errors';
import { CGROUP_SETTING_KEYS, UNLIMITED, type CgroupSettings } from '../../core/enforcement-plan';
import type { CgroupLimits, CgroupState } from '../../core/ports';
import { errnoOf, nodeCgroupFs, readOptional, type CgroupFs } from './cgroupfs-fs';
import { kernelHeld, type Dialect, type FileWrite } from './dialect';
import type { Controller, V1Probe, V2Probe } from './hierarchy';
import { V1_DIALECT } from './v1';
import { enableControllers, V2_DIALECT } from './v2';

export interface CgroupfsOptions {
  readonly fs?: CgroupFs;
  /** Where /proc is (tests point it at a fixture tree). */
  readonly procRoot?: string;
  /** The kernel counts memory limits in pages. */
  readonly pageSizeBytes?: number;
}

/** One hierarchy diycloud keeps a diycloud/ tree in (v1: one per mount it uses; v2: the one tree). */
interface Base {
  readonly dir: string;
  /** The hierarchy path at `dir`, which /proc/PID/cgroup paths start with. */
  readonly root: string;
  /** Ours that this hierarchy carries. */
  readonly controllers: readonly Controller[];
  /** Whether a /proc/PID/cgroup line (its second field) names this hierarchy. */
  readonly names: (id: string, controllers: string) => boolean;
}

export const PARENT_GROUP = 'diycloud';
const MAX_UID = 4_294_967_294;
const USER_GROUP = /^user-(0|[1-9][0-9]{0,9})$/;

/**
 * Layout: `<hierarchy>/diycloud/user-UID`. On v1 one such group per hierarchy that carries cpu,
 * cpuacct, memory or pids (a process is placed in each); on v2 one group under the cgroup2 root,
 * with +cpu +memory (+pids) enabled in the root's and diycloud's cgroup.subtree_control.
 *
 * "Ours": cgroupfs holds no files of our own (no marker can be written), so a group is diycloud's
 * when it sits at the exact expected path and is a directory owned by uid 0 that neither group nor
 * others can write; diycloud creates both levels with mode 0755 and never chowns them. Anything
 * else there (a delegated or loosened group) was made by someone else: every call refuses it with
 * BackendFailed naming the path, and nothing is written into it. A user-UID group outside
 * diycloud/ is never looked at.
 *
 * Every call is synchronous underneath (see CgroupFs), so calls on one daemon never interleave.
 * Nothing announces groups created outside the login path without systemd: watch() is a no-op
 * and Reconcile's periodic listUsers() finds them.
 */
export class CgroupfsLimits implements CgroupLimits {
  readonly backend: 'cgroupfs (v1)' | 'cgroupfs (v2)';
  private readonly bases: readonly Base[];
  private readonly dialect: Dialect;
  private readonly fs: CgroupFs;
  private readonly procRoot: string;
  private readonly pageSizeBytes: number;
  /** v2 only: the controllers enabled for diycloud's groups. */
  private readonly v2Controllers: readonly string[];

  constructor(private readonly probe: V1Probe | V2Probe, opts: CgroupfsOptions = {}) {
    this.fs = opts.fs ?? nodeCgroupFs;
    this.procRoot = opts.procRoot ?? '/proc';
    this.pageSizeBytes = opts.pageSizeBytes ?? 4096;
    this.backend = `cgroupfs (${probe.version})`;
    if (probe.version === 'v2') {
      this.dialect = V2_DIALECT;
      this.v2Controllers = ['cpu', 'memory', 'pids'].filter((c) => probe.controllers.includes(c));
      this.bases = [{ dir: probe.mountPoint, root: probe.root, controllers: ['cpu', 'cpuacct', 'memory', 'pids'], names: (id, c) => id === '0' && c === '' }];
    } else {
      this.dialect = V1_DIALECT;
      this.v2Controllers = [];
      const byDir = new Map<string, { root: string; own: Controller[] }>();
      for (const c of ['cpu', 'cpuacct', 'memory', 'pids'] as const) {
        const h = probe.hierarchies[c];
        if (!h) continue;
        const b = byDir.get(h.mountPoint) ?? { root: h.root, own: [] };
        b.own.push(c);
        byDir.set(h.mountPoint, b);
      }
      this.bases = [...byDir].map(([dir, b]) => ({ dir, root: b.root, controllers: b.own, names: (_id, c) => b.own.some((o) => c.split(',').includes(o)) }));
    }
  }

  async listUsers(): Promise<number[]> {
    const uids = new Set<number>();
    for (const b of this.bases) {
      const parent = `${b.dir}/${PARENT_GROUP}`;
      if (!this.ours(parent)) continue;
      for (const name of this.io(`listing ${parent}`, () => this.fs.subdirs(parent))) {
        const m = USER_GROUP.exec(name);
        if (m && Number(m[1]) <= MAX_UID) uids.add(Number(m[1]));
      }
    }
    return [...uids].sort((a, b) => a - b);
  }

  async observe(uid: number): Promise<CgroupState | null> {
    checkUid(uid);
    const present = new Set(this.bases.filter((b) => this.ours(`${b.dir}/${PARENT_GROUP}`) && this.ours(this.group(b, uid))));
    if (present.size === 0) return null;
    return this.io(`reading the cgroups of uid ${uid}`, () =>
      this.dialect.read((c, file) => {
        const b = this.baseOf(c);
        return b && present.has(b) ? readOptional(this.fs, `${this.group(b, uid)}/${file}`) : null;
      }),
    );
  }

  async apply(uid: number, settings: CgroupSettings): Promise<void> {
    checkUid(uid);
    for (const k of CGROUP_SETTING_KEYS) {
      const v = settings[k];
      if (v !== undefined && v !== UNLIMITED && !(Number.isSafeInteger(v) && v >= 0)) throw invalidArgument(k, `must be a whole number ≥ 0 or "${UNLIMITED}", not ${String(v)}`);
    }
    const writes = this.dialect.writes(settings).filter((w) => w.key !== 'tasksMax' || this.has('pids') || settings.tasksMax !== UNLIMITED);
    const missing = writes.find((w) => !this.has(w.controller));
    if (missing) throw new DiycloudError('BackendFailed', `cgroupfs: the ${missing.controller} controller is not available (${this.backend}), so ${missing.key} cannot be enforced; mount or enable it, or remove that limit from the allocation`);
    this.ensureGroups(uid);
    for (const w of writes) this.write(this.baseOf(w.controller)!, uid, w);
    const held = kernelHeld(settings, this.pageSizeBytes);
    const now = await this.observe(uid);
    for (const w of writes) {
      const got = now?.settings[w.key];
      if (got !== held[w.key]) throw new DiycloudError('BackendFailed', `cgroupfs: ${w.key} of uid ${uid} reads back as ${String(got)}, not ${String(held[w.key])}, after writing "${w.value}" to ${w.file}; something else manages these groups`);
    }
  }

  /** Nothing announces a new group without systemd; Reconcile's listUsers() finds groups made by others. */
  async watch(): Promise<void> {}

  /**
   * Writes the PID to cgroup.procs of the user's group in every hierarchy (v2: once), creating the
   * groups first, then checks /proc/PID/cgroup. A process that ends on the way is BackendFailed;
   * groups created for it are removed again, so nothing else changes.
   */
  async placeProcess(uid: number, pid: number): Promise<'placed'> {
    checkUid(uid);
    if (!Number.isSafeInteger(pid) || pid <= 0) throw invalidArgument('pid', `must be a positive whole number, not ${pid}`);
    if (this.procCgroups(pid) === null) throw new DiycloudError('BackendFailed', `cgroupfs: process ${pid} is not running, so it cannot be moved into uid ${uid}'s group`);
    const created = this.ensureGroups(uid);
    for (const b of this.bases) {
      const procs = `${this.group(b, uid)}/cgroup.procs`;
      try {
        this.fs.write(procs, String(pid));
      } catch (e) {
        if (errnoOf(e) !== 'ESRCH') throw failed(`writing PID ${pid} to ${procs}`, e);
        if (created) await this.release(uid).catch(() => false);
        throw ended(pid, `while it was moved into ${this.group(b, uid)}; nothing else changed`);
      }
    }
    const lines = this.procCgroups(pid);
    if (lines === null) throw ended(pid, 'while it was moved');
    for (const b of this.bases) {
      const want = joinCgroup(b.root, `/${PARENT_GROUP}/user-${uid}`);
      const line = lines.find((l) => b.names(l.id, l.controllers));
      if (line?.path !== want) throw new DiycloudError('BackendFailed', `cgroupfs: PID ${pid} is in ${line?.path ?? 'no group'} of ${b.dir} after the move, not in ${want}`);
    }
    return 'placed';
  }

  /** rmdir of the user's groups once no process is left (cgroup.procs empty); false when any is busy. */
  async release(uid: number): Promise<boolean> {
    checkUid(uid);
    const dirs = this.bases.filter((b) => this.ours(`${b.dir}/${PARENT_GROUP}`) && this.ours(this.group(b, uid))).map((b) => this.group(b, uid));
    if (dirs.some((d) => (readOptional(this.fs, `${d}/cgroup.procs`) ?? '').trim() !== '')) return false;
    for (const d of dirs) {
      try {
        this.fs.rmdir(d);
      } catch (e) {
        if (errnoOf(e) === 'EBUSY' || errnoOf(e) === 'ENOTEMPTY') return false; // a process (or a child group) arrived
        if (errnoOf(e) !== 'ENOENT') throw failed(`removing ${d}`, e);
      }
    }
    return dirs.length > 0;
  }

  private group(b: Base, uid: number): string {
    return `${b.dir}/${PARENT_GROUP}/user-${uid}`;
  }

  private baseOf(c: Controller): Base | undefined {
    return this.bases.find((b) => b.controllers.includes(c));
  }

  private has(c: Controller): boolean {
    return this.probe.version === 'v2' ? c === 'cpuacct' || this.v2Controllers.includes(c) : this.baseOf(c) !== undefined;
  }

  /** false when absent; true when it is ours; BackendFailed when something else is there (see the class comment). */
  private ours(path: string): boolean {
    const s = this.io(`checking ${path}`, () => this.fs.stat(path));
    if (s === null) return false;
    if (s.isDirectory && s.uid === 0 && (s.mode & 0o022) === 0) return true;
    const what = s.isDirectory ? `a group owned by uid ${s.uid} with mode ${s.mode.toString(8).padStart(4, '0')}` : 'not a directory';
    throw new DiycloudError('BackendFailed', `cgroupfs: ${path} exists but is not diycloud's (${what}; diycloud's are owned by root and writable only by it). Find out who made it; once it holds no processes, remove it (rmdir) and diycloud creates its own`);
  }

  /** Creates what is missing of diycloud/ and diycloud/user-UID in every hierarchy; true when a user group was created now. */
  private ensureGroups(uid: number): boolean {
    let created = false;
    for (const b of this.bases) {
      const parent = `${b.dir}/${PARENT_GROUP}`;
      if (this.probe.version === 'v2') this.io(`enabling ${this.v2Controllers.join(' ')} in ${b.dir}/cgroup.subtree_control`, () => enableControllers(this.fs, b.dir, this.v2Controllers));
      this.mkdirOurs(parent);
      if (this.probe.version === 'v2') this.io(`enabling ${this.v2Controllers.join(' ')} in ${parent}/cgroup.subtree_control`, () => enableControllers(this.fs, parent, this.v2Controllers));
      created = this.mkdirOurs(this.group(b, uid)) || created;
    }
    return created;
  }

  private mkdirOurs(path: string): boolean {
    if (this.ours(path)) return false;
    let made = false;
    try {
      this.fs.mkdir(path, 0o755);
      made = true;
      this.fs.chmod(path, 0o755); // the daemon's umask may be stricter; 0755 lets users read their own limits
    } catch (e) {
      if (errnoOf(e) !== 'EEXIST') throw failed(`creating ${path}`, e);
    }
    if (!this.ours(path)) throw new DiycloudError('BackendFailed', `cgroupfs: ${path} vanished right after it was created; is another program removing diycloud's groups?`);
    return made;
  }

  private write(b: Base, uid: number, w: FileWrite): void {
    const path = `${this.group(b, uid)}/${w.file}`;
    try {
      this.fs.write(path, w.value);
    } catch (e) {
      const code = errnoOf(e);
      if (code === 'EBUSY' && w.key === 'memoryMaxBytes') {
        throw new DiycloudError('BackendFailed', `cgroupfs: the kernel would not lower ${path} to ${w.value}: uid ${uid}'s group uses more than that and reclaim could not free enough (EBUSY). The memory ratchet retries as usage falls; to force it, end some of the user's processes`, { cause: e });
      }
      if (code === 'EINVAL') throw new DiycloudError('BackendFailed', `cgroupfs: the kernel refused "${w.value}" for ${path} (EINVAL)`, { cause: e });
      throw failed(`writing "${w.value}" to ${path}`, e);
    }
  }

  /** The lines of /proc/PID/cgroup, or null when the process does not exist. */
  private procCgroups(pid: number): { id: string; controllers: string; path: string }[] | null {
    const text = this.io(`reading ${this.procRoot}/${pid}/cgroup`, () => readOptional(this.fs, `${this.procRoot}/${pid}/cgroup`));
    if (text === null) return null;
    return text.split('\n').flatMap((line) => {
      const m = /^([0-9]+):([^:]*):(.*)$/.exec(line);
      return m ? [{ id: m[1]!, controllers: m[2]!, path: m[3]! }] : [];
    });
  }

  /** Runs a file operation; any error that is not already ours becomes BackendFailed naming it. */
  private io<T>(what: string, fn: () => T): T {
    try {
      return fn();
    } catch (e) {
      if (e instanceof DiycloudError) throw e;
      throw failed(what, e);
    }
  }
}

/** A hierarchy path below the mount's root ("/" + "/diycloud/user-1" is "/diycloud/user-1"). */
export function joinCgroup(root: string, sub: string): string {
  return root === '/' ? sub : `${root.replace(/\/+$/, '')}${sub}`;
}

function checkUid(uid: number): void {
  if (!Number.isSafeInteger(uid) || uid < 0 || uid > MAX_UID) throw invalidArgument('uid', `must be a whole number from 0 to ${MAX_UID}, not ${uid}`);
}

function ended(pid: number, when: string): DiycloudError {
  return new DiycloudError('BackendFailed', `cgroupfs: process ${pid} ended ${when}`);
}

function failed(what: string, cause: unknown): DiycloudError {
  const code = errnoOf(cause);
  return new DiycloudError('BackendFailed', `cgroupfs: ${what} failed${code ? ` (${code})` : ''}`, { cause });
}
