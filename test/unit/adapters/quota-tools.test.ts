// Unit: the quota-tools backend over a recorded RunFn: setquota/repquota argv ("--" placement, KiB units), repquota CSV parsing, grace.
import { describe, expect, it } from 'vitest';
import { setGracePeriods } from '../../../src/adapters/quota/pick-quota-backends';
import { QUOTA_TOOL_PATHS, type QuotaDeps } from '../../../src/adapters/quota/quota-deps';
import { kibCeil, parseRepquotaCsv, QuotaToolsBackend, repquotaArgs, setquotaArgs } from '../../../src/adapters/quota/quota-tools';
import { BtrfsQgroupBackend } from '../../../src/adapters/quota/btrfs-qgroups';
import type { RunOptions, RunResult } from '../../../src/adapters/exec/run-program';

const ok = (stdout = '', code = 0, stderr = ''): RunResult => ({ code, signal: null, stdout, stderr });
const MOUNTS = { enforced: '1 0 8:1 / / rw - ext4 /dev/sda1 rw\n2 1 8:2 / /home rw - ext4 /dev/sda2 rw,usrquota\n', plain: '1 0 8:1 / / rw - ext4 /dev/sda1 rw\n2 1 8:2 / /home rw - ext4 /dev/sda2 rw\n' };
const QUOTAON_ON = ok('user quota on /home (/dev/sda2) is on\n', 1);

function host(mountinfo: string, answer: (cmd: string) => RunResult) {
  const calls: { cmd: string; opts?: RunOptions }[] = [];
  const deps: QuotaDeps = {
    tools: QUOTA_TOOL_PATHS,
    run: async (path, args, opts) => {
      const cmd = [path, ...args].join(' ');
      calls.push({ cmd, opts });
      return answer(cmd);
    },
    readMountinfo: async () => mountinfo,
    realpath: async (p) => p,
    stat: async () => null,
    isExecutable: async () => true,
  };
  return { deps, calls, cmds: () => calls.map((c) => c.cmd) };
}

const alice = { uid: 4450, name: 'alice', home: '/home/alice' };

// Not a capture (this host's kernel has no CONFIG_QUOTA, so repquota cannot run here): written from
// quota-tools 4.06's repquota.c format strings for -u -v -n -p -O csv (the header from report_it(), rows
// from print(): "#ID" under -n, ok/soft/hard, used/soft/hard in KiB, grace "0" or the epoch second
// under -p, then the inode columns). The header line is byte-for-byte the one in public captures of 4.06.
const REPQUOTA_CSV = `User,BlockStatus,FileStatus,BlockUsed,BlockSoftLimit,BlockHardLimit,BlockGrace,FileUsed,FileSoftLimit,FileHardLimit,FileGrace
#0,ok,ok,18308880,0,0,0,274759,0,0,0
#33,ok,ok,51644,0,0,0,2384,0,0,0
#4450,soft,ok,9500,9216,10240,1767225600,100,0,0,0
#4451,ok,ok,0,9216,10240,0,0,0,0,0
`;

describe('setquota argv', () => {
  it('user by decimal UID after "--", block limits in KiB, no inode limits, then the mount point', () => {
    expect(setquotaArgs(4450, { diskSoftBytes: 9 << 20, diskHardBytes: 10 << 20 }, '/home')).toEqual(['-u', '--', '4450', '9216', '10240', '0', '0', '/home']);
  });
  it('rounds up, so a positive limit never becomes 0 ("no limit")', () => {
    expect(kibCeil(1)).toBe('1');
    expect(kibCeil(1025)).toBe('2');
    expect(kibCeil(0)).toBe('0');
    expect(() => kibCeil(-1)).toThrow();
    expect(() => kibCeil(1.5)).toThrow();
  });
  it('refuses a bad uid', () => {
    expect(() => setquotaArgs(-1, { diskSoftBytes: 0, diskHardBytes: 0 }, '/')).toThrow();
    expect(() => setquotaArgs(2 ** 32, { diskSoftBytes: 0, diskHardBytes: 0 }, '/')).toThrow();
  });
  it('repquota: users, all entries, numeric ids, raw grace, CSV, "--" before the mount point', () => {
    expect(repquotaArgs('/home')).toEqual(['-u', '-v', '-n', '-p', '-O', 'csv', '--', '/home']);
  });
});

describe('parseRepquotaCsv', () => {
  it('maps every #UID row to bytes', () => {
    const m = parseRepquotaCsv(REPQUOTA_CSV);
    expect([...m.keys()]).toEqual([0, 33, 4450, 4451]);
    expect(m.get(4450)).toEqual({ uid: 4450, usedBytes: 9500 * 1024, softBytes: 9216 * 1024, hardBytes: 10240 * 1024 });
    expect(m.get(0)?.usedBytes).toBe(18308880 * 1024);
  });
  it('finds the columns by header name (Space… under -s, reordered columns)', () => {
    const m = parseRepquotaCsv('User,SpaceStatus,FileStatus,SpaceHardLimit,SpaceSoftLimit,SpaceUsed\n#7,ok,ok,30,20,10\n');
    expect(m.get(7)).toEqual({ uid: 7, usedBytes: 10240, softBytes: 20480, hardBytes: 30720 });
  });
  it('skips named rows (only printed without -n)', () => {
    expect(parseRepquotaCsv('User,BlockStatus,FileStatus,BlockUsed,BlockSoftLimit,BlockHardLimit\nroot,ok,ok,1,0,0\n').size).toBe(0);
  });
  it('fails on a unit suffix, a missing column or no header: a wrong number must not pass as usage', () => {
    expect(() => parseRepquotaCsv('User,BlockStatus,FileStatus,BlockUsed,BlockSoftLimit,BlockHardLimit\n#1,ok,ok,1M,0M,0M\n')).toThrow(/unexpected repquota row/);
    expect(() => parseRepquotaCsv('User,BlockStatus,FileStatus,BlockUsed,BlockSoftLimit,BlockHardLimit\n#1,ok,ok,1\n')).toThrow();
    expect(() => parseRepquotaCsv('User,BlockStatus,BlockUsed\n')).toThrow(/header/);
    expect(() => parseRepquotaCsv('#1,ok,ok,1,0,0\n')).toThrow(/before its header/);
    expect(parseRepquotaCsv('').size).toBe(0);
  });
});

describe('QuotaToolsBackend', () => {
  it('apply probes (quotaon -p) and then runs one setquota', async () => {
    const h = host(MOUNTS.enforced, (c) => (c.includes('quotaon') ? QUOTAON_ON : ok()));
    await new QuotaToolsBackend('/home', '/home', h.deps).apply(alice, { path: '/home', diskSoftBytes: 9 << 20, diskHardBytes: 10 << 20 });
    expect(h.cmds()).toEqual(['/usr/sbin/quotaon -p -u -v -- /home', '/usr/sbin/setquota -u -- 4450 9216 10240 0 0 /home']);
  });
  it('apply on a path that only accounts is QuotaUnsupported with the fix, and sets nothing', async () => {
    const h = host(MOUNTS.plain, (c) => (c.includes('quotaon') ? ok('user quota on /home (/dev/sda2) is on (accounting)\n', 1) : ok()));
    await expect(new QuotaToolsBackend('/home', '/home', h.deps).apply(alice, { path: '/home', diskSoftBytes: 1, diskHardBytes: 2 })).rejects.toMatchObject({
      code: 'QuotaUnsupported',
      message: expect.stringMatching(/^\/home: disk quotas are accounted but not enforced .*; to turn them on: quotaon -u \/home/),
    });
    expect(h.cmds().some((c) => c.includes('setquota'))).toBe(false);
  });
  it('a failing setquota is BackendFailed with its stderr as the cause', async () => {
    const h = host(MOUNTS.enforced, (c) => (c.includes('quotaon') ? QUOTAON_ON : ok('', 1, 'setquota: Cannot set quota for user 4450: Device or resource busy\n')));
    const e = await new QuotaToolsBackend('/home', '/home', h.deps).apply(alice, { path: '/home', diskSoftBytes: 1, diskHardBytes: 2 }).catch((x: Error) => x);
    expect(e).toMatchObject({ code: 'BackendFailed' });
    expect(String((e as Error).cause)).toContain('Device or resource busy');
  });
  it('remove sets 0 0 0 0; on a filesystem whose quotas are off there is nothing to remove', async () => {
    const on = host(MOUNTS.enforced, () => ok());
    await new QuotaToolsBackend('/home', '/home', on.deps).remove(alice);
    expect(on.cmds()).toEqual(['/usr/sbin/setquota -u -- 4450 0 0 0 0 /home']);
    const off = host(MOUNTS.plain, (c) => (c.includes('quotaon') ? ok('', 0, 'quotaon: Mountpoint (or device) /home not found or has no quota enabled.\n') : ok('', 1, 'setquota: Mountpoint (or device) /home not found or has no quota enabled.\n')));
    await expect(new QuotaToolsBackend('/home', '/home', off.deps).remove(alice)).resolves.toBeUndefined();
    const broken = host(MOUNTS.enforced, (c) => (c.includes('quotaon') ? QUOTAON_ON : ok('', 1, 'boom')));
    await expect(new QuotaToolsBackend('/home', '/home', broken.deps).remove(alice)).rejects.toMatchObject({ code: 'BackendFailed' });
  });
  it('usage is ONE repquota for every user, with a large output cap', async () => {
    const h = host(MOUNTS.enforced, () => ok(REPQUOTA_CSV));
    const u = await new QuotaToolsBackend('/home', '/home', h.deps).usage();
    expect(u.get(4451)).toEqual({ uid: 4451, usedBytes: 0, softBytes: 9216 * 1024, hardBytes: 10240 * 1024 });
    expect(h.calls).toHaveLength(1);
    expect(h.calls[0].cmd).toBe('/usr/sbin/repquota -u -v -n -p -O csv -- /home');
    expect(h.calls[0].opts?.maxOutputBytes).toBeGreaterThanOrEqual(16 << 20);
  });
  it('usage fails (BackendFailed) when repquota does', async () => {
    const h = host(MOUNTS.enforced, () => ok('', 1, 'repquota: Mountpoint (or device) /home not found or has no quota enabled.\n'));
    await expect(new QuotaToolsBackend('/home', '/home', h.deps).usage()).rejects.toMatchObject({ code: 'BackendFailed' });
  });
  it('never wants a subvolume home', async () => expect(await new QuotaToolsBackend('/home', '/home', host(MOUNTS.enforced, () => ok()).deps).wantsSubvolumeHome()).toBe(false));
});

describe('grace period', () => {
  it('setGrace runs setquota -t -u -- BLOCK INODE MOUNT', async () => {
    const h = host(MOUNTS.enforced, () => ok());
    await new QuotaToolsBackend('/home', '/home', h.deps).setGrace(604800);
    expect(h.cmds()).toEqual(['/usr/sbin/setquota -t -u -- 604800 604800 /home']);
  });
  it('setGracePeriods sets it on quota-tools paths only and reports (not throws) the ones that cannot take it', async () => {
    const on = host(MOUNTS.enforced, (c) => (c.includes('quotaon') ? QUOTAON_ON : ok()));
    const off = host(MOUNTS.plain, () => ok());
    const failing = host(MOUNTS.enforced, (c) => (c.includes('quotaon') ? QUOTAON_ON : ok('', 1, 'setquota: nope')));
    const backends = [new QuotaToolsBackend('/home', '/home', on.deps), new BtrfsQgroupBackend('/b', '/b', off.deps), new QuotaToolsBackend('/home', '/home', off.deps), new QuotaToolsBackend('/home', '/home', failing.deps)];
    const failures = await setGracePeriods(backends, 3600);
    expect(on.cmds()).toContain('/usr/sbin/setquota -t -u -- 3600 3600 /home');
    expect(off.cmds().some((c) => c.includes('btrfs') || c.includes('setquota'))).toBe(false);
    expect(failures).toEqual([
      { path: '/home', error: expect.stringContaining('quotas are off') },
      { path: '/home', error: expect.stringContaining('setquota: nope') },
    ]);
  });
});
