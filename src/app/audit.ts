// Writes the audit trail: one database row and one journal line per administrative action.

import type { Caller } from '../core/ports';
import type { AppDeps } from './deps';

/** Runs `fn` and audits its outcome (ok or error) under `action` on `target`; rethrows errors. */
export async function audited<T>(deps: AppDeps, caller: Caller, action: string, target: string, fn: () => Promise<T>, detail?: (r: T) => string): Promise<T> {
  const write = (result: 'ok' | 'error', detailText: string): void => {
    // A web session's call is the user's own (their uid), marked as having come through diycloud-web.
    const text = caller.kind === 'web' ? (detailText ? `via web: ${detailText}` : 'via web') : detailText;
    deps.store.audit({ callerUid: caller.uid, callerPid: caller.pid, action, target, result, detail: text }, deps.clock.now().toISOString());
    deps.log.info(`audit: ${action} ${target} by uid ${caller.uid}: ${result}${text ? ` (${text})` : ''}`, { caller_uid: caller.uid, caller_pid: caller.pid ?? undefined, action, target, result });
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
