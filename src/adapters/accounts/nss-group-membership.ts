// GroupMembership through NSS (getent, id) and shadow-utils' usermod: is nginx's user in a group, and adding it.

import { DiycloudError } from '../../core/errors';
import type { GroupMembership } from '../../core/web-portal';
import { runProgram } from '../exec/run-program';
import type { RunFn } from '../exec/program-runner';

export interface GroupToolPaths {
  readonly getent: string;
  readonly id: string;
  readonly usermod: string;
}

export const GROUP_TOOL_PATHS: GroupToolPaths = { getent: '/usr/bin/getent', id: '/usr/bin/id', usermod: '/usr/sbin/usermod' };

/**
 * Membership is what `id -Gn -- USER` lists (primary and supplementary groups, as initgroups(3)
 * gives nginx's workers), so a user whose primary group it is counts too. Adding is
 * `usermod -a -G GROUP -- USER` (append: the user's other groups stay).
 */
export class NssGroupMembership implements GroupMembership {
  constructor(private readonly paths: GroupToolPaths = GROUP_TOOL_PATHS, private readonly run: RunFn = runProgram) {}

  userExists(name: string): Promise<boolean> {
    return this.getent('passwd', name);
  }

  groupExists(group: string): Promise<boolean> {
    return this.getent('group', group);
  }

  async isMember(user: string, group: string): Promise<boolean> {
    const r = await this.run(this.paths.id, ['-Gn', '--', user]);
    if (r.code !== 0) throw new DiycloudError('BackendFailed', `id -Gn ${user} failed (exit ${r.code ?? r.signal}): ${r.stderr.trim()}`);
    return r.stdout.trim().split(/\s+/).includes(group);
  }

  async addToGroup(user: string, group: string): Promise<void> {
    const r = await this.run(this.paths.usermod, ['-a', '-G', group, '--', user], { timeoutMs: 30_000 });
    if (r.code !== 0) throw new DiycloudError('BackendFailed', `usermod -a -G ${group} ${user} failed (exit ${r.code ?? r.signal}): ${r.stderr.trim()}`);
  }

  /** getent exits 2 for "no such key"; anything but 0 and 2 is a failure of NSS itself. */
  private async getent(db: 'passwd' | 'group', key: string): Promise<boolean> {
    const r = await this.run(this.paths.getent, [db, '--', key]);
    if (r.code === 0) return true;
    if (r.code === 2) return false;
    throw new DiycloudError('BackendFailed', `getent ${db} ${key} failed (exit ${r.code ?? r.signal}): ${r.stderr.trim()}`);
  }
}
