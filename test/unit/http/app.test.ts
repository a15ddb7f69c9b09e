import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { request as httpRequest, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAdaptorServer } from '@hono/node-server';
import { Variant } from 'dbus-next';
import { DiycloudError } from '../../../src/core/errors';
import { createWebApp } from '../../../src/adapters/http/app';
import type { LoginReply, SessionReply, Web1Port } from '../../../src/adapters/dbus/web-client';

const TOKEN = 'A'.repeat(43);
const CSRF = 'csrf-' + 'b'.repeat(20);
const ORIGIN = 'https://cloud.test';

/** A stub of Web1: one user alice with password "pw"; records Call()s. */
function stubWeb() {
  const calls: { member: string; signature: string; body: unknown[] }[] = [];
  const live = new Set<string>();
  let failWith: Error | undefined;
  const session = (): SessionReply => ({ csrfToken: CSRF, user: 'alice', uid: 1001, role: 'user', idleExpiresAt: '2030-01-01T00:30:00Z', absoluteExpiresAt: new Date(Date.now() + 3600_000).toISOString(), can: { readUsers: false, manageLimits: false, manageUsers: false, setEnabled: false } });
  const port: Web1Port = {
    async login(user, password) {
      if (user !== 'alice' || password !== 'pw') throw new DiycloudError('AuthenticationFailed', 'wrong user name or password');
      live.add(TOKEN);
      const { can: _c, ...s } = session();
      return { token: TOKEN, ...s } as LoginReply;
    },
    async logout(token) {
      live.delete(token);
    },
    async session(token) {
      if (!live.has(token)) throw new DiycloudError('SessionExpired', 'session expired');
      return session();
    },
    async call(token, member, signature, body) {
      if (!live.has(token)) throw new DiycloudError('SessionExpired', 'session expired');
      calls.push({ member, signature, body });
      if (failWith) throw failWith;
      if (member === 'SetLimits') return [['memory above the machine']];
      if (member === 'GetUsage') return [JSON.stringify({ sampledAt: 'T', users: { alice: { cpuPercent: 5, memoryBytes: 1, diskBytes: null, tasks: 2, live: true } } })];
      return [JSON.stringify({ member })];
    },
  };
  return { port, calls, live, setFail: (e: Error | undefined) => (failWith = e) };
}

const dir = mkdtempSync(join(tmpdir(), 'web-static-'));
mkdirSync(join(dir, 'assets'));
writeFileSync(join(dir, 'index.html'), '<!doctype html><title>portal</title>');
writeFileSync(join(dir, 'assets', 'app-1234.js'), 'console.log(1)');
writeFileSync(join(dir, '.secret'), 'no');
const config = { publicOrigin: ORIGIN, bodyLimitBytes: 1024, liveIntervalSec: 1, staticDir: dir, trustProxy: true };

function make() {
  const s = stubWeb();
  const { app, live } = createWebApp({ web: s.port, config, version: '0.0.0-test' });
  return { ...s, app, hub: live };
}

const changing = (extra: Record<string, string> = {}) => ({ Origin: ORIGIN, 'Content-Type': 'application/json', Cookie: `__Host-diycloud-session=${TOKEN}`, 'X-CSRF-Token': CSRF, ...extra });

describe('diycloud-web session, CSRF and origin', () => {
  it('login sets the cookie with every attribute and returns the session without the token', async () => {
    const { app } = make();
    const res = await app.request('/api/v1/login', { method: 'POST', headers: { Origin: ORIGIN, 'Content-Type': 'application/json', 'X-Real-IP': '192.0.2.7' }, body: JSON.stringify({ user: 'alice', password: 'pw' }) });
    expect(res.status).toBe(200);
    const cookie = res.headers.get('set-cookie') ?? '';
    expect(cookie).toMatch(new RegExp(`^__Host-diycloud-session=${TOKEN};`));
    for (const a of ['HttpOnly', 'Secure', 'SameSite=Strict', 'Path=/']) expect(cookie).toContain(a);
    expect(cookie).toMatch(/Max-Age=\d+/);
    const body = await res.json();
    expect(body).toMatchObject({ user: 'alice', uid: 1001, csrfToken: CSRF, can: { readUsers: false } });
    expect(JSON.stringify(body)).not.toContain(TOKEN);
  });

  it('a wrong password is 401 AuthenticationFailed, a foreign Origin on login is 403', async () => {
    const { app } = make();
    const bad = await app.request('/api/v1/login', { method: 'POST', headers: { Origin: ORIGIN, 'Content-Type': 'application/json' }, body: JSON.stringify({ user: 'alice', password: 'x' }) });
    expect(bad.status).toBe(401);
    expect((await bad.json()).error.code).toBe('AuthenticationFailed');
    const foreign = await app.request('/api/v1/login', { method: 'POST', headers: { Origin: 'https://evil.test', 'Content-Type': 'application/json' }, body: JSON.stringify({ user: 'alice', password: 'pw' }) });
    expect(foreign.status).toBe(403);
  });

  it('logout clears the cookie and the token no longer works', async () => {
    const { app, live } = make();
    live.add(TOKEN);
    const res = await app.request('/api/v1/logout', { method: 'POST', headers: changing() });
    expect(res.status).toBe(204);
    expect(res.headers.get('set-cookie')).toMatch(/^__Host-diycloud-session=;.*Max-Age=0/);
    const again = await app.request('/api/v1/session', { headers: { Cookie: `__Host-diycloud-session=${TOKEN}` } });
    expect(again.status).toBe(401);
    expect((await again.json()).error.code).toBe('SessionExpired');
  });

  it('a changing request without or with a wrong CSRF token is 403; with it, it reaches the daemon', async () => {
    const { app, live, calls } = make();
    live.add(TOKEN);
    const body = JSON.stringify({ memory: '8G', cpu: 2 });
    const none = await app.request('/api/v1/users/alice/limits', { method: 'PUT', headers: { ...changing(), 'X-CSRF-Token': '' }, body });
    expect(none.status).toBe(403);
    const wrong = await app.request('/api/v1/users/alice/limits', { method: 'PUT', headers: changing({ 'X-CSRF-Token': CSRF.replace('b', 'c') }), body });
    expect(wrong.status).toBe(403);
    expect(calls).toHaveLength(0);
    const ok = await app.request('/api/v1/users/alice/limits', { method: 'PUT', headers: changing(), body });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ warnings: ['memory above the machine'] });
    expect(calls[0].member).toBe('SetLimits');
    expect(calls[0].signature).toBe('sa{sv}');
    const [user, limits] = calls[0].body as [string, Record<string, Variant>];
    expect(user).toBe('alice');
    expect(limits.memory).toEqual(new Variant('s', '8G'));
    expect(limits.cpu).toEqual(new Variant('d', 2));
  });

  it('a foreign or missing Origin and a cross-site Sec-Fetch-Site are 403', async () => {
    const { app, live } = make();
    live.add(TOKEN);
    for (const h of [{ Origin: 'https://evil.test' }, { Origin: '' }, { 'Sec-Fetch-Site': 'cross-site' }]) {
      const headers: Record<string, string> = changing(h);
      if (headers.Origin === '') delete headers.Origin;
      const res = await app.request('/api/v1/users/alice/email', { method: 'PUT', headers, body: JSON.stringify({ email: 'a@b.c' }) });
      expect(res.status, JSON.stringify(h)).toBe(403);
      expect((await res.json()).error.code).toBe('PermissionDenied');
    }
  });

  it('without PublicOrigin the expected origin is https:// and the Host', async () => {
    const s = stubWeb();
    s.live.add(TOKEN);
    const { app } = createWebApp({ web: s.port, config: { ...config, publicOrigin: null }, version: 't' });
    const ok = await app.request('http://portal.lan/api/v1/users/alice/email', { method: 'PUT', headers: changing({ Origin: 'https://portal.lan', Host: 'portal.lan' }), body: JSON.stringify({ email: 'a@b.c' }) });
    expect(ok.status).toBe(204);
    const bad = await app.request('http://portal.lan/api/v1/users/alice/email', { method: 'PUT', headers: changing({ Origin: 'http://portal.lan', Host: 'portal.lan' }), body: JSON.stringify({ email: 'a@b.c' }) });
    expect(bad.status).toBe(403);
  });

  it('an oversized body is 413', async () => {
    const { app, live } = make();
    live.add(TOKEN);
    const res = await app.request('/api/v1/requests', { method: 'POST', headers: changing({ 'Content-Length': '2000' }), body: JSON.stringify({ resource: 'cpu', amount: '4', reason: 'x'.repeat(1500) }) });
    expect(res.status).toBe(413);
  });
});

describe('diycloud-web errors, routes and headers', () => {
  it('a daemon error maps to its status with {error:{code,message}} and no stack; anything else is 500 "internal error"', async () => {
    const { app, live, setFail } = make();
    live.add(TOKEN);
    const get = () => app.request('/api/v1/users/bob', { headers: { Cookie: `__Host-diycloud-session=${TOKEN}` } });
    setFail(new DiycloudError('PermissionDenied', 'not allowed to read bob'));
    const denied = await get();
    expect(denied.status).toBe(403);
    expect(await denied.json()).toEqual({ error: { code: 'PermissionDenied', message: 'not allowed to read bob' } });
    setFail(Object.assign(new Error('boom at secret.ts:12'), { code: 'LimitOutOfRange' }));
    expect((await get()).status).toBe(422);
    setFail(new TypeError('cannot read x of undefined'));
    const oops = await get();
    expect(oops.status).toBe(500);
    const text = await oops.text();
    expect(JSON.parse(text)).toEqual({ error: { code: 'Failed', message: 'internal error' } });
    expect(text).not.toMatch(/at |undefined/);
  });

  it('no cookie is 401; bad input is 400 naming the field; an unknown API route is 404 JSON', async () => {
    const { app, live } = make();
    expect((await app.request('/api/v1/users/alice')).status).toBe(401);
    live.add(TOKEN);
    const bad = await app.request('/api/v1/users/alice/usage?range=year', { headers: { Cookie: `__Host-diycloud-session=${TOKEN}` } });
    expect(bad.status).toBe(400);
    expect((await bad.json()).error.message).toContain('range');
    const nf = await app.request('/api/v1/nope');
    expect(nf.status).toBe(404);
    expect((await nf.json()).error.code).toBe('NotFound');
  });

  it('sets the security headers and CSP on every response', async () => {
    const { app } = make();
    for (const path of ['/api/v1/openapi.json', '/api/v1/nope', '/', '/assets/app-1234.js']) {
      const res = await app.request(path);
      expect(res.headers.get('content-security-policy'), path).toBe("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'");
      expect(res.headers.get('x-frame-options')).toBe('DENY');
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    }
  });

  it('serves the front end: index for SPA paths, long cache for assets, 404 for dotfiles and missing assets', async () => {
    const { app } = make();
    const spa = await app.request('/users/alice');
    expect(spa.status).toBe(200);
    expect(await spa.text()).toContain('portal');
    const asset = await app.request('/assets/app-1234.js');
    expect(asset.headers.get('cache-control')).toContain('immutable');
    expect(asset.headers.get('content-type')).toContain('javascript');
    expect((await app.request('/.secret')).status).toBe(404);
    expect((await app.request('/assets/missing-1.js')).status).toBe(404);
  });

  it('the live stream sends usage events and stops polling when the client leaves', async () => {
    const { app, live, hub } = make();
    live.add(TOKEN);
    const cross = await app.request('/api/v1/live', { headers: { Cookie: `__Host-diycloud-session=${TOKEN}`, 'Sec-Fetch-Site': 'cross-site' } });
    expect(cross.status).toBe(403);
    const ctrl = new AbortController();
    const res = await app.request('/api/v1/live?user=alice', { headers: { Cookie: `__Host-diycloud-session=${TOKEN}` }, signal: ctrl.signal });
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const reader = res.body!.getReader();
    const { value } = await reader.read();
    const text = new TextDecoder().decode(value);
    expect(text).toContain('event: usage');
    expect(text).toContain('"cpuPercent":5');
    expect(hub.size).toBe(1);
    await reader.cancel();
    ctrl.abort();
    await new Promise((r) => setTimeout(r, 50));
    expect(hub.size).toBe(0);
  });
});

describe('diycloud-web over a real unix socket', () => {
  let server: Server;
  const sock = join(dir, 'web.sock');
  beforeAll(async () => {
    const { app } = make();
    server = createAdaptorServer({ fetch: app.fetch }) as Server;
    await new Promise<void>((r) => server.listen(sock, () => r()));
  });
  afterAll(() => server.close());
  const get = (path: string) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = httpRequest({ socketPath: sock, path, headers: { Host: 'cloud.test' } }, (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('error', reject);
      req.end();
    });

  it('refuses path traversal, encoded or not', async () => {
    for (const p of ['/..%2f..%2fetc/passwd', '/assets/../../x', '/assets/..%2f..%2fpackage.json', '/%2e%2e/%2e%2e/etc/passwd', '/.secret']) {
      const r = await get(p);
      expect(r.status, p).toBe(404);
      expect(r.body).not.toContain('root:');
    }
    expect((await get('/')).status).toBe(200);
  });
});
