// QuotaBackend on quota-tools (setquota, repquota): per-uid VFS quotas on ext2/3/4 and XFS user quotas.

import type { DiskSettings } from '../../core/enforcement-plan';
import { DiycloudError } from '../../core/errors';
import type { DiskUsage, QuotaBackend, QuotaOwner, QuotaPathStatus } from '../../core/ports';
import type { RunResult } from '../exec/run-program';
import { probeInUse, quotaUnsupported } from './probe';
import { LISTING_MAX_BYTES, type QuotaDeps } from './quota-deps';

const LISTING_TIMEOUT_MS = 60_000;

/**
 * Bytes to setquota's unit, 1 KiB blocks, rounded up: a positive limit never becomes 0, which
 * setquota reads as "no limit".
 */
export function kibCeil(bytes: number): string {
  if (!Number.isSafeInteger(bytes) || bytes < 0) throw new DiycloudError('Failed', `bad disk limit ${bytes}: expected whole bytes`);
  return String(Math.ceil(bytes / 1024));
}

function checkUid(uid: number): string {
  if (!Number.isSafeInteger(uid) || uid < 0 || uid > 0xfffffffe) throw new DiycloudError('Failed', `bad uid ${uid}`);
  return String(uid);
}

/**
 * setquota's argv for one user's block limits; inode limits 0 0 (none: diycloud owns the user's
 * whole entry on this filesystem). The user is named by the decimal UID: setquota(8) reads a
 * number in the name's place as a UID (unless --always-resolve), so no name lookup and no name
 * that could be read as another user's. "--" ends the options before it.
 */
export function setquotaArgs(uid: number, s: Pick<DiskSettings, 'diskSoftBytes' | 'diskHardBytes'>, mountPoint: string): string[] {
  return ['-u', '--', checkUid(uid), kibCeil(s.diskSoftBytes), kibCeil(s.diskHardBytes), '0', '0', mountPoint];
}

/** setquota -t: the grace period of soft limits (blocks and inodes) on one filesystem, in seconds. */
export function setGraceArgs(graceSec: number, mountPoint: string): string[] {
  if (!Number.isSafeInteger(graceSec) || graceSec < 0) throw new DiycloudError('Failed', `bad grace period ${graceSec}`);
  return ['-t', '-u', '--', String(graceSec), String(graceSec), mountPoint];
}

/** repquota's argv: users, all entries (-v: limits without usage too), numeric ids, raw grace, CSV (quota-tools ≥ 4.02). */
export function repquotaArgs(mountPoint: string): string[] {
  return ['-u', '-v', '-n', '-p', '-O', 'csv', '--', mountPoint];
}

/**
 * Parses `repquota -u -v -n -p -O csv` (quota-tools 4.06's repquota.c):
 *   User,BlockStatus,FileStatus,BlockUsed,BlockSoftLimit,BlockHardLimit,BlockGrace,FileUsed,…
 *   #1001,ok,ok,2000000,1000000,2000000,0,100,0,0,0
 * Block columns are in KiB ("Space…" instead of "Block…" under -s, which we never pass). Columns
 * are found by header name. A row whose numbers do not parse fails the whole read (BackendFailed):
 * a wrong number here would become a wrong "over quota".
 */
export function parseRepquotaCsv(text: string): Map<number, DiskUsage> {
  const out = new Map<number, DiskUsage>();
  let col: { used: number; soft: number; hard: number } | null = null;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '') continue;
    const f = line.split(',');
    if (f[0] === 'User') {
      const at = (names: string[]) => f.findIndex((h) => names.includes(h));
      col = { used: at(['BlockUsed', 'SpaceUsed']), soft: at(['BlockSoftLimit', 'SpaceSoftLimit']), hard: at(['BlockHardLimit', 'SpaceHardLimit']) };
      if (col.used < 0 || col.soft < 0 || col.hard < 0) throw new DiycloudError('BackendFailed', `unexpected repquota header: ${line.slice(0, 200)}`);
      continue;
    }
    if (col === null) throw new DiycloudError('BackendFailed', `unexpected repquota output before its header: ${line.slice(0, 200)}`);
    const id = /^#([0-9]{1,10})$/.exec(f[0]);
    if (!id) continue; // a name: only without -n, which we always pass
    const kib = (i: number) => {
      const v = f[i];
      if (v === undefined || !/^[0-9]{1,16}$/.test(v)) throw new DiycloudError('BackendFailed', `unexpected repquota row: ${line.slice(0, 200)}`);
      return Number(v) * 1024;
    };
    const uid = Number(id[1]);
    out.set(uid, { uid, usedBytes: kib(col.used), softBytes: kib(col.soft), hardBytes: kib(col.hard) });
  }
  if (col === null && text.trim() !== '') throw new DiycloudError('BackendFailed', 'repquota printed no CSV header');
  return out;
}

function failed(what: string, r: RunResult): DiycloudError {
  return new DiycloudError('BackendFailed', `${what} failed`, { cause: new Error(`exit ${r.code}: ${r.stderr.trim().slice(0, 300)}`) });
}

/**
 * - apply probes first (one quotaon -p on ext4, none on XFS): "accounting" counts as not
 *   enforcing, so QuotaUnsupported says how to turn enforcement on, before any limit is set.
 * - remove sets all limits to 0; on a filesystem whose quotas are off there is nothing to remove.
 * - usage is one repquota for every user, never one process per user.
 */
export class QuotaToolsBackend implements QuotaBackend {
  readonly backend = 'quota-tools';
  readonly softLimits = true;

  constructor(readonly path: string, private readonly mountPoint: string, private readonly deps: QuotaDeps) {}

  status(): Promise<QuotaPathStatus> {
    return probeInUse(this.path, this.backend, this.deps, this.mountPoint);
  }

  async apply(owner: QuotaOwner, settings: DiskSettings): Promise<void> {
    const s = await this.status();
    if (s.state !== 'enforced') throw quotaUnsupported(s);
    const r = await this.deps.run(this.deps.tools.setquota, setquotaArgs(owner.uid, settings, this.mountPoint));
    if (r.code !== 0) throw failed(`setquota for ${owner.name} (uid ${owner.uid}) on ${this.mountPoint}`, r);
  }

  async remove(owner: QuotaOwner): Promise<void> {
    const r = await this.deps.run(this.deps.tools.setquota, setquotaArgs(owner.uid, { diskSoftBytes: 0, diskHardBytes: 0 }, this.mountPoint));
    if (r.code === 0) return;
    if ((await this.status()).state === 'off') return;
    throw failed(`setquota (no limits) for ${owner.name} (uid ${owner.uid}) on ${this.mountPoint}`, r);
  }

  async usage(): Promise<Map<number, DiskUsage>> {
    const r = await this.deps.run(this.deps.tools.repquota, repquotaArgs(this.mountPoint), { timeoutMs: LISTING_TIMEOUT_MS, maxOutputBytes: LISTING_MAX_BYTES });
    if (r.code !== 0) throw failed(`repquota ${this.mountPoint}`, r);
    if (r.stdout.length >= LISTING_MAX_BYTES) throw new DiycloudError('BackendFailed', `repquota ${this.mountPoint} printed more than ${LISTING_MAX_BYTES} bytes`);
    return parseRepquotaCsv(r.stdout);
  }

  async wantsSubvolumeHome(): Promise<boolean> {
    return false;
  }

  /** The grace period of soft limits on this filesystem (setquota -t); the daemon sets it at start. */
  async setGrace(graceSec: number): Promise<void> {
    const r = await this.deps.run(this.deps.tools.setquota, setGraceArgs(graceSec, this.mountPoint));
    if (r.code !== 0) throw failed(`setquota -t on ${this.mountPoint}`, r);
  }
}
