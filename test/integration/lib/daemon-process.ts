// Runs the real diycloudd (dist/entry/daemon.js) as a child process on a test bus.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO } from './test-bus';

export interface DaemonProcess {
  readonly dir: string;
  readonly configPath: string;
  readonly dbPath: string;
  readonly child: ChildProcess;
  /** Everything the daemon logged so far. */
  log(): string;
  stop(): Promise<void>;
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a program without blocking the event loop (the fake systemd1 lives in this process). */
export function run(path: string, args: string[], opts: { input?: string; env?: Record<string, string>; timeoutMs?: number } = {}): Promise<RunResult & { ms: number }> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(path, args, {
      env: opts.env ?? { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' },
      timeout: opts.timeoutMs ?? 15_000,
      stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code: code ?? (signal ? 128 : -1), stdout, stderr, ms: Date.now() - started }));
    if (child.stdin) {
      child.stdin.on('error', () => undefined); // a child that exits before reading its input
      child.stdin.end(opts.input);
    }
  });
}

/** busctl on the test bus; leading "--x" arguments are busctl options, the rest follow "--". */
export function busctl(address: string, args: string[], opts: { asUid?: number } = {}): Promise<RunResult> {
  const i = args.findIndex((a) => !a.startsWith('--'));
  const argv = ['--address=' + address, ...args.slice(0, i), '--', ...args.slice(i)];
  return opts.asUid === undefined
    ? run('/usr/bin/busctl', argv)
    : run('/usr/bin/setpriv', [`--reuid=${opts.asUid}`, `--regid=${opts.asUid}`, '--clear-groups', '/usr/bin/busctl', ...argv]);
}

export const MGR = ['org.diycloud.Manager1', '/org/diycloud/Manager1', 'org.diycloud.Manager1'];

/** Starts diycloudd with `conf` (INI text) and waits until it owns its name. */
export async function startDaemon(address: string, conf: string, opts: { dir?: string } = {}): Promise<DaemonProcess> {
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'diycloudd-'));
  const configPath = join(dir, 'diycloud.conf');
  const dbPath = join(dir, 'diycloud.db');
  writeFileSync(configPath, conf);
  const child = spawn(process.execPath, [join(REPO, 'dist', 'entry', 'daemon.js'), '--config', configPath, '--bus-address', address, '--database', dbPath], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr?.on('data', (b: Buffer) => (out += b.toString()));
  for (let i = 0; i < 200; i++) {
    if (/start-up reconcile/.test(out)) break;
    if (child.exitCode !== null) throw new Error(`diycloudd exited ${child.exitCode}: ${out}`);
    await new Promise((r) => setTimeout(r, 25));
  }
  if (!/start-up reconcile/.test(out)) throw new Error(`diycloudd did not start: ${out}`);
  return {
    dir,
    configPath,
    dbPath,
    child,
    log: () => out,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const gone = new Promise((r) => child.once('exit', r));
        child.kill('SIGCONT');
        child.kill('SIGTERM');
        await gone;
      }
      if (!opts.dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}
