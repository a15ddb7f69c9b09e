// The HTTP API's route table (docs/http-api.md): each route names its Manager1 member, how the
// validated input becomes that member's in-arguments, and how its out-arguments become the answer.
// The Hono app (app.ts) and the OpenAPI document (openapi.ts) are both built from this table.

import { Variant } from 'dbus-next';
import { z, type ZodTypeAny } from 'zod';

export type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';

export interface RouteInput {
  readonly params: Record<string, string>;
  readonly query: Record<string, unknown>;
  readonly body: Record<string, unknown>;
}

export interface Answer {
  readonly status: 200 | 201 | 204;
  readonly json?: unknown;
}

export interface Route {
  readonly method: Method;
  /** OpenAPI style: /api/v1/users/{name}. */
  readonly path: string;
  readonly summary: string;
  readonly params?: z.AnyZodObject;
  readonly query?: z.AnyZodObject;
  readonly body?: ZodTypeAny;
  /** The Manager1 member run through Web1.Call, and its in-signature. */
  readonly member: string;
  readonly signature: string;
  readonly args: (i: RouteInput) => unknown[];
  readonly answer: (out: unknown[]) => Answer;
}

const name = z.string().regex(/^[a-z_][a-z0-9_-]{0,31}\$?$/, 'expected a user name');
const nameParams = z.object({ name });
const role = z.string().min(1).max(64);
const u32 = z.coerce.number().int().min(0).max(4294967295);
const boolText = z.enum(['true', 'false']).transform((v) => v === 'true');
const limitsBody = z
  .object({
    cpu: z.number().positive().optional(),
    memory: z.string().min(1).max(64).optional(),
    disk: z.string().min(1).max(64).optional(),
    gpu: z.string().min(1).max(64).optional(),
    tasks: z.number().int().min(0).optional(),
  })
  .strict();
const LIMIT_TYPES: Record<string, string> = { cpu: 'd', memory: 's', disk: 's', gpu: 's', tasks: 't' };

/** An a{sv} from the defined keys of `o`, each with its D-Bus type. */
function dict(o: Record<string, unknown>, types: Record<string, string>, rename: Record<string, string> = {}): Record<string, Variant> {
  const out: Record<string, Variant> = {};
  for (const [k, t] of Object.entries(types)) if (o[k] !== undefined) out[rename[k] ?? k] = new Variant(t, t === 't' ? BigInt(o[k] as number) : o[k]);
  return out;
}

const parsed = (out: unknown[]): Answer => ({ status: 200, json: JSON.parse(String(out[0])) });
const created = (out: unknown[]): Answer => ({ status: 201, json: JSON.parse(String(out[0])) });
const none = (): Answer => ({ status: 204 });
const warnings = (out: unknown[]): Answer => ({ status: 200, json: { warnings: (out[0] ?? []) as string[] } });
const p = (i: RouteInput, k: string) => i.params[k];

export const ROUTES: readonly Route[] = [
  { method: 'GET', path: '/api/v1/users', summary: 'A page of users (QueryUsers)', member: 'QueryUsers', signature: 'a{sv}',
    query: z.object({ search: z.string().max(64).optional(), role: role.optional(), enabled: boolText.optional(), hasGpu: boolText.optional(), overQuota: boolText.optional(), sort: z.string().max(32).optional(), order: z.enum(['asc', 'desc']).optional(), offset: u32.optional(), limit: u32.optional() }).strict(),
    args: (i) => [dict(i.query, { search: 's', role: 's', enabled: 'b', hasGpu: 'b', overQuota: 'b', sort: 's', order: 's', offset: 'u', limit: 'u' })], answer: parsed },
  { method: 'POST', path: '/api/v1/users', summary: 'Create a user (CreateUser)', member: 'CreateUser', signature: 'sssa{sv}',
    body: z.object({ user: name, email: z.string().max(254), role, password: z.string().min(1).max(1024).optional(), limits: limitsBody.optional() }).strict(),
    args: (i) => {
      const opts: Record<string, Variant> = dict(i.body, { password: 's' });
      if (i.body.limits) opts.limits = new Variant('a{sv}', dict(i.body.limits as Record<string, unknown>, LIMIT_TYPES));
      return [i.body.user, i.body.email, i.body.role, opts];
    },
    answer: (out) => ({ status: 201, json: { uid: Number(out[0]) } }) },
  { method: 'GET', path: '/api/v1/users/{name}', summary: 'One user (GetUser)', member: 'GetUser', signature: 's', params: nameParams, args: (i) => [p(i, 'name')], answer: parsed },
  { method: 'DELETE', path: '/api/v1/users/{name}', summary: 'Delete a user (DeleteUser)', member: 'DeleteUser', signature: 'sa{sv}', params: nameParams,
    query: z.object({ removeHome: boolText.optional() }).strict(), args: (i) => [p(i, 'name'), dict(i.query, { removeHome: 'b' }, { removeHome: 'remove_home' })], answer: none },
  { method: 'GET', path: '/api/v1/users/{name}/usage', summary: 'Usage history (GetUsageHistory)', member: 'GetUsageHistory', signature: 'ss', params: nameParams,
    query: z.object({ range: z.enum(['hour', 'day', 'week']).default('hour') }).strict(), args: (i) => [p(i, 'name'), i.query.range], answer: parsed },
  { method: 'GET', path: '/api/v1/users/{name}/events', summary: 'Limit events (GetLimitEvents)', member: 'GetLimitEvents', signature: 'a{sv}', params: nameParams,
    query: z.object({ limit: u32.optional() }).strict(), args: (i) => [dict({ user: p(i, 'name'), limit: i.query.limit }, { user: 's', limit: 'u' })], answer: parsed },
  { method: 'GET', path: '/api/v1/users/{name}/sessions', summary: 'Login sessions (ListSessions)', member: 'ListSessions', signature: 's', params: nameParams, args: (i) => [p(i, 'name')], answer: parsed },
  { method: 'PUT', path: '/api/v1/users/{name}/password', summary: 'Set the password (SetPassword)', member: 'SetPassword', signature: 'sss', params: nameParams,
    body: z.object({ password: z.string().min(1).max(1024), oldPassword: z.string().max(1024).optional() }).strict(), args: (i) => [p(i, 'name'), i.body.password, i.body.oldPassword ?? ''], answer: none },
  { method: 'POST', path: '/api/v1/users/{name}/adopt', summary: 'Adopt an existing account (AdoptUser)', member: 'AdoptUser', signature: 'ss', params: nameParams,
    body: z.object({ role }).strict(), args: (i) => [p(i, 'name'), i.body.role], answer: none },
  { method: 'PUT', path: '/api/v1/users/{name}/limits', summary: 'Set limits (SetLimits)', member: 'SetLimits', signature: 'sa{sv}', params: nameParams, body: limitsBody,
    args: (i) => [p(i, 'name'), dict(i.body, LIMIT_TYPES)], answer: warnings },
  { method: 'DELETE', path: '/api/v1/users/{name}/limits', summary: 'Back to the role profile (ResetLimits)', member: 'ResetLimits', signature: 's', params: nameParams, args: (i) => [p(i, 'name')], answer: warnings },
  { method: 'PUT', path: '/api/v1/users/{name}/role', summary: 'Set the role (SetRole)', member: 'SetRole', signature: 'ss', params: nameParams,
    body: z.object({ role }).strict(), args: (i) => [p(i, 'name'), i.body.role], answer: warnings },
  { method: 'PUT', path: '/api/v1/users/{name}/enabled', summary: 'Enable or disable (SetEnabled)', member: 'SetEnabled', signature: 'sba{sv}', params: nameParams,
    body: z.object({ enabled: z.boolean(), terminate: z.boolean().optional() }).strict(), args: (i) => [p(i, 'name'), i.body.enabled, dict(i.body, { terminate: 'b' })], answer: none },
  { method: 'PUT', path: '/api/v1/users/{name}/email', summary: 'Set the email address (SetEmail)', member: 'SetEmail', signature: 'ss', params: nameParams,
    body: z.object({ email: z.string().max(254) }).strict(), args: (i) => [p(i, 'name'), i.body.email], answer: none },
  { method: 'GET', path: '/api/v1/profiles', summary: 'Role profiles (ListProfiles)', member: 'ListProfiles', signature: '', args: () => [], answer: parsed },
  { method: 'PUT', path: '/api/v1/profiles/{role}', summary: "Set a role's profile (SetProfile)", member: 'SetProfile', signature: 'sa{sv}', params: z.object({ role }), body: limitsBody,
    args: (i) => [p(i, 'role'), dict(i.body, LIMIT_TYPES)], answer: warnings },
  { method: 'GET', path: '/api/v1/requests', summary: 'Limit requests (ListRequests)', member: 'ListRequests', signature: 'a{sv}',
    query: z.object({ user: name.optional(), state: z.enum(['pending', 'approved', 'denied', 'all']).optional(), offset: u32.optional(), limit: u32.optional() }).strict(),
    args: (i) => [dict(i.query, { user: 's', state: 's', offset: 'u', limit: 'u' })], answer: parsed },
  { method: 'POST', path: '/api/v1/requests', summary: 'File a limit request (FileRequest)', member: 'FileRequest', signature: 'sss',
    body: z.object({ resource: z.enum(['cpu', 'memory', 'disk', 'gpu', 'tasks']), amount: z.string().min(1).max(64), reason: z.string().min(1).max(500) }).strict(),
    args: (i) => [i.body.resource, i.body.amount, i.body.reason], answer: created },
  { method: 'POST', path: '/api/v1/requests/{id}/approve', summary: 'Approve a request (DecideRequest)', member: 'DecideRequest', signature: 'ubs', params: z.object({ id: u32 }),
    body: z.object({ reason: z.string().max(500).optional() }).strict(), args: (i) => [Number(i.params.id), true, i.body.reason ?? ''], answer: parsed },
  { method: 'POST', path: '/api/v1/requests/{id}/deny', summary: 'Deny a request (DecideRequest)', member: 'DecideRequest', signature: 'ubs', params: z.object({ id: u32 }),
    body: z.object({ reason: z.string().min(1).max(500) }).strict(), args: (i) => [Number(i.params.id), false, i.body.reason], answer: parsed },
  { method: 'GET', path: '/api/v1/audit', summary: 'The audit log (GetAuditLog)', member: 'GetAuditLog', signature: 'a{sv}',
    query: z.object({ user: name.optional(), limit: u32.optional() }).strict(), args: (i) => [dict(i.query, { user: 's', limit: 'u' })], answer: parsed },
  { method: 'GET', path: '/api/v1/host', summary: 'Host capacity and allocation (GetHostSummary)', member: 'GetHostSummary', signature: '', args: () => [], answer: parsed },
];

/** Routes the app handles itself (no single Manager1 member); listed for the OpenAPI document. */
export interface OwnRoute {
  readonly method: Method;
  readonly path: string;
  readonly summary: string;
  readonly body?: ZodTypeAny;
  readonly query?: z.AnyZodObject;
  readonly auth: boolean;
}

export const loginBody = z.object({ user: name, password: z.string().min(1).max(1024) }).strict();
export const liveQuery = z.object({ user: name.optional() }).strict();

export const OWN_ROUTES: readonly OwnRoute[] = [
  { method: 'POST', path: '/api/v1/login', summary: 'Log in (Web1.Login); sets the session cookie', body: loginBody, auth: false },
  { method: 'POST', path: '/api/v1/logout', summary: 'Log out (Web1.Logout); clears the cookie', auth: true },
  { method: 'GET', path: '/api/v1/session', summary: 'The current session (Web1.Session)', auth: true },
  { method: 'GET', path: '/api/v1/live', summary: 'Server-sent "usage" events (GetUsage every LiveIntervalSec)', query: liveQuery, auth: true },
  { method: 'GET', path: '/api/v1/openapi.json', summary: 'This document', auth: false },
];

/** /api/v1/users/{name} -> /api/v1/users/:name (Hono's syntax). */
export function honoPath(path: string): string {
  return path.replace(/\{([A-Za-z]+)\}/g, ':$1');
}
