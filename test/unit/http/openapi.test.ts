import { describe, expect, it } from 'vitest';
import { createWebApp } from '../../../src/adapters/http/app';
import { OWN_ROUTES, ROUTES, honoPath } from '../../../src/adapters/http/routes';
import type { Web1Port } from '../../../src/adapters/dbus/web-client';

const never = async (): Promise<never> => {
  throw new Error('not called');
};
const web: Web1Port = { login: never, logout: never, session: never, call: never };
const { app } = createWebApp({ web, config: { publicOrigin: null, bodyLimitBytes: 1024, liveIntervalSec: 5, staticDir: '/nonexistent', trustProxy: false }, version: '9.9.9' });

async function doc(): Promise<{ openapi: string; info: { version: string }; paths: Record<string, Record<string, { responses: Record<string, unknown>; operationId: string; parameters: { name: string; in: string }[] }>> }> {
  const res = await app.request('/api/v1/openapi.json');
  expect(res.status).toBe(200);
  return res.json();
}

/** The app's own API routes (method, Hono path), from Hono's route list. */
function appRoutes(): Set<string> {
  return new Set(
    app.routes.filter((r) => r.path.startsWith('/api/v1/') && !r.path.includes('*') && r.method !== 'ALL').map((r) => `${r.method} ${r.path}`),
  );
}

describe('OpenAPI document', () => {
  it('is OpenAPI 3.1 with info, paths and unique operation ids', async () => {
    const d = await doc();
    expect(d.openapi).toBe('3.1.0');
    expect(d.info.version).toBe('9.9.9');
    const ids = Object.values(d.paths).flatMap((ops) => Object.values(ops).map((o) => o.operationId));
    expect(new Set(ids).size).toBe(ids.length);
    for (const [path, ops] of Object.entries(d.paths)) {
      expect(path).toMatch(/^\/api\/v1\//);
      for (const [m, op] of Object.entries(ops)) {
        expect(['get', 'put', 'post', 'delete', 'patch']).toContain(m);
        expect(Object.keys(op.responses).length).toBeGreaterThan(0);
        // every {param} of the path is declared as a path parameter
        for (const [, name] of path.matchAll(/\{(\w+)\}/g)) expect(op.parameters.some((p) => p.in === 'path' && p.name === name), `${m} ${path} ${name}`).toBe(true);
      }
    }
  });

  it('lists exactly the routes the app serves', async () => {
    const d = await doc();
    const documented = new Set(Object.entries(d.paths).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${honoPath(p)}`)));
    const served = appRoutes();
    expect([...documented].sort()).toEqual([...served].sort());
    for (const r of [...ROUTES, ...OWN_ROUTES]) expect(documented.has(`${r.method} ${honoPath(r.path)}`), `${r.method} ${r.path}`).toBe(true);
  });

  it('describes request bodies from the zod schemas', async () => {
    const d = (await doc()) as unknown as { paths: Record<string, Record<string, { requestBody?: { content: Record<string, { schema: { properties: Record<string, unknown>; required?: string[] } }> } }>> };
    const login = d.paths['/api/v1/login'].post.requestBody!.content['application/json'].schema;
    expect(Object.keys(login.properties).sort()).toEqual(['password', 'user']);
    expect(login.required?.sort()).toEqual(['password', 'user']);
    const limits = d.paths['/api/v1/users/{name}/limits'].put.requestBody!.content['application/json'].schema;
    expect(Object.keys(limits.properties).sort()).toEqual(['cpu', 'disk', 'gpu', 'memory', 'tasks']);
  });
});
