// The front end's pure modules: API error mapping, formatting, limit sources, usage bars, routes and nav.
import { describe, expect, it } from 'vitest';
import { ApiError, createApi, kindOf, qs, toApiError, type FetchLike } from '../../../web/src/lib/api';
import { barStep, cpuBar, formatBytes, formatCores, formatGpu, formatPercent, gpuCount, liveLine, sourceLabel, usageBar } from '../../../web/src/lib/format';
import { historySummary } from '../../../web/src/lib/history';
import { allowed, hrefFor, navFor, parseHash, type Can } from '../../../web/src/lib/nav';
import { requestsOf } from '../../../web/src/lib/requests';
import { usersQuery } from '../../../web/src/lib/users-query';
import { emptyLimits, FormError, limitsBody } from '../../../web/src/lib/limits-form';

const none: Can = { readUsers: false, manageLimits: false, manageUsers: false, setEnabled: false };
const ops: Can = { readUsers: true, manageLimits: true, manageUsers: false, setEnabled: true };

function fakeFetch(status: number, body: string, seen: { url?: string; init?: Parameters<FetchLike>[1] }[] = []): FetchLike {
  return async (url, init) => { seen.push({ url, init }); return { status, ok: status >= 200 && status < 300, text: async () => body }; };
}

describe('api client', () => {
  it('maps statuses to kinds', () => {
    expect(kindOf(401)).toBe('unauthenticated');
    expect(kindOf(403)).toBe('forbidden');
    expect(kindOf(429)).toBe('rateLimited');
    expect(kindOf(422)).toBe('invalid');
    expect(kindOf(502)).toBe('server');
    expect(kindOf(0)).toBe('network');
  });
  it('keeps the server message and code; 403 says not allowed; 429 keeps the retry text', () => {
    const e = toApiError(409, { error: { code: 'UserExists', message: 'user "bob" exists' } });
    expect(e.code).toBe('UserExists');
    expect(e.message).toBe('user "bob" exists');
    expect(toApiError(403, { error: { code: 'PermissionDenied', message: 'not authorized' } }).message).toBe('Not allowed: not authorized');
    expect(toApiError(403, null).message).toBe('Not allowed.');
    expect(toApiError(429, { error: { code: 'RateLimited', message: 'try again in 30 seconds' } }).message).toContain('30 seconds');
    expect(toApiError(500, 'junk').message).toBe('Request failed (HTTP 500).');
    expect(toApiError(500, 'junk').code).toBe('Failed');
  });
  it('sends X-CSRF-Token on changes only, JSON bodies, and calls onUnauthenticated on 401', async () => {
    const seen: { url?: string; init?: Parameters<FetchLike>[1] }[] = [];
    const api = createApi(fakeFetch(200, '{"ok":1}', seen));
    api.setCsrf('tok123');
    expect(await api.get('/session')).toEqual({ ok: 1 });
    await api.send('PUT', '/users/a/role', { role: 'x' });
    expect(seen[0]!.url).toBe('/api/v1/session');
    expect(seen[0]!.init!.headers['X-CSRF-Token']).toBeUndefined();
    expect(seen[1]!.init!.headers['X-CSRF-Token']).toBe('tok123');
    expect(seen[1]!.init!.body).toBe('{"role":"x"}');
    expect(seen[1]!.init!.method).toBe('PUT');
    let unauth = 0;
    const api2 = createApi(fakeFetch(401, '{"error":{"code":"SessionExpired","message":"expired"}}'), () => { unauth++; });
    await expect(api2.get('/users/a')).rejects.toBeInstanceOf(ApiError);
    expect(unauth).toBe(1);
    await expect(api2.send('POST', '/login', {})).rejects.toMatchObject({ kind: 'unauthenticated', message: 'expired' });
    expect(unauth).toBe(1);
  });
  it('a network failure is an ApiError of kind network; 204 is null', async () => {
    const api = createApi(async () => { throw new TypeError('fail'); });
    await expect(api.get('/x')).rejects.toMatchObject({ kind: 'network' });
    expect(await createApi(fakeFetch(204, '')).send('DELETE', '/users/a')).toBeNull();
  });
  it('builds query strings, skipping empties and encoding', () => {
    expect(qs({ a: 'x y', b: undefined, c: '', d: 0, e: false })).toBe('?a=x%20y&d=0&e=false');
    expect(qs({})).toBe('');
  });
});

describe('formatting', () => {
  it('bytes, cores, percent', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(8 * 1024 ** 3)).toBe('8 GiB');
    expect(formatBytes(null)).toBe('–');
    expect(formatCores(1)).toBe('1 core');
    expect(formatCores(2.5)).toBe('2.5 cores');
    expect(formatPercent(0.4567)).toBe('46 %');
    expect(formatPercent(0.05)).toBe('5 %');
    expect(formatPercent(null)).toBe('–');
  });
  it('limit sources', () => {
    expect(sourceLabel('user')).toBe('set for this user');
    expect(sourceLabel('role', 'student')).toBe('from the student profile');
    expect(sourceLabel('default')).toBe('server default');
    expect(sourceLabel('bogus')).toBe('unknown source');
  });
  it('GPU grants', () => {
    expect(gpuCount('none')).toBe(0);
    expect(gpuCount('all')).toBe('all');
    expect(gpuCount('0,2')).toBe(2);
    expect(formatGpu('0,2')).toBe('GPU 0, 2');
    expect(formatGpu('none')).toBe('no GPU');
  });
  it('usage bars', () => {
    expect(usageBar(50, 100)).toEqual({ fraction: 0.5, ratio: 0.5, level: 'ok' });
    expect(usageBar(85, 100).level).toBe('warn');
    expect(usageBar(150, 100)).toEqual({ fraction: 1, ratio: 1.5, level: 'over' });
    expect(usageBar(10, 0).level).toBe('none');
    expect(usageBar(null, 100).fraction).toBe(0);
    expect(cpuBar(150, 2).ratio).toBe(0.75);
    expect(barStep(usageBar(33, 100))).toBe(7);
    expect(barStep(usageBar(500, 100))).toBe(20);
  });
  it('history summary', () => {
    const p = (t: string, c: number, m: number) => ({ t, cpuPercent: c, memoryBytes: m, diskBytes: null, tasks: null });
    expect(historySummary([], 'cpu')).toBe('No samples in this range.');
    expect(historySummary([p('a', 10, 1024), p('b', 30, 3072)], 'cpu')).toBe('2 samples; now 30 %, average 20 %, peak 30 %.');
    expect(historySummary([p('a', 10, 1024), p('b', 30, 3072)], 'memory')).toContain('peak 3 KiB');
  });
});

describe('routes and navigation', () => {
  it('a plain user sees only their own pages', () => {
    expect(navFor(none).map((i) => i.route)).toEqual(['dashboard', 'request', 'password', 'sessions']);
    expect(navFor(null).map((i) => i.route)).toEqual(['dashboard', 'request', 'password', 'sessions']);
  });
  it('readUsers opens the operator pages', () => {
    expect(navFor(ops).map((i) => i.route)).toEqual(['dashboard', 'request', 'password', 'sessions', 'users', 'profiles', 'requests', 'audit', 'host']);
  });
  it('parses hashes and builds hrefs', () => {
    expect(parseHash('')).toEqual({ name: 'dashboard' });
    expect(parseHash('#/')).toEqual({ name: 'dashboard' });
    expect(parseHash('#/users')).toEqual({ name: 'users' });
    expect(parseHash('#/users/al%20ice')).toEqual({ name: 'user', param: 'al ice' });
    expect(parseHash('#/users/%E0%A4')).toEqual({ name: 'notFound' });
    expect(parseHash('#/nope')).toEqual({ name: 'notFound' });
    expect(parseHash('#/login')).toEqual({ name: 'login' });
    expect(hrefFor('user', 'a/b')).toBe('#/users/a%2Fb');
    expect(parseHash(hrefFor('user', 'a/b'))).toEqual({ name: 'user', param: 'a/b' });
    expect(hrefFor('audit')).toBe('#/audit');
  });
  it('allowed: operator pages need readUsers; own user page is allowed', () => {
    expect(allowed('host', none)).toBe(false);
    expect(allowed('host', ops)).toBe(true);
    expect(allowed('dashboard', none)).toBe(true);
    expect(allowed('user', none, 'alice', 'alice')).toBe(true);
    expect(allowed('user', none, 'alice', 'bob')).toBe(false);
    expect(allowed('user', ops, 'alice', 'bob')).toBe(true);
  });
});

describe('queries', () => {
  it('users table query', () => {
    expect(usersQuery({ search: ' al ', role: '', enabled: 'false', overQuota: true, hasGpu: false, sort: 'memoryUsage', order: 'desc', offset: 25 }, 25))
      .toBe('?search=al&enabled=false&overQuota=true&sort=memoryUsage&order=desc&offset=25&limit=25');
  });
  it('requests list shapes', () => {
    const r = { id: 1 };
    expect(requestsOf({ requests: [r] })).toEqual([r]);
    expect(requestsOf([r])).toEqual([r]);
    expect(requestsOf(null)).toEqual([]);
  });
});

describe('the limits form', () => {
  it('sends CPU cores and tasks as numbers, sizes and GPUs as strings, and leaves blank fields out', () => {
    expect(limitsBody({ ...emptyLimits(), cpu: ' 1.5 ', memory: '768M', tasks: '200' })).toEqual({ cpu: 1.5, memory: '768M', tasks: 200 });
    expect(limitsBody({ ...emptyLimits(), gpu: 'all', disk: '10G' })).toEqual({ gpu: 'all', disk: '10G' });
    expect(limitsBody(emptyLimits())).toEqual({});
  });
  it('refuses a CPU or task count that is not a number, with a message for the user', () => {
    for (const cpu of ['two', '1,5', '-1', '2 cores']) expect(() => limitsBody({ ...emptyLimits(), cpu }), cpu).toThrow(FormError);
    expect(() => limitsBody({ ...emptyLimits(), tasks: '1.5' })).toThrow(/whole number/);
  });
});

describe('liveLine', () => {
  it('tells waiting, live, live but not measured, and not logged in apart', () => {
    const u = { cpuPercent: 1, memoryBytes: 1, diskBytes: null, tasks: null };
    expect(liveLine(null)).toBe('Waiting for live usage…');
    expect(liveLine({ ...u, live: true, measured: true })).toBe('Live: updated every few seconds.');
    expect(liveLine({ ...u, live: true })).toBe('Live: updated every few seconds.'); // a daemon without the field
    expect(liveLine({ ...u, cpuPercent: null, memoryBytes: null, live: true, measured: false })).toMatch(/^Logged in, but this host does not measure CPU and memory use/);
    expect(liveLine({ ...u, live: false, measured: false })).toBe('Not logged in: no live usage.');
  });
});
