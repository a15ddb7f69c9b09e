// AccountAdmin on shadow-utils: role groups (groupadd, gpasswd) and password locks (usermod).

import { DiycloudError } from '../../core/errors';
import type { AccountAdmin, Logger } from '../../core/ports';
import { runProgram, type RunResult } from '../exec/run-program';

export interface ShadowPaths {
  readonly getent: string;
  readonly groupadd: string;
  readonly gpasswd: string;
  readonly usermod: string;
  readonly useradd: string;
  readonly userdel: string;
  readonly chpasswd: string;
}

export const SHADOW_PATHS: ShadowPaths = {
  getent: '/usr/bin/getent', groupadd: '/usr/sbin/groupadd', gpasswd: '/usr/bin/gpasswd', usermod: '/usr/sbin/usermod',
  useradd: '/usr/sbin/useradd', userdel: '/usr/sbin/userdel', chpasswd: '/usr/sbin/chpasswd',
};

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

  async createAccount(a: { name: string; uid: number; shell: string; homeMode: string }): Promise<void> {
    const r = await runProgram(this.paths.useradd, ['--uid', String(a.uid), '--create-home', '--user-group', '--shell', a.shell, '--key', `HOME_MODE=${a.homeMode}`, '--', a.name], { timeoutMs: 60_000 });
    if (r.code === USERADD_NAME_IN_USE) throw new DiycloudError('UserExists', `a user or group named "${a.name}" already exists`);
    if (r.code === USERADD_UID_IN_USE) throw new DiycloudError('BackendFailed', `uid ${a.uid} is already in use`, { cause: new Error(r.stderr.trim()) });
    must(r, `useradd ${a.name}`);
  }

  async setPassword(user: string, password: string): Promise<void> {
    must(await runProgram(this.paths.chpasswd, [], { input: `${user}:${password}\n` }), `chpasswd for ${user}`);
  }

  async deleteAccount(user: string, removeHome: boolean): Promise<void> {
    const r = await runProgram(this.paths.userdel, [...(removeHome ? ['--remove'] : []), '--', user], { timeoutMs: 60_000 });
    if (r.code === USERDEL_NO_USER) return;
    // 12: the home directory could not be removed entirely; the account is gone, which is what counts.
    if (r.code === 12) {
      this.log.warn(`userdel ${user}: ${r.stderr.trim().slice(0, 200)}, ignoring`);
      return;
    }
    must(r, `userdel ${user}`);
  }

  async setLocked(user: string, locked: boolean): Promise<void> {
    const r = await runProgram(this.paths.usermod, [locked ? '--lock' : '--unlock', '--', user]);
    // A directory (LDAP/SSSD) user has no local password to lock: the account phase still refuses.
    if (r.code !== 0) this.log.warn(`usermod ${locked ? '--lock' : '--unlock'} ${user} failed (${r.stderr.trim().slice(0, 200)}), ignoring`);
  }
}

/** useradd's exit status 9: the name (or its group) is taken. */
const USERADD_NAME_IN_USE = 9;
const USERADD_UID_IN_USE = 4;
/** userdel's exit status 6: no such user. */
const USERDEL_NO_USER = 6;

function must(r: RunResult, what: string): void {
  if (r.code !== 0) throw new DiycloudError('BackendFailed', `${what} failed`, { cause: new Error(`exit ${r.code}: ${r.stderr.trim().slice(0, 300)}`) });
}
