// Who may call what on org.diycloud.Manager1: one row per method, checked against the methods the daemon's
// own Introspect reports, for the callers of the polkit contract. Shared by the integration test (fake polkit)
// and the container e2e test (real polkitd).

import { EXPECTED, type PolkitAction, type RunResult, type Who } from './polkit-contract';

export interface Targets {
  /** a user that root adopted (role "user") before the matrix runs */
  target: string;
}

export interface Row {
  /** what the method needs: root (bus policy and the daemon), a polkit action, or nothing (anyone, for themself) */
  need: 'root' | 'anyone' | PolkitAction;
  /** the busctl arguments after the method name: signature, then values */
  args(t: Targets): string[];
}

/** Every method of org.diycloud.Manager1. A method Introspect reports without a row here fails the test. */
export const ROWS: Record<string, Row> = {
  CheckLogin: { need: 'root', args: (t) => ['sss', t.target, 'login', ''] },
  OpenSession: { need: 'root', args: (t) => ['ssss', t.target, 'login', 'tty63', ''] },
  OpenSessionHere: { need: 'root', args: (t) => ['ssss', t.target, 'login', 'tty63', ''] },
  CloseSession: { need: 'root', args: (t) => ['ssss', t.target, 'login', 'tty63', ''] },
  Reconcile: { need: 'root', args: () => [''] },
  // someone else's record (one's own needs nothing: checked separately)
  GetUser: { need: 'org.diycloud.read-users', args: (t) => ['s', t.target] },
  ListUsers: { need: 'org.diycloud.read-users', args: () => ['a{sv}', '0'] },
  QueryUsers: { need: 'org.diycloud.read-users', args: () => ['a{sv}', '1', 'limit', 'u', '5'] },
  ListProfiles: { need: 'org.diycloud.read-users', args: () => [''] },
  GetAuditLog: { need: 'org.diycloud.read-users', args: () => ['a{sv}', '1', 'limit', 'u', '5'] },
  // someone else's usage, events and sessions (one's own need nothing: checked separately); everyone's events; the host
  GetUsageHistory: { need: 'org.diycloud.read-users', args: (t) => ['ss', t.target, 'hour'] },
  GetUsage: { need: 'org.diycloud.read-users', args: (t) => ['as', '1', t.target] },
  GetLimitEvents: { need: 'org.diycloud.read-users', args: () => ['a{sv}', '1', 'limit', 'u', '5'] },
  ListSessions: { need: 'org.diycloud.read-users', args: (t) => ['s', t.target] },
  GetHostSummary: { need: 'org.diycloud.read-users', args: () => [''] },
  // already adopted: an authorized caller gets UserExists, which is not an authorization failure
  AdoptUser: { need: 'org.diycloud.manage-users', args: (t) => ['ss', t.target, 'user'] },
  SetRole: { need: 'org.diycloud.manage-users', args: (t) => ['ss', t.target, 'user'] },
  // the target exists already: an authorized caller gets UserExists, nothing is created
  CreateUser: { need: 'org.diycloud.manage-users', args: (t) => ['sssa{sv}', t.target, '', 'user', '0'] },
  // a name diycloud does not manage: an authorized caller gets NoSuchUser, nothing is deleted
  DeleteUser: { need: 'org.diycloud.manage-users', args: () => ['sa{sv}', 'dcnotmanaged', '0'] },
  // someone else's password (one's own needs the old password instead: tested separately); the
  // target is not managed, so an authorized caller gets NoSuchUser and nothing changes
  SetPassword: { need: 'org.diycloud.manage-users', args: () => ['sss', 'dcnotmanaged', 'new secret', ''] },
  SetEmail: { need: 'org.diycloud.manage-users', args: (t) => ['ss', t.target, 'target@example.org'] },
  SetEnabled: { need: 'org.diycloud.set-enabled', args: (t) => ['sba{sv}', t.target, 'true', '0'] },
  SetLimits: { need: 'org.diycloud.manage-limits', args: (t) => ['sa{sv}', t.target, '1', 'cpu', 'd', '0.5'] },
  ResetLimits: { need: 'org.diycloud.manage-limits', args: (t) => ['s', t.target] },
  SetProfile: { need: 'org.diycloud.manage-limits', args: () => ['sa{sv}', 'user', '1', 'cpu', 'd', '1'] },
  // the "request more" queue. FileRequest files for the caller only, so anyone may call it; a malformed
  // amount gets InvalidArgument for everyone (nothing is filed)
  FileRequest: { need: 'anyone', args: () => ['sss', 'cpu', 'lots', 'matrix'] },
  // someone else's requests (one's own need nothing)
  ListRequests: { need: 'org.diycloud.read-users', args: (t) => ['a{sv}', '1', 'user', 's', t.target] },
  // an id no request has: an authorized caller gets NoSuchRequest, nothing is decided
  DecideRequest: { need: 'org.diycloud.manage-limits', args: () => ['ubs', '4294967295', 'false', 'matrix'] },
};

/** The methods of one interface in introspection XML, with their input signatures. */
export function introspectedMethods(xml: string, iface = 'org.diycloud.Manager1'): Map<string, string> {
  const body = new RegExp(`<interface name="${iface.replace(/\./g, '\\.')}">([\\s\\S]*?)</interface>`).exec(xml.replace(/<!--[\s\S]*?-->/g, ''))?.[1];
  if (body === undefined) throw new Error(`no interface ${iface} in the introspection data`);
  const out = new Map<string, string>();
  for (const m of body.matchAll(/<method name="([^"]+)"\s*(?:\/>|>([\s\S]*?)<\/method>)/g)) {
    const ins = [...(m[2] ?? '').matchAll(/<arg\b[^>]*>/g)].map((a) => a[0]).filter((a) => !/direction="out"/.test(a));
    out.set(m[1], ins.map((a) => /type="([^"]+)"/.exec(a)![1]).join(''));
  }
  return out;
}

export type Outcome = 'allowed' | 'PermissionDenied' | 'AccessDenied' | 'InteractiveAuthorizationRequired';

/** A polkit action a local rule (e.g. in /etc/polkit-1/rules.d/) grants one caller beyond the shipped policy. */
export interface Grant {
  who: Who;
  action: PolkitAction;
}

/** What the policy (plus any local `grants`) says `who` gets from a row. */
export function expectedOutcome(who: Who, row: Row, grants: readonly Grant[] = []): Outcome {
  if (row.need === 'root') return who === 'root' ? 'allowed' : 'AccessDenied';
  if (who === 'root' || row.need === 'anyone') return 'allowed';
  if (grants.some((g) => g.who === who && g.action === row.need)) return 'allowed';
  const [authorized, challenge] = EXPECTED[who][row.need];
  return authorized ? 'allowed' : challenge ? 'InteractiveAuthorizationRequired' : 'PermissionDenied';
}

/**
 * What a busctl call got. busctl prints messages, not error names: sd-bus prints "Access denied" for
 * org.freedesktop.DBus.Error.AccessDenied, and the daemon's authorization errors have fixed messages.
 * Anything else (success, UserExists, InvalidArgument, ...) is "allowed": it got past authorization.
 */
export function classify(r: RunResult): { outcome: Outcome; action?: string } {
  if (r.code === 0) return { outcome: 'allowed' };
  if (/Call failed: Access denied/.test(r.stderr)) return { outcome: 'AccessDenied' };
  const denied = /not authorized for (org\.diycloud\.[a-z-]+)|may only be called by root|could not identify the caller/.exec(r.stderr);
  if (denied) return { outcome: 'PermissionDenied', action: denied[1] };
  const interactive = /(org\.diycloud\.[a-z-]+) needs authentication/.exec(r.stderr);
  if (interactive) return { outcome: 'InteractiveAuthorizationRequired', action: interactive[1] };
  return { outcome: 'allowed' };
}

/** busctl arguments (after the busctl options) for a row's call; never with interactive authorization. */
export function rowCall(method: string, row: Row, t: Targets): string[] {
  const [sig, ...values] = row.args(t);
  return ['--allow-interactive-authorization=no', 'call', 'org.diycloud.Manager1', '/org/diycloud/Manager1', 'org.diycloud.Manager1', method, ...(sig ? [sig, ...values] : [])];
}

/**
 * Runs the whole matrix: every introspected method, as every caller. Returns the mismatches as lines
 * (empty: all as the policy says), and a line for each method without a row, or row without a method.
 */
export async function runMatrix(xml: string, t: Targets, call: (who: Who, busctlArgs: string[]) => Promise<RunResult>, callers: readonly Who[], grants: readonly Grant[] = []): Promise<{ problems: string[]; seen: string[] }> {
  const methods = introspectedMethods(xml);
  const problems: string[] = [];
  const seen: string[] = [];
  for (const name of methods.keys()) if (!ROWS[name]) problems.push(`${name}: introspected but has no row in ROWS (add one with what it needs)`);
  for (const name of Object.keys(ROWS)) if (!methods.has(name)) problems.push(`${name}: has a row but the daemon does not introspect it`);
  for (const [name, sig] of methods) {
    const row = ROWS[name];
    if (!row) continue;
    if (row.args(t)[0] !== sig) problems.push(`${name}: row signature ${row.args(t)[0]} but introspected ${sig}`);
    for (const who of callers) {
      const r = await call(who, rowCall(name, row, t));
      const got = classify(r);
      const want = expectedOutcome(who, row, grants);
      const wrongAction = got.action !== undefined && row.need !== 'root' && got.action !== row.need;
      seen.push(`${name} as ${who}: ${got.outcome}`);
      if (got.outcome !== want || wrongAction) {
        problems.push(`${name} as ${who}: want ${want}${row.need === 'root' ? '' : ` (${row.need})`}, got ${got.outcome}${got.action ? ` (${got.action})` : ''}: exit ${r.code} ${r.stderr.trim()}`);
      }
    }
  }
  return { problems, seen };
}
