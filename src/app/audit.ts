// Writes the audit trail: one database row and one journal line per administrative action.

import type { AppDeps } from './deps';

/** Who asked, as the bus daemon reported it. */
export interface Actor {
  readonly uid: number;
  readonly pid: number | null;
}

/** Runs `fn` and audits its outcome (ok or error) under `action` on `target`; rethrows errors. */
export async function audited<T>(deps: AppDeps, actor: Actor, action: string, target: string, fn: () => Promise<T>, detail?: (r: T) => string): Promise<T> {
  const write = (result: 'ok' | 'error', text: string): void => {
    deps.store.audit({ callerUid: actor.uid, callerPid: actor.pid, action, target, result, detail: text }, deps.clock.now().toISOString());
    deps.log.info(`audit: ${action} ${target} by uid ${actor.uid}: ${result}${text ? ` (${text})` : ''}`, { caller_uid: actor.uid, caller_pid: actor.pid ?? undefined, action, target, result });
  };
  try {
    const r = await fn();
    write('ok', detail ? detail(r) : '');
    return r;
  } catch (e) {
    write('error', (e as Error).message);
    throw e;
  }
}
