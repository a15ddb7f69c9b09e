// Use case: hold a user to the disk steps of their plan, one quota path at a time.

import { sameDisk, type DiskStep, type Purpose } from '../core/enforcement-plan';
import { DiycloudError } from '../core/errors';
import type { QuotaEntry, QuotaEntryFailure } from '../core/enforcement-ports';
import type { QuotaBackend, QuotaOwner } from '../core/ports';
import { formatSize } from '../core/size';
import type { AppDeps } from './deps';
import { forEachLimited } from './for-each-limited';

export interface DiskOutcome {
  readonly path: string;
  /**
   * applied: the tool was called; unchanged: the recorded quota was already the plan (login's cheap
   * check); skipped: best effort on a path that does not enforce (GetUser and doctor say so); failed: see `error`.
   */
  readonly result: 'applied' | 'unchanged' | 'skipped' | 'failed';
  /** For the reply and the audit line: the user is over quota after the change (nothing is ever deleted). */
  readonly warning: string | null;
  readonly error: string | null;
}

/**
 * - At login the recorded quota is compared with the plan first: a match costs no lookup and no
 *   child program (the quota itself is in the filesystem and survives reboots).
 * - Otherwise the owner (name, home) is looked up and the backend applies it; the record follows.
 * - A failed fatal step (an admin's change of the disk allocation) throws: QuotaUnsupported says
 *   how to turn quotas on. A failed best-effort step is logged and reported, and the rest go on.
 */
export async function enforceDisk(deps: AppDeps, uid: number, knownName: string | null, steps: readonly DiskStep[], purpose: Purpose, warnings = false): Promise<DiskOutcome[]> {
  if (steps.length === 0) return [];
  const due = purpose === 'login' ? steps.filter((s) => !sameDisk(deps.store.appliedDisk(uid, s.path), s)) : steps;
  const out: DiskOutcome[] = steps.filter((s) => !due.includes(s)).map((s) => ({ path: s.path, result: 'unchanged', warning: null, error: null }));
  // Best effort on a path without quotas is no error on every login and reconcile: it is reported
  // where people look (GetUser's disk state, diycloudctl doctor). The probe is cached by the adapter.
  const todo: DiskStep[] = [];
  for (const s of due) {
    const backend = deps.quotas.find((q) => q.path === s.path);
    if (!s.fatal && backend && (await backend.status().catch(() => null))?.state !== 'enforced') out.push({ path: s.path, result: 'skipped', warning: null, error: null });
    else todo.push(s);
  }
  if (todo.length === 0) return out;
  let owner: QuotaOwner | null = null;
  try {
    owner = await quotaOwner(deps, uid, knownName);
  } catch (e) {
    if (todo.some((s) => s.fatal)) throw e;
    return [...out, ...todo.map((s) => failed(deps, uid, s, e))];
  }
  for (const step of todo) {
    const backend = deps.quotas.find((q) => q.path === step.path);
    try {
      if (!backend) throw new DiycloudError('Failed', `no quota backend for ${step.path}`);
      await backend.apply(owner, step);
      try {
        deps.store.setApplied(uid, { resource: 'disk', settings: { path: step.path, diskSoftBytes: step.diskSoftBytes, diskHardBytes: step.diskHardBytes } }, deps.clock.now().toISOString());
      } catch (e) {
        deps.log.warn(`uid ${uid}: could not record the quota on ${step.path}: ${(e as Error).message}, ignoring`, { uid });
      }
      // The usage read is one bulk read, but an apply drops its cache: only an admin's change pays for it (never reconcile's loop).
      out.push({ path: step.path, result: 'applied', warning: warnings ? await overQuota(deps, owner, step) : null, error: null });
    } catch (e) {
      if (step.fatal) throw e;
      out.push(failed(deps, uid, step, e));
    }
  }
  return out;
}

/** One user's best-effort disk steps in a batch, and the name the database knows them by (null: ask NSS). */
export interface DiskBatchItem {
  readonly uid: number;
  readonly knownName: string | null;
  readonly steps: readonly DiskStep[];
}

/** Name-service lookups at once, where a batch needs them (btrfs homes, users the database does not name). */
const LOOKUP_CONCURRENCY = 16;

/**
 * The disk steps of many users at once (Reconcile, start-up), each best effort, with the same
 * outcomes, log lines and records as enforceDisk gives them one by one:
 * - a path that does not enforce now skips its steps (one probe per path, not per user);
 * - the owner is looked up only where the backend reads the home (btrfs) or the database has no
 *   name for the UID: quota-tools needs neither, so a batch costs no process per user;
 * - per quota path one applyMany (quota-tools: one setquota -b per 1,000 users); a backend without
 *   it gets one apply per user, a few at once. A refused entry is that user's failure only;
 * - what was applied is recorded in one transaction (one commit, not one per user).
 * The caller holds each user's queue and decided the steps inside it (reconcile.ts).
 */
export async function enforceDiskBatch(deps: AppDeps, items: readonly DiskBatchItem[]): Promise<Map<number, DiskOutcome[]>> {
  const out = new Map<number, DiskOutcome[]>(items.map((i) => [i.uid, []]));
  const backendOf = (path: string) => deps.quotas.find((q) => q.path === path);
  const enforcing = new Map<string, boolean>();
  for (const path of new Set(items.flatMap((i) => i.steps.map((s) => s.path)))) {
    const b = backendOf(path);
    enforcing.set(path, b === undefined || (await b.status().catch(() => null))?.state === 'enforced');
  }
  const todo = items.flatMap((i) => {
    for (const s of i.steps) if (!enforcing.get(s.path)) out.get(i.uid)!.push({ path: s.path, result: 'skipped', warning: null, error: null });
    const steps = i.steps.filter((s) => enforcing.get(s.path));
    return steps.length ? [{ ...i, steps }] : [];
  });
  const owners = new Map<number, QuotaOwner>();
  const lookups = todo.filter((i) => {
    if (i.knownName === null || i.steps.some((s) => backendOf(s.path)?.needsHome !== false)) return true;
    owners.set(i.uid, { uid: i.uid, name: i.knownName, home: null });
    return false;
  });
  await forEachLimited(lookups, LOOKUP_CONCURRENCY, async (i) => {
    try {
      owners.set(i.uid, await quotaOwner(deps, i.uid, i.knownName));
    } catch (e) {
      for (const s of i.steps) out.get(i.uid)!.push(failed(deps, i.uid, s, e));
    }
  });
  const applied: { uid: number; step: DiskStep }[] = [];
  for (const [path, enforced] of enforcing) {
    if (!enforced) continue;
    const mine = todo.flatMap((i) => i.steps.filter((s) => s.path === path && owners.has(i.uid)).map((step) => ({ owner: owners.get(i.uid)!, step })));
    const backend = backendOf(path);
    const refused = new Map<number, Error>();
    if (!backend) for (const m of mine) refused.set(m.owner.uid, new DiycloudError('Failed', `no quota backend for ${path}`));
    else for (const f of await applyAll(backend, mine.map((m) => ({ owner: m.owner, settings: m.step })))) refused.set(f.uid, f.error);
    for (const { owner, step } of mine) {
      const e = refused.get(owner.uid);
      if (e) out.get(owner.uid)!.push(failed(deps, owner.uid, step, e));
      else {
        applied.push({ uid: owner.uid, step });
        out.get(owner.uid)!.push({ path, result: 'applied', warning: null, error: null });
      }
    }
  }
  recordDisk(deps, applied);
  return out;
}

async function applyAll(backend: QuotaBackend, entries: QuotaEntry[]): Promise<QuotaEntryFailure[]> {
  if (entries.length === 0) return [];
  if (backend.applyMany) return backend.applyMany(entries).catch((e: unknown) => entries.map((x) => ({ uid: x.owner.uid, error: e as Error })));
  const failures: QuotaEntryFailure[] = [];
  await forEachLimited(entries, LOOKUP_CONCURRENCY, (x) => backend.apply(x.owner, x.settings).catch((e: unknown) => void failures.push({ uid: x.owner.uid, error: e as Error })));
  return failures;
}

/** The applied quotas, in one transaction; a record that cannot be written is logged (the filesystem holds the quota anyway). */
function recordDisk(deps: AppDeps, applied: readonly { uid: number; step: DiskStep }[]): void {
  if (applied.length === 0) return;
  const at = deps.clock.now().toISOString();
  const writeAll = () => {
    for (const { uid, step } of applied) {
      try {
        deps.store.setApplied(uid, { resource: 'disk', settings: { path: step.path, diskSoftBytes: step.diskSoftBytes, diskHardBytes: step.diskHardBytes } }, at);
      } catch (e) {
        deps.log.warn(`uid ${uid}: could not record the quota on ${step.path}: ${(e as Error).message}, ignoring`, { uid });
      }
    }
  };
  try {
    deps.admin.transaction(writeAll);
  } catch {
    writeAll(); // the transaction could not start (the database is busy): one commit each
  }
}

function failed(deps: AppDeps, uid: number, step: DiskStep, e: unknown): DiskOutcome {
  deps.log.warn(`uid ${uid}: disk quota on ${step.path} not applied: ${(e as Error).message}`, { uid, path: step.path });
  return { path: step.path, result: 'failed', warning: null, error: (e as Error).message };
}

/** The quota's owner: the name from the database or NSS, the home from NSS (btrfs holds the home's subvolume). */
async function quotaOwner(deps: AppDeps, uid: number, knownName: string | null): Promise<QuotaOwner> {
  const byUid = knownName === null ? await deps.accounts.byUid(uid) : null;
  const name = knownName ?? byUid?.name ?? null;
  if (name === null) throw new DiycloudError('NoSuchUser', `uid ${uid} has no account in the name service: no quota can be set`);
  const account = byUid ?? (await deps.accounts.byName(name));
  return { uid, name, home: account?.home ?? null };
}

/** One bulk usage read after an admin's change: the warning when usage is above the new hard limit. */
async function overQuota(deps: AppDeps, owner: QuotaOwner, step: DiskStep): Promise<string | null> {
  if (step.diskHardBytes === 0) return null;
  const backend = deps.quotas.find((q) => q.path === step.path);
  const used = (await backend?.usage().catch(() => null))?.get(owner.uid)?.usedBytes ?? null;
  if (used === null || used <= step.diskHardBytes) return null;
  return `${owner.name} is over quota on ${step.path}: uses ${formatSize(used)} of ${formatSize(step.diskHardBytes)}; nothing was deleted, but new writes fail until usage is below the limit`;
}

/** QuotaUnsupported (with the fix) unless every quota path enforces now. */
export async function requireEnforcedQuotas(deps: AppDeps): Promise<void> {
  for (const q of deps.quotas) {
    const s = await q.status();
    if (s.state !== 'enforced') throw new DiycloudError('QuotaUnsupported', `${s.path}: disk quotas are ${s.state === 'off' ? 'off' : 'accounted but not enforced'}${s.reason ? ` (${s.reason})` : ''}${s.fix ? `; to turn them on: ${s.fix}` : ''}`);
  }
}
