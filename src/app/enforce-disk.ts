// Use case: hold a user to the disk steps of their plan, one quota path at a time.

import { sameDisk, type DiskStep, type Purpose } from '../core/enforcement-plan';
import { DiycloudError } from '../core/errors';
import type { QuotaOwner } from '../core/ports';
import { formatSize } from '../core/size';
import type { AppDeps } from './deps';

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
