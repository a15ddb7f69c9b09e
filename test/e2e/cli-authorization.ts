// The authorization matrix again, through diycloudctl instead of busctl: every Manager1 method the daemon
// introspects maps to diycloudctl invocations that exercise it without side effects beyond those of the busctl
// rows (test/contract/manager1-authorization.ts), or is marked "busctl only" (no CLI command calls it).
// Each invocation runs as each caller; the exit status must be what the policy says: an authorized caller
// gets the row's exit status (never 4), an unauthorized one 4 (PermissionDenied or the bus policy's
// AccessDenied), with the row's polkit action named on stderr.

import { expectedOutcome, introspectedMethods, ROWS, type Targets } from '../contract/manager1-authorization';
import type { RunResult, Who } from '../contract/polkit-contract';

/** One diycloudctl invocation. */
export interface CliCall {
  /** the arguments after `diycloudctl --no-ask-password` */
  argv(t: Targets): string[];
  /** what stdin gets (else nothing: not a terminal) */
  stdin?: string;
  /** the exit status of an authorized caller: proves the call got past authorization to the method */
  ok: number;
}

export const BUSCTL_ONLY = 'busctl only';

/** The methods without a diycloudctl command: the login path, called by the PAM gate as root. */
export const EXPECTED_BUSCTL_ONLY = ['CheckLogin', 'OpenSession', 'OpenSessionHere', 'CloseSession'];

/** Every method of org.diycloud.Manager1: the invocations that call it, or "busctl only". */
export const CLI_ROWS: Record<string, readonly CliCall[] | typeof BUSCTL_ONLY> = {
  CheckLogin: BUSCTL_ONLY,
  OpenSession: BUSCTL_ONLY,
  OpenSessionHere: BUSCTL_ONLY,
  CloseSession: BUSCTL_ONLY,
  Reconcile: [{ argv: () => ['reconcile'], ok: 0 }],
  // someone else's record (one's own needs nothing)
  GetUser: [
    { argv: (t) => ['user', 'show', t.target], ok: 0 },
    { argv: (t) => ['limits', 'show', t.target], ok: 0 },
  ],
  // status: Properties.GetAll (open to everyone), then ListUsers; user list: QueryUsers
  ListUsers: [{ argv: () => ['status'], ok: 0 }],
  QueryUsers: [{ argv: () => ['user', 'list'], ok: 0 }],
  ListProfiles: [{ argv: () => ['profile', 'list'], ok: 0 }],
  GetAuditLog: [{ argv: () => ['audit', '--limit', '5'], ok: 0 }],
  // someone else's usage, events and sessions; everyone's events; the host view
  GetUsageHistory: [{ argv: (t) => ['usage', t.target, '--range', 'day'], ok: 0 }],
  GetUsage: [{ argv: (t) => ['usage', t.target, '--now'], ok: 0 }],
  GetLimitEvents: [{ argv: () => ['events', '--limit', '5'], ok: 0 }],
  ListSessions: [{ argv: (t) => ['user', 'sessions', t.target], ok: 0 }],
  GetHostSummary: [{ argv: () => ['host'], ok: 0 }],
  // already adopted: UserExists (6)
  AdoptUser: [{ argv: (t) => ['user', 'adopt', t.target], ok: 6 }],
  SetRole: [{ argv: (t) => ['user', 'role', t.target, 'user'], ok: 0 }],
  // the target exists: UserExists (6), nothing is created; no terminal and no --password-stdin: no prompt
  CreateUser: [{ argv: (t) => ['user', 'add', t.target], ok: 6 }],
  // not managed: NoSuchUser (3), nothing is deleted or changed
  DeleteUser: [{ argv: () => ['user', 'del', 'dcnotmanaged'], ok: 3 }],
  SetPassword: [{ argv: () => ['user', 'passwd', 'dcnotmanaged', '--password-stdin'], stdin: 'new secret\n', ok: 3 }],
  SetEmail: [{ argv: (t) => ['user', 'email', t.target, 'target@example.org'], ok: 0 }],
  SetEnabled: [{ argv: (t) => ['user', 'enable', t.target], ok: 0 }],
  SetLimits: [{ argv: (t) => ['limits', 'set', t.target, '--cpu', '0.5'], ok: 0 }],
  ResetLimits: [{ argv: (t) => ['limits', 'reset', t.target], ok: 0 }],
  SetProfile: [{ argv: () => ['profile', 'set', 'user', '--cpu', '1'], ok: 0 }],
  // anyone may file (for themself); a malformed amount is InvalidArgument (2) for everyone, nothing is filed
  FileRequest: [{ argv: () => ['request', 'file', 'cpu', 'lots', '--reason', 'matrix'], ok: 2 }],
  // someone else's requests (one's own need nothing)
  ListRequests: [{ argv: (t) => ['request', 'list', '--user', t.target], ok: 0 }],
  // an id no request has: NoSuchRequest (15), nothing is decided
  DecideRequest: [{ argv: () => ['request', 'deny', '4294967295', '--reason', 'matrix'], ok: 15 }],
};

/** The exit status the policy gives `who` for a method, with the call's exit status when authorized. */
export function expectedExit(who: Who, method: string, call: CliCall): number {
  const outcome = expectedOutcome(who, ROWS[method]);
  if (outcome === 'allowed') return call.ok;
  return outcome === 'InteractiveAuthorizationRequired' ? 5 : 4;
}

/**
 * Runs every invocation of every introspected method as every caller. `run(who, argv, stdin)` runs
 * `diycloudctl --no-ask-password ARGV` as that caller. Returns mismatches (empty: as the policy says), and
 * a line per invocation and caller.
 */
export async function runCliMatrix(xml: string, t: Targets, run: (who: Who, argv: string[], stdin?: string) => Promise<RunResult>, callers: readonly Who[]): Promise<{ problems: string[]; seen: string[] }> {
  const methods = [...introspectedMethods(xml).keys()];
  const problems: string[] = [];
  const seen: string[] = [];
  for (const name of methods) if (!CLI_ROWS[name]) problems.push(`${name}: introspected but has no row in CLI_ROWS (a diycloudctl invocation, or "${BUSCTL_ONLY}")`);
  for (const name of Object.keys(CLI_ROWS)) if (!methods.includes(name)) problems.push(`${name}: has a CLI row but the daemon does not introspect it`);
  const busctlOnly = Object.keys(CLI_ROWS).filter((m) => CLI_ROWS[m] === BUSCTL_ONLY).sort();
  if (busctlOnly.join() !== [...EXPECTED_BUSCTL_ONLY].sort().join()) problems.push(`"${BUSCTL_ONLY}" methods are ${busctlOnly.join(', ')}, not ${EXPECTED_BUSCTL_ONLY.join(', ')}`);
  for (const name of methods) {
    const calls = CLI_ROWS[name];
    if (!calls || calls === BUSCTL_ONLY) continue;
    if (!ROWS[name]) {
      problems.push(`${name}: no busctl row in ROWS says what it needs`);
      continue;
    }
    const need = ROWS[name].need;
    for (const call of calls) {
      const argv = call.argv(t);
      for (const who of callers) {
        const r = await run(who, argv, call.stdin);
        const want = expectedExit(who, name, call);
        const line = `${name} via diycloudctl ${argv.join(' ')} as ${who}: exit ${r.code}`;
        seen.push(line);
        const denied = want === 4 || want === 5;
        // a refusal must be this method's: the daemon names the polkit action, the bus policy says so
        const why = need === 'root' ? /access denied by the bus policy|may only be called by root/ : new RegExp(`not authorized for ${need.replace(/\./g, '\\.')}|${need.replace(/\./g, '\\.')} needs authentication`);
        if (r.code !== want) problems.push(`${line}, want ${want}${denied ? ` (${need})` : ''}: ${r.stderr.trim()}`);
        else if (denied && !why.test(r.stderr)) problems.push(`${line} as wanted, but stderr does not name ${need === 'root' ? 'the bus policy or root' : need}: ${r.stderr.trim()}`);
      }
    }
  }
  return { problems, seen };
}
