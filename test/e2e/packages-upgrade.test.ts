// The .deb over time: an upgrade from the previous build keeps users, limits, config and database (and migrates it at
// start), restarting the service once; a newer schema is refused with a clear message; and the package installs on a
// Debian without systemd as PID 1 (a chroot) without starting anything.
//
// "The previous build": diycloud has had no release before this one, so it is this build repacked with a lower
// version, and its database is set back one migration before the upgrade (the state a build that lacked the newest
// migration leaves), so the upgrade has a migration to run. docs/testing.md says so.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bootContainer, e2eSkip, ensureRootfs, REPO_ROOT, type Container, type Dist } from './lib/container';
import { authorizeRootKey, DB, q } from './lib/login-env';
import { copyIn, ensurePackages, type Packages } from './lib/packages';

const skip = e2eSkip();
const DISTS: Dist[] = ['bookworm', 'trixie'];
const APT = 'DEBIAN_FRONTEND=noninteractive apt-get -y -q -o Dpkg::Use-Pty=0';
const MIGRATIONS = readdirSync(join(REPO_ROOT, 'schema')).filter((f) => /^\d{3}-.*\.sql$/.test(f)).sort();
const LAST = MIGRATIONS[MIGRATIONS.length - 1];

function sh(script: string, ...args: string[]): string {
  const r = spawnSync('bash', ['-c', script, 'bash', ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${script} failed (${r.status}):\n${r.stderr}`);
  return r.stdout;
}

/** The same package with a lower version: dpkg-deb -R, a new Version:, dpkg-deb -b. */
function previousBuild(deb: string, work: string): { file: string; version: string } {
  const dir = join(work, 'prev');
  sh('dpkg-deb -R "$1" "$2"', deb, dir);
  const control = readFileSync(join(dir, 'DEBIAN/control'), 'utf8');
  const version = /^Version: (.*)$/m.exec(control)![1].replace(/^([^-]+)-/, '$1~prev-');
  writeFileSync(join(dir, 'DEBIAN/control'), control.replace(/^Version: .*$/m, `Version: ${version}`));
  const file = join(work, 'diycloud-prev.deb');
  sh('dpkg-deb --root-owner-group -Zxz -b "$1" "$2" >/dev/null', dir, file);
  return { file, version };
}

describe.skipIf(skip).each(DISTS)('upgrading the .deb (%s)', (dist) => {
  let c: Container;
  let pkgs: Packages;
  let work = '';
  let prev = { file: '', version: '' };
  const ctl = (args: string, input?: string) => c.exec(`diycloudctl --no-ask-password ${args}`, { allowFail: true, timeoutMs: 60_000, input });
  const sql = async (s: string) => (await c.exec(`sqlite3 ${DB}`, { input: `${s}\n` })).stdout.trim();

  beforeAll(async () => {
    pkgs = await ensurePackages();
    work = mkdtempSync(join(tmpdir(), `diycloud-upgrade-${dist}-`));
    prev = previousBuild(pkgs.deb[dist], work);
    c = await bootContainer({ dist });
    await c.waitRunning();
    copyIn(c, prev.file, 'diycloud-prev.deb');
    copyIn(c, pkgs.deb[dist], 'diycloud.deb');
    await c.exec(`install -d -m 700 /root/.ssh && ssh-keygen -q -t ed25519 -N '' -f /root/.ssh/id_ed25519; systemctl start ssh.service`);
  }, 2_700_000);

  afterAll(async () => {
    await c?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  }, 60_000);

  it('the previous build installs, and gets users, a role profile, limits and an edited config', async () => {
    expect((await c.exec(`${APT} install /var/tmp/diycloud-prev.deb`, { allowFail: true, timeoutMs: 180_000 })).code).toBe(0);
    expect((await ctl('profile set student --memory 400M')).code).toBe(0);
    expect((await ctl('user add pu1 --cpu 1 --memory 300M --password-stdin', 'Pu1-long-secret-42\n')).code).toBe(0);
    expect((await ctl('user add pu2 --role student --password-stdin', 'Pu2-long-secret-42\n')).code).toBe(0);
    await c.exec('printf "\\n# site setting kept across upgrades\\n" >> /etc/diycloud/diycloud.conf');
  }, 240_000);

  it('the upgrade keeps everything, migrates the database at start, restarts the service once, and limits hold', async () => {
    // Back one migration: what a build without the newest one left (the daemon keeps running meanwhile).
    const table = /CREATE TABLE (\w+)/.exec(readFileSync(join(REPO_ROOT, 'schema', LAST), 'utf8'))![1];
    await sql(`DROP TABLE ${table}; PRAGMA user_version = ${MIGRATIONS.length - 1};`);
    const since = (await c.exec('date +%s')).stdout.trim();
    const before = (await c.exec('systemctl show -p InvocationID --value diycloudd.service')).stdout.trim();

    const r = await c.exec(`${APT} install /var/tmp/diycloud.deb`, { allowFail: true, timeoutMs: 180_000 });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect((await c.exec("dpkg-query -W -f '${Version}' diycloud")).stdout).toMatch(/^\d+\.\d+\.\d+-1\+deb1[23]$/);
    expect((await c.exec('systemctl show -p InvocationID --value diycloudd.service')).stdout.trim()).not.toBe(before);
    const log = (await c.exec(`journalctl -q --no-pager -o cat -u diycloudd.service --since @${since}`)).stdout;
    expect(log.split('\n').filter((l) => /^Started .*diycloud allocation daemon/.test(l))).toHaveLength(1);
    expect(log.split('\n').filter((l) => /^Stopping .*diycloud allocation daemon/.test(l))).toHaveLength(1);
    expect(await sql('PRAGMA user_version;')).toBe(String(MIGRATIONS.length));
    expect(await sql(`SELECT count(*) FROM sqlite_master WHERE name = '${table}';`)).toBe('1');
    expect((await c.exec('tail -n 2 /etc/diycloud/diycloud.conf')).stdout).toContain('# site setting kept across upgrades');
    expect((await c.exec('cat /etc/pam.d/common-account /etc/pam.d/common-session | grep -c pam_diycloud.so')).stdout.trim()).toBe('2');

    // user list --json prints QueryUsers' page object
    const { users } = JSON.parse((await ctl('--json user list')).stdout) as { users: { name: string }[] };
    expect(users.map((u) => u.name)).toEqual(expect.arrayContaining(['pu1', 'pu2']));
    for (const [u, bytes] of [['pu1', 300], ['pu2', 400]] as const) {
      await authorizeRootKey(c, u);
      const id = (await c.exec(`id -u ${u}`)).stdout.trim();
      const login = await c.exec(`ssh -n -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR ${u}@127.0.0.1 ${q('cat /proc/self/cgroup')}`,
        { allowFail: true, timeoutMs: 60_000 });
      expect(login.code, login.stderr).toBe(0);
      expect((await c.exec(`systemctl show -p MemoryMax --value user-${id}.slice`)).stdout.trim()).toBe(String(bytes * 2 ** 20));
    }
  }, 300_000);

  it('a database newer than the installed build: the daemon refuses to start and says why', async () => {
    await sql(`PRAGMA user_version = ${MIGRATIONS.length + 1};`);
    expect((await c.exec('systemctl restart diycloudd.service', { allowFail: true })).code).not.toBe(0);
    expect((await c.exec('journalctl -q --no-pager -o cat -u diycloudd.service -n 30')).stdout)
      .toContain(`database schema version ${MIGRATIONS.length + 1} is newer than this diycloudd (${MIGRATIONS.length}); refusing to downgrade`);
    await sql(`PRAGMA user_version = ${MIGRATIONS.length};`);
    await c.exec('systemctl reset-failed diycloudd.service; systemctl start diycloudd.service');
  }, 120_000);
});

describe.skipIf(skip).each(DISTS)('the .deb without systemd as PID 1 (%s, a chroot)', (dist) => {
  let root = '';
  let out = '';
  let code = -1;

  beforeAll(async () => {
    const pkgs = await ensurePackages();
    const tarball = await ensureRootfs(dist);
    root = mkdtempSync(join(tmpdir(), `diycloud-nosystemd-${dist}-`));
    sh('tar -C "$1" -xpf "$2" && cp -- "$3" "$1/tmp/diycloud.deb"', root, tarball, pkgs.deb[dist]);
    const r = spawnSync('unshare', ['-m', '--propagation', 'private', 'sh', '-c',
      'mount -t proc proc "$1/proc" && exec chroot "$1" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive dpkg -i /tmp/diycloud.deb',
      'sh', root], { encoding: 'utf8', timeout: 300_000 });
    code = r.status ?? -1;
    out = r.stdout + r.stderr;
  }, 2_700_000);

  afterAll(() => { if (root) rmSync(root, { recursive: true, force: true }); });

  it('installs, says the service was not started, and leaves it enabled for a later boot with systemd', () => {
    expect(code, out).toBe(0);
    expect(out).toContain('systemd is not running as PID 1 here, so diycloudd.service was not started');
    expect(sh('ls "$1/usr/sbin/diycloudd" "$1/usr/bin/diycloudctl"', root)).toContain('diycloudctl');
    expect(sh('readlink "$1/etc/systemd/system/multi-user.target.wants/diycloudd.service"', root).trim()).toMatch(/diycloudd\.service$/);
    expect(sh('grep -c pam_diycloud.so "$1/etc/pam.d/common-session" || true', root).trim()).toBe('1');
    expect(sh('chroot "$1" getent group diycloud-admin | cut -d: -f1', root).trim()).toBe('diycloud-admin');
  });
});
