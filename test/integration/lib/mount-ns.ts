// Runs a program in a private mount namespace with files or directories bind-mounted over paths there, leaving the host's mounts and files as they were.

import { run, type RunResult } from './daemon-process';

/**
 * `binds` are [source on the host, path inside] pairs; each target must exist already (a bind
 * mount only covers a path, never creates it). `unshare --mount --propagation private` makes the
 * mounts invisible outside and they end with the namespace when the program exits. Needs root.
 */
export function runInMountNamespace(binds: Array<[source: string, target: string]>, path: string, args: string[], env: Record<string, string>, timeoutMs = 10_000): Promise<RunResult & { ms: number }> {
  const script = 'while [ "$1" != -- ]; do /usr/bin/mount --bind -- "$1" "$2" || exit 125; shift 2; done; shift; exec "$@"';
  return run('/usr/bin/unshare', ['--mount', '--propagation', 'private', '--', '/bin/sh', '-c', script, 'sh', ...binds.flat(), '--', path, ...args], { env, timeoutMs });
}
