// Integration: `diycloudctl pam enable|status|disable` (the command, the use case and the authselect adapter) against the fake authselect.

import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { addPamCommand } from '../../src/entry/cli/commands/pam';
import { describeFailure } from '../../src/entry/cli/errors';
import { AuthselectConfigurator } from '../../src/adapters/pam-config/authselect';
import { parsePamLine } from '../../src/core/pam-stack';
import type { PamDeps } from '../../src/app/pam-integration';
import { run } from './lib/daemon-process';
import { installFakeAuthselect, type FakeAuthselect } from '../fakes/fake-authselect';

let fake: FakeAuthselect;
beforeEach(() => {
  fake = installFakeAuthselect();
});
afterEach(() => fake.remove());

/** Runs `diycloudctl ARGS` in-process with `deps`; returns stdout and the exit status main() would give. */
async function ctl(args: string[], deps: () => PamDeps): Promise<{ code: number; out: string; err: string }> {
  const program = new Command('diycloudctl').option('--json').option('-q, --quiet').exitOverride();
  addPamCommand(program, deps);
  let out = '';
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => ((out += String(s)), true));
  try {
    await program.parseAsync(['node', 'diycloudctl', ...args]);
    return { code: 0, out, err: '' };
  } catch (e) {
    const { message, exitCode } = describeFailure(e);
    return { code: exitCode, out, err: message };
  } finally {
    spy.mockRestore();
  }
}

const asRoot = () => ({ isRoot: true, configurator: new AuthselectConfigurator({ program: fake.program, configDir: fake.configDir }) });
const authselect = (...args: string[]) => run(fake.program, args);
const modules = (path: string, type: string) => readFileSync(path, 'utf8').split('\n').map(parsePamLine).filter((p) => p?.type === type).map((p) => p!.module);

describe('diycloudctl pam with authselect (fake)', () => {
  it('enable makes custom/diycloud from the selected profile with its features; status; disable selects the base again', async () => {
    expect((await authselect('select', 'sssd', 'with-mkhomedir', '--force')).code).toBe(0);
    const vendor = readFileSync(join(fake.root, 'usr/share/authselect/default/sssd/system-auth'), 'utf8');

    const before = JSON.parse((await ctl(['--json', 'pam', 'status'], asRoot)).out);
    expect(before).toMatchObject({ mechanism: 'authselect', enabled: false, profile: 'sssd', features: ['with-mkhomedir'] });

    const en = await ctl(['pam', 'enable'], asRoot);
    expect(en).toMatchObject({ code: 0 });
    expect(en.out).toMatch(/^enabled: custom\/diycloud \(based on sssd\) is selected/);
    expect((await authselect('current', '--raw')).stdout).toBe('custom/diycloud with-mkhomedir\n');
    for (const f of ['system-auth', 'password-auth']) {
      expect(modules(join(fake.configDir, f), 'account')).toEqual(['pam_unix.so', 'pam_diycloud.so', 'pam_localuser.so', 'pam_sss.so', 'pam_permit.so']);
      expect(modules(join(fake.configDir, f), 'session')).toEqual(['pam_systemd.so', 'pam_unix.so', 'pam_diycloud.so', 'pam_sss.so']);
    }
    expect(readFileSync(join(fake.root, 'usr/share/authselect/default/sssd/system-auth'), 'utf8')).toBe(vendor);

    const st = await ctl(['pam', 'status'], asRoot);
    expect(st.out).toMatch(/Mechanism: authselect\n\s*Enabled: yes\n\s*Profile: custom\/diycloud\n\s*Features: with-mkhomedir\n\s*Base: sssd\n/);
    expect(JSON.parse((await ctl(['--json', 'pam', 'status'], asRoot)).out)).toMatchObject({ enabled: true, base: 'sssd', profile: 'custom/diycloud' });

    const again = await ctl(['pam', 'enable'], asRoot);
    expect(again.out).toMatch(/^already enabled: /);
    expect(modules(join(fake.configDir, 'system-auth'), 'account').filter((m) => m === 'pam_diycloud.so')).toHaveLength(1);
    expect((await ctl(['-q', 'pam', 'enable'], asRoot)).out).toBe('');

    const dis = await ctl(['--json', 'pam', 'disable'], asRoot);
    expect(JSON.parse(dis.out)).toMatchObject({ ok: true, changed: true, status: { enabled: false, profile: 'sssd', features: ['with-mkhomedir'] } });
    expect((await authselect('current', '--raw')).stdout).toBe('sssd with-mkhomedir\n');
    expect(readFileSync(join(fake.configDir, 'system-auth'), 'utf8')).not.toMatch(/pam_diycloud/);
    expect(existsSync(join(fake.configDir, 'custom/diycloud'))).toBe(false);
    expect((await ctl(['pam', 'disable'], asRoot)).out).toMatch(/^already disabled: profile sssd is selected/);
  });

  it('puts lines missing from a selected custom/diycloud back, and remakes a leftover profile that is not selected', async () => {
    await authselect('select', 'local', '--force');
    await ctl(['pam', 'enable'], asRoot);
    const tmpl = join(fake.configDir, 'custom/diycloud/system-auth');
    writeFileSync(tmpl, readFileSync(tmpl, 'utf8').replace(/^session.*pam_diycloud\.so\n/m, ''));
    await authselect('select', 'custom/diycloud');
    expect(JSON.parse((await ctl(['--json', 'pam', 'status'], asRoot)).out)).toMatchObject({ enabled: false, profile: 'custom/diycloud' });
    expect((await ctl(['pam', 'enable'], asRoot)).out).toMatch(/^enabled: /);
    expect(modules(join(fake.configDir, 'system-auth'), 'session')).toContain('pam_diycloud.so');

    await authselect('select', 'sssd', '--force'); // someone selects another profile: custom/diycloud is left over
    expect((await ctl(['pam', 'enable'], asRoot)).out).toMatch(/based on sssd/);
    expect(modules(join(fake.configDir, 'system-auth'), 'account')).toContain('pam_sss.so');
  });

  it('exits 11 when authselect manages nothing (never --force), 4 when not root, 69 with neither tool', async () => {
    const none = await ctl(['pam', 'enable'], asRoot);
    expect(none.code).toBe(11);
    expect(none.err).toMatch(/authselect manages no configuration.*never uses --force/);
    expect((await authselect('current', '--raw')).code).toBe(2);
    expect(JSON.parse((await ctl(['--json', 'pam', 'status'], asRoot)).out)).toMatchObject({ enabled: false, profile: null });

    for (const sub of ['enable', 'disable', 'status']) {
      const r = await ctl(['pam', sub], () => ({ ...asRoot(), isRoot: false }));
      expect(r.code, sub).toBe(4);
      expect(r.err, sub).toMatch(/run (it|them) as root/);
      const u = await ctl(['pam', sub], () => ({ isRoot: true, configurator: null }));
      expect(u.code, sub).toBe(69);
      expect(u.err, sub).toMatch(/neither pam-auth-update nor authselect/);
    }
  });
});
