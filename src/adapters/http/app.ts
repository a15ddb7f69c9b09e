// The Hono app of diycloud-web: security headers, body limit, Origin and CSRF checks, the route
// table's handlers (each one Web1.Call), login/logout/session, the live stream, static files.

import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { Hono, type Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { streamSSE } from 'hono/streaming';
import type { ZodTypeAny } from 'zod';
import { DiycloudError } from '../../core/errors';
import type { WebConfig } from '../../core/web-config';
import {
  changingRequestOriginOk, clearedCookie, errorAnswer, isChangingMethod, SECURITY_HEADERS, sessionCookie, streamOriginOk, tokenFromCookieHeader, type OriginFacts,
} from '../../core/web-policy';
import type { SessionReply, Web1Port } from '../dbus/web-client';
import { LiveHub } from './live';
import { openApiDocument } from './openapi';
import { honoPath, liveQuery, loginBody, ROUTES, type Route } from './routes';
import { staticFile } from './static';

export type WebAppConfig = Pick<WebConfig, 'publicOrigin' | 'bodyLimitBytes' | 'liveIntervalSec' | 'staticDir' | 'trustProxy'>;

export interface WebAppDeps {
  readonly web: Web1Port;
  readonly config: WebAppConfig;
  readonly version: string;
  readonly now?: () => number;
  /** Where unexpected errors go (never to the client). */
  readonly logError?: (message: string) => void;
}

type Env = { Bindings: { incoming?: IncomingMessage }; Variables: { session: SessionReply } };
type C = Context<Env>;

const NOT_FOUND = { error: { code: 'NotFound', message: 'not found' } };

function fail(status: number, code: 'PermissionDenied' | 'SessionExpired' | 'InvalidArgument', message: string): never {
  throw Object.assign(new DiycloudError(code, message), { httpStatus: status });
}

function validate(z: ZodTypeAny | undefined, value: unknown, where: string): Record<string, unknown> {
  if (!z) return {};
  const r = z.safeParse(value);
  if (r.success) return r.data as Record<string, unknown>;
  const i = r.error.issues[0];
  const field = i.path.length ? i.path.join('.') : where;
  throw new DiycloudError('InvalidArgument', `${where} ${field}: ${i.message}`.replace(`${where} ${where}:`, `${where}:`));
}

async function jsonBody(c: C): Promise<unknown> {
  if (!(c.req.header('content-type') ?? '').toLowerCase().startsWith('application/json')) throw new DiycloudError('InvalidArgument', 'body: expected Content-Type application/json');
  try {
    return await c.req.json();
  } catch {
    throw new DiycloudError('InvalidArgument', 'body: not valid JSON');
  }
}

export interface WebApp {
  readonly app: Hono<Env>;
  readonly live: LiveHub;
}

export function createWebApp(deps: WebAppDeps): WebApp {
  const { web, config } = deps;
  const now = deps.now ?? Date.now;
  const app = new Hono<Env>();
  const live = new LiveHub(web, config.liveIntervalSec * 1000);
  const doc = openApiDocument(deps.version);

  const facts = (c: C): OriginFacts => ({ origin: c.req.header('origin'), secFetchSite: c.req.header('sec-fetch-site'), host: c.req.header('host'), publicOrigin: config.publicOrigin ?? undefined });
  const tokenOf = (c: C): string => tokenFromCookieHeader(c.req.header('cookie')) ?? fail(401, 'SessionExpired', 'not logged in');

  app.onError((err, c) => {
    const a = errorAnswer(err);
    const status = (err as { httpStatus?: number }).httpStatus ?? a.status;
    if (a.body.error.code === 'Failed') deps.logError?.(`${c.req.method} ${c.req.path}: ${(err as Error)?.stack ?? String(err)}`);
    if (a.body.error.code === 'SessionExpired') c.header('Set-Cookie', clearedCookie());
    return c.json(a.body, status as 400);
  });
  // Not a catalogue code: no daemon call was made (docs/http-api.md "Errors").
  app.notFound((c) => c.json(NOT_FOUND, 404));

  app.use('*', async (c, next) => {
    await next();
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) c.res.headers.set(k, v);
    if (c.req.path.startsWith('/api/') && !c.res.headers.has('Cache-Control')) c.res.headers.set('Cache-Control', 'no-store');
  });
  app.use(
    '/api/*',
    bodyLimit({ maxSize: config.bodyLimitBytes, onError: (c) => c.json({ error: { code: 'InvalidArgument', message: `request body over ${config.bodyLimitBytes} bytes` } }, 413) }),
  );
  // Changing requests: same-origin only, and (all but /login) the session's CSRF token in X-CSRF-Token.
  app.use('/api/*', async (c, next) => {
    if (!isChangingMethod(c.req.method)) return next();
    if (!changingRequestOriginOk(facts(c))) fail(403, 'PermissionDenied', 'cross-origin request refused (Origin must be the portal\'s own)');
    if (c.req.path === '/api/v1/login') return next();
    const session = await web.session(tokenOf(c));
    const sent = Buffer.from(c.req.header('x-csrf-token') ?? '');
    const want = Buffer.from(session.csrfToken);
    if (sent.length !== want.length || !timingSafeEqual(sent, want)) fail(403, 'PermissionDenied', 'missing or wrong X-CSRF-Token');
    c.set('session', session);
    return next();
  });

  app.post('/api/v1/login', async (c) => {
    const b = validate(loginBody, await jsonBody(c), 'body');
    const address = config.trustProxy ? (c.req.header('x-real-ip') ?? '').trim() : '';
    const old = tokenFromCookieHeader(c.req.header('cookie'));
    const login = await web.login(String(b.user), String(b.password), { address, userAgent: c.req.header('user-agent') ?? '' });
    if (old && old !== login.token) await web.logout(old).catch(() => undefined);
    c.header('Set-Cookie', sessionCookie(login.token, login.absoluteExpiresAt, now()));
    const { token: _token, ...rest } = login;
    const session = await web.session(login.token).catch(() => ({ ...rest, can: {} }));
    return c.json(session, 200);
  });

  app.post('/api/v1/logout', async (c) => {
    await web.logout(tokenOf(c));
    c.header('Set-Cookie', clearedCookie());
    return c.body(null, 204);
  });

  app.get('/api/v1/session', async (c) => c.json(await web.session(tokenOf(c)), 200));

  app.get('/api/v1/openapi.json', (c) => c.json(doc, 200));

  app.get('/api/v1/live', async (c) => {
    if (!streamOriginOk(facts(c))) fail(403, 'PermissionDenied', 'cross-origin stream refused');
    const token = tokenOf(c);
    const q = validate(liveQuery, c.req.query(), 'query');
    const session = await web.session(token);
    const target = typeof q.user === 'string' ? q.user : session.user;
    return streamSSE(c, async (stream) => {
      let ended: () => void = () => undefined;
      const done = new Promise<void>((r) => (ended = r));
      const leave = live.join(session.user, target, {
        token,
        send: (event, data) => void stream.writeSSE({ event, data }).catch(() => ended()),
        close: () => ended(),
      });
      stream.onAbort(() => ended());
      await done;
      leave();
    });
  });

  for (const r of ROUTES) app.on(r.method, honoPath(r.path), (c) => handle(r, c));

  async function handle(r: Route, c: C): Promise<Response> {
    const token = tokenOf(c);
    const input = {
      params: validate(r.params, c.req.param(), 'path') as Record<string, string>,
      query: validate(r.query, c.req.query(), 'query'),
      body: r.body ? validate(r.body, await jsonBody(c), 'body') : {},
    };
    const out = await web.call(token, r.member, r.signature, r.args(input));
    const a = r.answer(out);
    return a.status === 204 ? c.body(null, 204) : c.json(a.json, a.status);
  }

  app.all('/api/*', (c) => c.json(NOT_FOUND, 404));

  app.get('*', async (c) => {
    const raw = c.env?.incoming?.url ?? new URL(c.req.url).pathname;
    const f = await staticFile(config.staticDir, raw);
    if (!f) return c.json(NOT_FOUND, 404);
    c.header('Content-Type', f.contentType);
    c.header('Cache-Control', f.cacheControl);
    return c.body(f.body as Uint8Array<ArrayBuffer>, 200);
  });

  return { app, live };
}
