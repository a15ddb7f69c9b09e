// Boots throwaway systemd-nspawn containers (Debian bookworm/trixie) from cached rootfs tarballs for e2e tests.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, openSync, closeSync, readFileSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export type Dist = 'bookworm' | 'trixie';
export interface ExecOptions { timeoutMs?: number; input?: string; allowFail?: boolean }
export interface ExecResult { code: number; stdout: string; stderr: string; ms: number }
export interface Container {
  name: string;
  dist: Dist;
  /** host path of the container's root filesystem */
  root: string;
  /** the container's PID 1, as seen from the host */
  pid: number;
  /** runs `bash -c cmd` inside the container (nsenter -a); throws on non-zero exit unless allowFail */
  exec(cmd: string, opts?: ExecOptions): Promise<ExecResult>;
  /** writes a file inside the container (through the container, so absolute symlinks cannot escape) */
  writeFile(pathInContainer: string, content: string, mode?: number): Promise<void>;
  /** waits until `systemctl is-system-running` says running or degraded; returns that state */
  waitRunning(timeoutMs?: number): Promise<string>;
  /** systemd-nspawn's own output so far (for debugging failed boots) */
  log(): string;
  /** stops the container and removes its rootfs; idempotent */
  stop(): Promise<void>;
}

export const REPO_ROOT = resolve(__dirname, '../../..');
export const E2E_CACHE = process.env.DIYCLOUD_E2E_CACHE ?? '/var/cache/diycloud-e2e';
const BUILD_ROOTFS = join(REPO_ROOT, 'test/e2e/images/build-rootfs.sh');
const BUILD_MODULES = join(REPO_ROOT, 'packaging/build-runtime-modules.sh');
const PATH_ENV = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

function which(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

/** null when container e2e tests can run here, else a human-readable reason to skip them. */
export function e2eUnavailableReason(): string | null {
  if (process.platform !== 'linux') return 'not Linux';
  if (process.getuid?.() !== 0) return 'not running as root';
  for (const c of ['mmdebstrap', 'systemd-nspawn', 'nsenter', 'setsid', 'tar', 'flock', 'chroot']) {
    if (!which(c)) return `'${c}' not found (apt-get install mmdebstrap systemd-container util-linux)`;
  }
  if (!existsSync('/etc/apt/sources.list.d/debian.sources')) return 'no /etc/apt/sources.list.d/debian.sources to read the Debian mirror from';
  return null;
}

/** Skips loudly: call in a describe.skipIf(...) condition. */
export function e2eSkip(): boolean {
  const reason = e2eUnavailableReason();
  if (reason) console.warn(`\n*** diycloud container e2e tests SKIPPED: ${reason} ***\n`);
  return reason !== null;
}

function run(cmd: string, args: string[], opts: { input?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<ExecResult> {
  return new Promise((resolvePromise, reject) => {
    const t0 = performance.now();
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], env: opts.env ?? process.env, detached: true });
    let stdout = '', stderr = '', timedOut = false;
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => { timedOut = true; try { process.kill(-child.pid!, 'SIGKILL'); } catch { /* gone */ } }, opts.timeoutMs ?? 60_000);
    child.on('error', (e) => { clearTimeout(timer); reject(e); });
    child.on('close', (code, sig) => {
      clearTimeout(timer);
      if (timedOut) stderr += `\n[killed after ${opts.timeoutMs ?? 60_000} ms timeout]`;
      resolvePromise({ code: code ?? (sig ? 128 : 1), stdout, stderr, ms: Math.round(performance.now() - t0) });
    });
    child.stdin.on('error', () => { /* child may not read stdin */ });
    child.stdin.end(opts.input ?? '');
  });
}

/** Builds (or reuses from cache) the rootfs tarball for `dist`; returns its path. */
export async function ensureRootfs(dist: Dist): Promise<string> {
  const r = await run(BUILD_ROOTFS, [dist, join(E2E_CACHE, 'out')], { timeoutMs: 900_000 });
  if (r.code !== 0) throw new Error(`build-rootfs.sh ${dist} failed (${r.code}):\n${r.stderr.slice(-4000)}`);
  return r.stdout.trim().split('\n').pop()!;
}

/** Builds (or reuses) production node_modules whose addons match the node inside `rootfsDir`; returns OUTDIR/node_modules. */
export async function buildRuntimeModules(rootfsDir: string, outDir: string): Promise<string> {
  const r = await run(BUILD_MODULES, [rootfsDir, outDir], { timeoutMs: 900_000 });
  if (r.code !== 0) throw new Error(`build-runtime-modules.sh failed (${r.code}):\n${r.stderr.slice(-4000)}`);
  return r.stdout.trim().split('\n').pop()!;
}

function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch { return []; }
}

function isContainerInit(pid: number): boolean {
  try {
    const nspid = /^NSpid:\s+(.*)$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1].trim().split(/\s+/);
    return !!nspid && nspid.length > 1 && nspid[nspid.length - 1] === '1' && /systemd$/.test(readlinkSync(`/proc/${pid}/exe`));
  } catch { return false; }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const live = new Set<{ nspawn: ChildProcess; dir: string }>();
process.on('exit', () => {
  for (const c of live) {
    try { process.kill(-c.nspawn.pid!, 'SIGKILL'); } catch { /* gone */ }
    try { rmSync(c.dir, { recursive: true, force: true }); } catch { /* best effort */ }
  }
});

let counter = 0;
export async function bootContainer(opts: { dist: Dist; name?: string; bootTimeoutMs?: number }): Promise<Container> {
  const reason = e2eUnavailableReason();
  if (reason) throw new Error(`cannot boot e2e container: ${reason}`);
  const tarball = await ensureRootfs(opts.dist);
  const name = opts.name ?? `diycloud-e2e-${opts.dist}-${process.pid}-${++counter}`;
  const dir = mkdtempSync(join(tmpdir(), `${name}-`));
  const root = join(dir, 'root');
  const logFile = join(dir, 'nspawn.log');
  const untar = await run('sh', ['-c', 'mkdir -p "$1" && tar -C "$1" -xpf "$2"', 'sh', root, tarball], { timeoutMs: 300_000 });
  if (untar.code !== 0) { rmSync(dir, { recursive: true, force: true }); throw new Error(`unpacking ${tarball} failed: ${untar.stderr}`); }

  const logFd = openSync(logFile, 'a');
  const env: NodeJS.ProcessEnv = { ...process.env, SYSTEMD_NSPAWN_UNIFIED_HIERARCHY: opts.dist === 'trixie' ? '1' : undefined };
  if (env.SYSTEMD_NSPAWN_UNIFIED_HIERARCHY === undefined) delete env.SYSTEMD_NSPAWN_UNIFIED_HIERARCHY;
  // detached: true == setsid: nspawn gets its own session and process group, so stop() can kill the whole group.
  const nspawn = spawn('systemd-nspawn', ['-D', root, `--machine=${name.slice(0, 64)}`, '--boot', '--register=no', '--keep-unit', '--private-network', '-q'],
    { detached: true, stdio: ['ignore', logFd, logFd], env });
  closeSync(logFd);
  const entry = { nspawn, dir };
  live.add(entry);
  let exited = false;
  const exitedP = new Promise<void>((r) => nspawn.on('exit', () => { exited = true; r(); }));
  const readLog = () => { try { return readFileSync(logFile, 'utf8'); } catch { return ''; } };

  let stopped = false;
  let pidns = 'none';
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    if (!exited) {
      try { process.kill(nspawn.pid!, 'SIGTERM'); } catch { /* gone */ } // nspawn asks PID 1 to power off
      await Promise.race([exitedP, sleep(15_000)]);
      if (!exited) {
        try { process.kill(-nspawn.pid!, 'SIGKILL'); } catch { /* gone */ }
        await Promise.race([exitedP, sleep(5_000)]);
      }
    }
    // make sure nothing is still running in the container's PID namespace before removing the rootfs
    for (let i = 0; i < 50; i++) {
      const left = readdirSync('/proc').filter((p) => /^\d+$/.test(p)).filter((p) => {
        try { return readlinkSync(`/proc/${p}/ns/pid`) === pidns; } catch { return false; }
      });
      if (left.length === 0) break;
      for (const p of left) { try { process.kill(Number(p), 'SIGKILL'); } catch { /* gone */ } }
      await sleep(100);
    }
    rmSync(dir, { recursive: true, force: true });
    live.delete(entry);
  };

  // find PID 1: the child of systemd-nspawn that is PID 1 in its own PID namespace and runs systemd
  let pid = 0;
  const deadline = Date.now() + (opts.bootTimeoutMs ?? 60_000);
  while (!pid && Date.now() < deadline && !exited) {
    pid = childrenOf(nspawn.pid!).find(isContainerInit) ?? 0;
    if (!pid) await sleep(50);
  }
  if (pid) { try { pidns = readlinkSync(`/proc/${pid}/ns/pid`); } catch { /* raced with exit */ } }
  if (!pid) { const log = readLog(); await stop(); throw new Error(`container ${name} did not start:\n${log}`); }

  const exec = async (cmd: string, o: ExecOptions = {}): Promise<ExecResult> => {
    if (stopped) throw new Error(`container ${name} is stopped`);
    const r = await run('nsenter', ['-a', '-t', String(pid), '-r', '-w', '--', '/usr/bin/env', '-i', `PATH=${PATH_ENV}`, 'HOME=/root',
      'USER=root', 'LOGNAME=root', 'LANG=C.UTF-8', 'TERM=dumb', '/bin/bash', '-c', cmd], { input: o.input, timeoutMs: o.timeoutMs ?? 60_000 });
    if (r.code !== 0 && !o.allowFail) {
      throw new Error(`[${name}] command failed (exit ${r.code}, ${r.ms} ms): ${cmd}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`);
    }
    return r;
  };

  const writeFile = async (p: string, content: string, mode = 0o644) => {
    if (!p.startsWith('/')) throw new Error(`writeFile: path must be absolute: ${p}`);
    const q = `'${p.replace(/'/g, `'\\''`)}'`;
    await exec(`mkdir -p "$(dirname ${q})" && cat > ${q} && chmod ${mode.toString(8)} ${q}`, { input: content });
  };

  const waitRunning = async (timeoutMs = 90_000): Promise<string> => {
    const end = Date.now() + timeoutMs;
    let state = '';
    while (Date.now() < end) {
      if (exited) throw new Error(`container ${name} exited during boot:\n${readLog()}`);
      state = (await exec('systemctl is-system-running', { allowFail: true, timeoutMs: 10_000 })).stdout.trim();
      if (state === 'running' || state === 'degraded') return state;
      await sleep(200);
    }
    const failed = await exec('systemctl --failed --no-legend; systemctl list-jobs --no-legend | head', { allowFail: true });
    throw new Error(`container ${name} not up after ${timeoutMs} ms (state '${state}'):\n${failed.stdout}\n${readLog()}`);
  };

  return { name, dist: opts.dist, root, pid, exec, writeFile, waitRunning, log: readLog, stop };
}

/**
 * Installs diycloud into a running container with exactly the documented step (packaging/install.sh, real install
 * inside the container, so daemon-reload and the D-Bus reload run). srcDir defaults to the repo; its dist/ must exist.
 * nodeModulesDir: output of buildRuntimeModules() for this container's dist.
 */
export async function installDiycloud(c: Container, nodeModulesDir: string, srcDir: string = REPO_ROOT): Promise<ExecResult> {
  const copy = await run('sh', ['-c',
    'set -e; rm -rf "$1/opt/diycloud-src" "$1/opt/diycloud-modules"; mkdir -p "$1/opt/diycloud-src" "$1/opt/diycloud-modules"; ' +
    'tar -C "$2" --exclude=./node_modules --exclude=./.git -cf - . | tar -C "$1/opt/diycloud-src" -xf -; ' +
    'cp -R "$3" "$1/opt/diycloud-modules/node_modules"', 'sh', c.root, srcDir, nodeModulesDir], { timeoutMs: 120_000 });
  if (copy.code !== 0) throw new Error(`copying sources into ${c.name} failed: ${copy.stderr}`);
  return c.exec('/opt/diycloud-src/packaging/install.sh --node-modules /opt/diycloud-modules', { timeoutMs: 120_000 });
}

/** Boots a container for `dist`, waits until it runs and installs diycloud the documented way; stops it again on failure. */
export async function bootWithDiycloud(dist: Dist): Promise<Container> {
  const work = mkdtempSync(join(tmpdir(), `diycloud-install-${dist}-`));
  const c = await bootContainer({ dist });
  try {
    await c.waitRunning();
    await installDiycloud(c, await buildRuntimeModules(c.root, join(work, 'modules')));
    return c;
  } catch (e) {
    await c.stop();
    throw e;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
