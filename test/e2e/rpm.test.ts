// The RPM, built from packaging/install.sh's staged tree with packaging/rpm/build-rpm.sh: rpmlint is clean (every
// filter has a reason), no macro is left in a scriptlet, it lists the staged files, and its scriptlets do what they
// should in a throwaway root (rpm --root DIR, an unpacked Debian 13 e2e rootfs, no container booted): install,
// a broken configuration, an upgrade, and removal. No Fedora image can be fetched here (docs/testing.md).
// The stage's node_modules are the host's production modules (the packaging is under test, not the addon build).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, lstatSync, writeFileSync, readlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureRootfs, REPO_ROOT } from './lib/container';


const RPM_DIR = join(REPO_ROOT, 'packaging/rpm');
const UNIT_LINK = 'etc/systemd/system/multi-user.target.wants/diycloudd.service';
/** The man pages and the completion, which install.sh stages from packaging/man and packaging/bash-completion. */
const MAN_AND_COMPLETION = ['usr/share/man/man1/diycloudctl.1.gz', 'usr/share/man/man5/diycloud.conf.5.gz', 'usr/share/man/man8/diycloudd.8.gz',
  'usr/share/bash-completion/completions/diycloudctl'];

interface Sh { code: number; out: string }
/** bash -c SCRIPT, stdout and stderr together; asynchronous, so vitest's worker stays responsive during the builds. */
function sh(script: string, timeoutMs = 300_000): Promise<Sh> {
  return new Promise((resolve) => {
    const child = spawn('bash', ['-c', script], { env: { ...process.env, LC_ALL: 'C' }, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
    const timer = setTimeout(() => { out += `\n[killed after ${timeoutMs} ms]`; try { process.kill(-child.pid!, 'SIGKILL'); } catch { /* gone */ } }, timeoutMs);
    child.on('error', (e) => { clearTimeout(timer); resolve({ code: 127, out: `${out}\n${e.message}` }); });
    child.on('close', (code) => { clearTimeout(timer); resolve({ code: code ?? 128, out }); });
  });
}
async function must(script: string, timeoutMs?: number): Promise<string> {
  const r = await sh(script, timeoutMs);
  if (r.code !== 0) throw new Error(`failed (${r.code}): ${script}\n${r.out.slice(-4000)}`);
  return r.out;
}
const which = (t: string) => spawnSync('sh', ['-c', `command -v ${t}`], { stdio: 'ignore' }).status === 0;
const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

function skipReason(): string | null {
  if (process.platform !== 'linux') return 'not Linux';
  if (process.getuid?.() !== 0) return 'not running as root (rpm --root runs the scriptlets in a chroot)';
  for (const t of ['rpm', 'rpmbuild', 'rpmlint', 'strip', 'tar', 'gzip']) {
    if (!which(t)) return `'${t}' not found (apt-get install rpm rpmlint binutils)`;
  }
  return null;
}
const reason = skipReason();
if (reason) console.warn(`\n*** rpm packaging tests SKIPPED: ${reason} ***\n`);

describe.skipIf(reason !== null)('the RPM', () => {
  let work = '', stage = '', rpmFile = '', webRpm = '', oldRpm = '', tarball = '';
  const version = (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
  const nodeMajor = process.versions.node.split('.')[0];

  beforeAll(async () => {
    tarball = await ensureRootfs('trixie');
    work = mkdtempSync(join(tmpdir(), 'diycloud-rpm-'));
    if (!existsSync(join(REPO_ROOT, 'dist/entry/daemon.js'))) await must(`cd ${q(REPO_ROOT)} && npm run build`, 600_000);
    // The host's node_modules, cleaned and pruned to the run-time closure as packaging/build-in-root.sh does
    // (it rebuilds the addon for the target first; the host's addon stands in for it here).
    const mods = join(work, 'modules/node_modules');
    await must(`mkdir -p ${q(join(work, 'modules'))} && cp -a ${q(join(REPO_ROOT, 'node_modules'))} ${q(mods)}
      node ${q(join(REPO_ROOT, 'packaging/prune-modules.js'))} ${q(join(REPO_ROOT, 'package.json'))} ${q(mods)} 2>/dev/null`);
    stage = join(work, 'stage');
    await must(`bash ${q(join(REPO_ROOT, 'packaging/install.sh'))} --destdir ${q(stage)} --node-modules ${q(mods)} --pam-module-dir /usr/lib64/security --pam-family redhat`);
    // build-in-root.sh strips what it ships; so does this stage.
    await must(`cd ${q(stage)} && find . -type f \\( -name '*.so' -o -name '*.node' \\) -exec strip --remove-section=.comment --remove-section=.note --strip-unneeded {} + &&
      strip --remove-section=.comment --remove-section=.note usr/libexec/diycloud/pam-hook usr/libexec/diycloud/pam-verify`);
    // build-rpm.sh prints both packages' paths: diycloud's, then diycloud-web's.
    const build = async (v: string) => (await must(`bash ${q(join(RPM_DIR, 'build-rpm.sh'))} ${q(stage)} ${q(join(work, 'out'))} ${v}`, 600_000)).trim().split('\n').slice(-2);
    [rpmFile, webRpm] = await build(version);
    [oldRpm] = await build('0.0.1');
  }, 900_000);

  afterAll(() => { if (work && !process.env.DIYCLOUD_RPM_KEEP) rmSync(work, { recursive: true, force: true }); });

  /** A fresh throwaway root: the Debian 13 rootfs, an rpm database, and Fedora's default preset (disable what no preset names). */
  async function freshRoot(name: string): Promise<string> {
    const root = join(work, name);
    await must(`mkdir -p ${q(root)} && tar -C ${q(root)} -xpf ${q(tarball)} && printf 'disable *\\n' > ${q(root)}/usr/lib/systemd/system-preset/99-default.preset && rpm --root ${q(root)} --initdb`);
    return root;
  }
  const rpmIn = (root: string, args: string) => sh(`rpm --root ${q(root)} ${args} 2>&1`);
  const groups = (root: string) => readFileSync(join(root, 'etc/group'), 'utf8');

  it('is named for its version and built for the Node.js major of its addon', async () => {
    expect(rpmFile).toMatch(new RegExp(`/diycloud-${version.replace(/\./g, '\\.')}-1\\.x86_64\\.rpm$`));
    expect(webRpm).toMatch(new RegExp(`/diycloud-web-${version.replace(/\./g, '\\.')}-1\\.noarch\\.rpm$`));
    const webReq = (await must(`rpm -qp --requires ${q(webRpm)}`)).split('\n');
    for (const r of [`diycloud = ${version}-1`, 'nginx', 'openssl']) expect(webReq).toContain(r);
    const req = (await must(`rpm -qp --requires ${q(rpmFile)}`)).split('\n');
    expect(req).toContain(`nodejs(abi${nodeMajor})`);
    for (const r of ['systemd', 'shadow-utils', 'polkit', 'dbus', 'pam']) expect(req).toContain(r);
  });

  it('is clean under rpmlint, and every filter says why', async () => {
    const lint = await sh(`rpmlint -r ${q(join(RPM_DIR, 'diycloud.rpmlintrc'))} ${q(rpmFile)} ${q(webRpm)}`, 120_000);
    const findings = lint.out.split('\n').filter((l) => /: [EW]: /.test(l));
    expect(findings, lint.out).toEqual([]);
    expect(lint.out).toMatch(/0 errors, 0 warnings/);
    const lines = readFileSync(join(RPM_DIR, 'diycloud.rpmlintrc'), 'utf8').split('\n');
    lines.forEach((l, i) => {
      if (!l.startsWith('addFilter(')) return;
      let j = i - 1;
      while (j >= 0 && lines[j].startsWith('addFilter(')) j--;
      expect(lines[j] ?? '', `filter on line ${i + 1} has no comment above it`).toMatch(/^# \S/);
    });
  });

  it('carries no unexpanded macro in its scriptlets, and has all four', async () => {
    const scripts = await must(`rpm -qp --scripts ${q(rpmFile)}`);
    expect(scripts.split('\n').filter((l) => /%[{a-zA-Z_]/.test(l))).toEqual([]);
    for (const s of ['preinstall', 'postinstall', 'preuninstall', 'postuninstall']) expect(scripts).toContain(`${s} scriptlet`);
  });

  it('the two list exactly the staged files between them, without Debian\'s pam-auth-update profile', async () => {
    const listedMain = (await must(`rpm -qlp ${q(rpmFile)}`)).trim().split('\n');
    const listedWeb = (await must(`rpm -qlp ${q(webRpm)}`)).trim().split('\n');
    expect(listedMain.filter((p) => listedWeb.includes(p))).toEqual([]);
    for (const p of ['/usr/sbin/diycloud-web', '/usr/lib/systemd/system/diycloud-web.service', '/etc/diycloud/web.conf', '/etc/diycloud/nginx/diycloud-web.conf',
      '/usr/share/diycloud/web/index.html', '/usr/share/man/man8/diycloud-web.8.gz']) expect(listedWeb, p).toContain(p);
    const listed = new Set([...listedMain, ...listedWeb]);
    const staged = (await must(`cd ${q(stage)} && find . -mindepth 1 \\( -type f -o -type l \\) | sed 's|^\\.||'`)).trim().split('\n')
      .filter((p) => !p.startsWith('/usr/share/pam-configs/'));
    const missing = staged.filter((p) => !listed.has(p));
    expect(missing).toEqual([]);
    for (const p of ['/usr/lib/diycloud/dist/entry/daemon.js', '/usr/sbin/diycloudd', '/usr/bin/diycloudctl', '/usr/libexec/diycloud/pam-hook',
      '/usr/libexec/diycloud/pam-verify', '/usr/lib/systemd/system/diycloudd.service', '/usr/lib/systemd/system-preset/50-diycloud.preset',
      '/usr/share/dbus-1/system.d/org.diycloud.Manager1.conf', '/usr/share/dbus-1/interfaces/org.diycloud.Manager1.xml',
      '/usr/share/polkit-1/actions/org.diycloud.policy', '/usr/share/polkit-1/rules.d/50-diycloud.rules', '/usr/lib/sysusers.d/diycloud.conf',
      '/usr/lib/tmpfiles.d/diycloud.conf', '/usr/lib64/security/pam_diycloud.so', '/etc/diycloud/diycloud.conf', '/var/lib/diycloud', '/run/diycloud',
      ...MAN_AND_COMPLETION.map((p) => `/${p}`)]) expect(listed.has(p), p).toBe(true);
    expect([...listed].filter((p) => p.includes('pam-configs') || p.includes('-linux-gnu'))).toEqual([]);
    const attrs = await must(`rpm -qp --qf '[%{FILEMODES:perms} %{FILEFLAGS:fflags} %{FILENAMES}\\n]' ${q(rpmFile)}`);
    expect(attrs).toMatch(/^drwx------ +\/var\/lib\/diycloud$/m);
    expect(attrs).toMatch(/^-rw-r--r-- cn \/etc\/diycloud\/diycloud\.conf$/m);
    expect(attrs).toMatch(/^drwxr-xr-x g \/run\/diycloud$/m);
    const webAttrs = await must(`rpm -qp --qf '[%{FILEMODES:perms} %{FILEFLAGS:fflags} %{FILENAMES}\\n]' ${q(webRpm)}`);
    expect(webAttrs).toMatch(/^-rw-r--r-- cn \/etc\/diycloud\/web\.conf$/m);
    expect(webAttrs).toMatch(/^-rw-r--r-- cn \/etc\/diycloud\/nginx\/diycloud-web\.conf$/m);
  });

  it('installs into a root without systemd running: groups, state directory, enabled unit, and says it did not start', async () => {
    const root = await freshRoot('install');
    const r = await rpmIn(root, `-i --nodeps ${q(rpmFile)}`);
    expect(r.code, r.out).toBe(0);
    expect(groups(root)).toMatch(/^diycloud-admin:x:\d+:/m);
    expect(groups(root)).toMatch(/^diycloud-operator:x:\d+:/m);
    expect(statSync(join(root, 'var/lib/diycloud')).mode & 0o7777).toBe(0o700);
    // Fedora's "disable *" preset is in this root: the unit is enabled because our preset says so.
    expect(readlinkSync(join(root, UNIT_LINK))).toBe('/usr/lib/systemd/system/diycloudd.service');
    expect(r.out).toContain('systemd is not running as PID 1 here, so diycloudd.service was not started');
    expect(r.out).toContain('diycloudctl pam enable');
    expect(r.out).not.toContain('is not valid');
    const verify = await rpmIn(root, '-V --nodeps diycloud');
    expect(verify.out.split('\n').filter((l) => l && !/^(warning|rpm:|RPM should|However)/i.test(l) && !l.includes('/proc/'))).toEqual([]);

    // Removal: our files and the enablement go; the state, the changed config (.rpmsave) and the groups stay.
    const conf = join(root, 'etc/diycloud/diycloud.conf');
    writeFileSync(conf, readFileSync(conf, 'utf8') + '\n[Users]\nUIDMin=2000\n');
    writeFileSync(join(root, 'var/lib/diycloud/diycloud.db'), 'state');
    const e = await rpmIn(root, '-e diycloud');
    expect(e.code, e.out).toBe(0);
    for (const p of ['usr/lib/diycloud', 'usr/sbin/diycloudd', 'usr/bin/diycloudctl', 'usr/libexec/diycloud', 'usr/lib64/security/pam_diycloud.so',
      'usr/lib/systemd/system/diycloudd.service', 'usr/share/dbus-1/system.d/org.diycloud.Manager1.conf', 'etc/diycloud/diycloud.conf', 'run/diycloud']) {
      expect(existsSync(join(root, p)), p).toBe(false);
    }
    expect(() => lstatSync(join(root, UNIT_LINK))).toThrow();
    expect(readFileSync(join(root, 'var/lib/diycloud/diycloud.db'), 'utf8')).toBe('state');
    expect(readFileSync(`${conf}.rpmsave`, 'utf8')).toContain('UIDMin=2000');
    expect(groups(root)).toMatch(/^diycloud-admin:/m);
    expect((await rpmIn(root, '-q diycloud')).code).not.toBe(0);
  }, 120_000);

  it('diycloud-web installs beside it, disabled until diycloudctl web enable; its erase takes our nginx link away, and only ours', async () => {
    const root = await freshRoot('web');
    expect((await rpmIn(root, `-i --nodeps ${q(rpmFile)}`)).code).toBe(0);
    const r = await rpmIn(root, `-i --nodeps ${q(webRpm)}`);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toContain('the portal is off until you run: diycloudctl web enable');
    expect(existsSync(join(root, 'etc/systemd/system/multi-user.target.wants/diycloud-web.service'))).toBe(false);
    for (const p of ['usr/sbin/diycloud-web', 'etc/diycloud/web.conf', 'etc/diycloud/nginx/diycloud-web.conf', 'usr/share/diycloud/web/index.html']) expect(existsSync(join(root, p)), p).toBe(true);
    // what diycloudctl web enable would have linked, and an admin's own file beside it
    await must(`mkdir -p ${q(root)}/etc/nginx/conf.d && ln -s /etc/diycloud/nginx/diycloud-web.conf ${q(root)}/etc/nginx/conf.d/diycloud-web.conf && echo '# mine' > ${q(root)}/etc/nginx/conf.d/other.conf`);
    const e = await rpmIn(root, '-e diycloud-web');
    expect(e.code, e.out).toBe(0);
    expect(() => lstatSync(join(root, 'etc/nginx/conf.d/diycloud-web.conf'))).toThrow();
    expect(readFileSync(join(root, 'etc/nginx/conf.d/other.conf'), 'utf8')).toBe('# mine\n');
    expect(existsSync(join(root, 'usr/sbin/diycloud-web'))).toBe(false);
    expect(existsSync(join(root, 'usr/sbin/diycloudd'))).toBe(true);
  }, 120_000);

  it('reports a broken configuration without failing the install', async () => {
    const root = await freshRoot('broken');
    await must(`mkdir -p ${q(root)}/etc/diycloud && printf '[Defaults]\\nCPUs=2\\n' > ${q(root)}/etc/diycloud/diycloud.conf`);
    const r = await rpmIn(root, `-i --nodeps ${q(rpmFile)}`);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toContain('/etc/diycloud/diycloud.conf is not valid, so diycloudd is not started');
    expect(r.out).toContain('CPUs');
    // noreplace: the admin's file stays, the packaged one lands beside it.
    expect(readFileSync(join(root, 'etc/diycloud/diycloud.conf'), 'utf8')).toContain('CPUs=2');
    expect(existsSync(join(root, 'etc/diycloud/diycloud.conf.rpmnew'))).toBe(true);
  }, 120_000);

  it('upgrades in place: state, config, groups and enablement stay, and only the first install gives the hint', async () => {
    const root = await freshRoot('upgrade');
    const i = await rpmIn(root, `-i --nodeps ${q(oldRpm)}`);
    expect(i.code, i.out).toBe(0);
    const before = groups(root);
    const conf = join(root, 'etc/diycloud/diycloud.conf');
    writeFileSync(conf, readFileSync(conf, 'utf8') + '\n[Users]\nUIDMin=2000\n');
    writeFileSync(join(root, 'var/lib/diycloud/diycloud.db'), 'state');
    const u = await rpmIn(root, `-U --nodeps ${q(rpmFile)}`);
    expect(u.code, u.out).toBe(0);
    expect(await must(`rpm --root ${q(root)} -q --qf '%{VERSION}' diycloud`)).toBe(version);
    expect(u.out).not.toContain('login gate is not on yet');
    expect(u.out).not.toContain('Removed');
    expect(readFileSync(conf, 'utf8')).toContain('UIDMin=2000');
    expect(existsSync(`${conf}.rpmsave`)).toBe(false);
    expect(readFileSync(join(root, 'var/lib/diycloud/diycloud.db'), 'utf8')).toBe('state');
    expect(statSync(join(root, 'var/lib/diycloud')).mode & 0o7777).toBe(0o700);
    expect(groups(root)).toBe(before);
    expect(readlinkSync(join(root, UNIT_LINK))).toBe('/usr/lib/systemd/system/diycloudd.service');
  }, 120_000);
});
