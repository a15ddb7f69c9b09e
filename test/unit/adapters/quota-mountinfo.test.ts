// Unit: /proc/self/mountinfo parsing (real lines from this host), the mount holding a path, and btrfs paths seen through a mount.
import { describe, expect, it } from 'vitest';
import { findMount, hasOption, parseMountinfo, pathThroughMount } from '../../../src/adapters/proc/mountinfo';

// Recorded on this host (Debian 12, kernel 6.18): the root, proc, a cgroup v1 hierarchy, a btrfs loop
// device mounted whole and as the subvolume @home, and a tmpfs on a directory whose name has a space.
const HOST = `21 26 0:20 / /proc rw,relatime - proc proc rw
26 1 254:0 / / rw,relatime - ext4 /dev/vda rw,discard,resv_strict,resuid=65534,resgid=65534
31 30 0:28 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
45 26 0:39 / /tmp/tmp.cK9RGkP4Tc/m/top rw,relatime - btrfs /dev/loop0 rw,discard=async,space_cache=v2,subvolid=5,subvol=/
46 26 0:39 /@home /tmp/tmp.cK9RGkP4Tc/m/home rw,relatime - btrfs /dev/loop0 rw,discard=async,space_cache=v2,subvolid=256,subvol=/@home
44 26 0:42 / /tmp/tmp.cK9RGkP4Tc/m/sp\\040ace rw,relatime - tmpfs tmpfs rw,size=1024k
`;

describe('parseMountinfo', () => {
  const mounts = parseMountinfo(HOST);

  it('reads every field of a real line', () => {
    expect(mounts).toHaveLength(6);
    expect(mounts[1]).toEqual({ id: 26, parentId: 1, device: '254:0', root: '/', mountPoint: '/', mountOptions: ['rw', 'relatime'], fsType: 'ext4', source: '/dev/vda', superOptions: ['rw', 'discard', 'resv_strict', 'resuid=65534', 'resgid=65534'] });
  });

  it('decodes the kernel\'s octal escapes (\\040 is a space)', () => {
    expect(mounts[5].mountPoint).toBe('/tmp/tmp.cK9RGkP4Tc/m/sp ace');
    expect(parseMountinfo('50 26 0:50 /a\\134b /x\\011y\\012z rw - tmpfs tmpfs rw\n')[0]).toMatchObject({ root: '/a\\b', mountPoint: '/x\ty\nz' });
  });

  it('keeps the root of a btrfs subvolume mount', () => {
    expect(mounts[4]).toMatchObject({ root: '/@home', fsType: 'btrfs', device: '0:39' });
  });

  it('skips optional fields up to the lone "-" (proc(5)\'s example)', () => {
    const [m] = parseMountinfo('36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 shared:7 - ext3 /dev/root rw,errors=continue,usrquota\n');
    expect(m).toMatchObject({ root: '/mnt1', mountPoint: '/mnt2', fsType: 'ext3', source: '/dev/root', superOptions: ['rw', 'errors=continue', 'usrquota'] });
  });

  it('skips malformed lines instead of failing the rest', () => {
    expect(parseMountinfo('garbage\n1 2 3\nx y 0:1 / / rw - ext4 /dev/a rw\n' + HOST)).toHaveLength(6);
  });
});

describe('findMount', () => {
  const mounts = parseMountinfo(`1 0 8:1 / / rw - ext4 /dev/sda1 rw
2 1 8:2 / /home rw - xfs /dev/sda2 rw,usrquota
3 1 0:9 / /home/shared rw - nfs4 srv:/x rw
`);
  it.each([
    ['/home/alice', '/home'],
    ['/home', '/home'],
    ['/homes/x', '/'],
    ['/', '/'],
    ['/home/shared/a/b', '/home/shared'],
    ['/home/sharedx', '/home'],
  ])('%s is on %s (the longest mount point that is a prefix)', (path, mp) => expect(findMount(path, mounts)?.mountPoint).toBe(mp));

  it('of two mounts on one point, the later (on top) wins', () => {
    const over = parseMountinfo('1 0 8:1 / / rw - ext4 /dev/sda1 rw\n2 1 8:2 / /home rw - ext4 /dev/sda2 rw\n3 2 0:5 / /home rw - tmpfs tmpfs rw\n');
    expect(findMount('/home/a', over)?.fsType).toBe('tmpfs');
  });

  it('is null with no mounts', () => expect(findMount('/x', [])).toBeNull());
});

describe('hasOption', () => {
  const [m] = parseMountinfo('2 1 8:2 / /home rw,relatime - ext4 /dev/sda2 rw,jqfmt=vfsv1,usrjquota=aquota.user\n');
  it('matches "name=" options by prefix and others exactly', () => {
    expect(hasOption(m, ['usrjquota='])).toBe(true);
    expect(hasOption(m, ['usrquota', 'quota'])).toBe(false);
    expect(hasOption(m, ['relatime'])).toBe(true);
  });
});

describe('pathThroughMount', () => {
  const mounts = parseMountinfo(HOST);
  const top = mounts[3];
  const home = mounts[4];
  it('maps a qgroup path (relative to the top level) to the path under the mount', () => {
    expect(pathThroughMount('home_u', top)).toBe('/tmp/tmp.cK9RGkP4Tc/m/top/home_u');
    expect(pathThroughMount('@home/alice', home)).toBe('/tmp/tmp.cK9RGkP4Tc/m/home/alice');
    expect(pathThroughMount('@home', home)).toBe('/tmp/tmp.cK9RGkP4Tc/m/home');
  });
  it('is null for a subvolume the mount does not show', () => {
    expect(pathThroughMount('@root/x', home)).toBeNull();
    expect(pathThroughMount('@homes/x', home)).toBeNull();
  });
  it('handles a filesystem mounted on /', () => {
    const [root] = parseMountinfo('1 0 0:30 /@ / rw - btrfs /dev/sda1 rw,subvol=/@\n');
    expect(pathThroughMount('@/home/bob', root)).toBe('/home/bob');
    expect(pathThroughMount('@', root)).toBe('/');
  });
});

describe('bind mounts of a directory onto itself (systemd ReadWritePaths= under ProtectSystem=strict)', () => {
  // diycloudd's own namespace on the VM: / is ext4 (vda), and systemd bind-mounted /home onto itself.
  const sandboxed = [
    '22 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw,quota,usrquota,grpquota',
    '1046 1030 254:0 /home /home rw,relatime shared:1 - ext4 /dev/vda rw,quota,usrquota,grpquota',
    '1047 1030 254:0 /srv/xfs /srv/xfs rw,relatime - xfs /dev/loop0 rw,usrquota',
  ].join('\n');
  it('the path belongs to the real mount point, not to the bind', () => {
    expect(findMount('/home', parseMountinfo(sandboxed))?.mountPoint).toBe('/');
    expect(findMount('/home/alice', parseMountinfo(sandboxed))?.mountPoint).toBe('/');
  });
  it('a btrfs subvolume mounted at /home stays a mount point of its own', () => {
    const btrfs = [
      '30 1 0:27 /@ / rw - btrfs /dev/sda2 rw,subvolid=256,subvol=/@',
      '31 30 0:27 /@home /home rw - btrfs /dev/sda2 rw,subvolid=257,subvol=/@home',
    ].join('\n');
    expect(findMount('/home/alice', parseMountinfo(btrfs))?.mountPoint).toBe('/home');
  });
  it('a bind of one directory to another place is kept (it is not the same view)', () => {
    const other = ['22 1 254:0 / / rw - ext4 /dev/vda rw', '40 22 254:0 /srv/data /data rw - ext4 /dev/vda rw'].join('\n');
    expect(findMount('/data/x', parseMountinfo(other))?.mountPoint).toBe('/data');
  });
});
