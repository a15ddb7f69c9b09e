// The portal benchmarks (issue 10): the dashboard API's latency at 50 concurrent clients, the users page
// (QueryUsers, 50 rows of 10,000) and the daemon's CPU with 200 live-usage streams open, each against a
// baseline measured in the same run on the same server (bench/portal-stack.ts builds it; the report is bench/portal-report.ts).
import { loadavg } from 'node:os';
import { request, type ClientRequest } from 'node:http';
import { cpuTicks, httpRequest, startPortalStack, type PortalStack, type PortalUser } from './portal-stack';
import { summarize, type Summary } from './lib/stats';

export interface PortalOpts {
  liveClients: number; dashClients: number; dashLoads: number; rounds: number; queryCalls: number;
  windowSec: number; liveIntervalSec: number; dbUsers: number; firstUid: number; historyTicks: number;
}
/** daemonMsPerReq, webMsPerReq: CPU time of diycloudd and diycloud-web over the phase (/proc ticks) per request answered. */
export interface PhaseResult { label: string; requests: number; errors: number; firstErrors: string[]; wallSec: number; lat: Summary; daemonMsPerReq?: number; webMsPerReq?: number }

/** A function giving the CPU ms the daemon and diycloud-web used since this call. */
function cpuSince(s: PortalStack): () => { daemonMs: number; webMs: number } {
  const d0 = cpuTicks(s.daemon.child.pid!), w0 = cpuTicks(s.web.pid!);
  return () => ({ daemonMs: (cpuTicks(s.daemon.child.pid!) - d0) * 10, webMs: (cpuTicks(s.web.pid!) - w0) * 10 });
}
const perReq = (ms: number, n: number): number => Math.round((ms / Math.max(1, n)) * 100) / 100;
export interface CpuWindow { label: string; daemonMs: number; webMs: number; wallSec: number; daemonPercent: number; webPercent: number; events: number }
export interface PortalResult {
  opts: PortalOpts; setupSec: Record<string, number>; load: { before: number[]; after: number[] };
  dashboard: { phases: PhaseResult[]; notFound: Summary; session: Summary; dash: Summary; notFoundSerial: Summary; dashSerial: Summary; dashPaced: Summary; perRoute: Record<string, Summary> };
  users: { calls: PhaseResult[]; total: number; rows: number; replyBytes: number };
  live: { clients: number; opened: number; firstEventSec: number; windows: CpuWindow[]; errors: string[] };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const enc = encodeURIComponent;
const r1 = (x: number): number => Math.round(x * 10) / 10;

/** The requests a dashboard load makes (web/src/pages/dashboard.tsx), all at once as the browser does. */
const DASHBOARD = (name: string): [string, string][] => [
  ['GET /users/{name}', `/api/v1/users/${enc(name)}`],
  ['GET /users/{name}/events?limit=20', `/api/v1/users/${enc(name)}/events?limit=20`],
  ['GET /users/{name}/usage?range=hour', `/api/v1/users/${enc(name)}/usage?range=hour`],
];
/** The baselines have the same shape (3 requests in flight per client): a 404 under /api (no daemon call), and /session (one Web1.Session). */
const NOT_FOUND = (): [string, string][] => [1, 2, 3].map((i) => ['GET /api/v1/nope (404)', `/api/v1/nope${i}`]);
const SESSION = (): [string, string][] => [1, 2, 3].map(() => ['GET /session', '/api/v1/session']);

async function phase(s: PortalStack, label: string, clients: PortalUser[], loads: number, reqs: (name: string) => [string, string][], want: number, together: boolean, perRoute?: Map<string, number[]>): Promise<{ result: PhaseResult; samples: number[] }> {
  const lat: number[] = [];
  const firstErrors: string[] = [];
  let errors = 0;
  const load = async (u: PortalUser, keep: boolean): Promise<void> => {
    const list = reqs(u.name);
    const each = async ([route, path]: [string, string]): Promise<void> => {
      const r = await httpRequest(s.sock, 'GET', path, { Cookie: u.cookie }).catch((e: Error) => ({ status: -1, body: e.message, ms: NaN }));
      if (r.status !== want) {
        errors++;
        if (firstErrors.length < 3) firstErrors.push(`${route}: ${r.status} ${r.body.slice(0, 160)}`);
        return;
      }
      if (!keep) return;
      lat.push(r.ms);
      if (perRoute) perRoute.set(route, [...(perRoute.get(route) ?? []), r.ms]);
    };
    if (together) await Promise.all(list.map(each));
    else for (const x of list) await each(x);
  };
  await Promise.all(clients.map((u) => load(u, false))); // warm-up, dropped
  const cpu = cpuSince(s);
  const t0 = performance.now();
  await Promise.all(clients.map(async (u) => {
    for (let i = 0; i < loads; i++) await load(u, true);
  }));
  const c = cpu();
  return { result: { label, requests: lat.length + errors, errors, firstErrors, wallSec: r1((performance.now() - t0) / 1000), lat: summarize(lat), daemonMsPerReq: perReq(c.daemonMs, lat.length), webMsPerReq: perReq(c.webMs, lat.length) }, samples: lat };
}

/** Open loop: each client loads the dashboard once every `everyMs` (its first at a random moment), `loads` times. */
async function paced(s: PortalStack, clients: PortalUser[], loads: number, everyMs: number): Promise<{ result: PhaseResult; samples: number[] }> {
  const lat: number[] = [];
  const firstErrors: string[] = [];
  let errors = 0;
  const cpu = cpuSince(s);
  const t0 = performance.now();
  await Promise.all(clients.map(async (u) => {
    const start = Math.random() * everyMs;
    for (let i = 0; i < loads; i++) {
      const due = start + i * everyMs - (performance.now() - t0);
      if (due > 0) await sleep(due);
      await Promise.all(DASHBOARD(u.name).map(async ([route, path]) => {
        const r = await httpRequest(s.sock, 'GET', path, { Cookie: u.cookie }).catch((e: Error) => ({ status: -1, body: e.message, ms: NaN }));
        if (r.status === 200) lat.push(r.ms);
        else if (errors++ < 3) firstErrors.push(`${route}: ${r.status} ${r.body.slice(0, 160)}`);
      }));
    }
  }));
  const label = `dashboard, each client once every ${everyMs / 1000} s (3 at once)`;
  const c = cpu();
  return { result: { label, requests: lat.length + errors, errors, firstErrors, wallSec: r1((performance.now() - t0) / 1000), lat: summarize(lat), daemonMsPerReq: perReq(c.daemonMs, lat.length), webMsPerReq: perReq(c.webMs, lat.length) }, samples: lat };
}

async function sequential(s: PortalStack, kinds: { label: string; path: () => string }[], calls: number): Promise<{ results: PhaseResult[]; last: string }> {
  const lat = kinds.map(() => [] as number[]);
  const errs = kinds.map(() => [] as string[]);
  const cpuMs = kinds.map(() => ({ daemonMs: 0, webMs: 0 }));
  let last = '';
  for (let i = -3; i < calls; i++) { // 3 warm-up rounds dropped
    for (let k = 0; k < kinds.length; k++) {
      const cpu = cpuSince(s);
      const r = await httpRequest(s.sock, 'GET', kinds[k].path(), { Cookie: s.admin.cookie });
      const c = cpu();
      if (r.status !== 200) errs[k].push(`${r.status} ${r.body.slice(0, 160)}`);
      else if (i >= 0) {
        lat[k].push(r.ms);
        cpuMs[k].daemonMs += c.daemonMs;
        cpuMs[k].webMs += c.webMs;
      }
      if (k === 1) last = r.body;
    }
  }
  return { results: kinds.map((k, j) => ({ label: k.label, requests: lat[j].length + errs[j].length, errors: errs[j].length, firstErrors: errs[j].slice(0, 3), wallSec: NaN, lat: summarize(lat[j]), daemonMsPerReq: perReq(cpuMs[j].daemonMs, lat[j].length), webMsPerReq: perReq(cpuMs[j].webMs, lat[j].length) })), last };
}

async function cpuWindow(s: PortalStack, label: string, sec: number, events: () => number): Promise<CpuWindow> {
  const dPid = s.daemon.child.pid!, wPid = s.web.pid!;
  const d0 = cpuTicks(dPid), w0 = cpuTicks(wPid), e0 = events(), t0 = performance.now();
  await sleep(sec * 1000);
  const wallSec = (performance.now() - t0) / 1000;
  const daemonMs = (cpuTicks(dPid) - d0) * 10, webMs = (cpuTicks(wPid) - w0) * 10;
  return { label, daemonMs, webMs, wallSec: Math.round(wallSec * 100) / 100, daemonPercent: Math.round((daemonMs / 10 / wallSec) * 100) / 100, webPercent: Math.round((webMs / 10 / wallSec) * 100) / 100, events: events() - e0 };
}

async function liveBench(s: PortalStack, o: PortalOpts): Promise<PortalResult['live']> {
  const clients = s.users.slice(0, o.liveClients);
  const errors: string[] = [];
  let events = 0;
  const got = new Set<number>();
  const reqs: ClientRequest[] = [];
  const windows: CpuWindow[] = [];
  await sleep(2000); // the logins' and the dashboard's work settles
  windows.push(await cpuWindow(s, 'idle, before (baseline)', o.windowSec, () => events));
  const t0 = performance.now();
  for (let i = 0; i < clients.length; i += 20) {
    await Promise.all(clients.slice(i, i + 20).map((u, j) => new Promise<void>((resolve) => {
      const req = request({ socketPath: s.sock, path: '/api/v1/live', agent: false, headers: { Host: 'portal.bench', Cookie: u.cookie, Accept: 'text/event-stream', 'Sec-Fetch-Site': 'same-origin' } }, (res) => {
        if (res.statusCode !== 200 && errors.length < 5) errors.push(`${u.name}: ${res.statusCode}`);
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          for (const m of chunk.matchAll(/^event: (\w+)$/gm)) {
            if (m[1] === 'usage') {
              events++;
              got.add(i + j);
            } else if (errors.length < 5) errors.push(`${u.name}: event ${m[1]} ${chunk.slice(0, 200)}`);
          }
        });
        res.on('error', () => undefined);
        resolve();
      });
      req.on('error', (e) => {
        if (errors.length < 5) errors.push(`${u.name}: ${e.message}`);
        resolve();
      });
      req.end();
      reqs.push(req);
    })));
  }
  while (got.size < clients.length && performance.now() - t0 < 30_000) await sleep(100);
  const firstEventSec = r1((performance.now() - t0) / 1000);
  await sleep(1000);
  windows.push(await cpuWindow(s, `${clients.length} live clients`, o.windowSec, () => events));
  for (const r of reqs) r.destroy();
  await sleep(2000);
  windows.push(await cpuWindow(s, 'idle, after', o.windowSec, () => events));
  return { clients: clients.length, opened: got.size, firstEventSec, windows, errors };
}

export async function runPortal(o: PortalOpts): Promise<PortalResult> {
  const before = loadavg().map(r1);
  const s = await startPortalStack({ users: Math.max(o.liveClients, o.dashClients), dbUsers: o.dbUsers, firstUid: o.firstUid, liveIntervalSec: o.liveIntervalSec, historyTicks: o.historyTicks });
  try {
    // 1. the dashboard's API calls, 50 clients (distinct plain users, each reading its own record), rounds alternating with the baselines
    const dashClients = s.users.slice(0, o.dashClients);
    const phases: PhaseResult[] = [];
    const per = new Map<string, number[]>();
    const kinds = [
      { label: '404 under /api, 3 at once', reqs: NOT_FOUND, want: 404, together: true },
      { label: 'GET /api/v1/session, 3 at once', reqs: SESSION, want: 200, together: true },
      { label: 'dashboard, 3 at once', reqs: DASHBOARD, want: 200, together: true, per },
      { label: '404 under /api, one at a time', reqs: NOT_FOUND, want: 404, together: false },
      { label: 'dashboard, one at a time', reqs: DASHBOARD, want: 200, together: false },
    ];
    const pooled: number[][] = kinds.map(() => []);
    for (let r = 0; r < o.rounds; r++) {
      for (const [k, x] of kinds.entries()) {
        const { result, samples } = await phase(s, x.label, dashClients, o.dashLoads, x.reqs, x.want, x.together, x.per);
        phases.push(result);
        pooled[k].push(...samples);
      }
    }
    // the same 50 clients at a human pace: each reloads its dashboard once a second (open loop)
    const calm = await paced(s, dashClients, o.dashLoads, 1000);
    phases.push(calm.result);
    // 2. the users page: QueryUsers through the portal, 50 rows of 10,000, sequential, interleaved with /session
    const pages = Math.floor(o.dbUsers / 50);
    let n = 0;
    const q = await sequential(s, [
      { label: 'GET /api/v1/session (baseline)', path: () => '/api/v1/session' },
      { label: 'users page: sort=name, a random page of 50', path: () => `/api/v1/users?sort=name&order=asc&offset=${((n++ * 7919) % pages) * 50}&limit=50` },
      { label: 'users page: sort=memory desc, a random page of 50', path: () => `/api/v1/users?sort=memory&order=desc&offset=${((n++ * 104729) % pages) * 50}&limit=50` },
      { label: 'users page: search "pb0", first page of 50', path: () => '/api/v1/users?search=pb0&sort=name&order=asc&offset=0&limit=50' },
    ], o.queryCalls);
    const page = JSON.parse(q.last) as { total: number; users: unknown[] };
    // 3. the live stream: the daemon's CPU with N clients, against the same window idle
    const live = await liveBench(s, o);
    return {
      opts: o, setupSec: s.setupSec, load: { before, after: loadavg().map(r1) },
      dashboard: { phases, notFound: summarize(pooled[0]), session: summarize(pooled[1]), dash: summarize(pooled[2]), notFoundSerial: summarize(pooled[3]), dashSerial: summarize(pooled[4]), dashPaced: summarize(calm.samples), perRoute: Object.fromEntries([...per].map(([k, v]) => [k, summarize(v)])) },
      users: { calls: q.results, total: page.total, rows: page.users.length, replyBytes: Buffer.byteLength(q.last) },
      live,
    };
  } finally {
    await s.stop();
  }
}
