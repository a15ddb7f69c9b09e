// Unit: GPU groups follow the grant, and only memberships diycloud added are removed (the store on real SQLite, schema 008).

import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { defaultGpuGroups, syncGpuGroups, type GpuGroupDeps } from '../../../src/app/sync-groups';
import { openDatabase } from '../../../src/adapters/store/sqlite-store';
import { SqliteGpuGroups } from '../../../src/adapters/store/sqlite-gpu-groups';
import { buildInventory } from '../../../src/core/gpu';
import { GPU_ALL, GPU_NONE, parseGpuGrant } from '../../../src/core/gpu-grant';

function deps(groups: Record<string, string[]>): GpuGroupDeps & { calls: string[]; groups: Record<string, string[]> } {
  const calls: string[] = [];
  const store = new SqliteGpuGroups(openDatabase(':memory:', join(__dirname, '../../../schema')));
  return {
    calls, groups, gpuGroups: store, clock: { now: () => new Date('2026-12-01T00:00:00Z') },
    groupMembers: { members: async (g) => groups[g] ?? null },
    accountAdmin: {
      setMembership: async (user, ms) => {
        for (const m of ms) {
          calls.push(`${m.member ? '+' : '-'}${m.group}`);
          groups[m.group] = m.member ? [...groups[m.group]!, user] : groups[m.group]!.filter((u) => u !== user);
        }
      },
      disable: async () => null, enable: async () => {}, createAccount: async () => {}, setPassword: async () => {}, deleteAccount: async () => {},
    },
  };
}
const alice = { name: 'alice', uid: 1500 };

describe('syncGpuGroups', () => {
  it('a grant adds the user to every GPU group; taking it away removes only those diycloud added', async () => {
    const d = deps({ video: [], render: ['alice'] }); // an admin put alice in render
    expect(await syncGpuGroups(d, alice, parseGpuGrant('0'), ['render', 'video'])).toEqual({ added: ['video'], removed: [] });
    expect(d.gpuGroups.addedGroups(1500)).toEqual(['video']);
    expect(await syncGpuGroups(d, alice, GPU_NONE, ['render', 'video'])).toEqual({ added: [], removed: ['video'] });
    expect(d.groups).toEqual({ video: [], render: ['alice'] }); // the admin's membership stays
    expect(d.gpuGroups.addedGroups(1500)).toEqual([]);
  });
  it('nothing changes when already in step (no call)', async () => {
    const d = deps({ video: [] });
    await syncGpuGroups(d, alice, GPU_ALL, ['video']);
    d.calls.length = 0;
    await syncGpuGroups(d, alice, GPU_ALL, ['video']);
    expect(d.calls).toEqual([]);
  });
  it('a group no longer configured loses the memberships diycloud added to it', async () => {
    const d = deps({ video: [], render: [] });
    await syncGpuGroups(d, alice, GPU_ALL, ['video', 'render']);
    expect(await syncGpuGroups(d, alice, GPU_ALL, ['render'])).toEqual({ added: [], removed: ['video'] });
  });
  it('a GPU group that does not exist is InvalidArgument and changes nothing', async () => {
    const d = deps({ video: [] });
    await expect(syncGpuGroups(d, alice, GPU_ALL, ['video', 'nosuch'])).rejects.toMatchObject({ code: 'InvalidArgument', field: 'gpuGroups' });
    expect(d.calls).toEqual([]);
  });
  it('the default GPU groups are the nodes\' owning groups, root excepted', () => {
    const n = (rel: string, gid: number, group: string) => ({ rel, mode: 0o660, gid, group, major: 226, minor: 128 });
    expect(defaultGpuGroups(buildInventory({ nodes: [n('dri/renderD128', 105, 'render'), n('dri/card0', 44, 'video'), n('nvidia0', 0, 'root')], nvidia: [], migMinors: null, drm: new Map() }))).toEqual(['render', 'video']);
  });
});
