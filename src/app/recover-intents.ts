// Crash recovery: finish or undo every account change an intent still describes (at start, and on failure).

import { NO_CGROUP_LIMITS } from '../core/enforcement-plan';
import type { Intent, QuotaOwner } from '../core/ports';
import type { AppDeps } from './deps';

/**
 * - create: the caller was never told it succeeded, so it is undone: the account is deleted if
 *   NSS has it under the intent's name *and* UID (never someone else's), and the intent dropped.
 *   The UID stays allocated, so it is never reused.
 * - delete: the caller asked for it, so it is finished: quotas removed (the btrfs qgroup too),
 *   userdel if the account is still there, limits lifted, rows removed.
 * Either way the intent goes in the same transaction as the rows.
 */
export async function recoverIntent(deps: AppDeps, i: Intent): Promise<void> {
  deps.accounts.forget(i.username);
  const account = await deps.accounts.byName(i.username);
  const ours = account !== null && account.uid === i.uid;
  if (i.op === 'create') {
    if (ours && !deps.store.userByName(i.username)) await deps.accountAdmin.deleteAccount(i.username, true);
    deps.admin.endIntent(i.id);
    return;
  }
  // Quotas first, while the home (a btrfs subvolume) still exists to name its qgroup; a second
  // pass after userdel removes a qgroup whose subvolume userdel deleted.
  // A path whose quotas are off holds no limit to remove (and may lack the tools).
  const owner: QuotaOwner = { uid: i.uid, name: i.username, home: ours ? account.home ?? null : null };
  const held = [];
  for (const q of deps.quotas) if ((await q.status()).state !== 'off') held.push(q);
  for (const q of held) await q.remove(owner);
  if (ours) await deps.accountAdmin.deleteAccount(i.username, i.detail.removeHome === true);
  if (ours) for (const q of held) await q.remove(owner);
  if ((await deps.cgroups.observe(i.uid)) !== null) await deps.cgroups.apply(i.uid, NO_CGROUP_LIMITS);
  await deps.cgroups.release(i.uid).catch(() => false);
  deps.store.forgetApplied(i.uid);
  deps.admin.transaction(() => {
    deps.admin.deleteUser(i.uid);
    deps.admin.endIntent(i.id);
  });
  deps.accounts.forget(i.username);
}

/** At start, before serving: repairs what a crash left half done. */
export async function recoverIntents(deps: AppDeps): Promise<number> {
  const pending = deps.admin.intents();
  for (const i of pending) {
    deps.log.warn(`repairing an interrupted ${i.op} of ${i.username} (uid ${i.uid})`, { uid: i.uid });
    await recoverIntent(deps, i);
  }
  return pending.length;
}
