// A booted container with diycloud installed the documented way, plus the helpers the login-path e2e tests share.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bootContainer, buildRuntimeModules, installDiycloud, type Container, type Dist, type ExecResult } from './container';

export const CONF = '/etc/diycloud/diycloud.conf';
export const DB = '/var/lib/diycloud/diycloud.db';
export const HOOK = '/usr/libexec/diycloud/pam-hook';
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
  stop(): Promise<void>;
}

export const USERS = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'grace', 'zoe'];

export async function setupLoginEnv(dist: Dist): Promise<LoginEnv> {
  const timings: Record<string, number> = {};
  const work = mkdtempSync(join(tmpdir(), `diycloud-login-${dist}-`));
  let t = Date.now();
  const c = await bootContainer({ dist });
  try {
    await c.waitRunning();
    timings.bootMs = Date.now() - t;
    t = Date.now();
    const modules = await buildRuntimeModules(c.root, join(work, 'modules'));
    await installDiycloud(c, modules);
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
    stop: () => c.stop(),
  };
  return env;
}

/** The slice properties an allocation of `cores` CPUs and `bytes` of memory must produce. */
export function expectedSlice(cores: number, bytes: number): Record<string, string> {
  const ms = Math.round(cores * 1000);
  return { CPUQuotaPerSecUSec: ms % 1000 === 0 ? `${ms / 1000}s` : ms > 1000 ? `${(ms / 1000).toFixed(6)}s` : `${ms}ms`, MemoryMax: String(bytes) };
}
