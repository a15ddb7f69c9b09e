// Management-API driver (plain CommonJS, container's node, as root): sequential ListUsers / GetUser calls vs a Get(Version) baseline.
// Usage: node mgmt-driver.cjs DBUS_NEXT_DIR MODE CALLS PER_ROUND WARMUP [USER [NOSLICE_USER]]
//        node mgmt-driver.cjs DBUS_NEXT_DIR createuser CALLS PER_ROUND WARMUP CREATE_PREFIX USERADD_PREFIX USERADD_UID0 SHELL HOME_MODE
//   MODE listusers:  kinds "ping" (Properties.Get Version) and "listusers" (ListUsers a{sv} {}).
//   MODE getuser:    kinds "ping", "getuser" (GetUser USER) and, if given, "getuser-noslice" (GetUser NOSLICE_USER).
//   MODE createuser: kinds "createuser" (CreateUser CREATE_PREFIXnnnn, email, role "user", a{sv} {}) and "useradd" (useradd run
//                    directly, as diycloud runs it: --uid USERADD_UID0+n --create-home --user-group --shell SHELL --key HOME_MODE=…,
//                    for USERADD_PREFIXnnnn); each name is used once (warm-up names included). Afterwards every account made is
//                    removed again, timed as kinds "deleteuser" (DeleteUser {remove_home: true}) and "userdel" (userdel --remove).
// One connection, one call in flight. Each kind gets CALLS calls in rounds of PER_ROUND, kinds alternating order per round.
// Prints one JSON line: { kinds: { K: { calls, errors, firstErrors, lat: [ms of successful calls], errLat: [ms of failed ones] } }, reply: { K: { bytes, items?, withSlice? } } }.
'use strict';
const [dir, mode, callsArg, perRoundArg, warmupArg, user, noSliceUser, baseUidArg, shell, homeMode] = process.argv.slice(2);
const dbus = require(dir);
const { Message, Variant } = dbus;
const { spawn } = require('node:child_process');
const DEST = 'org.diycloud.Manager1', PATH = '/org/diycloud/Manager1', IFACE = 'org.diycloud.Manager1';

const makers = {
  ping: () => new Message({ destination: DEST, path: PATH, interface: 'org.freedesktop.DBus.Properties', member: 'Get', signature: 'ss', body: [IFACE, 'Version'] }),
  listusers: () => new Message({ destination: DEST, path: PATH, interface: IFACE, member: 'ListUsers', signature: 'a{sv}', body: [{}] }),
  getuser: () => new Message({ destination: DEST, path: PATH, interface: IFACE, member: 'GetUser', signature: 's', body: [user] }),
  'getuser-noslice': () => new Message({ destination: DEST, path: PATH, interface: IFACE, member: 'GetUser', signature: 's', body: [noSliceUser] }),
};
const MODES = { listusers: ['ping', 'listusers'], getuser: ['ping', 'getuser', ...(noSliceUser ? ['getuser-noslice'] : [])], createuser: ['createuser', 'useradd'] };
if (!MODES[mode]) throw new Error(`unknown mode ${mode}`);
const kinds = MODES[mode];

// createuser mode: USER and NOSLICE_USER are the two name prefixes; every call takes the next unused name of its kind.
const made = { createuser: [], useradd: [] };
const nextName = (k) => `${k === 'createuser' ? user : noSliceUser}${String(made[k].length).padStart(4, '0')}`;
const CLEAN_ENV = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C.UTF-8', LC_ALL: 'C.UTF-8' };
/** Runs a program the way diycloudd's runProgram does (spawn, clean environment, pipes), resolving on close; rejects unless it exits 0. */
const program = (path, args) => new Promise((resolve, reject) => {
  const child = spawn(path, args, { env: { ...CLEAN_ENV }, stdio: ['pipe', 'pipe', 'pipe'] });
  let err = '';
  child.stdout.on('data', () => undefined);
  child.stderr.on('data', (b) => { err += b; });
  child.on('error', reject);
  child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${path} exit ${code}: ${err.trim().slice(0, 200)}`))));
  child.stdin.end();
});
const ops = {
  createuser: async (bus) => {
    const name = nextName('createuser');
    made.createuser.push(name);
    return bus.call(new Message({ destination: DEST, path: PATH, interface: IFACE, member: 'CreateUser', signature: 'sssa{sv}', body: [name, `${name}@example.com`, 'user', {}] }));
  },
  useradd: async () => {
    const name = nextName('useradd');
    const uid = Number(baseUidArg) + made.useradd.length;
    made.useradd.push(name);
    await program('/usr/sbin/useradd', ['--uid', String(uid), '--create-home', '--user-group', '--shell', shell, '--key', `HOME_MODE=${homeMode}`, '--', name]);
    return { body: [uid] };
  },
  deleteuser: async (bus, name) => bus.call(new Message({ destination: DEST, path: PATH, interface: IFACE, member: 'DeleteUser', signature: 'sa{sv}', body: [name, { remove_home: new Variant('b', true) }] })),
  userdel: async (_bus, name) => (await program('/usr/sbin/userdel', ['--remove', '--', name]), { body: [] }),
};

async function run(bus, kind, n, out) {
  for (let i = 0; i < n; i++) {
    const s = process.hrtime.bigint();
    const ms = () => Math.round((Number(process.hrtime.bigint() - s) / 1e6) * 1000) / 1000;
    try {
      const reply = ops[kind] ? await ops[kind](bus) : await bus.call(makers[kind]());
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
  let home;
  if (mode === 'createuser') {
    // the first account's home as CreateUser left it, against the skeleton useradd copies (read before the clean-up)
    const fs = require('node:fs');
    const h = `/home/${made.createuser[0]}`;
    try {
      const st = fs.statSync(h);
      home = { path: h, mode: (st.mode & 0o7777).toString(8), owner: st.uid, files: fs.readdirSync(h).sort(), skel: fs.readdirSync('/etc/skel').sort() };
    } catch (e) { home = { path: h, error: String(e && e.message) }; }
    // clean-up, timed: every account made above (warm-up ones too), whether or not its creation reported success
    for (const [k, del] of [['createuser', 'deleteuser'], ['useradd', 'userdel']]) {
      const o = (out[del] = fresh());
      for (const name of made[k]) {
        const s = process.hrtime.bigint();
        try {
          await ops[del](bus, name);
          o.lat.push(Math.round((Number(process.hrtime.bigint() - s) / 1e6) * 1000) / 1000);
        } catch (e) {
          o.errLat.push(Math.round((Number(process.hrtime.bigint() - s) / 1e6) * 1000) / 1000);
          o.errors++;
          if (o.firstErrors.length < 3) o.firstErrors.push(`${name}: ${String((e && (e.type ? `${e.type}: ${e.text || ''}` : e.message)) || e)}`);
        }
      }
      kinds.push(del);
    }
  }
  const reply = {};
  for (const k of kinds) {
    const o = out[k];
    o.calls = o.lat.length + o.errLat.length;
    const body = o.last;
    const info = { bytes: typeof body === 'string' ? Buffer.byteLength(body) : 0 };
    if (mode === 'createuser') info.names = made[k] ? made[k].length : undefined;
    if (k !== 'ping' && typeof body === 'string') {
      const t = process.hrtime.bigint();
      const v = JSON.parse(body);
      info.clientParseMs = Number(process.hrtime.bigint() - t) / 1e6;
      if (Array.isArray(v)) { info.items = v.length; info.withSlice = v.filter((u) => u.cgroup && u.cgroup.exists).length; }
      else info.sliceExists = !!(v.cgroup && v.cgroup.exists);
    }
    reply[k] = info;
    delete o.last;
  }
  console.log(JSON.stringify({ kinds: out, reply, home }));
  bus.disconnect();
  process.exit(0);
})().catch((e) => { console.error((e && e.stack) || e); process.exit(1); });
