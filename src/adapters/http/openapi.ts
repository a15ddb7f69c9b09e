// /api/v1/openapi.json, generated from the route table (OpenAPI 3.1).

import type { ZodTypeAny } from 'zod';
import { zodToJsonSchema } from 'zod-to-json-schema';
import { ERROR_CATALOGUE } from '../../core/errors';
import { OWN_ROUTES, ROUTES, type Method } from './routes';

type Json = Record<string, unknown>;

function schemaOf(z: ZodTypeAny): Json {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const s = (zodToJsonSchema as (schema: unknown, opts: unknown) => unknown)(z, { target: 'openApi3', $refStrategy: 'none' }) as Json;
  delete s.$schema;
  return s;
}

function queryParameters(z: ZodTypeAny | undefined): Json[] {
  if (!z) return [];
  const s = schemaOf(z) as { properties?: Record<string, Json>; required?: string[] };
  return Object.entries(s.properties ?? {}).map(([name, schema]) => ({ name, in: 'query', required: (s.required ?? []).includes(name), schema }));
}

function pathParameters(path: string): Json[] {
  return [...path.matchAll(/\{([A-Za-z]+)\}/g)].map((m) => ({ name: m[1], in: 'path', required: true, schema: { type: m[1] === 'id' ? 'integer' : 'string' } }));
}

const errorSchema = {
  type: 'object',
  required: ['error'],
  properties: { error: { type: 'object', required: ['code', 'message'], properties: { code: { type: 'string', enum: Object.keys(ERROR_CATALOGUE) }, message: { type: 'string' } } } },
};

function operation(method: Method, path: string, summary: string, query: ZodTypeAny | undefined, body: ZodTypeAny | undefined, auth: boolean, ok: string): Json {
  const op: Json = {
    operationId: `${method.toLowerCase()}${path.replace(/^\/api\/v1/, '').replace(/[{}]/g, '').replace(/[/.](.)/g, (_m, c: string) => c.toUpperCase())}`,
    summary,
    parameters: [...pathParameters(path), ...queryParameters(query)],
    responses: {
      [ok]: { description: ok === '204' ? 'done' : 'success', ...(ok === '204' ? {} : { content: { 'application/json': { schema: { type: 'object' } } } }) },
      default: { description: 'an error from the catalogue (docs/errors.md)', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } },
    },
  };
  if (body) op.requestBody = { required: true, content: { 'application/json': { schema: schemaOf(body) } } };
  if (auth) op.security = [{ session: [] }];
  return op;
}

const OK: Record<string, string> = { 'POST /api/v1/logout': '204', 'POST /api/v1/users': '201', 'POST /api/v1/requests': '201' };

export function openApiDocument(version: string): Json {
  const paths: Record<string, Record<string, Json>> = {};
  const add = (method: Method, path: string, op: Json): void => {
    (paths[path] ??= {})[method.toLowerCase()] = op;
  };
  for (const r of ROUTES) {
    const probe = r.answer(['""']);
    add(r.method, r.path, operation(r.method, r.path, r.summary, r.query, r.body, true, OK[`${r.method} ${r.path}`] ?? String(probe.status)));
  }
  for (const r of OWN_ROUTES) {
    const op = operation(r.method, r.path, r.summary, r.query, r.body, r.auth, OK[`${r.method} ${r.path}`] ?? '200');
    if (r.path === '/api/v1/live') (op.responses as Json)['200'] = { description: 'event stream', content: { 'text/event-stream': { schema: { type: 'string' } } } };
    add(r.method, r.path, op);
  }
  return {
    openapi: '3.1.0',
    info: { title: 'diycloud-web', version, description: 'The diycloud portal API (docs/http-api.md). Changing requests need X-CSRF-Token and a same-origin Origin.' },
    servers: [{ url: '/' }],
    paths,
    components: {
      schemas: { Error: errorSchema },
      securitySchemes: { session: { type: 'apiKey', in: 'cookie', name: '__Host-diycloud-session' } },
    },
  };
}
