// AccountAdmin on shadow-utils: role groups (groupadd, gpasswd) and password locks (usermod).

import { DiycloudError } from '../../core/errors';
import type { AccountAdmin, Logger } from '../../core/ports';
import { runProgram, type RunResult } from '../exec/run-program';

export interface ShadowPaths {
  readonly getent: string;
  readonly groupadd: string;
  readonly gpasswd: string;
  readonly usermod: string;
}

export const SHADOW_PATHS: ShadowPaths = { getent: '/usr/bin/getent', groupadd: '/usr/sbin/groupadd', gpasswd: '/usr/bin/gpasswd', usermod: '/usr/sbin/usermod' };

/** Every program gets "--" before names, so a name is never read as an option. */
export class ShadowAccountAdmin implements AccountAdmin {
  constructor(private readonly log: Logger, private readonly paths: ShadowPaths = SHADOW_PATHS) {}

  async setMembership(user: string, memberships: { group: string; member: boolean }[]): Promise<void> {
    for (const { group, member } of memberships) {
      const g = await runProgram(this.paths.getent, ['group', '--', group]);
      const members = g.code === 0 ? (g.stdout.trim().split(':')[3] ?? '').split(',').filter(Boolean) : null;
      if (members === null) {
        if (!member) continue;
        must(await runProgram(this.paths.groupadd, ['--system', '--', group]), `groupadd ${group}`);
      }
      const isMember = members?.includes(user) ?? false;
      if (member && !isMember) must(await runProgram(this.paths.gpasswd, ['--add', user, '--', group]), `gpasswd --add ${user} ${group}`);
      if (!member && isMember) must(await runProgram(this.paths.gpasswd, ['--delete', user, '--', group]), `gpasswd --delete ${user} ${group}`);
    }
  }

  async setLocked(user: string, locked: boolean): Promise<void> {
    const r = await runProgram(this.paths.usermod, [locked ? '--lock' : '--unlock', '--', user]);
    // A directory (LDAP/SSSD) user has no local password to lock: the account phase still refuses.
    if (r.code !== 0) this.log.warn(`usermod ${locked ? '--lock' : '--unlock'} ${user} failed (${r.stderr.trim().slice(0, 200)}), ignoring`);
  }
}

function must(r: RunResult, what: string): void {
  if (r.code !== 0) throw new DiycloudError('BackendFailed', `${what} failed`, { cause: new Error(`exit ${r.code}: ${r.stderr.trim().slice(0, 300)}`) });
}
