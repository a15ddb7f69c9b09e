// Unit: the btrfs qgroup backend over a recorded RunFn and a fake file system: subvolume checks, limit/destroy argv, listing parsing, usage by owner.
import { describe, expect, it } from 'vitest';
import { ShadowAccountAdmin, SHADOW_PATHS } from '../../../src/adapters/accounts/shadow-account-admin';
import { BtrfsQgroupBackend, parseQgroupShow } from '../../../src/adapters/quota/btrfs-qgroups';
import { QUOTA_TOOL_PATHS, type FileFacts, type QuotaDeps } from '../../../src/adapters/quota/quota-deps';
import type { RunResult } from '../../../src/adapters/exec/run-program';
import { DiycloudError } from '../../../src/core/errors';

const ok = (stdout = '', code = 0, stderr = ''): RunResult => ({ code, signal: null, stdout, stderr });
const enoent = () => Object.assign(new Error('ENOENT'), { code: 'ENOENT' });

// Recorded from btrfs-progs 6.2 (Debian 12) on this host, a 200M loop device with a 10M limit on home_u.
const SHOW = `Qgroupid    Referenced    Exclusive  Max referenced  Max exclusive   Path 
--------    ----------    ---------  --------------  -------------   ---- 
0/5              16384        16384            none           none   <toplevel>
0/256         10469376     10469376        10485760           none   home_u
`;
const MOUNTS = '1 0 8:1 / / rw - ext4 /dev/sda1 rw\n2 1 0:39 / /home rw,relatime - btrfs /dev/loop0 rw,space_cache=v2,subvolid=5,subvol=/\n3 1 8:3 / /srv rw - xfs /dev/sda3 rw\n';
const dir = (ino: number, uid = 0): FileFacts => ({ ino, uid, isDirectory: true });

function host(o: { files: Record<string, FileFacts>; links?: Record<string, string>; mountinfo?: string; answer?: (cmd: string) => RunResult | undefined }) {
  const calls: string[] = [];
  const deps: QuotaDeps = {
    tools: QUOTA_TOOL_PATHS,
    run: async (path, args) => {
      const cmd = [path, ...args].join(' ');
      calls.push(cmd);
      return o.answer?.(cmd) ?? ok();
    },
    readMountinfo: async () => o.mountinfo ?? MOUNTS,
    realpath: async (p) => {
      const r = o.links?.[p] ?? p;
      if (!(r in o.files)) throw enoent();
      return r;
    },
    stat: async (p) => o.files[o.links?.[p] ?? p] ?? null,
    isExecutable: async () => true,
  };
  return { deps, calls, backend: new BtrfsQgroupBackend('/home', '/home', deps) };
}

const FS = { '/home': dir(256), '/home/alice': dir(256, 4450), '/home/bob': dir(1234, 4451), '/srv': dir(128), '/srv/carol': dir(300, 4452) };
const alice = { uid: 4450, name: 'alice', home: '/home/alice' };
const limits = (hard: number) => ({ path: '/home', diskSoftBytes: Math.floor(hard * 0.9), diskHardBytes: hard });

describe('parseQgroupShow', () => {
  it('reads the recorded listing (raw bytes, "none" as null)', () => {
    expect(parseQgroupShow(SHOW)).toEqual([
      { level: 0, subvolId: 5, referencedBytes: 16384, exclusiveBytes: 16384, maxReferencedBytes: null, maxExclusiveBytes: null, path: '<toplevel>' },
      { level: 0, subvolId: 256, referencedBytes: 10469376, exclusiveBytes: 10469376, maxReferencedBytes: 10485760, maxExclusiveBytes: null, path: 'home_u' },
    ]);
  });
  it('keeps spaces inside a path, reads stale and higher-level qgroups', () => {
    const rows = parseQgroupShow('0/300  1  1  none  none   home/my dir\n0/301  0  0  none  none   <stale>\n1/100  5  5  99  none\n');
    expect(rows.map((r) => [r.level, r.subvolId, r.path])).toEqual([[0, 300, 'home/my dir'], [0, 301, '<stale>'], [1, 100, '']]);
  });
  it('fails on a line it does not understand', () => {
    expect(() => parseQgroupShow('0/256  10.00MiB  10.00MiB  none  none  home_u\n')).toThrow(/unexpected btrfs qgroup show line/);
  });
});

describe('BtrfsQgroupBackend.apply', () => {
  it('limits the home subvolume\'s qgroup to the hard limit (soft ignored), "--" before the size', async () => {
    const h = host({ files: FS });
    await h.backend.apply(alice, limits(10 << 20));
    expect(h.calls).toEqual(['/usr/bin/btrfs qgroup limit -- 10485760 /home/alice']);
    expect(h.backend.softLimits).toBe(false);
  });
  it('a hard limit of 0 is "none"', async () => {
    const h = host({ files: FS });
    await h.backend.apply(alice, { path: '/home', diskSoftBytes: 5, diskHardBytes: 0 });
    expect(h.calls).toEqual(['/usr/bin/btrfs qgroup limit -- none /home/alice']);
  });
  it('follows a symlinked home to its subvolume', async () => {
    const h = host({ files: FS, links: { '/u/alice': '/home/alice' } });
    await h.backend.apply({ ...alice, home: '/u/alice' }, limits(1 << 20));
    expect(h.calls).toEqual(['/usr/bin/btrfs qgroup limit -- 1048576 /home/alice']);
  });
  it.each([
    ['a plain directory', { ...alice, name: 'bob', home: '/home/bob' }, /^the home of bob \(\/home\/bob\) is a plain directory on btrfs: .*make it a subvolume.*btrfs subvolume create \/home\/bob\.new/],
    ['no home', { ...alice, home: null }, /alice has no home directory/],
    ['a missing home', { ...alice, home: '/home/zed' }, /\/home\/zed\) does not exist/],
    ['a home on another filesystem', { ...alice, home: '/srv/carol' }, /is not on \/home \(it is on \/srv, xfs\)/],
    ['the mount point itself', { ...alice, home: '/home' }, /is the mount point \/home itself/],
  ])('%s is QuotaUnsupported, and nothing is limited', async (_, owner, msg) => {
    const h = host({ files: FS });
    const e = await h.backend.apply(owner, limits(1 << 20)).catch((x: unknown) => x as DiycloudError);
    expect(e).toBeInstanceOf(DiycloudError);
    expect(e.code).toBe('QuotaUnsupported');
    expect(e.message).toMatch(msg);
    expect(h.calls).toEqual([]);
  });
  it('quotas not enabled: QuotaUnsupported with "btrfs quota enable"', async () => {
    const h = host({ files: FS, answer: (c) => (c.includes('limit') ? ok('', 1, 'ERROR: unable to limit requested quota group: quota not enabled\n') : ok('', 1, "ERROR: can't list qgroups: quotas not enabled\n")) });
    await expect(h.backend.apply(alice, limits(1 << 20))).rejects.toMatchObject({ code: 'QuotaUnsupported', message: expect.stringContaining('to turn them on: btrfs quota enable /home') });
  });
  it('another failure with quotas on is BackendFailed', async () => {
    const h = host({ files: FS, answer: (c) => (c.includes('limit') ? ok('', 1, 'ERROR: boom\n') : ok(SHOW)) });
    await expect(h.backend.apply(alice, limits(1 << 20))).rejects.toMatchObject({ code: 'BackendFailed' });
  });
});

describe('BtrfsQgroupBackend.remove', () => {
  const rootid = (c: string) => (c.includes('rootid') ? ok('258\n') : undefined);

  it('with the home: lifts the limit (and keeps the qgroup of the live subvolume)', async () => {
    const h = host({ files: FS, answer: rootid });
    await h.backend.remove(alice);
    expect(h.calls).toEqual(['/usr/bin/btrfs inspect-internal rootid -- /home/alice', '/usr/bin/btrfs qgroup limit -- none /home/alice']);
  });

  it('after userdel deleted the subvolume: waits for the cleaner and destroys the stale qgroup 0/ID', async () => {
    const files: Record<string, FileFacts> = { ...FS };
    const h = host({ files, answer: (c) => rootid(c) ?? (c.includes('qgroup show') ? ok('0/5 16384 16384 none none <toplevel>\n0/258 0 0 none none <stale>\n') : undefined) });
    await h.backend.remove(alice);
    delete files['/home/alice'];
    h.calls.length = 0;
    await h.backend.remove(alice);
    expect(h.calls).toEqual(['/usr/bin/btrfs subvolume sync -- /home 258', '/usr/bin/btrfs qgroup show --raw -r -e -- /home', '/usr/bin/btrfs qgroup destroy -- 0/258 /home']);
    h.calls.length = 0;
    await h.backend.remove(alice); // forgotten once done
    expect(h.calls).toEqual([]);
  });

  it('destroys nothing when the kernel already dropped the qgroup, or a live subvolume has the ID', async () => {
    for (const listing of ['0/5 16384 16384 none none <toplevel>\n', '0/258 5 5 none none other\n']) {
      const files: Record<string, FileFacts> = { ...FS };
      const h = host({ files, answer: (c) => rootid(c) ?? (c.includes('qgroup show') ? ok(listing) : undefined) });
      await h.backend.remove(alice);
      delete files['/home/alice'];
      await h.backend.remove(alice);
      expect(h.calls.some((c) => c.includes('destroy'))).toBe(false);
    }
  });

  it('nothing to do for a plain-directory home, no home, or a home never seen as a subvolume', async () => {
    const h = host({ files: FS });
    await h.backend.remove({ ...alice, name: 'bob', home: '/home/bob' });
    await h.backend.remove({ ...alice, home: null });
    await h.backend.remove({ ...alice, home: '/home/gone' });
    expect(h.calls).toEqual([]);
  });

  it('quotas off: removing is not an error', async () => {
    const h = host({ files: FS, answer: (c) => rootid(c) ?? ok('', 1, 'ERROR: unable to limit requested quota group: quota not enabled\n') });
    await expect(h.backend.remove(alice)).resolves.toBeUndefined();
  });
});

describe('BtrfsQgroupBackend.usage', () => {
  it('one listing; each live subvolume goes to the owner of its root directory, the outermost one per user', async () => {
    const listing = `0/5 16384 16384 none none <toplevel>
0/256 10469376 10469376 10485760 none alice
0/257 4096 4096 none none alice/.snapshots
0/261 5 5 none none t/a
0/259 777 777 none none bob
0/260 1 1 none none <stale>
`;
    // /home/t/a: a subvolume bob made in a shared directory, listed before his home, as long a path, but deeper.
    const files = { ...FS, '/home/alice/.snapshots': dir(256, 4450), '/home/bob': dir(256, 4451), '/home/t/a': dir(256, 4451) };
    const h = host({ files, answer: () => ok(listing) });
    const u = await h.backend.usage();
    expect(h.calls).toEqual(['/usr/bin/btrfs qgroup show --raw -r -e -- /home']);
    expect([...u.values()]).toEqual([
      { uid: 4450, usedBytes: 10469376, softBytes: 0, hardBytes: 10485760 },
      { uid: 4451, usedBytes: 777, softBytes: 0, hardBytes: 0 },
    ]);
  });
  it('through a subvolume mount (subvol=/@home), subvolumes elsewhere in the filesystem are skipped', async () => {
    const mountinfo = '1 0 0:39 /@ / rw - btrfs /dev/sda1 rw,subvol=/@\n2 1 0:39 /@home /home rw - btrfs /dev/sda1 rw,subvol=/@home\n';
    const h = host({ mountinfo, files: { '/home': dir(256), '/home/alice': dir(256, 4450), '/alice': dir(256, 4999) }, answer: () => ok('0/256 1 1 none none @\n0/257 2 2 none none @home\n0/258 3 3 99 none @home/alice\n0/259 4 4 none none @/alice\n') });
    expect([...(await h.backend.usage()).values()]).toEqual([{ uid: 4450, usedBytes: 3, softBytes: 0, hardBytes: 99 }]);
  });
  it('a failing listing is BackendFailed', async () => {
    await expect(host({ files: FS, answer: () => ok('', 1, "ERROR: can't list qgroups: quotas not enabled\n") }).backend.usage()).rejects.toMatchObject({ code: 'BackendFailed' });
  });
});

describe('BtrfsQgroupBackend.wantsSubvolumeHome', () => {
  it('true when the home\'s parent is on this btrfs mount, false elsewhere or when the parent is missing', async () => {
    const h = host({ files: FS });
    expect(await h.backend.wantsSubvolumeHome('/home/newuser')).toBe(true);
    expect(await h.backend.wantsSubvolumeHome('/srv/newuser')).toBe(false);
    expect(await h.backend.wantsSubvolumeHome('/nope/newuser')).toBe(false);
    expect(h.calls).toEqual([]);
  });
});

describe('ShadowAccountAdmin.createAccount({ subvolumeHome })', () => {
  it('passes --btrfs-subvolume-home to useradd before "--" only when asked', async () => {
    const argv: string[][] = [];
    const run = async (_: string, args: readonly string[]) => {
      argv.push([...args]);
      return ok();
    };
    const log = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };
    const admin = new ShadowAccountAdmin(log, SHADOW_PATHS, run);
    await admin.createAccount({ name: 'alice', uid: 4450, shell: '/bin/bash', homeMode: '0700', subvolumeHome: true });
    await admin.createAccount({ name: 'bob', uid: 4451, shell: '/bin/bash', homeMode: '0700' });
    expect(argv[0]).toEqual(['--uid', '4450', '--create-home', '--btrfs-subvolume-home', '--user-group', '--shell', '/bin/bash', '--key', 'HOME_MODE=0700', '--', 'alice']);
    expect(argv[1]).not.toContain('--btrfs-subvolume-home');
  });
});
