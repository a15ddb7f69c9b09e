// e2e (qemu VM, real kernel): disk quotas through the installed diycloudd and diycloudctl: ext4 (/) and xfs (a loop
// mount) with user quotas stop a user's dd with EDQUOT at the limit diycloud set; a filesystem without quotas is refused.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { installIntoRootfs, ENABLE_DIYCLOUD } from './lib/vm-install';
import { bootVm, vmUnavailableReason, type ExecResult, type Vm } from './lib/vm';

const reason = vmUnavailableReason();
if (reason) console.warn(`\n*** SKIPPING test/e2e/vm-quota.test.ts: ${reason} ***\n`);

const MiB = 1024 * 1024;
const CONF = '/etc/diycloud/diycloud.conf';
// [Limits] MinDisk is 16M by default: the first limit is 20M, raised to 50M, then lowered to 16M under usage.
const FIRST_MiB = 20;
const RAISED_MiB = 50;


interface DiskRow { path: string; state: string; usedBytes: number | null; softBytes: number | null; hardBytes: number | null; overQuota: boolean }

/** Per-uid block limits in KiB from `repquota -u -v -n -p -O csv MOUNT`; undefined when the uid has no entry. */
async function kernelLimits(vm: Vm, mount: string, uid: number): Promise<{ soft: number; hard: number } | undefined> {
  const lines = (await vm.exec(`repquota -u -v -n -p -O csv -- ${mount}`)).stdout.trim().split('\n');
  const head = lines[0]!.split(',');
  const row = lines.find((l) => l.startsWith(`#${uid},`))?.split(',');
  if (!row) return undefined;
  return { soft: Number(row[head.indexOf('BlockSoftLimit')]), hard: Number(row[head.indexOf('BlockHardLimit')]) };
}

/** Sets [Quota] Paths= in the installed config (null: absent, the default) and restarts diycloudd. */
async function setQuotaPaths(vm: Vm, paths: string | null): Promise<void> {
  const add = paths === null ? '' : ` && sed -i '/^\\[Quota\\]$/a Paths=${paths}' ${CONF}`;
  await vm.exec(`sed -i '/^Paths=/d' ${CONF}${add} && systemctl restart diycloudd && systemctl is-active -q diycloudd`, { timeoutMs: 120_000 });
}

/** Writes `mib` MiB of zeros as `user` (a real ssh login) into FILE; returns dd's status, its output and the file's size. */
async function ddAs(vm: Vm, user: string, file: string, mib: number): Promise<{ rc: number; out: string; sizeBytes: number }> {
  const r = await vm.execAs(user, `dd if=/dev/zero of=${file} bs=1M count=${mib} conv=fsync 2>&1; echo "RC=$?"; stat -c 'SIZE=%s' ${file}`,
    { timeoutMs: 180_000 });
  const rc = /^RC=(\d+)$/m.exec(r.stdout);
  const size = /^SIZE=(\d+)$/m.exec(r.stdout);
  if (!rc || !size) throw new Error(`unexpected dd output: ${r.stdout} ${r.stderr}`);
  return { rc: Number(rc[1]), out: r.stdout, sizeBytes: Number(size[1]) };
}

describe.skipIf(reason)('disk quotas through diycloudd (qemu VM)', () => {
  let vm: Vm | undefined;
  let failed = false;
  let hasDoctor = false;
  const ctl = (args: string, allowFail = true): Promise<ExecResult> => vm!.exec(`diycloudctl ${args} </dev/null`, { allowFail, timeoutMs: 120_000 });
  const disk = async (user: string): Promise<DiskRow[]> => (JSON.parse((await ctl(`--json user show ${user}`, false)).stdout) as { disk: DiskRow[] }).disk;
  const doctorCheck = async (id: string) => {
    const r = await ctl('--json doctor');
    return (JSON.parse(r.stdout) as { checks: { id: string; status: string; detail: string; fix: string | null }[] }).checks.find((c) => c.id === id);
  };
  /** SetLimits over D-Bus (dbus-next from the installed modules): the reply body, or the error's D-Bus name and text. */
  const setLimitsRaw = async (user: string, diskSize: string): Promise<string> => {
    const js = `const d=require('/usr/lib/diycloud/node_modules/dbus-next');const b=d.systemBus();` +
      `b.call(new d.Message({destination:'org.diycloud.Manager1',path:'/org/diycloud/Manager1',interface:'org.diycloud.Manager1',` +
      `member:'SetLimits',signature:'sa{sv}',body:[${JSON.stringify(user)},{disk:new d.Variant('s',${JSON.stringify(diskSize)})}]}))` +
      `.then((m)=>{console.log('REPLY '+JSON.stringify(m.body));process.exit(0)},(e)=>{console.log('ERROR '+e.type+' '+e.text);process.exit(0)})`;
    return (await vm!.exec('node', { input: js, timeoutMs: 60_000 })).stdout.trim();
  };

  beforeAll(async () => {
    const t0 = Date.now();
    vm = await bootVm({ prepare: installIntoRootfs, chrootCommands: ENABLE_DIYCLOUD });
    console.log(`VM up: timings ${JSON.stringify(vm.timings)} (total ${Date.now() - t0} ms)`);
    await vm.exec('for i in $(seq 120); do systemctl is-active -q diycloudd && exit 0; sleep 1; done; ' +
      'systemctl status --no-pager diycloudd; journalctl --no-pager -u diycloudd | tail -40; exit 1', { timeoutMs: 150_000 });
    // The image's quotaon.service runs quotacheck on first boot; wait for it to finish either way.
    await vm.exec('for i in $(seq 60); do s=$(systemctl show -p ActiveState --value quotaon.service); ' +
      '[ "$s" = active ] || [ "$s" = failed ] || [ "$s" = inactive ] && break; sleep 1; done', { timeoutMs: 90_000 });
    const q = await vm.exec('quotaon -p -u /', { allowFail: true });
    if (!/is on/.test(q.stdout)) {
      console.warn(`quotas were not on at boot (${q.stdout.trim()}): quotacheck -cugm / && quotaon /`);
      await vm.exec('test -e /aquota.user || quotacheck -cugm /; quotaon -u /', { timeoutMs: 120_000 });
    }
    hasDoctor = (await ctl('doctor --help')).code === 0;
    if (!hasDoctor) console.warn('diycloudctl doctor is not installed: its checks are skipped');
  }, 20 * 60_000);

  afterEach((ctx) => { if (ctx.task.result?.state === 'fail') failed = true; });

  afterAll(async () => {
    if (failed && vm) {
      console.warn(`diycloudd journal:\n${(await vm.exec('journalctl --no-pager -q -o cat -u diycloudd | tail -30', { allowFail: true }).catch(() => ({ stdout: '' }))).stdout}`);
      console.warn(`VM console log kept at ${vm.consoleLog}`);
    }
    await vm?.stop({ keepLog: failed });
  }, 60_000);

  it('ext4 (/, usrquota): quotas enforced, the 7d grace period set at start, doctor ok', async () => {
    expect((await vm!.exec('findmnt -no FSTYPE,OPTIONS /')).stdout).toMatch(/^ext4 .*usrquota/);
    expect((await vm!.exec('quotaon -p -u /', { allowFail: true })).stdout).toMatch(/user quota on \/ .* is on/);
    const grace = await vm!.exec('repquota -u /');
    if (!/Block grace time: 7days/.test(grace.stdout)) {
      // diycloudd may have started before quotaon.service: then it could not set the grace period.
      console.warn(`grace period not 7 days: ${grace.stdout.split('\n').slice(0, 3).join(' | ')}\n` +
        (await vm!.exec('journalctl --no-pager -q -o cat -u diycloudd | grep -i grace', { allowFail: true })).stdout);
    }
    expect(grace.stdout).toMatch(/Block grace time: 7days/); // also ext4's default: the journal below is the real check
    // diycloudd (inside its unit's namespace) found quotas on at start, so it could set GracePeriod=7d.
    const journal = (await vm!.exec('journalctl --no-pager -q -o cat -u diycloudd')).stdout;
    expect(journal).toMatch(/quotas \/(home)? \(quota-tools\)/);
    expect(journal).not.toMatch(/grace period not set/);
    if (hasDoctor) expect((await doctorCheck('quota:/'))?.status ?? (await doctorCheck('quota:/home'))?.status).toBe('ok');
  }, 120_000);

  it(`ext4: CreateUser --disk ${FIRST_MiB}M holds a dd at the limit (EDQUOT); limits set --disk ${RAISED_MiB}M lets it go on; DeleteUser removes the quota`, async () => {
    const user = 'qalice';
    const add = await ctl(`user add ${user} --disk ${FIRST_MiB}M`);
    expect(add.code, add.stderr).toBe(0);
    const uid = Number(add.stdout.trim());
    expect(await kernelLimits(vm!, '/', uid)).toEqual({ soft: Math.ceil(FIRST_MiB * 1024 * 0.9), hard: FIRST_MiB * 1024 });

    const first = await ddAs(vm!, user, `/home/${user}/fill1`, 2 * FIRST_MiB);
    expect(first.rc, first.out).not.toBe(0);
    expect(first.out).toContain('Disk quota exceeded');
    expect(first.sizeBytes).toBeLessThanOrEqual(FIRST_MiB * MiB);
    expect(first.sizeBytes).toBeGreaterThan((FIRST_MiB - 4) * MiB); // it did write up to about the limit

    const set = await ctl(`limits set ${user} --disk ${RAISED_MiB}M`);
    expect(set.code, set.stderr).toBe(0);
    expect(set.stderr).not.toMatch(/warning/);
    const second = await ddAs(vm!, user, `/home/${user}/fill2`, 10);
    expect(second.rc, second.out).toBe(0);
    expect(second.sizeBytes).toBe(10 * MiB);

    const [row] = await disk(user);
    expect(row).toMatchObject({ path: expect.stringMatching(/^\/(home)?$/), state: 'enforced', hardBytes: RAISED_MiB * MiB, overQuota: false });
    expect(row!.softBytes).toBe(Math.ceil(RAISED_MiB * 1024 * 0.9) * 1024);
    expect(row!.usedBytes!).toBeGreaterThanOrEqual(first.sizeBytes + second.sizeBytes);
    expect(row!.usedBytes!).toBeLessThan(first.sizeBytes + second.sizeBytes + 2 * MiB);

    // Below current usage: set anyway (nothing is deleted), with an over-quota warning in SetLimits' `as` reply.
    const lowered = await setLimitsRaw(user, '16M');
    expect(lowered).toMatch(/^REPLY \[\[".*over quota.*"\]\]$/);
    expect((await disk(user))[0]).toMatchObject({ hardBytes: 16 * MiB, overQuota: true });
    expect((await vm!.execAs(user, `echo x >> /home/${user}/fill2`, { allowFail: true })).stderr).toContain('Disk quota exceeded');

    const del = await ctl(`user del ${user} --force --remove-home`);
    expect(del.code, del.stderr).toBe(0);
    const after = await kernelLimits(vm!, '/', uid);
    if (after) expect(after).toEqual({ soft: 0, hard: 0 });
  }, 8 * 60_000);

  it(`xfs (loop mount, usrquota) as the only quota path: --disk holds a write, limits set --disk ${RAISED_MiB}M lets it go on`, async () => {
    await vm!.exec('set -e; truncate -s 512M /var/tmp/xfs.img; mkfs.xfs -q -f /var/tmp/xfs.img; mkdir -p /srv/xfs; ' +
      'mount -o loop,usrquota /var/tmp/xfs.img /srv/xfs', { timeoutMs: 120_000 });
    expect((await vm!.exec('findmnt -no FSTYPE,OPTIONS /srv/xfs')).stdout).toMatch(/^xfs .*usrquota/);
    await setQuotaPaths(vm!, '/srv/xfs');
    if (hasDoctor) expect((await doctorCheck('quota:/srv/xfs'))?.status).toBe('ok');

    const user = 'qbob';
    const add = await ctl(`user add ${user} --disk ${FIRST_MiB}M`);
    expect(add.code, add.stderr).toBe(0);
    const uid = Number(add.stdout.trim());
    expect((await kernelLimits(vm!, '/srv/xfs', uid))?.hard).toBe(FIRST_MiB * 1024);
    expect((await kernelLimits(vm!, '/', uid))?.hard ?? 0).toBe(0); // / is no quota path now
    await vm!.exec(`install -d -o ${user} -g ${user} -m 700 /srv/xfs/${user}`);

    const first = await ddAs(vm!, user, `/srv/xfs/${user}/fill1`, 2 * FIRST_MiB);
    expect(first.rc, first.out).not.toBe(0);
    expect(first.out).toContain('Disk quota exceeded');
    expect(first.sizeBytes).toBeLessThanOrEqual(FIRST_MiB * MiB);

    const set = await ctl(`limits set ${user} --disk ${RAISED_MiB}M`);
    expect(set.code, set.stderr).toBe(0);
    const second = await ddAs(vm!, user, `/srv/xfs/${user}/fill2`, 10);
    expect(second.rc, second.out).toBe(0);
    const rows = await disk(user);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ path: '/srv/xfs', state: 'enforced', hardBytes: RAISED_MiB * MiB });
    expect(rows[0]!.usedBytes!).toBeGreaterThanOrEqual(first.sizeBytes + second.sizeBytes);

    const del = await ctl(`user del ${user} --force --remove-home`);
    expect(del.code, del.stderr).toBe(0);
    await vm!.exec(`rm -rf /srv/xfs/${user}`);
    const after = await kernelLimits(vm!, '/srv/xfs', uid);
    const journal = async () => (await vm!.exec('journalctl -u diycloudd -n 40 --no-pager', { allowFail: true })).stdout;
    if (after) expect(after, after.hard === 0 ? '' : await journal()).toEqual({ soft: 0, hard: 0 });
  }, 8 * 60_000);

  it('ext4 mounted without usrquota as the only quota path: --disk is QuotaUnsupported (exit 9) and the message says how to turn quotas on', async () => {
    await vm!.exec('set -e; truncate -s 64M /var/tmp/plain.img; mkfs.ext4 -q -F /var/tmp/plain.img; mkdir -p /srv/plain; ' +
      'mount -o loop /var/tmp/plain.img /srv/plain', { timeoutMs: 120_000 });
    await setQuotaPaths(vm!, '/srv/plain');
    const fix = /usrquota.*quotaon -u \/srv\/plain/s;

    // CreateUser with a disk limit is refused as a whole: no account is left behind.
    const refused = await ctl('user add qcarol --disk 20M');
    expect(refused.code, refused.stdout + refused.stderr).toBe(9);
    expect(refused.stderr).toContain('/srv/plain');
    expect(refused.stderr).toMatch(fix);
    expect((await vm!.exec('getent passwd qcarol', { allowFail: true })).code).not.toBe(0);

    // Without one, the default allocation's quota is skipped (best effort): the user is created.
    const add = await ctl('user add qcarol');
    expect(add.code, add.stderr).toBe(0);
    const set = await ctl('limits set qcarol --disk 20M');
    expect(set.code, set.stderr).toBe(9);
    expect(set.stderr).toMatch(fix);
    const raw = await setLimitsRaw('qcarol', '20M');
    expect(raw).toMatch(/^ERROR org\.diycloud\.Manager1\.Error\.QuotaUnsupported \/srv\/plain: disk quotas are off/);
    expect(raw).toMatch(fix);
    expect((await disk('qcarol'))[0]).toMatchObject({ path: '/srv/plain', state: 'off' });
    if (hasDoctor) {
      const check = await doctorCheck('quota:/srv/plain');
      expect(check?.status).toBe('fail');
      expect(`${check?.detail} ${check?.fix}`).toMatch(fix);
    }
    expect((await ctl('user del qcarol --force --remove-home')).code).toBe(0);
    await setQuotaPaths(vm!, null);
  }, 5 * 60_000);
});
