// Use cases of the login path: the account phase, session open and session close.

import { DiycloudError } from '../core/errors';
import { renderLoginLine, type LoginDisk } from '../core/login-line';
import { decideLogin, isManagedUid, type LoginDecision } from '../core/login-policy';
import { decidePlacement, HOOK_COMM, placementProblem, type PlacementTarget } from '../core/placement';
import type { SessionEvent } from '../core/ports';
import { validateUsername } from '../core/username';
import type { AppDeps } from './deps';
import { enforceAllocation, type EnforceResult } from './enforce-allocation';
import { resolveUser } from './resolve-user';
import { sessionField } from './session-field';

/** How long after CloseSession an empty-again cgroup is released (the PAM application exits right after the hook). */
export const RELEASE_RETRY_MS = 2_000;

/** The account phase: never touches NSS, so it stays fast and works when a directory is down. */
export function checkLogin(deps: AppDeps, args: { user: unknown; service: unknown; rhost: unknown }): LoginDecision {
  const name = validateUsername(args.user);
  sessionField('service', args.service);
  sessionField('rhost', args.rhost);
  return decideLogin({ record: deps.store.userByName(name), range: deps.config });
}

export interface SessionArgs {
  user: unknown;
  service: unknown;
  tty: unknown;
  rhost: unknown;
}

/** What OpenSession did, and the line the hook shows an interactive login (core/login-line.ts). */
export interface SessionOpened extends EnforceResult {
  readonly message: string;
}

/**
 * The session phase, before the user's program starts: the PAM application that ran the hook is
 * moved into user-UID.slice when it is outside (su or sudo in another user's session, cron), then
 * the slice gets the allocation, then the session is recorded and last_login updated. Users
 * outside the managed range are left alone. `callerPid` is the bus caller's PID; `target` says
 * whether the login process is its parent (OpenSession from pam_exec's hook) or the caller itself
 * (OpenSessionHere from pam_diycloud.so).
 */
export async function openSession(deps: AppDeps, args: SessionArgs, callerPid: number | null, target: PlacementTarget = 'hook-parent'): Promise<SessionOpened | null> {
  const ev = await sessionEvent(deps, args);
  if (!isManagedUid(ev.uid, deps.config)) return null;
  await placeLoginProcess(deps, ev.uid, callerPid, target);
  const result = await enforceAllocation(deps, ev.uid, { purpose: 'login' });
  // Best effort: the slice carries the limits; a record that cannot be written (the database held
  // locked by another program) must not refuse or delay the login.
  try {
    deps.store.openSession(ev, deps.clock.now().toISOString());
  } catch (e) {
    deps.log.warn(`session of ${ev.username} not recorded: ${(e as Error).message}, ignoring`, { uid: ev.uid });
  }
  return { ...result, message: loginLine(deps, result) };
}

/**
 * The login line from what the session open already has: the allocation and the cgroup observed by
 * enforceAllocation, and disk usage only where the quota cache holds it (a usage read is one
 * repquota or qgroup listing: far too slow for a login, so a stale cache means "limit only").
 * Never fails the login: a problem gives an empty line.
 */
function loginLine(deps: AppDeps, r: EnforceResult): string {
  try {
    const a = r.allocation;
    const disk: LoginDisk[] = r.disk.flatMap((o) => {
      const q = deps.quotas.find((b) => b.path === o.path);
      if (!q || o.result === 'skipped') return []; // quotas off there: nothing holds the user to it
      const usage = q.cachedUsage?.() ?? null;
      return [{ path: o.path, limitBytes: a.diskQuotaBytes, usedBytes: usage ? usage.get(r.uid)?.usedBytes ?? 0 : null }];
    });
    return renderLoginLine({ cpuCores: a.cpuCores, memoryMaxBytes: a.memoryMaxBytes, memoryCurrentBytes: r.state?.memoryCurrentBytes ?? null, gpus: a.gpus, disk });
  } catch (e) {
    deps.log.warn(`uid ${r.uid}: no login line: ${(e as Error).message}, ignoring`, { uid: r.uid });
    return '';
  }
}

/**
 * Moves the login process (the hook's parent, or the caller itself) into the user's cgroup when
 * the rules allow it (core/placement.ts), then checks from /proc that the PID still names that
 * process. A failed move is BackendFailed, so the hook's FailureMode decides; a backend without
 * user cgroups ("none") skips it.
 */
async function placeLoginProcess(deps: AppDeps, uid: number, callerPid: number | null, target: PlacementTarget): Promise<void> {
  const hook = callerPid === null ? null : deps.processes.inspect(callerPid);
  // the parent matters only for pam_exec's hook (decidePlacement refuses any other caller of OpenSession)
  const parent = target === 'hook-parent' && hook?.comm === HOOK_COMM && hook.ppid > 1 ? deps.processes.inspect(hook.ppid) : null;
  const d = decidePlacement({ target, uid, range: deps.config, daemonPid: deps.processes.selfPid, callerPid, hook, parent });
  if (!d.move) {
    deps.log.debug(`uid ${uid}: login process not moved: ${d.reason}`, { uid });
    return;
  }
  if ((await deps.cgroups.placeProcess(uid, d.pid)) === 'unsupported') {
    deps.log.debug(`uid ${uid}: PID ${d.pid} not moved: backend ${deps.cgroups.backend} has no user cgroups`, { uid });
    return;
  }
  const problem = placementProblem(d, deps.processes.inspect(d.pid));
  if (problem) throw new DiycloudError('BackendFailed', `moving PID ${d.pid} into uid ${uid}'s cgroup: ${problem}`);
  deps.log.info(`uid ${uid}: moved login process ${d.pid} into its cgroup (${deps.cgroups.backend})`, { uid, pid: d.pid, comm: d.comm, from: d.from });
}

export async function closeSession(deps: AppDeps, args: SessionArgs): Promise<void> {
  const ev = await sessionEvent(deps, args);
  if (!isManagedUid(ev.uid, deps.config)) return;
  if (!deps.store.closeSession(ev, deps.clock.now().toISOString())) {
    deps.log.debug(`no open session of ${ev.username} on ${ev.service}/${ev.tty} to close, ignoring`, { uid: ev.uid });
  }
  // cgroupfs: the user's cgroup goes once its last process has. When CloseSession runs, the PAM
  // application (su, sshd's session process) and the hook are still in it, so the release is tried
  // again shortly after; Reconcile removes whatever is left. systemd collects its slices itself.
  const uid = ev.uid;
  const release = (): Promise<boolean> => deps.queue.run(uid, () => deps.cgroups.release(uid)).catch((e: unknown) => {
    deps.log.debug(`uid ${uid}: cgroup not released: ${(e as Error).message}`, { uid });
    return false;
  });
  if (!(await release())) deps.scheduler.after(RELEASE_RETRY_MS, () => void release());
}

async function sessionEvent(deps: AppDeps, args: SessionArgs): Promise<SessionEvent> {
  const service = sessionField('service', args.service);
  const tty = sessionField('tty', args.tty);
  const rhost = sessionField('rhost', args.rhost);
  const user = await resolveUser(deps, args.user);
  return { uid: user.uid, username: user.name, service, tty, rhost };
}
