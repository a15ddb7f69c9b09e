// Starts a textual polkit agent (pkttyagent) for this process, as systemd's polkit_agent_open() does.

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { CLEAN_ENV } from './run-program';

export const PKTTYAGENT = '/usr/bin/pkttyagent';

export interface PolkitAgent {
  close(): void;
}

/**
 * Runs `pkttyagent --notify-fd 3 --fallback --process <pid>` and resolves once the agent has
 * registered (it closes fd 3) or exited. Resolves with null when there is nothing to start
 * (no pkttyagent). The agent shares our terminal so it can prompt; `close()` ends it.
 */
export async function openPolkitAgent(opts: { pid?: number; path?: string; timeoutMs?: number } = {}): Promise<PolkitAgent | null> {
  const path = opts.path ?? PKTTYAGENT;
  if (!existsSync(path)) return null;
  let child: ChildProcess;
  try {
    child = spawn(path, ['--notify-fd', '3', '--fallback', '--process', String(opts.pid ?? process.pid)], {
      stdio: ['inherit', 'inherit', 'inherit', 'pipe'],
      env: { ...CLEAN_ENV, ...(process.env.TERM ? { TERM: process.env.TERM } : {}) },
    });
  } catch {
    return null;
  }
  const notify = child.stdio[3] as NodeJS.ReadableStream | null;
  await new Promise<void>((resolve) => {
    const done = (): void => (clearTimeout(timer), resolve());
    const timer = setTimeout(done, opts.timeoutMs ?? 5_000);
    child.once('error', done);
    child.once('exit', done);
    if (notify) {
      notify.on('data', () => undefined);
      notify.once('end', done);
      notify.once('close', done);
      notify.once('error', done);
    }
  });
  child.unref();
  (notify as unknown as { destroy?: () => void } | null)?.destroy?.();
  return {
    close() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    },
  };
}
