// Flood driver (plain CommonJS, Node 18/20, needs only dbus-next): N connections keep ~INFLIGHT Manager1 calls outstanding for S seconds.
// Usage: node flood-driver.cjs [--address ADDR] [--connections 16] [--inflight 1900] [--method ListProfiles|ListUsers|GetUser]
//                              [--arg-random-user | --arg NAME] [--seconds 5] [--modules DIR] [--ready-file PATH] [--drain-ms 2000]
//   --address     the bus (default: $DBUS_SYSTEM_BUS_ADDRESS or the system bus socket)
//   --inflight    calls outstanding in total, spread over the connections, at most 120 per connection
//                 (dbus-daemon allows 128 pending replies per connection on the system bus)
//   --method      ListProfiles (no arguments), ListUsers (empty filter) or GetUser (one name)
//   --arg-random-user  GetUser gets a fresh nonexistent valid name per call ("zz" + 10 random lowercase letters)
//   --modules     where dbus-next is: a node_modules directory or the directory holding one (default: normal resolution)
//   --ready-file  written once every connection is up and the first calls are in flight
// Each reply (success or error) re-issues a call on its connection at once. After S seconds no new call starts; replies
// still due are awaited for at most --drain-ms. SIGTERM/SIGINT end the flood early the same way. Never crashes on error
// replies or a lost connection. Prints one JSON line and exits 0:
//   { calls, replies: { ok, byError: { D-Bus error name: count } }, seconds, pendingAtEnd (no reply when it ended),
//     localErrors (calls failed here: connection lost), connections, perConnection, disconnects, firstErrorTexts }
'use strict';
const fs = require('node:fs');
const path = require('node:path');

function parseArgs(argv) {
  const o = { address: process.env.DBUS_SYSTEM_BUS_ADDRESS || 'unix:path=/var/run/dbus/system_bus_socket', connections: 16, inflight: 1900,
    method: 'ListProfiles', arg: null, randomUser: false, seconds: 5, modules: null, readyFile: null, drainMs: 2000 };
  const num = (k, v) => { const n = Number(v); if (!Number.isFinite(n) || n < 0) usage(`${k} needs a number, got '${v}'`); return n; };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => { if (i + 1 >= argv.length) usage(`${a} needs a value`); return argv[++i]; };
    switch (a) {
      case '--address': o.address = val(); break;
      case '--connections': o.connections = Math.max(1, Math.floor(num(a, val()))); break;
      case '--inflight': o.inflight = Math.max(1, Math.floor(num(a, val()))); break;
      case '--method': o.method = val(); break;
      case '--arg': o.arg = val(); break;
      case '--arg-random-user': o.randomUser = true; break;
      case '--seconds': o.seconds = num(a, val()); break;
      case '--modules': o.modules = val(); break;
      case '--ready-file': o.readyFile = val(); break;
      case '--drain-ms': o.drainMs = num(a, val()); break;
      case '-h': case '--help': usage(null); break;
      default: usage(`unknown argument '${a}'`);
    }
  }
  if (!['ListProfiles', 'ListUsers', 'GetUser'].includes(o.method)) usage(`unsupported --method '${o.method}'`);
  if (o.method === 'GetUser' && !o.randomUser && o.arg === null) usage('GetUser needs --arg NAME or --arg-random-user');
  return o;
}

function usage(err) {
  const text = fs.readFileSync(__filename, 'utf8').split('\n').slice(1, 15).map((l) => l.replace(/^\/\/ ?/, '')).join('\n');
  if (err) { process.stderr.write(`flood-driver: ${err}\n${text}\n`); process.exit(2); }
  process.stdout.write(text + '\n');
  process.exit(0);
}

function loadDbus(dir) {
  if (!dir) return require('dbus-next');
  for (const p of [path.join(dir, 'dbus-next'), path.join(dir, 'node_modules', 'dbus-next')]) {
    if (fs.existsSync(p)) return require(p);
  }
  throw new Error(`no dbus-next under ${dir}`);
}

const DEST = 'org.diycloud.Manager1', OBJ = '/org/diycloud/Manager1', IFACE = 'org.diycloud.Manager1';
const LETTERS = 'abcdefghijklmnopqrstuvwxyz';
const randomName = () => { let s = 'zz'; for (let i = 0; i < 10; i++) s += LETTERS[Math.floor(Math.random() * 26)]; return s; };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const dbus = loadDbus(o.modules);
  const { Message } = dbus;
  const makeMsg = () => {
    if (o.method === 'ListProfiles') return new Message({ destination: DEST, path: OBJ, interface: IFACE, member: 'ListProfiles' });
    if (o.method === 'ListUsers') return new Message({ destination: DEST, path: OBJ, interface: IFACE, member: 'ListUsers', signature: 'a{sv}', body: [{}] });
    return new Message({ destination: DEST, path: OBJ, interface: IFACE, member: 'GetUser', signature: 's', body: [o.randomUser ? randomName() : o.arg] });
  };

  const perConnection = Math.min(120, Math.ceil(o.inflight / o.connections));
  const connectTimeoutMs = 10_000;
  let finished = false, t0 = null, deadline = Infinity;
  // the whole run is bounded even if the bus never answers: connect timeout + seconds + drain + 5 s
  setTimeout(() => finish(t0 === null ? 0 : Number(process.hrtime.bigint() - t0) / 1e9, true), connectTimeoutMs + o.seconds * 1000 + o.drainMs + 5000);
  const stats = { calls: 0, ok: 0, byError: {}, localErrors: 0, disconnects: 0, firstErrorTexts: [] };
  const conns = [];
  let running = false, pending = 0;
  let stopEarly = null;
  const stopped = new Promise((r) => { stopEarly = r; });
  process.on('SIGTERM', () => stopEarly());
  process.on('SIGINT', () => stopEarly());
  const countError = (e) => {
    const name = (e && e.type) || (e && e.name) || 'unknown';
    stats.byError[name] = (stats.byError[name] || 0) + 1;
    if (stats.firstErrorTexts.length < 5 && !stats.firstErrorTexts.some((t) => t.startsWith(name))) {
      stats.firstErrorTexts.push(`${name}: ${String((e && (e.text || e.message)) || e).slice(0, 160)}`);
    }
  };
  const loseConnection = (c, e) => {
    if (c.dead) return;
    c.dead = true;
    stats.disconnects++;
    if (stats.firstErrorTexts.length < 5) stats.firstErrorTexts.push(`connection lost: ${String((e && e.message) || e).slice(0, 160)}`);
  };
  const issue = (c) => {
    if (!running || c.dead) return;
    if (Date.now() >= deadline) { running = false; stopEarly(); return; } // timers can run late under load; replies cannot
    let p;
    try { p = c.bus.call(makeMsg()); } catch (e) { loseConnection(c, e); return; }
    stats.calls++; pending++;
    p.then(() => { stats.ok++; }, (e) => {
      if (e instanceof dbus.DBusError) { countError(e); return; }
      stats.localErrors++;
      // Not an error reply but a local failure (dbus-next rejects calls on a closed stream at once): this
      // connection is gone. Re-issuing would spin in microtasks and starve the timers.
      loseConnection(c, e);
    }).then(() => { pending--; issue(c); });
  };

  // connect: each connection answers one bus call before the flood starts
  for (let i = 0; i < o.connections; i++) {
    const c = { bus: dbus.sessionBus({ busAddress: o.address }), dead: false };
    c.lost = new Promise((resolve) => { c.bus.on('error', (e) => { loseConnection(c, e); resolve(); }); });
    conns.push(c);
  }
  const ping = (c) => c.bus.call(new Message({ destination: 'org.freedesktop.DBus', path: '/org/freedesktop/DBus', interface: 'org.freedesktop.DBus', member: 'GetId' }));
  const upAll = Promise.all(conns.map((c) => Promise.race([ping(c).then(() => true, () => false), c.lost.then(() => false)])));
  const up = await Promise.race([upAll, sleep(connectTimeoutMs).then(() => null)]);
  if (!up) process.stderr.write('flood-driver: not every connection came up in time; flooding on those that did\n');
  else up.forEach((ok, i) => { if (!ok) loseConnection(conns[i], new Error('no answer to GetId')); });

  t0 = process.hrtime.bigint();
  deadline = Date.now() + o.seconds * 1000;
  running = true;
  let lastTick = Date.now(), maxTimerLagMs = 0;
  const lag = setInterval(() => { const now = Date.now(); maxTimerLagMs = Math.max(maxTimerLagMs, now - lastTick - 50); lastTick = now; }, 50);
  stats.timerLag = () => maxTimerLagMs;
  stats.stopLag = () => clearInterval(lag);
  for (const c of conns) for (let k = 0; k < perConnection; k++) issue(c);
  if (o.readyFile) { try { fs.writeFileSync(o.readyFile, `${process.pid}\n`); } catch (e) { process.stderr.write(`flood-driver: ready file: ${e.message}\n`); } }

  await Promise.race([sleep(o.seconds * 1000), stopped]);
  running = false;
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const drainEnd = Date.now() + o.drainMs;
  while (pending > 0 && Date.now() < drainEnd && conns.some((c) => !c.dead)) await sleep(20);
  finish(seconds);

  function finish(secs, watchdog) {
    if (finished) return;
    finished = true;
    running = false;
    const out = { calls: stats.calls, replies: { ok: stats.ok, byError: stats.byError }, seconds: Math.round(secs * 1000) / 1000,
      pendingAtEnd: pending, localErrors: stats.localErrors, connections: conns.length, perConnection, disconnects: stats.disconnects, firstErrorTexts: stats.firstErrorTexts };
    if (stats.timerLag) { out.maxTimerLagMs = stats.timerLag(); stats.stopLag(); }
    if (watchdog) out.watchdog = true;
    process.stdout.write(JSON.stringify(out) + '\n', () => {
      for (const c of conns) { try { c.bus.disconnect(); } catch { /* already gone */ } }
      process.exit(0);
    });
  }
}

main().catch((e) => { process.stderr.write(`flood-driver: ${(e && e.stack) || e}\n`); process.exit(1); });
