// The authorization matrix over HTTP (diycloud-web's /api/v1 routes) against the same matrix on the bus: for
// every route whose Manager1 member has a row in ROWS, one concrete request per caller; its answer must be the
// bus's answer for the very same call (built by the route's own args function) and the policy's.
// Used by the container e2e test with the real polkitd (test/e2e/polkit.test.ts).
//
// Classification of an HTTP answer: 2xx = allowed; 403 with code PermissionDenied (or
// InteractiveAuthorizationRequired) naming the row's polkit action = refused by polkit; any other catalogue
// error = got past authorization ("allowed", as classify() treats busctl's errors), and then its message must be
// the bus's message for the same call. A schema refusal (InvalidArgument about path/query/body), a NotFound from
// the router, or a 403 without the action (Origin, CSRF) is a defect of the case or of the service, never a pass.

import { splitSignature } from '../../src/adapters/dbus/signature';
import { OWN_ROUTES, ROUTES, type Route } from '../../src/adapters/http/routes';
import { classify, expectedOutcome, ROWS, type Grant, type Outcome, type Targets } from './manager1-authorization';
import type { RunResult, Who } from './polkit-contract';

export interface HttpCase {
  params?: Record<string, string>;
  query?: Record<string, string>;
  body?: unknown;
}

/** A request as the runner sends it: path with the parameters filled and the query appended. */
export interface HttpRequest {
  method: string;
  url: string;
  body?: unknown;
  /** a server-sent event stream: the runner returns what arrived in a few seconds */
  stream?: boolean;
}

export interface HttpAnswer {
  status: number;
  body: string;
}

export const routeKey = (r: { method: string; path: string }): string => `${r.method} ${r.path}`;

/** No request has this id: an authorized caller gets NoSuchRequest, nothing is decided. */
const NO_REQUEST = '4294967295';

/**
 * One concrete input per route of ROUTES, chosen like the ROWS arguments: nothing an authorized caller does here
 * changes more than the bus matrix changes already (existing names get UserExists, unmanaged ones NoSuchUser).
 */
export const HTTP_CASES: Record<string, (t: Targets) => HttpCase> = {
  'GET /api/v1/users': () => ({ query: { limit: '5' } }),
  'POST /api/v1/users': (t) => ({ body: { user: t.target, email: '', role: 'user' } }),
  'GET /api/v1/users/{name}': (t) => ({ params: { name: t.target } }),
  'DELETE /api/v1/users/{name}': () => ({ params: { name: 'dcnotmanaged' } }),
  'GET /api/v1/users/{name}/usage': (t) => ({ params: { name: t.target }, query: { range: 'hour' } }),
  'GET /api/v1/users/{name}/events': (t) => ({ params: { name: t.target }, query: { limit: '5' } }),
  'GET /api/v1/users/{name}/sessions': (t) => ({ params: { name: t.target } }),
  'PUT /api/v1/users/{name}/password': () => ({ params: { name: 'dcnotmanaged' }, body: { password: 'new secret' } }),
  'POST /api/v1/users/{name}/adopt': (t) => ({ params: { name: t.target }, body: { role: 'user' } }),
  'PUT /api/v1/users/{name}/limits': (t) => ({ params: { name: t.target }, body: { cpu: 0.5 } }),
  'DELETE /api/v1/users/{name}/limits': (t) => ({ params: { name: t.target } }),
  'PUT /api/v1/users/{name}/role': (t) => ({ params: { name: t.target }, body: { role: 'user' } }),
  'PUT /api/v1/users/{name}/enabled': (t) => ({ params: { name: t.target }, body: { enabled: true } }),
  'PUT /api/v1/users/{name}/email': (t) => ({ params: { name: t.target }, body: { email: 'target@example.org' } }),
  'GET /api/v1/profiles': () => ({}),
  'PUT /api/v1/profiles/{role}': () => ({ params: { role: 'user' }, body: { cpu: 1 } }),
  'GET /api/v1/requests': (t) => ({ query: { user: t.target } }),
  // a malformed amount: InvalidArgument from the daemon for everyone (nothing is filed)
  'POST /api/v1/requests': () => ({ body: { resource: 'cpu', amount: 'lots', reason: 'matrix' } }),
  'POST /api/v1/requests/{id}/approve': () => ({ params: { id: NO_REQUEST }, body: { reason: 'matrix' } }),
  'POST /api/v1/requests/{id}/deny': () => ({ params: { id: NO_REQUEST }, body: { reason: 'matrix' } }),
  'GET /api/v1/audit': () => ({ query: { limit: '5' } }),
  'GET /api/v1/host': () => ({}),
};

/** The app's own routes that reach a Manager1 member: the live stream's first event is GetUsage's answer. */
export const STREAM_CASES: Record<string, { member: string; input: (t: Targets) => HttpCase; busArgs: (t: Targets) => string[] }> = {
  'GET /api/v1/live': { member: 'GetUsage', input: (t) => ({ query: { user: t.target } }), busArgs: (t) => ['as', '1', t.target] },
};

/** Routes deliberately outside the matrix, each with why. A route in none of the three tables fails routeCoverage. */
export const NOT_IN_MATRIX: Record<string, string> = {
  'POST /api/v1/login': 'Web1.Login (PAM), no Manager1 member: every session of the matrix is made through it',
  'POST /api/v1/logout': 'Web1.Logout of the caller\'s own session: no Manager1 member, no polkit action',
  'GET /api/v1/session': 'Web1.Session, no Manager1 member; its "can" flags are checked against the policy separately (expectedCan)',
  'GET /api/v1/openapi.json': 'the public API document: no member, no session',
};

/** Problems with the tables: a route in none of them, an entry for no route, a case whose member has no ROWS row. */
export function routeCoverage(): string[] {
  const problems: string[] = [];
  const keys = new Set([...ROUTES, ...OWN_ROUTES].map(routeKey));
  for (const r of ROUTES) {
    const k = routeKey(r);
    if (!HTTP_CASES[k] && !NOT_IN_MATRIX[k]) problems.push(`${k} (${r.member}): no HTTP case and not in NOT_IN_MATRIX (add one or say why not)`);
    if (HTTP_CASES[k] && !ROWS[r.member]) problems.push(`${k}: member ${r.member} has no row in ROWS`);
  }
  for (const r of OWN_ROUTES) {
    const k = routeKey(r);
    if (!STREAM_CASES[k] && !NOT_IN_MATRIX[k]) problems.push(`${k}: an own route neither in STREAM_CASES nor in NOT_IN_MATRIX`);
  }
  for (const k of [...Object.keys(HTTP_CASES), ...Object.keys(STREAM_CASES), ...Object.keys(NOT_IN_MATRIX)]) if (!keys.has(k)) problems.push(`${k}: listed, but no such route`);
  return problems;
}

function fill(path: string, c: HttpCase): string {
  const url = path.replace(/\{([A-Za-z]+)\}/g, (_m, k: string) => encodeURIComponent(c.params?.[k] ?? `{${k}}`));
  const q = new URLSearchParams(c.query ?? {}).toString();
  return q ? `${url}?${q}` : url;
}

function checked(z: Route['params'] | Route['query'] | Route['body'], value: unknown, where: string): Record<string, unknown> {
  if (!z) return {};
  const r = z.safeParse(value);
  if (!r.success) throw new Error(`case invalid for the route's ${where} schema: ${r.error.issues[0].path.join('.')} ${r.error.issues[0].message}`);
  return r.data as Record<string, unknown>;
}

/** busctl tokens of one value of a complete type (as busctl writes them: containers with counts, variants with their type). */
function tokens(type: string, v: unknown): string[] {
  if (type === 'v') {
    const x = v as { signature: string; value: unknown };
    return [x.signature, ...tokens(x.signature, x.value)];
  }
  if (type.startsWith('a{')) {
    const [kt, vt] = splitSignature(type.slice(2, -1));
    const entries = Object.entries(v as Record<string, unknown>);
    return [String(entries.length), ...entries.flatMap(([k, x]) => [...tokens(kt, k), ...tokens(vt, x)])];
  }
  if (type.startsWith('a')) return [String((v as unknown[]).length), ...(v as unknown[]).flatMap((x) => tokens(type.slice(1), x))];
  if (type === 'b') return [v ? 'true' : 'false'];
  if (type.length !== 1) throw new Error(`tokens: type ${type} not handled`);
  return [String(v)];
}

/** The busctl arguments (after the options) of the Manager1 call the route makes for this input: what diycloud-web sends to Web1.Call. */
export function busArgsForRoute(r: Route, c: HttpCase): string[] {
  const input = { params: checked(r.params, c.params ?? {}, 'path') as Record<string, string>, query: checked(r.query, c.query ?? {}, 'query'), body: r.body ? checked(r.body, c.body, 'body') : {} };
  const values = r.args(input);
  const types = splitSignature(r.signature);
  if (types.length !== values.length) throw new Error(`${routeKey(r)}: ${values.length} arguments for signature ${r.signature}`);
  return [r.signature, ...types.flatMap((t, i) => tokens(t, values[i]))];
}

const busCall = (member: string, sigAndValues: string[]): string[] => {
  const [sig, ...values] = sigAndValues;
  return ['--allow-interactive-authorization=no', 'call', 'org.diycloud.Manager1', '/org/diycloud/Manager1', 'org.diycloud.Manager1', member, ...(sig ? [sig, ...values] : [])];
};

export interface HttpClass {
  outcome: Outcome;
  action?: string;
  /** the catalogue code of an error answer */
  code?: string;
  message?: string;
  /** why this answer cannot count as any outcome */
  defect?: string;
}

/** What an HTTP answer says (see the header). A stream's answer is its first event: "usage" or "error" with the error's JSON. */
export function classifyHttp(a: HttpAnswer, stream = false): HttpClass {
  let body = a.body;
  if (stream && a.status === 200) {
    const ev = /event: (\w+)\ndata: (.*)\n/.exec(a.body);
    if (!ev) return { outcome: 'allowed', defect: `no event arrived: ${a.body.slice(0, 200)}` };
    if (ev[1] === 'usage') return { outcome: 'allowed' };
    body = ev[2];
  } else if (a.status >= 200 && a.status < 300) return { outcome: 'allowed' };
  let err: { code?: string; message?: string } | undefined;
  try {
    err = (JSON.parse(body) as { error?: { code?: string; message?: string } }).error;
  } catch {
    /* not JSON: a defect below */
  }
  if (!err?.code) return { outcome: 'allowed', defect: `HTTP ${a.status} without a catalogue error: ${body.slice(0, 200)}` };
  const { code, message = '' } = err;
  const auth = classify({ code: 1, stdout: '', stderr: message });
  if (code === 'PermissionDenied' || code === 'InteractiveAuthorizationRequired') {
    if (a.status !== 403 && !stream) return { outcome: 'allowed', code, message, defect: `${code} with HTTP ${a.status}, not 403` };
    if (auth.outcome !== code || !auth.action) return { outcome: 'allowed', code, message, defect: `${code} without a polkit action (not the daemon's refusal): ${message}` };
    return { outcome: code, action: auth.action, code, message };
  }
  if (code === 'NotFound') return { outcome: 'allowed', code, message, defect: 'the router found no such route' };
  if (code === 'InvalidArgument' && /^(path|query|body)\b/.test(message)) return { outcome: 'allowed', code, message, defect: `diycloud-web refused the case: ${message}` };
  return { outcome: 'allowed', code, message };
}

/** The "can" flags GET /api/v1/session must report for a caller (polkit's answers, with any local grants). */
export function expectedCan(who: Who, grants: readonly Grant[] = []): Record<string, boolean> {
  const a = (need: Grant['action']) => expectedOutcome(who, { need, args: () => [] }, grants) === 'allowed';
  return { readUsers: a('org.diycloud.read-users'), manageLimits: a('org.diycloud.manage-limits'), manageUsers: a('org.diycloud.manage-users'), setEnabled: a('org.diycloud.set-enabled') };
}

export interface HttpMatrixDeps {
  t: Targets;
  callers: readonly Who[];
  /** the Manager1 members the daemon introspects: routes of other members are skipped (and named) */
  introspected: ReadonlySet<string>;
  http: (who: Who, req: HttpRequest) => Promise<HttpAnswer>;
  bus: (who: Who, busctlArgs: string[]) => Promise<RunResult>;
  grants?: readonly Grant[];
}

/**
 * Every covered route as every caller, over HTTP and then the same call on the bus. Returns the mismatches as lines
 * (empty: HTTP, the bus and the policy agree), the lines seen, how many pairs were compared and the skipped routes.
 */
export async function compareHttpMatrix(d: HttpMatrixDeps): Promise<{ problems: string[]; seen: string[]; compared: number; skipped: string[] }> {
  const problems = routeCoverage();
  const seen: string[] = [];
  const skipped: string[] = [];
  let compared = 0;
  const cases: { key: string; member: string; req: HttpRequest; args: string[] }[] = [];
  for (const r of ROUTES) {
    const make = HTTP_CASES[routeKey(r)];
    if (!make) continue;
    try {
      const c = make(d.t);
      cases.push({ key: routeKey(r), member: r.member, req: { method: r.method, url: fill(r.path, c), body: c.body }, args: busArgsForRoute(r, c) });
    } catch (e) {
      problems.push(`${routeKey(r)}: ${(e as Error).message}`);
    }
  }
  for (const [key, s] of Object.entries(STREAM_CASES)) {
    const [method, path] = key.split(' ');
    cases.push({ key, member: s.member, req: { method, url: fill(path, s.input(d.t)), stream: true }, args: s.busArgs(d.t) });
  }
  for (const k of cases) {
    const row = ROWS[k.member];
    if (!row) continue; // reported by routeCoverage
    if (!d.introspected.has(k.member)) {
      skipped.push(`${k.key} (${k.member} is not introspected yet)`);
      continue;
    }
    for (const who of d.callers) {
      const h = classifyHttp(await d.http(who, k.req), k.req.stream);
      const b = await d.bus(who, busCall(k.member, k.args));
      const gb = classify(b);
      const want = expectedOutcome(who, row, d.grants);
      compared++;
      seen.push(`${k.key} as ${who}: ${h.outcome}${h.code ? ` (${h.code})` : ''}`);
      const say = `${k.key} (${k.member}) as ${who}: http ${h.outcome}${h.action ? ` (${h.action})` : ''}${h.code ? ` [${h.code}: ${h.message}]` : ''}, bus ${gb.outcome}${gb.action ? ` (${gb.action})` : ''}, policy ${want}`;
      if (h.defect) problems.push(`${say}: ${h.defect}`);
      else if (h.outcome !== gb.outcome || h.outcome !== want || h.action !== gb.action || (h.action && h.action !== row.need)) problems.push(say);
      else if (h.outcome === 'allowed') {
        // past authorization on both: the same result, down to the daemon's message
        const busMessage = /Call failed: (.*)/.exec(b.stderr)?.[1]?.trim();
        if (b.code === 0 && h.code) problems.push(`${say}: the bus call succeeded, HTTP did not`);
        if (b.code !== 0 && h.message?.trim() !== busMessage) problems.push(`${say}: bus said "${busMessage ?? b.stderr.trim()}"`);
      }
    }
  }
  return { problems, seen, compared, skipped };
}
