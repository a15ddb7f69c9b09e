// Renders the portal benchmarks (bench/portal.ts) and the usage sampler's cost (bench/usage-sampler.ts) as Markdown.
import type { PortalResult } from './portal';
import type { UsageSamplerResult } from './usage-sampler';
import { f, type Summary } from './lib/stats';

const verdict = (ok: boolean): string => (ok ? '**met**' : '**MISSED**');
const row = (name: string, s: Summary, extra = ''): string => `| ${name} | ${s.n} | ${f(s.median)} | ${f(s.p95)} | ${f(s.p99)} | ${f(s.max)} |${extra}`;
const HEAD = ['| Requests | n | median | p95 | p99 | max |', '|---|---|---|---|---|---|'];

/** Targets of issue 10. */
export const PORTAL_TARGETS = { dashboardP99Ms: 50, usersPageP99Ms: 30, liveDaemonPercent: 5, samplerPercent: 1 } as const;

/** The users-page rows (not the /session baseline). */
export const pageCalls = (p: PortalResult) => p.users.calls.filter((c) => c.label.startsWith('users page'));
/** The window with the live clients open. */
export const liveWindow = (p: PortalResult) => p.live.windows.find((w) => /live clients/.test(w.label));

export function renderPortal(p: PortalResult): string[] {
  const o = p.opts, d = p.dashboard, lw = liveWindow(p);
  const idle = p.live.windows.filter((w) => /^idle/.test(w.label));
  const out: string[] = [
    'Runs **on the host itself** (root): a private dbus-daemon with the shipped bus policy (test/integration/lib/test-bus.ts), the fake systemd1 and polkit of the integration tests (in the benchmark process), ' +
      'the built `dist/entry/daemon.js` and the built `dist/entry/web.js` (diycloud-web, as the `diycloud-web` user, on its unix socket) as child processes. ' +
      `${o.liveClients + 1} host accounts (useradd, removed afterwards) are adopted and logged in through the portal (PAM via pam-verify), one of them an admin (polkit rules: group diycloud-admin); ` +
      `the database holds ${o.dbUsers} more users with allocations, 30 limit events per logged-in user and ${o.historyTicks} usage samples (10 s apart, written by the real sampler and store) each. ` +
      'Every request is a new connection to the unix socket (as nginx\'s default upstream makes them); the clients run in the benchmark process, on the same 2 cores. ' +
      `Set-up (s): ${Object.entries(p.setupSec).map(([k, v]) => `${k} ${v}`).join(', ')}. Load average (1/5/15 min) before ${p.load.before.join(' ')}, after ${p.load.after.join(' ')}.`,
    '',
    '### Dashboard API at 50 concurrent clients',
    '',
    `${o.dashClients} clients, each a different plain user reading its own dashboard: the three requests web/src/pages/dashboard.tsx makes (GET /users/{name}, /users/{name}/events?limit=20, /users/{name}/usage?range=hour), all three at once, ` +
      `${o.dashLoads} loads per client per phase (one warm-up load dropped), so up to ${o.dashClients * 3} requests in flight; and the same with one request in flight per client (the three in turn: ${o.dashClients} in flight, as a load generator's "${o.dashClients} connections"). ` +
      `Last, the same clients at a human pace: each loads its dashboard (3 at once) once a second, ${o.dashLoads} times, starting at a random moment (an open loop: ${o.dashClients * 3} requests/s offered). ` +
      'In the other phases every client starts its next load when the last one is answered (a closed loop, no think time), so the server is saturated and a latency is mostly time queued: p99 ≈ requests in flight / requests per second. ' +
      'Baselines on the same server, same shapes: an unknown /api path (404, no daemon call) and GET /api/v1/session (one Web1.Session round trip to the daemon, which asks polkit for the session\'s `can` flags). ' +
      `Phases alternate, ${o.rounds} rounds. Latencies in ms at the socket.`,
    '',
    ...HEAD,
    row('3 at once: 404 under /api (baseline, no daemon call)', d.notFound), row('3 at once: GET /api/v1/session (baseline, one Web1 call)', d.session), row('3 at once: the dashboard\'s three routes', d.dash),
    ...Object.entries(d.perRoute).map(([k, s]) => row(`— ${k}`, s)),
    row('one at a time: 404 under /api (baseline)', d.notFoundSerial), row('one at a time: the dashboard\'s three routes in turn', d.dashSerial), row('open loop: each client loads the dashboard once a second', d.dashPaced),
    '',
    '| Phase | requests | errors | wall s | requests/s | median | p99 | daemon CPU ms per request | diycloud-web CPU ms per request |', '|---|---|---|---|---|---|---|---|---|',
    ...d.phases.map((x) => `| ${x.label} | ${x.requests} | ${x.errors} | ${f(x.wallSec)} | ${f(x.requests / x.wallSec, 0)} | ${f(x.lat.median)} | ${f(x.lat.p99)} | ${f(x.daemonMsPerReq ?? NaN, 2)} | ${f(x.webMsPerReq ?? NaN, 2)} |`),
    ...d.phases.flatMap((x) => x.firstErrors.map((e) => `- ${x.label}: \`${e.replace(/`/g, "'")}\``)),
    '',
    `Target: p99 ≤ ${PORTAL_TARGETS.dashboardP99Ms} ms at ${o.dashClients} concurrent clients: one request in flight per client ${verdict(d.dashSerial.p99 <= PORTAL_TARGETS.dashboardP99Ms)} (p99 ${f(d.dashSerial.p99)} ms; the 404's ${f(d.notFoundSerial.p99)} ms); ` +
      `three at once per client ${verdict(d.dash.p99 <= PORTAL_TARGETS.dashboardP99Ms)} (p99 ${f(d.dash.p99)} ms; the 404's ${f(d.notFound.p99)} ms, /session's ${f(d.session.p99)} ms); ` +
      `each client once a second ${verdict(d.dashPaced.p99 <= PORTAL_TARGETS.dashboardP99Ms)} (p99 ${f(d.dashPaced.p99)} ms, median ${f(d.dashPaced.median)}).`,
    '',
    '### Users page: 50 rows of 10,000',
    '',
    `The admin's session, one request at a time: GET /api/v1/users (Web1.Call → QueryUsers, polkit's read-users check each time) for a page of 50 of the ${p.users.total} matching users, ` +
      `${o.queryCalls} calls per kind interleaved with GET /api/v1/session as the baseline (3 warm-up rounds dropped). The reply of a page is ${p.users.replyBytes} bytes, ${p.users.rows} rows. Latencies in ms at the socket (diycloud-web and the daemon together: the server's time).`,
    '',
    '| Requests | n | median | p95 | p99 | max | daemon CPU ms per request | diycloud-web CPU ms per request |', '|---|---|---|---|---|---|---|---|',
    ...p.users.calls.map((c) => row(c.label + (c.errors ? ` (${c.errors} errors)` : ''), c.lat, ` ${f(c.daemonMsPerReq ?? NaN, 2)} | ${f(c.webMsPerReq ?? NaN, 2)} |`)),
    ...p.users.calls.flatMap((c) => c.firstErrors.map((e) => `- ${c.label}: \`${e.replace(/`/g, "'")}\``)),
    '',
    `Target: ≤ ${PORTAL_TARGETS.usersPageP99Ms} ms (taken as p99): ` + pageCalls(p).map((c) => `${c.label.replace('users page: ', '')} ${verdict(c.lat.p99 <= PORTAL_TARGETS.usersPageP99Ms)} (p99 ${f(c.lat.p99)} ms, median ${f(c.lat.median)})`).join('; ') + '.',
    '',
    '### 200 live-usage clients',
    '',
    `${p.live.clients} clients, each a different user, each holding GET /api/v1/live open (server-sent events; diycloud-web polls GetUsage through Web1.Call every LiveIntervalSec = ${o.liveIntervalSec} s for each (session user, watched user) pair, so ${p.live.clients} pollers). ` +
      `${p.live.opened} of them had their first usage event ${f(p.live.firstEventSec)} s after the first one connected. CPU time of the daemon and of diycloud-web from \`/proc/PID/stat\` (10 ms ticks) over ${o.windowSec} s windows: idle before, with the clients, idle after they closed. ` +
      'The users have no live slice here (the fake systemd1), so each GetUsage answers "not live": the cost measured is the web path (session check, authorization, the call, the JSON) rather than reading cgroup files, which the sampler does anyway.',
    '',
    '| Window | wall s | usage events | daemon CPU ms | daemon % of one core | diycloud-web CPU ms | diycloud-web % |', '|---|---|---|---|---|---|---|',
    ...p.live.windows.map((w) => `| ${w.label} | ${f(w.wallSec)} | ${w.events} | ${w.daemonMs} | ${f(w.daemonPercent, 2)} % | ${w.webMs} | ${f(w.webPercent, 2)} % |`),
    ...p.live.errors.map((e) => `- error: \`${e.replace(/`/g, "'")}\``),
    '',
    lw ? `Target: the daemon's CPU ≤ ${PORTAL_TARGETS.liveDaemonPercent} % of one core with ${p.live.clients} live clients: ${verdict(lw.daemonPercent <= PORTAL_TARGETS.liveDaemonPercent && p.live.opened === p.live.clients)} ` +
      `(${f(lw.daemonPercent, 2)} %, idle ${idle.map((w) => `${f(w.daemonPercent, 2)} %`).join(' and ')}; added by the clients ${f(lw.daemonPercent - Math.min(...idle.map((w) => w.daemonPercent)), 2)} %).` : 'No live window was measured.',
    '',
  ];
  return out;
}

export function renderUsageSampler(s: { at: UsageSamplerResult; baseline: UsageSamplerResult }): string[] {
  const r = (label: string, x: UsageSamplerResult) => `| ${label} | ${x.users} | ${x.ticks} | ${f(x.cpuMsPerTick, 2)} | ${f(x.percentOfCore, 3)} % | ${f(x.maxTickMs)} | ${Math.round(x.dbBytes / 1024)} |`;
  return [
    `The real \`UsageSampler\` and \`SqliteUsage\` (src/app/sample-usage.ts, src/adapters/store/sqlite-usage.ts) in the benchmark process on a file database (WAL, as the daemon opens it) with a fake counter reader (no cgroup files read), ` +
      `${s.at.ticks} ticks at a 10 s interval (${Math.round((s.at.ticks * 10) / 60)} simulated minutes: raw rows, 5- and 30-minute buckets closing, the prunes). CPU time of the process per tick (the first tick dropped), as % of one core over the interval. Baseline in the same run: the same with ${s.baseline.users} user (the fixed cost of a tick).`,
    '',
    '| Run | users | ticks | CPU ms per tick | % of one core | longest tick (wall ms) | database KiB |', '|---|---|---|---|---|---|---|',
    r('baseline', s.baseline), r(`${s.at.users} live users`, s.at),
    '',
    `Target ≤ ${PORTAL_TARGETS.samplerPercent} % of one core at 1,000 live users: ${verdict(s.at.percentOfCore <= PORTAL_TARGETS.samplerPercent)} (${f(s.at.percentOfCore, 3)} %). ` +
      'Not included: reading the counter files themselves (3 preads per user on descriptors kept open, src/adapters/cgroup-events/usage-files.ts).',
    '',
  ];
}
