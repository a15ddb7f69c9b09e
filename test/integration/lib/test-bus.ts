// Starts a real dbus-daemon with a system-bus-like policy that the test writes itself.

import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const REPO = resolve(__dirname, '..', '..', '..');

export interface TestBus {
  readonly dir: string;
  readonly address: string;
  stop(): Promise<void>;
}

/**
 * The policy is dbus/private-system-bus.conf.in: the system bus's own default (deny owning names
 * and sending method calls, except to the bus driver), plus our shipped policy file, plus
 * permission for root to own the fakes org.freedesktop.systemd1 and org.freedesktop.PolicyKit1 (which,
 * like the real polkit's bus policy, everyone may call). So root-only rules of dbus/org.diycloud.Manager1.conf are real here.
 */
export async function startTestBus(): Promise<TestBus> {
  const dir = mkdtempSync(join(tmpdir(), 'diycloud-bus-'));
  chmodSync(dir, 0o755); // unprivileged test callers must reach the socket
  const socket = join(dir, 'bus.sock');
  const conf = join(dir, 'bus.conf');
  const extra = `<policy user="root">
    <allow own="org.freedesktop.systemd1"/>
    <allow send_destination="org.freedesktop.systemd1"/>
    <allow own="org.freedesktop.PolicyKit1"/>
  </policy>
  <policy context="default">
    <allow send_destination="org.freedesktop.PolicyKit1"/>
  </policy>
  <limit name="max_replies_per_connection">128</limit>
  <limit name="max_message_size">33554432</limit>`;
  writeFileSync(
    conf,
    readFileSync(join(REPO, 'dbus', 'private-system-bus.conf.in'), 'utf8')
      .replace('@LISTEN@', `unix:path=${socket}`)
      .replace('@POLICY@', join(REPO, 'dbus', 'org.diycloud.Manager1.conf'))
      .replace('@EXTRA@', extra),
  );
  const child: ChildProcess = spawn('/usr/bin/dbus-daemon', ['--config-file', conf, '--nofork', '--nopidfile'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (b: Buffer) => (stderr += b.toString()));
  for (let i = 0; i < 100 && !existsSync(socket); i++) await new Promise((r) => setTimeout(r, 20));
  if (!existsSync(socket)) throw new Error(`dbus-daemon did not start: ${stderr}`);
  return {
    dir,
    address: `unix:path=${socket}`,
    async stop() {
      if (child.exitCode === null) {
        const gone = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await gone;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function readRepoFile(rel: string): string {
  return readFileSync(join(REPO, rel), 'utf8');
}
