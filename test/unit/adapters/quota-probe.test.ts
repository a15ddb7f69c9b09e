// Unit: probing quota paths (each filesystem type and option set), mountPointOf, backends picked by type, and the "none" backend.
import { describe, expect, it } from 'vitest';
import { NoQuotaBackend } from '../../../src/adapters/quota/no-quota';
import { pickQuotaBackends } from '../../../src/adapters/quota/pick-quota-backends';
import { mountPointOf, parseQuotaonState, probeInUse, probeQuotaPath } from '../../../src/adapters/quota/probe';
import { QUOTA_TOOL_PATHS, type QuotaDeps } from '../../../src/adapters/quota/quota-deps';
import type { RunResult } from '../../../src/adapters/exec/run-program';
import { DiycloudError } from '../../../src/core/errors';

const ok = (stdout = '', code = 0, stderr = ''): RunResult => ({ code, signal: null, stdout, stderr });
const enoent = (p: string) => Object.assign(new Error(`ENOENT: ${p}`), { code: 'ENOENT' });

/** A host: mountinfo, symlinks, existing directories, installed tools, and canned program answers (every call recorded). */
function host(o: { mountinfo: string; links?: Record<string, string>; dirs?: string[]; missingTools?: string[]; answer?: (cmd: string) => RunResult }) {
  const calls: string[] = [];
  const exists = new Set([...(o.dirs ?? []), ...[...o.mountinfo.matchAll(/^\S+ \S+ \S+ \S+ (\S+)/gm)].map((m) => m[1])]);
  const deps: QuotaDeps = {
    tools: QUOTA_TOOL_PATHS,
    run: async (path, args) => {
      const cmd = [path, ...args].join(' ');
      calls.push(cmd);
      return o.answer?.(cmd) ?? ok();
    },
    readMountinfo: async () => o.mountinfo,
    realpath: async (p) => {
      const r = o.links?.[p] ?? p;
      if (!exists.has(r)) throw enoent(p);
      return r;
    },
    stat: async () => null,
    isExecutable: async (p) => !(o.missingTools ?? []).includes(p),
  };
  return { deps, calls };
}

const mi = (fsType: string, superOpts = 'rw', mp = '/home') => `1 0 8:1 / / rw,relatime - ext4 /dev/sda1 rw\n2 1 8:2 / ${mp} rw,relatime - ${fsType} /dev/sda2 ${superOpts}\n`;
// quota-tools 4.06's quotaon.c: "%s quota on %s (%s) is %s\n"; without quota on the mount it only complains on stderr.
const quotaon = (state: string) => ok(`user quota on /home (/dev/sda2) is ${state}\n`, state === 'off' ? 0 : 1);
const QUOTAON_NONE = ok('', 0, 'quotaon: Mountpoint (or device) /home not found or has no quota enabled.\n');

describe('probeQuotaPath: the path', () => {
  it('a path that does not exist is InvalidArgument', async () => {
    const h = host({ mountinfo: mi('ext4') });
    await expect(probeQuotaPath('/srv/nope', h.deps)).rejects.toMatchObject({ code: 'InvalidArgument', field: 'Quota.Paths', message: expect.stringMatching(/^\[Quota\] Paths: \/srv\/nope does not exist/) });
  });

  it('a directory that is not a mount point is InvalidArgument naming the mount point to use', async () => {
    const h = host({ mountinfo: mi('ext4'), dirs: ['/home/alice'] });
    const e = await probeQuotaPath('/home/alice', h.deps).catch((x: unknown) => x as DiycloudError);
    expect(e).toMatchObject({ code: 'InvalidArgument', message: expect.stringContaining('/home/alice is not a mount point') });
    expect(e.message).toContain('name /home instead');
  });

  it('a symlink to a mount point is resolved first', async () => {
    const h = host({ mountinfo: mi('xfs', 'rw,usrquota', '/data'), links: { '/home': '/data' } });
    expect(await probeQuotaPath('/home', h.deps)).toMatchObject({ path: '/home', mountPoint: '/data', fsType: 'xfs', state: 'enforced' });
  });

  it('mountPointOf gives the mount holding a path (the default quota path for /home)', async () => {
    expect(await mountPointOf('/home', host({ mountinfo: '1 0 8:1 / / rw - ext4 /dev/sda1 rw\n', dirs: ['/home'] }).deps)).toBe('/');
    expect(await mountPointOf('/home', host({ mountinfo: mi('btrfs') }).deps)).toBe('/home');
    await expect(mountPointOf('/nope', host({ mountinfo: mi('ext4') }).deps)).rejects.toMatchObject({ code: 'InvalidArgument' });
  });
});

describe('probeQuotaPath: ext4 (quota-tools)', () => {
  it.each([
    ['usrquota, and quotaon says on', 'rw,usrquota', quotaon('on')],
    ['usrjquota=, and quotaon says on (enforced)', 'rw,jqfmt=vfsv1,usrjquota=aquota.user', quotaon('on (enforced)')],
    ['the old "quota" option', 'rw,quota', quotaon('on')],
  ])('enforced: %s', async (_, opts, answer) => {
    const h = host({ mountinfo: mi('ext4', opts), answer: () => answer });
    expect(await probeQuotaPath('/home', h.deps)).toEqual({ path: '/home', mountPoint: '/home', fsType: 'ext4', backend: 'quota-tools', state: 'enforced', reason: null, fix: null });
    expect(h.calls).toEqual(['/usr/sbin/quotaon -p -u -v -- /home']);
  });

  it('accounting: the quota feature accounts usage, but no usrquota', async () => {
    const s = await probeQuotaPath('/home', host({ mountinfo: mi('ext4'), answer: () => quotaon('on (accounting)') }).deps);
    expect(s).toMatchObject({ state: 'accounting', backend: 'quota-tools' });
    expect(s.fix).toContain('quotaon -u /home');
    expect(s.fix).toContain('usrquota');
  });

  it('accounting: quotaon says "on" but the mount did not ask for usrquota', async () => {
    expect((await probeQuotaPath('/home', host({ mountinfo: mi('ext4'), answer: () => quotaon('on') }).deps)).state).toBe('accounting');
  });

  it('off: not mounted with usrquota (fix: fstab, remount, quotacheck, quotaon)', async () => {
    const s = await probeQuotaPath('/home', host({ mountinfo: mi('ext4'), answer: () => QUOTAON_NONE }).deps);
    expect(s).toMatchObject({ state: 'off', reason: expect.stringContaining('not mounted with usrquota') });
    expect(s.fix).toBe('add usrquota to the options of /home in /etc/fstab, remount (mount -o remount /home), then run quotacheck -cum /home && quotaon -u /home');
  });

  it('off: usrquota, but quotas not turned on', async () => {
    const s = await probeQuotaPath('/home', host({ mountinfo: mi('ext4', 'rw,usrquota'), answer: () => quotaon('off') }).deps);
    expect(s).toMatchObject({ state: 'off', fix: 'quotacheck -cum /home && quotaon -u /home' });
  });

  it('off: the quota tools are not installed (and nothing is run)', async () => {
    const h = host({ mountinfo: mi('ext4', 'rw,usrquota'), missingTools: ['/usr/sbin/setquota'] });
    expect(await probeQuotaPath('/home', h.deps)).toMatchObject({ state: 'off', fix: 'apt install quota', reason: expect.stringContaining('/usr/sbin/setquota') });
    expect(h.calls).toEqual([]);
  });

  it('ext3 and ext2 take the same path', async () => {
    expect(await probeQuotaPath('/home', host({ mountinfo: mi('ext3', 'rw,usrquota'), answer: () => quotaon('on') }).deps)).toMatchObject({ backend: 'quota-tools', state: 'enforced' });
  });
});

describe('probeQuotaPath: xfs (quota-tools, state from the superblock options)', () => {
  it.each([
    ['rw,attr2,inode64,usrquota', 'enforced'],
    ['rw,uquota', 'enforced'],
    ['rw,attr2,inode64,uqnoenforce', 'accounting'],
    ['rw,attr2,inode64,noquota', 'off'],
    ['rw,prjquota', 'off'],
  ])('%s: %s, without running a program', async (opts, state) => {
    const h = host({ mountinfo: mi('xfs', opts) });
    const s = await probeQuotaPath('/home', h.deps);
    expect(s).toMatchObject({ backend: 'quota-tools', state });
    expect(h.calls).toEqual([]);
    if (state === 'off') expect(s.fix).toContain('only at mount time');
    if (state === 'accounting') expect(s.fix).toContain('quotaon -u /home');
  });
});

describe('probeQuotaPath: btrfs', () => {
  it('enforced when btrfs qgroup show succeeds', async () => {
    const h = host({ mountinfo: mi('btrfs', 'rw,space_cache=v2,subvolid=5,subvol=/'), answer: () => ok('Qgroupid Referenced Exclusive Path\n') });
    expect(await probeQuotaPath('/home', h.deps)).toMatchObject({ backend: 'btrfs', state: 'enforced', reason: null, fix: null });
    expect(h.calls).toEqual(['/usr/bin/btrfs qgroup show -- /home']);
  });
  it('off with "btrfs quota enable" when quotas are not enabled (btrfs-progs 6.2\'s message)', async () => {
    const s = await probeQuotaPath('/home', host({ mountinfo: mi('btrfs'), answer: () => ok('', 1, "ERROR: can't list qgroups: quotas not enabled\n") }).deps);
    expect(s).toMatchObject({ state: 'off', reason: expect.stringContaining('not enabled'), fix: expect.stringMatching(/^btrfs quota enable \/home/) });
  });
  it('off with the error for another failure', async () => {
    const s = await probeQuotaPath('/home', host({ mountinfo: mi('btrfs'), answer: () => ok('', 1, 'ERROR: cannot access: Permission denied\n') }).deps);
    expect(s).toMatchObject({ state: 'off', reason: expect.stringContaining('Permission denied') });
  });
  it('off with "apt install btrfs-progs" without the tool', async () => {
    expect(await probeQuotaPath('/home', host({ mountinfo: mi('btrfs'), missingTools: ['/usr/bin/btrfs'] }).deps)).toMatchObject({ state: 'off', fix: 'apt install btrfs-progs' });
  });
});

describe('probeQuotaPath: other filesystems', () => {
  it.each(['tmpfs', 'overlay', 'nfs4', 'zfs'])('%s: backend none, off, the reason names the type', async (t) => {
    const s = await probeQuotaPath('/home', host({ mountinfo: mi(t) }).deps);
    expect(s).toMatchObject({ backend: 'none', state: 'off', fsType: t, reason: expect.stringContaining(t) });
    expect(s.fix).toContain('[Quota] Paths=');
  });
});

describe('probeInUse (a backend already chosen)', () => {
  it('an unmounted path reads as off, never as the filesystem under it', async () => {
    const h = host({ mountinfo: '1 0 8:1 / / rw - ext4 /dev/sda1 rw,usrquota\n', dirs: ['/home'] });
    expect(await probeInUse('/home', 'quota-tools', h.deps)).toMatchObject({ state: 'off', backend: 'quota-tools', mountPoint: null, reason: expect.stringContaining('not a mount point') });
    expect(h.calls).toEqual([]);
  });
  it('a filesystem of another type now reads as off, asking for a restart', async () => {
    expect(await probeInUse('/home', 'btrfs', host({ mountinfo: mi('xfs', 'rw,usrquota') }).deps)).toMatchObject({ state: 'off', backend: 'btrfs', fix: expect.stringContaining('restart') });
  });
});

describe('parseQuotaonState', () => {
  it.each([
    ['user quota on / (/dev/vda) is on\n', 'on'],
    ['group quota on / (/dev/vda) is on\nuser quota on / (/dev/vda) is off\n', 'off'],
    ['user quota on /srv/my home (/dev/sdb) is on (enforced)\n', 'enforced'],
    ['user quota on /x (/dev/sdb) is on (accounting)\n', 'accounting'],
    ['', null],
  ])('%j', (text, want) => expect(parseQuotaonState(text)).toBe(want));
});

describe('pickQuotaBackends', () => {
  const mounts = `1 0 8:1 / / rw - ext4 /dev/sda1 rw,usrquota
2 1 8:2 / /home rw - btrfs /dev/sda2 rw
3 1 8:3 / /srv rw - xfs /dev/sda3 rw,usrquota
4 1 0:40 / /scratch rw - tmpfs tmpfs rw
`;
  it('one backend per path, chosen by filesystem type', async () => {
    const h = host({ mountinfo: mounts });
    const b = await pickQuotaBackends(['/', '/home', '/srv', '/scratch'], h.deps);
    expect(b.map((x) => [x.path, x.backend, x.softLimits])).toEqual([['/', 'quota-tools', true], ['/home', 'btrfs', false], ['/srv', 'quota-tools', true], ['/scratch', 'none', false]]);
    expect(h.calls).toEqual([]);
  });
  it('refuses a path that is not a mount point, and the same mount twice', async () => {
    const h = host({ mountinfo: mounts, dirs: ['/home/x'], links: { '/h': '/home' } });
    await expect(pickQuotaBackends(['/home/x'], h.deps)).rejects.toMatchObject({ code: 'InvalidArgument' });
    await expect(pickQuotaBackends(['/home', '/h'], h.deps)).rejects.toMatchObject({ code: 'InvalidArgument', message: expect.stringContaining('same mount') });
  });
  it('no paths, no backends', async () => expect(await pickQuotaBackends([], host({ mountinfo: mounts }).deps)).toEqual([]));
});

describe('NoQuotaBackend', () => {
  const b = new NoQuotaBackend('/home', host({ mountinfo: mi('tmpfs') }).deps);
  it('apply is QuotaUnsupported with the reason and the fix', async () => {
    const e = await b.apply().catch((x: unknown) => x as DiycloudError);
    expect(e).toBeInstanceOf(DiycloudError);
    expect(e.code).toBe('QuotaUnsupported');
    expect(e.message).toMatch(/^\/home: disk quotas are off \(\/home is tmpfs.*\); to turn them on: put the home directories on ext4, xfs or btrfs/);
  });
  it('remove is a no-op, usage empty, no subvolume homes', async () => {
    await expect(b.remove()).resolves.toBeUndefined();
    expect((await b.usage()).size).toBe(0);
    expect(await b.wantsSubvolumeHome()).toBe(false);
    expect(await b.status()).toMatchObject({ backend: 'none', state: 'off' });
  });
});

describe('probeInUse: the mount point moved', () => {
  it('a path that now resolves to another mount reads as off', async () => {
    const h = host({ mountinfo: `${mi('xfs', 'rw,usrquota', '/data')}3 1 8:3 / /data2 rw - xfs /dev/sda3 rw,usrquota\n`, links: { '/home': '/data2' } });
    expect(await probeInUse('/home', 'quota-tools', h.deps, '/data')).toMatchObject({ state: 'off', reason: expect.stringContaining('/data2') });
    expect(await probeInUse('/home', 'quota-tools', h.deps, '/data2')).toMatchObject({ state: 'enforced' });
  });
  it('quotaon that cannot start reads as off, naming it', async () => {
    const h = host({ mountinfo: mi('ext4', 'rw,usrquota') });
    h.deps = { ...h.deps, run: async () => Promise.reject(new Error('spawn EACCES')) } as typeof h.deps;
    expect(await probeQuotaPath('/home', h.deps)).toMatchObject({ state: 'off', reason: expect.stringContaining('spawn EACCES') });
  });
});
