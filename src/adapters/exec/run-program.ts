// The one place that starts programs: absolute path, argv array, clean environment, timeout, bounded output.

import { spawn } from 'node:child_process';
import { isAbsolute } from 'node:path';
import { DiycloudError } from '../../core/errors';

export interface RunOptions {
  /** Written to the child's stdin (secrets go here, never into argv). */
  readonly input?: string;
  readonly timeoutMs?: number;
  /** Output beyond this many bytes per stream is dropped. */
  readonly maxOutputBytes?: number;
}

export interface RunResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** The only environment a child gets. */
export const CLEAN_ENV: Readonly<Record<string, string>> = Object.freeze({ PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C.UTF-8', LC_ALL: 'C.UTF-8' });

/**
 * Runs `path` with `args` and resolves with its exit status and output, whatever the status.
 * Rejects (BackendFailed, with the cause) only when the program cannot be started or times out.
 * Callers put "--" before any name they pass, so a name is never read as an option.
 */
export function runProgram(path: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  if (!isAbsolute(path)) throw new Error(`runProgram needs an absolute path, got ${path}`);
  const max = opts.maxOutputBytes ?? 1 << 20;
  return new Promise((resolve, reject) => {
    const child = spawn(path, args, { env: { ...CLEAN_ENV }, stdio: ['pipe', 'pipe', 'pipe'], timeout: opts.timeoutMs ?? 10_000, killSignal: 'SIGKILL' });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let outLen = 0;
    let errLen = 0;
    child.stdout.on('data', (b: Buffer) => {
      if (outLen < max) out.push(b.subarray(0, max - outLen));
      outLen += b.length;
    });
    child.stderr.on('data', (b: Buffer) => {
      if (errLen < max) err.push(b.subarray(0, max - errLen));
      errLen += b.length;
    });
    child.on('error', (e) => reject(new DiycloudError('BackendFailed', `could not run ${path}`, { cause: e })));
    child.on('close', (code, signal) => {
      if (signal === 'SIGKILL' && code === null) {
        reject(new DiycloudError('BackendFailed', `${path} did not finish within ${opts.timeoutMs ?? 10_000} ms`));
        return;
      }
      resolve({ code, signal, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') });
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(opts.input ?? '');
  });
}
