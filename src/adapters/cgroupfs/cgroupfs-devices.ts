// GpuAccess on cgroupfs: the v1 devices controller on diycloud/user-UID; v2 has no device file (BPF only), so groups only there.

import { DiycloudError, invalidArgument } from '../../core/errors';
import { v1DeviceRules, type DevicePlan } from '../../core/device-rules';
import type { GpuEnforcement } from '../../core/gpu';
import type { GpuAccess } from '../../core/ports';
import { deviceHolders, killAll } from '../gpu/gpu-holders';
import { errnoOf, nodeCgroupFs, readOptional, type CgroupFs } from './cgroupfs-fs';
import { PARENT_GROUP } from './cgroupfs-limits';

const MAX_UID = 4_294_967_294;

/**
 * The devices hierarchy's `<mount>/diycloud/user-UID`, created (mode 0755, owned by root, like
 * CgroupfsLimits' groups) on the first apply that restricts anything. A change is written so that
 * no moment opens more than either policy: once the group is closed, new allow lines go in first,
 * then lines no longer wanted are taken out (devices.deny of an exact line removes it). The first
 * switch from the kernel's default (allow all) is "a" to devices.deny and then the allow lines: for
 * that instant the group's processes can open nothing, which at login is before the session runs.
 * The result is read back from devices.list.
 */
export class CgroupfsV1Devices implements GpuAccess {
  readonly backend = 'cgroupfs (v1)';
  private readonly fs: CgroupFs;
  private readonly procRoot: string;

  constructor(private readonly mountPoint: string, opts: { fs?: CgroupFs; procRoot?: string } = {}) {
    this.fs = opts.fs ?? nodeCgroupFs;
    this.procRoot = opts.procRoot ?? '/proc';
  }

  status(): GpuEnforcement {
    return { backend: this.backend, state: 'device cgroup', reason: `the devices controller at ${this.mountPoint} refuses GPU nodes a user was not granted` };
  }

  async apply(uid: number, plan: DevicePlan): Promise<void> {
    checkUid(uid);
    const rules = v1DeviceRules(plan);
    const dir = this.group(uid);
    if (!rules.closed && this.fs.stat(dir) === null) return; // nothing to open up where nothing was closed
    this.ensure(`${this.mountPoint}/${PARENT_GROUP}`);
    this.ensure(dir);
    const current = this.list(dir);
    const want = new Set(rules.allow);
    if (!rules.closed) {
      if (!(current.size === 1 && current.has('a *:* rwm'))) this.write(dir, 'devices.allow', 'a');
    } else {
      if (current.has('a *:* rwm')) {
        this.write(dir, 'devices.deny', 'a');
        current.clear();
      }
      for (const line of rules.allow) if (!current.has(line)) this.write(dir, 'devices.allow', line);
      for (const line of current) if (!want.has(line)) this.write(dir, 'devices.deny', line);
    }
    const now = this.list(dir);
    const same = now.size === want.size && [...want].every((l) => now.has(l));
    if (!same) throw new DiycloudError('BackendFailed', `cgroupfs: ${dir}/devices.list reads back as "${[...now].join(', ')}", not the policy written ("${[...want].join(', ')}"); something else manages this group`);
  }

  async placeProcess(uid: number, pid: number): Promise<'placed' | 'unsupported'> {
    checkUid(uid);
    const dir = this.group(uid);
    if (this.fs.stat(dir) === null) return 'unsupported'; // no policy on this user (host without GPUs): nothing to be in
    try {
      this.fs.write(`${dir}/cgroup.procs`, String(pid));
    } catch (e) {
      throw new DiycloudError('BackendFailed', `cgroupfs: moving PID ${pid} into ${dir} failed (${errnoOf(e) ?? 'error'})`, { cause: e });
    }
    return 'placed';
  }

  async holders(uid: number, nodePaths: readonly string[]): Promise<{ pids: number[]; unreadable: number }> {
    return deviceHolders(uid, nodePaths, this.procRoot);
  }

  async kill(pids: readonly number[]): Promise<number[]> {
    return killAll(pids);
  }

  /** Removes the user's device group once empty (after a test, or when the user's cgroups are released); true when removed. */
  release(uid: number): boolean {
    const dir = this.group(uid);
    if ((readOptional(this.fs, `${dir}/cgroup.procs`) ?? '').trim() !== '') return false;
    try {
      this.fs.rmdir(dir);
      return true;
    } catch (e) {
      if (errnoOf(e) === 'ENOENT' || errnoOf(e) === 'EBUSY') return false;
      throw new DiycloudError('BackendFailed', `cgroupfs: removing ${dir} failed (${errnoOf(e) ?? 'error'})`, { cause: e });
    }
  }

  private group(uid: number): string {
    return `${this.mountPoint}/${PARENT_GROUP}/user-${uid}`;
  }

  private list(dir: string): Set<string> {
    return new Set(this.fs.read(`${dir}/devices.list`).split('\n').map((l) => l.trim()).filter(Boolean));
  }

  /** The same "ours" rule as CgroupfsLimits: a root-owned directory nobody else can write. */
  private ensure(path: string): void {
    let s = this.fs.stat(path);
    if (s === null) {
      try {
        this.fs.mkdir(path, 0o755);
        this.fs.chmod(path, 0o755);
      } catch (e) {
        if (errnoOf(e) !== 'EEXIST') throw new DiycloudError('BackendFailed', `cgroupfs: creating ${path} failed (${errnoOf(e) ?? 'error'})`, { cause: e });
      }
      s = this.fs.stat(path);
    }
    if (!s || !s.isDirectory || s.uid !== 0 || (s.mode & 0o022) !== 0) {
      throw new DiycloudError('BackendFailed', `cgroupfs: ${path} exists but is not diycloud's (diycloud's are directories owned by root and writable only by it); find out who made it, and remove it (rmdir) once it holds no processes`);
    }
  }

  private write(dir: string, file: string, line: string): void {
    try {
      this.fs.write(`${dir}/${file}`, line);
    } catch (e) {
      throw new DiycloudError('BackendFailed', `cgroupfs: writing "${line}" to ${dir}/${file} failed (${errnoOf(e) ?? 'error'})`, { cause: e });
    }
  }
}

function checkUid(uid: number): void {
  if (!Number.isSafeInteger(uid) || uid < 0 || uid > MAX_UID) throw invalidArgument('uid', `must be a whole number from 0 to ${MAX_UID}, not ${uid}`);
}
