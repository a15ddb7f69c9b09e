// Captures what a program sends to syslog(3), without touching the host's /dev: the program runs in a private mount namespace whose /dev is a test directory holding a socket the test listens on.

import { createServer, type Server, type Socket } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type RunResult } from './daemon-process';
import { runInMountNamespace } from './mount-ns';

export interface SyslogCapture {
  /** The records received so far (each record as sent, bytes as latin1, without the NUL that ends it). */
  records(): string[];
  /** Runs `path args` with `env`, its /dev/log being our socket; `binds` are more [host path, path inside] mounts. */
  run(path: string, args: string[], env: Record<string, string>, binds?: Array<[string, string]>): Promise<RunResult & { ms: number }>;
  stop(): Promise<void>;
}

/**
 * How it works, and why it leaves the host as it was:
 * - The test listens on a unix **stream** socket `<tmpdir>/log` (Node has no unix datagram sockets).
 *   glibc's syslog(3) first tries a datagram socket on /dev/log, gets EPROTOTYPE, retries with a
 *   stream socket, and then ends every record with a NUL byte, so records stay separable.
 * - The program runs under `unshare --mount --propagation private`, and inside that namespace only,
 *   `<tmpdir>` is bind-mounted over /dev. Nothing is created under the host's /dev (a devtmpfs, so a
 *   file made there, even from another mount namespace, would show on the host); the mount ends
 *   with the namespace when the program exits. Inside, /dev holds only `log`.
 * Needs root (unshare, mount).
 */
export async function startSyslogCapture(): Promise<SyslogCapture> {
  const dir = mkdtempSync(join(tmpdir(), 'diycloud-devlog-'));
  const chunks: Buffer[] = [];
  const conns = new Set<Socket>();
  const server: Server = createServer((s) => {
    conns.add(s);
    s.on('data', (b: Buffer) => chunks.push(b));
    s.on('close', () => conns.delete(s));
  });
  await new Promise<void>((r) => server.listen(join(dir, 'log'), r));
  return {
    records: () => Buffer.concat(chunks).toString('latin1').split('\0').filter((r) => r !== ''),
    run: (path, args, env, binds = []) => runInMountNamespace([[dir, '/dev'], ...binds], path, args, env),
    async stop() {
      conns.forEach((s) => s.destroy());
      await new Promise<void>((r) => server.close(() => r()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
