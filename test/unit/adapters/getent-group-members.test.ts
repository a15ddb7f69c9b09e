// Unit: GPU group members from getent group (absolute path, "--" before the name, exit 2 = no such group).

import { describe, expect, it } from 'vitest';
import { GetentGroupMembers } from '../../../src/adapters/gpu/getent-group-members';

describe('GetentGroupMembers', () => {
  const calls: string[][] = [];
  const run = async (path: string, args: readonly string[]) => {
    calls.push([path, ...args]);
    const g = args[2];
    if (g === 'video') return { code: 0, signal: null, stdout: 'video:x:44:alice,bob\n', stderr: '' };
    if (g === 'render') return { code: 0, signal: null, stdout: 'render:x:105:\n', stderr: '' };
    if (g === 'broken') return { code: 1, signal: null, stdout: '', stderr: 'nss failure' };
    return { code: 2, signal: null, stdout: '', stderr: '' };
  };
  const m = new GetentGroupMembers(run);
  it('lists members, an empty group, and null for a missing one', async () => {
    expect(await m.members('video')).toEqual(['alice', 'bob']);
    expect(await m.members('render')).toEqual([]);
    expect(await m.members('nosuch')).toBeNull();
    expect(calls[0]).toEqual(['/usr/bin/getent', 'group', '--', 'video']);
  });
  it('another failure is BackendFailed', async () => {
    await expect(m.members('broken')).rejects.toMatchObject({ code: 'BackendFailed' });
  });
});
