// QuotaBackend on quota-tools (setquota, repquota): per-uid VFS quotas on ext2/3/4 and XFS user quotas.

import type { DiskSettings } from '../../core/enforcement-plan';
import { DiycloudError } from '../../core/errors';
import type { QuotaEntry, QuotaEntryFailure } from '../../core/enforcement-ports';
import type { DiskUsage, QuotaBackend, QuotaOwner, QuotaPathStatus } from '../../core/ports';
import type { RunResult } from '../exec/run-program';
import { probeInUse, quotaUnsupported } from './probe';
import { LISTING_MAX_BYTES, type QuotaDeps } from './quota-deps';

const LISTING_TIMEOUT_MS = 60_000;
/**
 * Users per `setquota -b` process: its stdin stays small (about 30 bytes a line, 30 KB) and one run
 * short. Its start-up (the mount scan, opening the quota files) costs more than its lines: in the
 * TCG VM 1,000 lines took 190-205 ms in one run, 310-680 ms in two of 500 (bench/quota-vm.ts).
 */
export const SETQUOTA_BATCH_LINES = 1000;
const BATCH_TIMEOUT_MS = 60_000;

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

/**
 * `setquota -b`: limits for many users from stdin, one process. -c (continue) skips a line that
 * does not parse instead of stopping there; a line's quotactl failure never stops the others.
 */
export function setquotaBatchArgs(mountPoint: string): string[] {
  return ['-u', '-b', '-c', '--', mountPoint];
}

/** One stdin line of `setquota -b`: "UID block-soft block-hard inode-soft inode-hard", as setquotaArgs (numeric UID, KiB, inodes 0 0). */
export function setquotaBatchLine(uid: number, s: Pick<DiskSettings, 'diskSoftBytes' | 'diskHardBytes'>): string {
  return `${checkUid(uid)} ${kibCeil(s.diskSoftBytes)} ${kibCeil(s.diskHardBytes)} 0 0\n`;
}

/**
 * Which lines of a `setquota -b` run failed, from its stderr (quota-tools 4.06, setquota.c and
 * quotaops.c, C locale; each line starts "setquota: "), given the UIDs in input order (line N is
 * uids[N-1]: we write no comments or blank lines):
 *   Cannot parse input line 3.  /  Unable to parse block soft limit 'x' on line 3: …  (skipped, -c)
 *   Cannot set quota for user 1001 from kernel on /dev/vda: Numerical result out of range
 *   Cannot write quota for 1001 on /dev/vda: Numerical result out of range        (quotactl failed)
 *   error while getting quota from /dev/vda for alice (id 1001): …                  (read failed: the
 *     entry is skipped and, in 4.06, the exit status stays 0)
 * Returns the message per failed UID, and the lines that name no entry (e.g. "Skipping line.").
 */
export function parseSetquotaBatchErrors(stderr: string, uids: readonly number[]): { failed: Map<number, string>; other: string[] } {
  const failed = new Map<number, string>();
  const other: string[] = [];
  const wanted = new Set(uids);
  for (const raw of stderr.split('\n')) {
    const line = raw.trim();
    if (line === '') continue;
    const byLine = /\bline ([0-9]{1,9})\b/.exec(line);
    const byId = /\bCannot (?:write quota for|set quota for user) ([0-9]{1,10}) (?:on|from) /.exec(line) ?? /\(id ([0-9]{1,10})\)/.exec(line);
    const uid = byId ? Number(byId[1]) : byLine ? uids[Number(byLine[1]) - 1] : undefined;
    if (uid !== undefined && wanted.has(uid)) failed.set(uid, failed.has(uid) ? `${failed.get(uid)}; ${line}` : line);
    else if (!/\bSkipping line\.$/.test(line)) other.push(line);
  }
  return { failed, other };
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
 * - applyMany feeds users to `setquota -b` on stdin, SETQUOTA_BATCH_LINES per process.
 * - usage is one repquota for every user, never one process per user.
 */
export class QuotaToolsBackend implements QuotaBackend {
  readonly backend = 'quota-tools';
  readonly softLimits = true;
  /** The decimal UID names the quota: no home, no lookup. */
  readonly needsHome = false;

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

  /**
   * One `setquota -b` per SETQUOTA_BATCH_LINES users, one after another. A run that exits non-zero
   * without naming any entry (the mount vanished, the tool is missing) fails all of its entries.
   */
  async applyMany(entries: readonly QuotaEntry[]): Promise<QuotaEntryFailure[]> {
    if (entries.length === 0) return [];
    const s = await this.status();
    if (s.state !== 'enforced') {
      const e = quotaUnsupported(s);
      return entries.map((x) => ({ uid: x.owner.uid, error: e }));
    }
    const failures: QuotaEntryFailure[] = [];
    const lines: { entry: QuotaEntry; line: string }[] = [];
    for (const entry of entries) {
      try {
        lines.push({ entry, line: setquotaBatchLine(entry.owner.uid, entry.settings) });
      } catch (e) {
        failures.push({ uid: entry.owner.uid, error: e as Error });
      }
    }
    for (let i = 0; i < lines.length; i += SETQUOTA_BATCH_LINES) {
      const chunk = lines.slice(i, i + SETQUOTA_BATCH_LINES);
      failures.push(...(await this.runBatch(chunk)));
    }
    return failures;
  }

  private async runBatch(chunk: readonly { entry: QuotaEntry; line: string }[]): Promise<QuotaEntryFailure[]> {
    const who = (o: QuotaOwner) => `setquota for ${o.name} (uid ${o.uid}) on ${this.mountPoint}`;
    let r: RunResult;
    try {
      r = await this.deps.run(this.deps.tools.setquota, setquotaBatchArgs(this.mountPoint), { input: chunk.map((c) => c.line).join(''), timeoutMs: BATCH_TIMEOUT_MS });
    } catch (e) {
      return chunk.map((c) => ({ uid: c.entry.owner.uid, error: new DiycloudError('BackendFailed', `${who(c.entry.owner)} failed`, { cause: e }) }));
    }
    const { failed: byUid } = parseSetquotaBatchErrors(r.stderr, chunk.map((c) => c.entry.owner.uid));
    if (r.code !== 0 && byUid.size === 0) return chunk.map((c) => ({ uid: c.entry.owner.uid, error: failed(who(c.entry.owner), r) }));
    return chunk.flatMap((c) => {
      const msg = byUid.get(c.entry.owner.uid);
      return msg === undefined ? [] : [{ uid: c.entry.owner.uid, error: failed(who(c.entry.owner), { ...r, stderr: msg }) }];
    });
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
