// Use case: close session records when logind says a login session ended (no PAM call at logout).

import { isManagedUid } from '../core/login-policy';
import type { AppDeps } from './deps';

/**
 * The shipped PAM line runs the hook at session open only (type=open_session), which halves its
 * cost per login. The matching close comes from logind's SessionRemoved instead, which also
 * catches sessions whose PAM close never ran (a killed sshd, a crash).
 */
export async function watchSessionEnds(deps: AppDeps): Promise<void> {
  await deps.sessions.watchEnded((s) => {
    if (!isManagedUid(s.uid, deps.config)) return;
    try {
      if (s.service === null) {
        deps.store.closeAllSessions(s.uid, deps.clock.now().toISOString());
      } else if (!deps.store.closeEndedSession(s, deps.clock.now().toISOString())) {
        deps.log.debug(`logind session of uid ${s.uid} (${s.service}) ended with no open record, ignoring`, { uid: s.uid });
      }
    } catch (e) {
      deps.log.warn(`could not record the end of a session of uid ${s.uid}: ${(e as Error).message}, ignoring`, { uid: s.uid });
    }
  });
}
