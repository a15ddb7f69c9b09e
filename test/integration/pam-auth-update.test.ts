// Integration: the built `diycloudctl pam enable|status|disable` with the real pam-auth-update, in a private mount namespace over
// copies of /etc/pam.d, /usr/share/pam-configs, /var/lib/pam and /var/cache/debconf, so the host's files are never changed.

import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { copyFileSync, cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO } from './lib/test-bus';
import { runInMountNamespace } from './lib/mount-ns';

const CLI = join(REPO, 'dist', 'entry', 'cli.js');
const PROGRAM = '/usr/sbin/pam-auth-update';
const PRIVATE = [
  ['pam.d', '/etc/pam.d'],
  ['pam-configs', '/usr/share/pam-configs'],
  ['pam-state', '/var/lib/pam'],
  ['debconf', '/var/cache/debconf'],
] as const;

const reason = process.getuid?.() !== 0 ? 'needs root (mount namespace)' : !existsSync(PROGRAM) ? `${PROGRAM} is not installed` : !existsSync(CLI) ? 'dist/ is not built (npm run build)' : null;
if (reason) console.warn(`SKIPPED pam-auth-update integration: ${reason}`);

describe.skipIf(reason !== null)('diycloudctl pam with the real pam-auth-update (private copies of the PAM files)', () => {
  const dirs: string[] = [];
  let work: string;
  afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
  beforeEach(() => {
    work = mkdtempSync(join(tmpdir(), 'diycloud-pau-'));
    dirs.push(work);
    for (const [copy, real] of PRIVATE) cpSync(real, join(work, copy), { recursive: true, verbatimSymlinks: true });
    copyFileSync(join(REPO, 'pam', 'pam-configs', 'diycloud'), join(work, 'pam-configs', 'diycloud'));
  });

  const ctl = (...args: string[]) =>
    runInMountNamespace(PRIVATE.map(([copy, real]) => [join(work, copy), real] as [string, string]), process.execPath, [CLI, ...args], { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' }, 60_000);
  const pamd = (name: string) => readFileSync(join(work, 'pam.d', name), 'utf8');
  const snapshot = () => Object.fromEntries(readdirSync(join(work, 'pam.d')).map((f) => [f, pamd(f)]));
  const hookLines = (name: string) => pamd(name).split('\n').filter((l) => /pam_diycloud\.so/.test(l));

  it('enable adds the lines inside the managed block, status says so, enable twice changes nothing, disable restores the files byte for byte', async () => {
    const before = snapshot();
    const hostAccount = readFileSync('/etc/pam.d/common-account', 'utf8');

    const st0 = await ctl('--json', 'pam', 'status');
    expect(st0.code, st0.stderr).toBe(0);
    expect(JSON.parse(st0.stdout)).toMatchObject({ mechanism: 'pam-auth-update', enabled: false, profile: 'diycloud' });

    const en = await ctl('pam', 'enable');
    expect(en.code, en.stderr).toBe(0);
    expect(en.stdout).toMatch(/^enabled: the diycloud profile is enabled/);
    expect(hookLines('common-account')).toEqual(['account\trequired\tpam_diycloud.so ']);
    expect(hookLines('common-session')).toEqual(['session\trequired\tpam_diycloud.so ']);
    // inside the "Additional" block: after its marker, before the end marker
    const acc = pamd('common-account');
    expect(acc.indexOf('pam_diycloud.so')).toBeGreaterThan(acc.indexOf('(the "Additional" block)'));
    expect(acc.indexOf('pam_diycloud.so')).toBeLessThan(acc.indexOf('# end of pam-auth-update config'));
    expect(readFileSync(join(work, 'pam-state', 'account'), 'utf8')).toMatch(/^Module: diycloud$/m);
    expect(readFileSync('/etc/pam.d/common-account', 'utf8')).toBe(hostAccount); // the host's file is untouched

    const st1 = await ctl('pam', 'status');
    expect(st1.code).toBe(0);
    expect(st1.stdout).toMatch(/Mechanism: pam-auth-update\n\s*Enabled: yes\n\s*Profile: diycloud\n/);

    const enabled = snapshot();
    const again = await ctl('pam', 'enable');
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/^already enabled: /);
    expect(snapshot()).toEqual(enabled);

    const dis = await ctl('--json', 'pam', 'disable');
    expect(dis.code, dis.stderr).toBe(0);
    expect(JSON.parse(dis.stdout)).toMatchObject({ ok: true, changed: true, status: { enabled: false } });
    expect(snapshot()).toEqual(before);
    // --disable, not --remove: the profile stays seen, so a later `pam-auth-update --package` keeps it off
    expect(readFileSync(join(work, 'pam-state', 'seen'), 'utf8')).toMatch(/^diycloud$/m);
    expect((await ctl('-q', 'pam', 'disable')).stdout).toBe('');
  });

  it('exits 11 with pam-auth-update\'s reason when hand edits make it leave the files alone', async () => {
    const inBlock = pamd('common-account').replace('# end of pam-auth-update config', 'account optional pam_echo.so hand-made\n# end of pam-auth-update config');
    writeFileSync(join(work, 'pam.d', 'common-account'), inBlock);
    const edited = snapshot();
    const r = await ctl('pam', 'enable');
    expect(r.code).toBe(11);
    expect(r.stderr).toMatch(/^diycloudctl: pam-auth-update did not put the diycloud lines in force: .*Local modifications/);
    expect(snapshot()).toEqual(edited);
  });

  it('says so when the profile is missing', async () => {
    rmSync(join(work, 'pam-configs', 'diycloud'));
    const st = await ctl('--json', 'pam', 'status');
    expect(JSON.parse(st.stdout)).toMatchObject({ enabled: false, profile: null });
    const r = await ctl('pam', 'enable');
    expect(r.code).toBe(11);
    expect(r.stderr).toMatch(/profile \/usr\/share\/pam-configs\/diycloud is missing/);
  });
});
