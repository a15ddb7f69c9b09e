// A booted container with diycloud installed the documented way, plus the helpers the login-path e2e tests share.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bootContainer, buildRuntimeModules, installDiycloud, REPO_ROOT, type Container, type Dist, type ExecResult } from './container';

export const CONF = '/etc/diycloud/diycloud.conf';
export const DB = '/var/lib/diycloud/diycloud.db';
export const HOOK = '/usr/libexec/diycloud/pam-hook';
/** What marks a journal line as the gate's (grep -E): the module's pam_syslog prefix or the program's identifier. */
export const GATE_LOG_RE = 'pam_diycloud\\(|diycloud-pam-hook\\[';
export const MGR = ['org.diycloud.Manager1', '/org/diycloud/Manager1', 'org.diycloud.Manager1'] as const;
/** [Hook] TimeoutSec default (the hook's budget per PAM call). */
export const BUDGET_MS = 2000;

/** Single-quotes a string for bash. */
export const q = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

export interface LoginEnv {
  c: Container;
  dist: Dist;
  uids: Record<string, number>;
  timings: Record<string, number>;
  /** `systemctl show user-UID.slice` limits of interest, as a key → value map */
  slice(uid: number): Promise<Record<string, string>>;
  /** polls slice(uid) until pred holds (or the time is up); returns the last value */
  waitSlice(uid: number, pred: (p: Record<string, string>) => boolean, timeoutMs?: number): Promise<Record<string, string>>;
  sql(statement: string): Promise<string>;
  /** a users row (+ resource_allocations when cpu or mem is given) for an existing Unix user */
  addDbUser(name: string, o?: { cpu?: number | null; mem?: string | null; active?: 0 | 1 }): Promise<void>;
  /** runs cmd and reports its wall time measured inside the container (ms) */
  timed(cmd: string, timeoutMs?: number): Promise<ExecResult & { innerMs: number }>;
  /** ssh USER@127.0.0.1 CMD with root's key (BatchMode) */
  ssh(user: string, cmd: string, timeoutMs?: number): Promise<ExecResult>;
  busctl(args: string[]): Promise<ExecResult>;
  journal(args: string): Promise<string>;
  /** The gate's journal lines (journalctl ARGS): the module's (pam_syslog: "pam_diycloud(service:type): …" under the
   * application's name) and the pam_exec program's (identifier diycloud-pam-hook) */
  gateLog(args?: string): Promise<string>;
  stop(): Promise<void>;
}

export const USERS = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'grace', 'zoe'];

export interface LoginEnvOptions {
  /** the source tree install.sh runs from (its dist/ must be built); default $DIYCLOUD_E2E_SRC, else this checkout.
   *  A clean build of another commit lets a test show how that commit behaves. */
  srcDir?: string;
}

export async function setupLoginEnv(dist: Dist, opts: LoginEnvOptions = {}): Promise<LoginEnv> {
  const srcDir = opts.srcDir ?? process.env.DIYCLOUD_E2E_SRC ?? REPO_ROOT;
  const timings: Record<string, number> = {};
  const work = mkdtempSync(join(tmpdir(), `diycloud-login-${dist}-`));
  let t = Date.now();
  const c = await bootContainer({ dist });
  try {
    await c.waitRunning();
    timings.bootMs = Date.now() - t;
    t = Date.now();
    const modules = await buildRuntimeModules(c.root, join(work, 'modules'));
    await installDiycloud(c, modules, srcDir);
    timings.installMs = Date.now() - t;
  } catch (e) {
    await c.stop();
    rmSync(work, { recursive: true, force: true });
    throw e;
  }
  rmSync(work, { recursive: true, force: true });

  const uids: Record<string, number> = {};
  await c.exec(USERS.map((u) => `useradd -m -s /bin/bash ${u}`).join(' && '));
  for (const line of (await c.exec(`for u in ${USERS.join(' ')}; do echo "$u $(id -u $u)"; done`)).stdout.trim().split('\n')) {
    const [u, id] = line.split(' ');
    uids[u] = Number(id);
  }
  // root's key is authorized for every test user: ssh USER@127.0.0.1 from root inside the container
  await c.exec(`install -d -m 700 /root/.ssh && rm -f /root/.ssh/id_ed25519* && ssh-keygen -q -t ed25519 -N '' -f /root/.ssh/id_ed25519;
    for u in ${USERS.join(' ')}; do install -d -m 700 -o $u -g $u /home/$u/.ssh && install -m 600 -o $u -g $u /root/.ssh/id_ed25519.pub /home/$u/.ssh/authorized_keys; done;
    systemctl is-active ssh.service >/dev/null || systemctl start ssh.service`);

  const slice = async (uid: number) => {
    const r = await c.exec(`systemctl show user-${uid}.slice -p CPUQuotaPerSecUSec -p MemoryMax -p MemoryHigh -p TasksMax -p ActiveState`);
    return Object.fromEntries(r.stdout.trim().split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
  };
  const env: LoginEnv = {
    c, dist, uids, timings, slice,
    async waitSlice(uid, pred, timeoutMs = 5000) {
      const end = Date.now() + timeoutMs;
      let p = await slice(uid);
      while (!pred(p) && Date.now() < end) {
        await new Promise((r) => setTimeout(r, 100));
        p = await slice(uid);
      }
      return p;
    },
    sql: async (s) => (await c.exec(`sqlite3 ${DB}`, { input: s + '\n' })).stdout.trim(),
    async addDbUser(name, o = {}) {
      await env.sql(`INSERT INTO users(username, uid, is_active) VALUES ('${name}', ${uids[name]}, ${o.active ?? 1});`);
      if (o.cpu !== undefined || o.mem !== undefined) {
        await env.sql(`INSERT INTO resource_allocations(user_id, cpu_limit, mem_limit) SELECT id, ${o.cpu ?? 'NULL'}, ${o.mem ? `'${o.mem}'` : 'NULL'} FROM users WHERE username = '${name}';`);
      }
    },
    async timed(cmd, timeoutMs = 60_000) {
      const r = await c.exec(`s=$(date +%s%N); ( ${cmd} ); rc=$?; echo "@@ms=$(( ($(date +%s%N) - s) / 1000000 ))"; exit $rc`, { allowFail: true, timeoutMs });
      const m = /@@ms=(\d+)/.exec(r.stdout);
      return { ...r, stdout: r.stdout.replace(/@@ms=\d+\n?/, ''), innerMs: m ? Number(m[1]) : r.ms };
    },
    ssh: (user, cmd, timeoutMs = 60_000) =>
      c.exec(`ssh -n -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR ${user}@127.0.0.1 ${q(cmd)}`,
        { allowFail: true, timeoutMs }),
    busctl: (args) => c.exec(`busctl ${args.map(q).join(' ')}`, { allowFail: true }),
    journal: async (args) => (await c.exec(`journalctl --no-pager -q ${args}`, { allowFail: true })).stdout,
    gateLog: async (args = '') => (await c.exec(`journalctl --no-pager -q ${args} | grep -E ${q(GATE_LOG_RE)}`, { allowFail: true })).stdout,
    stop: () => c.stop(),
  };
  return env;
}

/** Authorizes root's ssh key (made by setupLoginEnv) for `user`, root included, so `e.ssh(user, …)` works for users made later. */
export async function authorizeRootKey(c: Container, user: string): Promise<void> {
  await c.exec(`h=$(getent passwd ${q(user)} | cut -d: -f6) && g=$(id -g ${q(user)}) && test -n "$h" &&
    install -d -m 700 -o ${q(user)} -g "$g" "$h/.ssh" && install -m 600 -o ${q(user)} -g "$g" /root/.ssh/id_ed25519.pub "$h/.ssh/authorized_keys"`);
}

/**
 * The path in the cgroup tree systemd tracks a process by, from /proc/PID/cgroup text: the unified "0::" line (what
 * systemd tracks by on a unified or hybrid host), else the legacy name=systemd line. The hybrid name=systemd line can
 * lag behind (in the bookworm container cron's jobs show "name=systemd:/init.scope" beside "0::/system.slice/cron.service").
 */
export function systemdCgroup(procCgroup: string): string | null {
  const lines = procCgroup.split('\n');
  const path = (l: string | undefined) => (l ? l.slice(l.indexOf(':', l.indexOf(':') + 1) + 1) : null);
  const v2 = path(lines.find((l) => l.startsWith('0::')));
  const v1 = path(lines.find((l) => /^\d+:name=systemd:/.test(l)));
  return v2 && v2 !== '/' ? v2 : v1 ?? v2;
}

/** Where the flood driver (bench/drivers/flood-driver.cjs) is put inside a container, and the dbus-next it loads. */
export const FLOOD_DRIVER = '/usr/local/lib/diycloud-e2e/flood-driver.cjs';
export const RUNTIME_MODULES = '/usr/lib/diycloud/node_modules';
export interface FloodReport {
  calls: number;
  replies: { ok: number; byError: Record<string, number> };
  seconds: number;
  pendingAtEnd: number;
  localErrors: number;
  disconnects: number;
  firstErrorTexts: string[];
}
export interface Flood { pid: number; stop(): Promise<FloodReport> }
let floods = 0;

/**
 * Starts the flood driver inside the container as `user` (setpriv: no PAM, no logind session) against the system bus and
 * resolves once its connections are up and its calls are in flight. stop() ends it (SIGTERM; it also ends by itself
 * after `seconds`) and returns its report; the process is gone afterwards.
 */
export async function startFlood(c: Container, user: string, o: { method: 'ListProfiles' | 'ListUsers' | 'GetUser'; randomUser?: boolean;
  connections?: number; inflight?: number; seconds?: number }): Promise<Flood> {
  await c.writeFile(FLOOD_DRIVER, readFileSync(join(REPO_ROOT, 'bench/drivers/flood-driver.cjs'), 'utf8'), 0o644);
  const d = `/tmp/diycloud-flood-${++floods}`;
  const args = ['--connections', o.connections ?? 16, '--inflight', o.inflight ?? 1900, '--method', o.method, '--seconds', o.seconds ?? 60,
    '--modules', RUNTIME_MODULES, '--ready-file', `${d}/ready`, ...(o.randomUser ? ['--arg-random-user'] : [])].map(String);
  await c.exec(`rm -rf ${d} && install -d -m 0755 -o ${q(user)} ${d}`);
  // a simple command in the background, in a session of its own: a background list (`a && b &`) dies with this exec
  await c.exec(`setsid setpriv --reuid=${q(user)} --regid=${q(user)} --init-groups -- /usr/bin/env -i PATH=/usr/bin:/bin HOME=/tmp LANG=C.UTF-8 ` +
    `/usr/bin/node ${FLOOD_DRIVER} ${args.map(q).join(' ')} > ${d}/out.json 2> ${d}/err.txt < /dev/null &`);
  const w = await c.exec(`for i in $(seq 300); do [ -s ${d}/ready ] && break; [ -s ${d}/out.json ] && break; sleep 0.1; done; p=$(cat ${d}/ready) && kill -0 "$p" && echo "$p"`,
    { allowFail: true, timeoutMs: 45_000 });
  const pid = Number(w.stdout.trim());
  if (!(pid > 1)) { // not started, ended already, or not a process of this container
    const err = await c.exec(`cat ${d}/out.json ${d}/err.txt`, { allowFail: true });
    throw new Error(`flood driver did not start: ${err.stdout}`);
  }
  return {
    pid,
    async stop() {
      // one waiting process (tail --pid), not a polling loop: forks are slow while the flood keeps the CPUs busy
      const r = await c.exec(`kill -TERM ${pid} 2>/dev/null; timeout 20 tail --pid=${pid} -f /dev/null; kill -KILL ${pid} 2>/dev/null; ` +
        `cat ${d}/out.json; cat ${d}/err.txt >&2`, { allowFail: true, timeoutMs: 30_000 });
      const line = r.stdout.trim().split('\n').pop() ?? '';
      try { return JSON.parse(line) as FloodReport; } catch { throw new Error(`no report from the flood driver: ${r.stdout} ${r.stderr}`); }
    },
  };
}

/** The median of some numbers (NaN for none). */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** The slice properties an allocation of `cores` CPUs and `bytes` of memory must produce. */
export function expectedSlice(cores: number, bytes: number): Record<string, string> {
  const ms = Math.round(cores * 1000);
  return { CPUQuotaPerSecUSec: ms % 1000 === 0 ? `${ms / 1000}s` : ms > 1000 ? `${(ms / 1000).toFixed(6)}s` : `${ms}ms`, MemoryMax: String(bytes) };
}
