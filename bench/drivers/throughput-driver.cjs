// Throughput driver (plain CommonJS, runs on the container's own node): N dbus-next connections, fixed concurrency.
// Usage: node throughput-driver.cjs DBUS_NEXT_DIR CONNECTIONS CONCURRENCY CALLS_PER_PHASE ROUNDS USER[,USER...] [RATE]
// RATE > 0 adds an open-loop "open@RATE" phase per round: calls start at RATE/s whatever the replies do (latency from the scheduled start).
// Phases per round: "ping" (Properties.Get Version on diycloudd: the bus + dispatch baseline) then "open" (OpenSession).
// Prints one JSON line: { phases: { ping: { calls, errors, wallMs, lat: [ms...] }, open: {...} } }.
'use strict';
const [dir, nConn, conc, perPhase, rounds, userList, rateArg] = process.argv.slice(2);
const rate = Number(rateArg || 0);
const dbus = require(dir);
const { Message } = dbus;
const users = userList.split(',');
const DEST = 'org.diycloud.Manager1', PATH = '/org/diycloud/Manager1', IFACE = 'org.diycloud.Manager1';

function makeMsg(kind, i) {
  if (kind === 'ping') {
    return new Message({ destination: DEST, path: PATH, interface: 'org.freedesktop.DBus.Properties', member: 'Get', signature: 'ss', body: [IFACE, 'Version'] });
  }
  const u = users[i % users.length];
  return new Message({ destination: DEST, path: PATH, interface: IFACE, member: 'OpenSession', signature: 'ssss', body: [u, 'bench', 'pts/' + (i % 64), ''] });
}

async function phase(buses, kind, calls, concurrency) {
  const lat = [];
  let next = 0, errors = 0;
  const firstErrors = [];
  const t0 = process.hrtime.bigint();
  async function worker(w) {
    const bus = buses[w % buses.length];
    for (;;) {
      const i = next++;
      if (i >= calls) return;
      const s = process.hrtime.bigint();
      try {
        await bus.call(makeMsg(kind, i));
      } catch (e) {
        errors++;
        if (firstErrors.length < 3) firstErrors.push(String((e && (e.type || e.message)) || e));
      }
      lat.push(Number(process.hrtime.bigint() - s) / 1e6);
    }
  }
  await Promise.all(Array.from({ length: concurrency }, (_, w) => worker(w)));
  return { calls, errors, firstErrors, wallMs: Number(process.hrtime.bigint() - t0) / 1e6, lat };
}

async function openLoop(buses, calls, perSec) {
  const lat = [];
  let errors = 0, done = 0;
  const firstErrors = [];
  const t0 = process.hrtime.bigint();
  await new Promise((resolve) => {
    let i = 0;
    const tick = () => {
      const due = Math.min(calls, Math.floor((Number(process.hrtime.bigint() - t0) / 1e9) * perSec) + 1);
      for (; i < due; i++) {
        const sched = t0 + BigInt(Math.round((i / perSec) * 1e9));
        buses[i % buses.length].call(makeMsg('open', i)).catch((e) => {
          errors++;
          if (firstErrors.length < 3) firstErrors.push(String((e && (e.type || e.message)) || e));
        }).finally(() => {
          lat.push(Number(process.hrtime.bigint() - sched) / 1e6);
          if (++done === calls) resolve();
        });
      }
      if (i < calls) setTimeout(tick, 1);
    };
    tick();
  });
  return { calls, errors, firstErrors, wallMs: Number(process.hrtime.bigint() - t0) / 1e6, lat };
}

(async () => {
  const buses = [];
  for (let i = 0; i < Number(nConn); i++) {
    const b = dbus.systemBus();
    b.on('error', (e) => { console.error('bus error', e && e.message); process.exit(3); });
    buses.push(b);
  }
  const c = Number(conc), n = Number(perPhase);
  // warm-up: caller credentials cached per connection, JIT warm, every user's slice seen once
  await phase(buses, 'ping', c * 4, c);
  await phase(buses, 'open', users.length * 2, c);
  const empty = () => ({ calls: 0, errors: 0, firstErrors: [], wallMs: 0, lat: [] });
  const out = { ping: empty(), open: empty(), rate: empty() };
  for (let r = 0; r < Number(rounds); r++) {
    const kinds = r % 2 === 0 ? ['ping', 'open', 'rate'] : ['rate', 'open', 'ping'];
    for (const kind of kinds) {
      if (kind === 'rate' && !(rate > 0)) continue;
      const p = kind === 'rate' ? await openLoop(buses, n, rate) : await phase(buses, kind, n, c);
      const o = out[kind];
      o.calls += p.calls; o.errors += p.errors; o.wallMs += p.wallMs; o.firstErrors.push(...p.firstErrors);
      for (const x of p.lat) o.lat.push(Math.round(x * 1000) / 1000);
    }
  }
  console.log(JSON.stringify({ phases: out }));
  for (const b of buses) b.disconnect();
  process.exit(0);
})().catch((e) => { console.error(e && e.stack || e); process.exit(1); });
