// AccountAdmin on shadow-utils: accounts (useradd, userdel, chpasswd), role groups (groupadd, gpasswd), locks and expiry (usermod).

import { DiycloudError } from '../../core/errors';
import type { AccountAdmin, Logger, ShadowExpiry } from '../../core/ports';
import { runProgram, type RunResult } from '../exec/run-program';
import type { RunFn } from '../exec/program-runner';

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
  constructor(private readonly log: Logger, private readonly paths: ShadowPaths = SHADOW_PATHS, private readonly run: RunFn = runProgram) {}

  async setMembership(user: string, memberships: { group: string; member: boolean }[]): Promise<void> {
    for (const { group, member } of memberships) {
      const g = await this.run(this.paths.getent, ['group', '--', group]);
      const members = g.code === 0 ? (g.stdout.trim().split(':')[3] ?? '').split(',').filter(Boolean) : null;
      if (members === null) {
        if (!member) continue;
        must(await this.run(this.paths.groupadd, ['--system', '--', group]), `groupadd ${group}`);
      }
      const isMember = members?.includes(user) ?? false;
      if (member && !isMember) must(await this.run(this.paths.gpasswd, ['--add', user, '--', group]), `gpasswd --add ${user} ${group}`);
      if (!member && isMember) must(await this.run(this.paths.gpasswd, ['--delete', user, '--', group]), `gpasswd --delete ${user} ${group}`);
    }
  }

  /** subvolumeHome: the home is created as a btrfs subvolume (shadow ≥ 4.7), so that a qgroup can hold it. */
  async createAccount(a: { name: string; uid: number; shell: string; homeMode: string; subvolumeHome?: boolean }): Promise<void> {
    const subvolume = a.subvolumeHome === true ? ['--btrfs-subvolume-home'] : [];
    const r = await this.run(this.paths.useradd, ['--uid', String(a.uid), '--create-home', ...subvolume, '--user-group', '--shell', a.shell, '--key', `HOME_MODE=${a.homeMode}`, '--', a.name], { timeoutMs: 60_000 });
    if (r.code === USERADD_NAME_IN_USE) throw new DiycloudError('UserExists', `a user or group named "${a.name}" already exists`);
    if (r.code === USERADD_UID_IN_USE) throw new DiycloudError('BackendFailed', `uid ${a.uid} is already in use`, { cause: new Error(r.stderr.trim()) });
    must(r, `useradd ${a.name}`);
  }

  async setPassword(user: string, password: string): Promise<void> {
    must(await this.run(this.paths.chpasswd, [], { input: `${user}:${password}\n` }), `chpasswd for ${user}`);
  }

  async deleteAccount(user: string, removeHome: boolean): Promise<void> {
    const r = await this.run(this.paths.userdel, [...(removeHome ? ['--remove'] : []), '--', user], { timeoutMs: 60_000 });
    if (r.code === USERDEL_NO_USER) return;
    // 12: the home directory could not be removed entirely; the account is gone, which is what counts.
    if (r.code === 12) {
      this.log.warn(`userdel ${user}: ${r.stderr.trim().slice(0, 200)}, ignoring`);
      return;
    }
    must(r, `userdel ${user}`);
  }

  async disable(user: string): Promise<ShadowExpiry | null> {
    const before = await this.expiry(user);
    if (before === null) {
      // A directory (LDAP/SSSD) user: no local entry to lock or expire; CheckLogin still refuses.
      this.log.warn(`${user} has no local shadow entry: not locked or expired here (directory account), ignoring`);
      return null;
    }
    must(await this.run(this.paths.usermod, ['--lock', '--expiredate', '1', '--', user]), `usermod --lock --expiredate 1 ${user}`);
    return before;
  }

  async enable(user: string, expiry: ShadowExpiry | null): Promise<void> {
    const now = await this.expiry(user);
    if (now === null) return;
    // Nothing saved (disabled by an older diycloudd, or by hand): lift only an expiry that is ours.
    const target = expiry ?? (now !== 'never' && now.days === 1 ? 'never' : now);
    must(await this.run(this.paths.usermod, ['--expiredate', target === 'never' ? '' : String(target.days), '--', user]), `usermod --expiredate ${user}`);
    const r = await this.run(this.paths.usermod, ['--unlock', '--', user]);
    // usermod refuses to unlock an account that has no password (it would be password-less).
    if (r.code !== 0) this.log.warn(`usermod --unlock ${user} failed (${r.stderr.trim().slice(0, 200)}), ignoring`);
  }

  /** The shadow expiry of a local account, or null when it has no local shadow entry. */
  private async expiry(user: string): Promise<ShadowExpiry | null> {
    const r = await this.run(this.paths.getent, ['shadow', '--', user]);
    if (r.code === 2) return null;
    if (r.code !== 0) throw new DiycloudError('BackendFailed', `getent shadow ${user} failed`, { cause: new Error(`exit ${r.code}: ${r.stderr.trim().slice(0, 200)}`) });
    return parseShadowExpiry(r.stdout.split('\n')[0] ?? '', user);
  }
}

/** The expiry field (8th) of a shadow(5) line; "never" when empty. Throws on a malformed line. */
export function parseShadowExpiry(line: string, user: string): ShadowExpiry {
  const f = line.split(':');
  if (f.length < 8 || f[0] !== user) throw new DiycloudError('BackendFailed', `unexpected shadow entry for ${user}`);
  const v = f[7];
  if (v === '' || v === '-1') return 'never';
  if (!/^[0-9]{1,9}$/.test(v)) throw new DiycloudError('BackendFailed', `unexpected expiry "${v.slice(0, 20)}" in the shadow entry of ${user}`);
  return { days: Number(v) };
}

/** useradd's exit status 9: the name (or its group) is taken. */
const USERADD_NAME_IN_USE = 9;
const USERADD_UID_IN_USE = 4;
/** userdel's exit status 6: no such user. */
const USERDEL_NO_USER = 6;

function must(r: RunResult, what: string): void {
  if (r.code !== 0) throw new DiycloudError('BackendFailed', `${what} failed`, { cause: new Error(`exit ${r.code}: ${r.stderr.trim().slice(0, 300)}`) });
}
