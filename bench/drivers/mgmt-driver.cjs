// Management-API driver (plain CommonJS, container's node, as root): sequential ListUsers / GetUser calls vs a Get(Version) baseline.
// Usage: node mgmt-driver.cjs DBUS_NEXT_DIR MODE CALLS PER_ROUND WARMUP [USER [NOSLICE_USER]]
//   MODE listusers: kinds "ping" (Properties.Get Version) and "listusers" (ListUsers a{sv} {}).
//   MODE getuser:   kinds "ping", "getuser" (GetUser USER) and, if given, "getuser-noslice" (GetUser NOSLICE_USER).
// One connection, one call in flight. Each kind gets CALLS calls in rounds of PER_ROUND, kinds alternating order per round.
// Prints one JSON line: { kinds: { K: { calls, errors, firstErrors, lat: [ms of successful calls], errLat: [ms of failed ones] } }, reply: { K: { bytes, items?, withSlice? } } }.
'use strict';
const [dir, mode, callsArg, perRoundArg, warmupArg, user, noSliceUser] = process.argv.slice(2);
const dbus = require(dir);
const { Message } = dbus;
const DEST = 'org.diycloud.Manager1', PATH = '/org/diycloud/Manager1', IFACE = 'org.diycloud.Manager1';

const makers = {
  ping: () => new Message({ destination: DEST, path: PATH, interface: 'org.freedesktop.DBus.Properties', member: 'Get', signature: 'ss', body: [IFACE, 'Version'] }),
  listusers: () => new Message({ destination: DEST, path: PATH, interface: IFACE, member: 'ListUsers', signature: 'a{sv}', body: [{}] }),
  getuser: () => new Message({ destination: DEST, path: PATH, interface: IFACE, member: 'GetUser', signature: 's', body: [user] }),
  'getuser-noslice': () => new Message({ destination: DEST, path: PATH, interface: IFACE, member: 'GetUser', signature: 's', body: [noSliceUser] }),
};
const kinds = mode === 'listusers' ? ['ping', 'listusers'] : ['ping', 'getuser', ...(noSliceUser ? ['getuser-noslice'] : [])];
if (mode !== 'listusers' && mode !== 'getuser') throw new Error(`unknown mode ${mode}`);

async function run(bus, kind, n, out) {
  for (let i = 0; i < n; i++) {
    const s = process.hrtime.bigint();
    const ms = () => Math.round((Number(process.hrtime.bigint() - s) / 1e6) * 1000) / 1000;
    try {
      const reply = await bus.call(makers[kind]());
      out.lat.push(ms());
      out.last = reply.body[0];
    } catch (e) {
      out.errLat.push(ms());
      out.errors++;
      if (out.firstErrors.length < 3) out.firstErrors.push(String((e && (e.type ? `${e.type}: ${e.text || ''}` : e.message)) || e));
    }
  }
}

(async () => {
  const bus = dbus.systemBus();
  bus.on('error', (e) => { console.error('bus error', e && e.message); process.exit(3); });
  const calls = Number(callsArg), perRound = Number(perRoundArg), warmup = Number(warmupArg);
  const fresh = () => ({ calls: 0, errors: 0, firstErrors: [], lat: [], errLat: [], last: undefined });
  // warm-up: caller credentials cached, JIT warm on both sides (results dropped)
  for (const k of kinds) await run(bus, k, warmup, fresh());
  const out = Object.fromEntries(kinds.map((k) => [k, fresh()]));
  for (let r = 0, done = 0; done < calls; r++, done += perRound) {
    const n = Math.min(perRound, calls - done);
    for (const k of r % 2 === 0 ? kinds : [...kinds].reverse()) await run(bus, k, n, out[k]);
  }
  const reply = {};
  for (const k of kinds) {
    const o = out[k];
    o.calls = o.lat.length + o.errLat.length;
    const body = o.last;
    const info = { bytes: typeof body === 'string' ? Buffer.byteLength(body) : 0 };
    if (k !== 'ping' && typeof body === 'string') {
      const t = process.hrtime.bigint();
      const v = JSON.parse(body);
      info.clientParseMs = Number(process.hrtime.bigint() - t) / 1e6;
      if (Array.isArray(v)) { info.items = v.length; info.withSlice = v.filter((u) => u.slice && u.slice.exists).length; }
      else info.sliceExists = !!(v.slice && v.slice.exists);
    }
    reply[k] = info;
    delete o.last;
  }
  console.log(JSON.stringify({ kinds: out, reply }));
  bus.disconnect();
  process.exit(0);
})().catch((e) => { console.error((e && e.stack) || e); process.exit(1); });
