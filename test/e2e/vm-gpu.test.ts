// e2e (qemu VM, Debian 12, systemd 252, cgroup v2): the GPU device policy on user-UID.slice, set by a real ssh
// login through the hook. With nodes made by mknod -m 0666 (no driver): a user without GPUs gets EPERM, a user
// granted GPU 0 gets the driver-less ENXIO/ENODEV on it (and EPERM on GPU 1); a pty, /dev/null, /dev/fuse and
// /dev/urandom work for both; after systemctl daemon-reload the rules still hold. One boot.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ENABLE_DIYCLOUD, installIntoRootfs } from './lib/vm-install';
import { bootVm, vmUnavailableReason, type Vm } from './lib/vm';

const reason = vmUnavailableReason();
if (reason) console.warn(`\n*** SKIPPING test/e2e/vm-gpu.test.ts: ${reason} ***\n`);

const DB = '/var/lib/diycloud/diycloud.db';
const NONE = 'gpunone';
const ONE = 'gpuzero';

/** Opens each node read/write from the login's shell; then a pty with /dev/tty inside it (script(1)). */
const PROBE = [
  'for p in /dev/nvidia0 /dev/nvidia1 /dev/nvidiactl /dev/null /dev/urandom /dev/fuse; do',
  '  if err=$( { exec 3<>"$p"; } 2>&1 ); then echo "@ $p ok"; else case "$err" in *"not permitted"*) echo "@ $p EPERM";; *"No such device"*) echo "@ $p ENXIO";; *) echo "@ $p other $err";; esac; fi',
  'done',
  'script -qec "sh -c \': </dev/tty\'" /dev/null >/dev/null 2>&1 && echo "@ pty ok" || echo "@ pty failed"',
].join('\n');

const shq = (x: string) => `'${x.replace(/'/g, `'\\''`)}'`;

function parse(out: string): Record<string, string> {
  return Object.fromEntries(out.split('\n').filter((l) => l.startsWith('@ ')).map((l) => l.slice(2).split(' ', 2) as [string, string]));
}

describe.skipIf(reason)('GPU device policy on user slices (qemu VM, cgroup v2)', () => {
  let vm: Vm | undefined;
  let failed = false;
  const probe = async (user: string) => parse((await vm!.execAs(user, PROBE, { timeoutMs: 60_000 })).stdout);
  const sql = async (s: string) => (await vm!.exec(`sqlite3 ${DB}`, { input: `${s}\n` })).stdout.trim();

  beforeAll(async () => {
    vm = await bootVm({ prepare: installIntoRootfs, chrootCommands: ENABLE_DIYCLOUD });
    await vm.exec('for i in $(seq 120); do systemctl is-active -q diycloudd && exit 0; sleep 1; done; journalctl --no-pager -u diycloudd | tail -40; exit 1', { timeoutMs: 150_000 });
    await vm.exec('mknod -m 0666 /dev/nvidia0 c 195 0 && mknod -m 0666 /dev/nvidia1 c 195 1 && mknod -m 0666 /dev/nvidiactl c 195 255');
    for (const u of [NONE, ONE]) await vm.addUser(u);
    // Database rows: GPU 0 for one user; the other inherits [Defaults] GPU (none).
    await sql(`INSERT INTO users(username, uid) SELECT '${NONE}', ${(await vm.exec(`id -u ${NONE}`)).stdout.trim()}; ` +
      `INSERT INTO users(username, uid) SELECT '${ONE}', ${(await vm.exec(`id -u ${ONE}`)).stdout.trim()}; ` +
      `INSERT INTO resource_allocations(user_id, gpus) SELECT id, '0' FROM users WHERE username = '${ONE}';`);
  }, 20 * 60_000);

  afterEach((ctx) => { if (ctx.task.result?.state === 'fail') failed = true; });

  afterAll(async () => {
    if (vm && failed) console.log((await vm.exec('journalctl --no-pager -u diycloudd | tail -40', { allowFail: true })).stdout);
    await vm?.stop({ keepLog: failed });
  }, 60_000);

  it('Gpus lists GPUs 0 and 1, enforced by the device cgroup through systemd', async () => {
    const out = (await vm!.exec('busctl --json=short get-property org.diycloud.Manager1 /org/diycloud/Manager1 org.diycloud.Manager1 Gpus')).stdout;
    const g = JSON.parse((JSON.parse(out) as { data: string }).data) as { devices: { index: number }[]; enforcement: { backend: string; state: string } };
    expect(g.devices.map((d) => d.index)).toEqual([0, 1]);
    expect(g.enforcement).toMatchObject({ backend: 'systemd', state: 'device cgroup' });
  });

  it('without GPUs: EPERM on every GPU node at mode 0666; the session devices work', async () => {
    const r = await probe(NONE);
    expect(r).toMatchObject({ '/dev/nvidia0': 'EPERM', '/dev/nvidia1': 'EPERM', '/dev/nvidiactl': 'EPERM', '/dev/null': 'ok', '/dev/urandom': 'ok', pty: 'ok' });
    expect(r['/dev/fuse']).not.toBe('EPERM');
  }, 120_000);

  it('granted GPU 0: past the cgroup on GPU 0 and nvidiactl (driver-less ENXIO/ENODEV), EPERM on GPU 1; the session devices work', async () => {
    const r = await probe(ONE);
    expect(r).toMatchObject({ '/dev/nvidia0': 'ENXIO', '/dev/nvidiactl': 'ENXIO', '/dev/nvidia1': 'EPERM', '/dev/null': 'ok', '/dev/urandom': 'ok', pty: 'ok' });
    expect(r['/dev/fuse']).not.toBe('EPERM');
  }, 120_000);

  it('after systemctl daemon-reload the rules still hold (runtime drop-ins are re-read), with diycloudd stopped so nothing re-applies them', async () => {
    await vm!.exec('systemctl stop diycloudd && systemctl daemon-reload');
    // Not a login (no hook): a unit of the user's own in their slice.
    const inSlice = async (user: string) => {
      const uid = (await vm!.exec(`id -u ${user}`)).stdout.trim();
      return parse((await vm!.exec(`systemd-run --quiet --wait --pipe --uid=${uid} --slice=user-${uid}.slice /bin/bash -c ${shq(PROBE)}`, { timeoutMs: 60_000 })).stdout);
    };
    const [none, one] = [await inSlice(NONE), await inSlice(ONE)];
    await vm!.exec('systemctl start diycloudd');
    expect(none).toMatchObject({ '/dev/nvidia0': 'EPERM', '/dev/nvidiactl': 'EPERM', '/dev/null': 'ok', pty: 'ok' });
    expect(one).toMatchObject({ '/dev/nvidia0': 'ENXIO', '/dev/nvidia1': 'EPERM', '/dev/null': 'ok', pty: 'ok' });
  }, 180_000); // a stop, a daemon-reload, two transient units and a start in a TCG VM: 30 s was too short on a loaded CI host

  it('control: root (not a managed user, so no policy on its slice) opens past the cgroup on every node', async () => {
    expect(parse((await vm!.exec(PROBE, { timeoutMs: 60_000 })).stdout)).toMatchObject({ '/dev/nvidia0': 'ENXIO', '/dev/nvidia1': 'ENXIO' });
  }, 120_000);
});
