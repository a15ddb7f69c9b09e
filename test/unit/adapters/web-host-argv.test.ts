// Unit: the argv the web adapters hand to programs (absolute paths, "--" before names) and how they read the answers, with a recording RunFn.
import { describe, expect, it } from 'vitest';
import { NssGroupMembership } from '../../../src/adapters/accounts/nss-group-membership';
import type { RunFn } from '../../../src/adapters/exec/program-runner';
import { SystemctlUnits } from '../../../src/adapters/systemd/systemctl-units';
import { hostFqdn } from '../../../src/adapters/tls/host-fqdn';

function recorder(answer: (path: string, args: readonly string[]) => { code: number; stdout?: string; stderr?: string }) {
  const calls: string[][] = [];
  const run: RunFn = async (path, args) => {
    calls.push([path, ...args]);
    const a = answer(path, args);
    return { code: a.code, signal: null, stdout: a.stdout ?? '', stderr: a.stderr ?? '' };
  };
  return { run, calls };
}

describe('SystemctlUnits', () => {
  it('asks is-enabled and is-active with "--", reading stdout whatever the exit status', async () => {
    const r = recorder((_p, a) => (a[0] === 'is-enabled' ? { code: 1, stdout: 'disabled\n' } : { code: 3, stdout: 'inactive\n' }));
    expect(await new SystemctlUnits('/usr/bin/systemctl', r.run).state('diycloud-web.service')).toEqual({ enabled: 'disabled', active: 'inactive' });
    expect(r.calls).toEqual([['/usr/bin/systemctl', 'is-enabled', '--', 'diycloud-web.service'], ['/usr/bin/systemctl', 'is-active', '--', 'diycloud-web.service']]);
  });
  it('reads a missing unit as not-found, and a failed change as BackendFailed with systemctl\'s words', async () => {
    const missing = recorder(() => ({ code: 1, stderr: 'Failed to get unit file state' }));
    expect((await new SystemctlUnits('/usr/bin/systemctl', missing.run).state('x.service')).enabled).toBe('not-found');
    const r = recorder(() => ({ code: 5, stderr: 'Unit diycloud-web.service is masked.' }));
    await expect(new SystemctlUnits('/usr/bin/systemctl', r.run).enableNow('diycloud-web.service')).rejects.toMatchObject({ code: 'BackendFailed', message: expect.stringMatching(/systemctl enable --now diycloud-web\.service failed \(exit 5\): Unit diycloud-web\.service is masked/) });
    expect(r.calls[0]).toEqual(['/usr/bin/systemctl', 'enable', '--now', '--', 'diycloud-web.service']);
  });
});

describe('NssGroupMembership', () => {
  it('usermod appends with "--" before the user; id -Gn decides membership; getent 2 is "no such"', async () => {
    const r = recorder((p) => (p.endsWith('/id') ? { code: 0, stdout: 'www-data diycloud-web\n' } : p.endsWith('/getent') ? { code: 2 } : { code: 0 }));
    const g = new NssGroupMembership(undefined, r.run);
    expect(await g.isMember('www-data', 'diycloud-web')).toBe(true);
    expect(await g.isMember('www-data', 'diycloud')).toBe(false);
    expect(await g.userExists('-rf')).toBe(false);
    await g.addToGroup('www-data', 'diycloud-web');
    expect(r.calls).toEqual([
      ['/usr/bin/id', '-Gn', '--', 'www-data'],
      ['/usr/bin/id', '-Gn', '--', 'www-data'],
      ['/usr/bin/getent', 'passwd', '--', '-rf'],
      ['/usr/sbin/usermod', '-a', '-G', 'diycloud-web', '--', 'www-data'],
    ]);
  });
  it('a failing getent or usermod is BackendFailed', async () => {
    const r = recorder(() => ({ code: 6, stderr: "usermod: group 'diycloud-web' does not exist" }));
    const g = new NssGroupMembership(undefined, r.run);
    await expect(g.groupExists('diycloud-web')).rejects.toMatchObject({ code: 'BackendFailed' });
    await expect(g.addToGroup('nginx', 'diycloud-web')).rejects.toMatchObject({ code: 'BackendFailed', message: expect.stringMatching(/does not exist/) });
  });
});

describe('hostFqdn', () => {
  it("takes NSS's canonical name when it is dotted, else the short name", async () => {
    const dotted = recorder(() => ({ code: 0, stdout: '127.0.1.1       STREAM web.example.org\n127.0.1.1       DGRAM\n' }));
    expect(await hostFqdn(dotted.run, 'web')).toBe('web.example.org');
    expect(dotted.calls[0]).toEqual(['/usr/bin/getent', 'ahosts', '--', 'web']);
    expect(await hostFqdn(recorder(() => ({ code: 0, stdout: '127.0.0.1 STREAM vm\n' })).run, 'vm')).toBe('vm');
    expect(await hostFqdn(recorder(() => ({ code: 2 })).run, 'vm')).toBe('vm');
  });
});
