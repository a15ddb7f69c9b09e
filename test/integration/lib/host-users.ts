// Creates real NSS users on the test host (useradd) and removes them afterwards.

import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';

export interface HostUser {
  readonly name: string;
  readonly uid: number;
}

/** Users get a random name prefix so parallel runs and leftovers cannot collide. */
export function createHostUsers(count: number, firstUid: number): { users: HostUser[]; remove(): void } {
  const tag = randomBytes(3).toString('hex');
  const users: HostUser[] = [];
  for (let i = 0; i < count; i++) {
    const name = `dct${tag}${i}`;
    const uid = firstUid + i;
    // A user left over by an interrupted run of these tests holds the uid: remove it.
    const stale = spawnSync('/usr/bin/getent', ['passwd', String(uid)], { encoding: 'utf8' }).stdout.split(':')[0];
    if (stale?.startsWith('dct')) spawnSync('/usr/sbin/userdel', ['--', stale]);
    // Test files run in parallel and useradd refuses while another holds the passwd lock: retry.
    for (let attempt = 0; ; attempt++) {
      const r = spawnSync('/usr/sbin/useradd', ['--no-create-home', '--uid', String(uid), '--shell', '/usr/sbin/nologin', '--', name], { encoding: 'utf8' });
      if (r.status === 0) break;
      if (attempt >= 50) throw new Error(`useradd ${name} failed: ${r.stderr}`);
      execFileSync('/bin/sleep', ['0.1']);
    }
    users.push({ name, uid });
  }
  return {
    users,
    remove() {
      for (const u of users) spawnSync('/usr/sbin/userdel', ['--', u.name]);
    },
  };
}
