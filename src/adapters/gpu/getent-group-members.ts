// GroupMembers through NSS (getent group): who is in a GPU group, for the group sync's "was it ours?" check.

import type { GroupMembers } from '../../core/enforcement-ports';
import { DiycloudError } from '../../core/errors';
import type { RunFn } from '../exec/program-runner';

/** getent exits 2 when the key is not found. */
const GETENT_NOT_FOUND = 2;

export class GetentGroupMembers implements GroupMembers {
  constructor(private readonly run: RunFn, private readonly getent = '/usr/bin/getent') {}

  async members(group: string): Promise<string[] | null> {
    const r = await this.run(this.getent, ['group', '--', group]);
    if (r.code === GETENT_NOT_FOUND) return null;
    if (r.code !== 0) throw new DiycloudError('BackendFailed', `getent group ${group} failed (exit ${String(r.code)}): ${r.stderr.trim()}`);
    return (r.stdout.trim().split(':')[3] ?? '').split(',').filter(Boolean);
  }
}
