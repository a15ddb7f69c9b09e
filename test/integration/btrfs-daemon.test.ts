// Integration: the daemon holds a user to their disk allocation on a real btrfs (a loop device): AdoptUser sets the
// default quota on the home subvolume through NSS's home, SetLimits changes it, GetUser shows usage beside the limit,
// DeleteUser leaves no limit behind. (quota-tools cannot run on this kernel; the VM test covers ext4 and xfs.)

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { busctl, startDaemon, type DaemonProcess } from './lib/daemon-process';
import { startTestBus, type TestBus } from './lib/test-bus';

const BTRFS = '/usr/bin/btrfs';
const UID = 4455;
const NAME = 'dcbtrfsd';
const M = 1024 ** 2;
const runnable = process.getuid?.() === 0 && existsSync(BTRFS) && existsSync('/dev/loop-control');
if (!runnable) console.warn('*** SKIPPED btrfs-daemon: needs root, btrfs-progs and loop devices ***');
const MGR = ['org.diycloud.Manager1', '/org/diycloud/Manager1', 'org.diycloud.Manager1'];

function must(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: exit ${r.status}: ${r.stderr}`);
  return r.stdout;
}

describe.skipIf(!runnable)('diycloudd with a btrfs [Quota] path (real qgroups)', () => {
  let dir = '';
  let mnt = '';
  let loop = '';
  let bus: TestBus;
  let d: DaemonProcess;
  const limitOf = (): number | null => {
    const id = must(BTRFS, ['inspect-internal', 'rootid', '--', join(mnt, NAME)]).trim();
    const line = must(BTRFS, ['qgroup', 'show', '--raw', '-r', '--', mnt]).split('\n').find((l) => l.startsWith(`0/${id} `));
    const v = line?.trim().split(/\s+/)[3];
    return v === undefined || v === 'none' ? null : Number(v);
  };
  const call = async (...args: string[]) => {
    const r = await busctl(bus.address, ['--json=short', 'call', ...MGR, ...args]);
    expect(r.code, r.stderr).toBe(0);
    return (r.stdout.trim() ? JSON.parse(r.stdout) : { data: [] }) as { data: unknown[] };
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'diycloud-btrfsd-'));
    chmodSync(dir, 0o755);
    mnt = join(dir, 'mnt');
    mkdirSync(mnt);
    const img = join(dir, 'b.img');
    writeFileSync(img, '');
    must('/usr/bin/truncate', ['-s', '200M', img]);
    must('/usr/sbin/mkfs.btrfs', ['-q', img]);
    loop = must('/usr/sbin/losetup', ['--find', '--show', '--', img]).trim();
    must('/usr/bin/mount', ['-t', 'btrfs', loop, mnt]);
    must(BTRFS, ['quota', 'enable', mnt]);
    must('/usr/sbin/useradd', ['--uid', String(UID), '--user-group', '--create-home', '--btrfs-subvolume-home', '--home-dir', join(mnt, NAME), '--', NAME]);
    bus = await startTestBus();
    d = await startDaemon(bus.address, `[Users]\nUIDMin=4452\nUIDMax=4459\n[Backend]\nCgroups=none\n[Defaults]\nDisk=20M\n[Quota]\nPaths=${mnt}\n`);
  }, 60_000);

  afterAll(async () => {
    await d?.stop();
    await bus?.stop();
    spawnSync('/usr/sbin/userdel', ['--remove', '--', NAME]);
    spawnSync('/usr/bin/umount', [mnt]);
    if (loop) spawnSync('/usr/sbin/losetup', ['--detach', loop]);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('AdoptUser sets the default quota on the home subvolume (the home comes from NSS)', async () => {
    await call('AdoptUser', 'ss', NAME, 'user');
    expect(limitOf()).toBe(20 * M);
  });

  it('SetLimits changes it at once and answers no warning; GetUser shows usage beside the limit', async () => {
    const r = await call('SetLimits', 'sa{sv}', NAME, '1', 'disk', 's', '30M');
    expect(r.data[0]).toEqual([]);
    expect(limitOf()).toBe(30 * M);
    const u = JSON.parse((await call('GetUser', 's', NAME)).data[0] as string) as { disk: { path: string; state: string; hardBytes: number; usedBytes: number }[] };
    expect(u.disk).toEqual([expect.objectContaining({ path: mnt, state: 'enforced', hardBytes: 30 * M })]);
    expect(u.disk[0]!.usedBytes).toBeGreaterThanOrEqual(0);
  });

  it('DeleteUser removes the limit (and userdel the subvolume)', async () => {
    await call('DeleteUser', 'sa{sv}', NAME, '1', 'remove_home', 'b', 'true');
    expect(existsSync(join(mnt, NAME))).toBe(false);
    const rows = must(BTRFS, ['qgroup', 'show', '--raw', '-r', '--', mnt]).split('\n').filter((l) => /^0\/\d+ /.test(l) && !l.startsWith('0/5 '));
    expect(rows.filter((l) => !/\snone(\s|$)/.test(l))).toEqual([]);
  });
});
