// Unit: app/web-portal.ts with hand-written ports: the order of enable's steps, idempotence, refusals, rollback of the link, disable, status.
import { describe, expect, it } from 'vitest';
import { disableWeb, enableWeb, webStatus, WebUnavailable, type WebDeps } from '../../../src/app/web-portal';
import { MemoryGroups, MemoryNginx, MemoryTls, MemoryUnits } from '../../fakes/memory-web-host';

function host(opts: { root?: boolean; site?: boolean } = {}) {
  const log: string[] = [];
  const progress: string[] = [];
  const nginx = new MemoryNginx(log);
  const tls = new MemoryTls(log);
  const groups = new MemoryGroups(log);
  const units = new MemoryUnits(log);
  const deps: WebDeps = {
    isRoot: opts.root ?? true, nginx, tls, groups, units,
    siteFileExists: async () => opts.site ?? true,
    hostname: async () => 'vm.example.org',
    progress: (l) => progress.push(l),
    now: () => new Date('2026-01-01T00:00:00Z'),
  };
  return { deps, log, progress, nginx, tls, groups, units };
}

describe('web enable', () => {
  it('does every step in order on a fresh host, saying each, and a second run changes nothing', async () => {
    const h = host();
    const c = await enableWeb(h.deps);
    expect(h.log).toEqual(['generate vm.example.org 825', 'usermod www-data diycloud-web', 'link', 'enable --now diycloud-web.service', 'reload nginx.service']);
    expect(c.changed).toBe(true);
    expect(c.status).toMatchObject({ enabled: true, missing: [], certExpires: '2028-04-05T00:00:00.000Z', nginxUser: 'www-data', siteLinked: true });
    expect(h.progress.join('\n')).toMatch(/self-signed certificate for vm\.example\.org[\s\S]*added nginx's user www-data[\s\S]*linked \/etc\/nginx\/sites-enabled\/diycloud-web -> \/etc\/diycloud\/nginx\/diycloud-web.conf[\s\S]*nginx -t[\s\S]*enable --now[\s\S]*reloaded/);
    h.log.length = 0;
    const again = await enableWeb(h.deps);
    expect(again.changed).toBe(false);
    expect(h.log).toEqual([]);
    expect(again.steps.join('\n')).toMatch(/keeping[\s\S]*already[\s\S]*already[\s\S]*valid[\s\S]*already[\s\S]*nothing to reload/);
  });
  it('uses --hostname, or copies the admin pair, and never overwrites a pair that is there', async () => {
    const a = host();
    await enableWeb(a.deps, { hostname: '192.0.2.7' });
    expect(a.tls.made).toEqual({ hostname: '192.0.2.7', days: 825 });
    const b = host();
    b.tls.goodPairs.set('/root/c.pem', '/root/k.pem');
    await enableWeb(b.deps, { certPath: '/root/c.pem', keyPath: '/root/k.pem' });
    expect(b.log[0]).toBe('install /root/c.pem /root/k.pem');
    await expect(enableWeb(b.deps, { certPath: '/root/c.pem', keyPath: '/root/k.pem' })).rejects.toMatchObject({ code: 'Conflict', message: expect.stringMatching(/exist already/) });
    const c = host();
    c.tls.cert = true;
    await expect(enableWeb(c.deps)).rejects.toMatchObject({ code: 'Conflict', message: expect.stringMatching(/key\.pem does not/) });
    expect(c.log).toEqual([]);
  });
  it('starts nginx when it is not running, and takes the nginx user when there is no directive and no www-data', async () => {
    const h = host();
    h.units.units.get('nginx.service')!.active = 'inactive';
    h.nginx.directive = null;
    h.groups.users.clear();
    h.groups.users.add('nginx');
    await enableWeb(h.deps);
    expect(h.log).toContain('usermod nginx diycloud-web');
    expect(h.log[h.log.length - 1]).toBe('start nginx.service');
  });
  it('refuses before changing anything: not root, no nginx, no site file, no unit, no group, no openssl, bad options', async () => {
    const cases: [ReturnType<typeof host>, object, RegExp | string][] = [];
    cases.push([host({ root: false }), {}, 'PermissionDenied']);
    const noNginx = host(); noNginx.nginx.isInstalled = false; cases.push([noNginx, {}, /nginx is not installed/]);
    cases.push([host({ site: false }), {}, /diycloud-web\.conf is missing: install the diycloud-web package/]);
    const noUnit = host(); noUnit.units.units.delete('diycloud-web.service'); cases.push([noUnit, {}, /diycloud-web\.service is not installed/]);
    const noGroup = host(); noGroup.groups.groups.clear(); cases.push([noGroup, {}, /group diycloud-web does not exist/]);
    const noSsl = host(); noSsl.tls.hasOpenssl = false; cases.push([noSsl, {}, /openssl is not installed/]);
    cases.push([host(), { certPath: '/c' }, 'InvalidArgument']);
    cases.push([host(), { hostname: 'a/CN=x' }, 'InvalidArgument']);
    for (const [h, o, want] of cases) {
      const e = await enableWeb(h.deps, o).catch((x: unknown) => x);
      if (typeof want === 'string') expect(e, want).toMatchObject({ code: want });
      else { expect(e, String(want)).toBeInstanceOf(WebUnavailable); expect((e as Error).message).toMatch(want); }
      expect(h.log, String(want)).toEqual([]);
    }
  });
  it('fails clearly when nginx.conf names a user that does not exist', async () => {
    const h = host();
    h.nginx.directive = 'ghost';
    await expect(enableWeb(h.deps)).rejects.toMatchObject({ code: 'BackendFailed', message: expect.stringMatching(/worker user ghost .* does not exist/) });
    expect((await webStatus(h.deps)).nginxUserInGroup).toBe(false);
  });
  it('leaves a file an admin put at the link alone (Conflict)', async () => {
    const h = host();
    h.nginx.state = { kind: 'foreign', what: 'a file' };
    await expect(enableWeb(h.deps)).rejects.toMatchObject({ code: 'Conflict', message: expect.stringMatching(/is a file, not diycloud's link.*left as it is/) });
    expect(h.nginx.state).toEqual({ kind: 'foreign', what: 'a file' });
    expect(h.log).not.toContain('link');
  });
  it('removes the link again when nginx -t fails, and reports nginx', async () => {
    const h = host();
    h.nginx.brokenWhenLinked = 'nginx: [emerg] cannot load certificate';
    await expect(enableWeb(h.deps)).rejects.toMatchObject({ code: 'BackendFailed', message: expect.stringMatching(/nginx -t failed \(the link .* was removed again\): nginx: \[emerg\] cannot load certificate/) });
    expect(h.nginx.state).toEqual({ kind: 'absent' });
    expect(h.log).toEqual(['generate vm.example.org 825', 'usermod www-data diycloud-web', 'link', 'unlink']);
  });
  it('does not remove a link that was there before when nginx -t fails for another reason', async () => {
    const h = host();
    h.nginx.state = { kind: 'ours' };
    h.nginx.broken = 'nginx: [emerg] unknown directive "x" in /etc/nginx/conf.d/other.conf:1';
    await expect(enableWeb(h.deps)).rejects.toMatchObject({ code: 'BackendFailed', message: expect.not.stringMatching(/removed/) });
    expect(h.nginx.state).toEqual({ kind: 'ours' });
  });
  it('fails with what is missing when the service does not come up', async () => {
    const h = host();
    h.units.failsToStart.add('diycloud-web.service');
    await expect(enableWeb(h.deps)).rejects.toMatchObject({ code: 'BackendFailed', message: expect.stringMatching(/still not fully enabled: diycloud-web\.service is failed, not active/) });
  });
});

describe('web disable', () => {
  it('removes our link, reloads nginx, stops the service, keeps certificate and group; then is idempotent', async () => {
    const h = host();
    await enableWeb(h.deps);
    h.log.length = 0;
    const c = await disableWeb(h.deps);
    expect(h.log).toEqual(['unlink', 'reload nginx.service', 'disable --now diycloud-web.service']);
    expect(c.changed).toBe(true);
    expect(c.status).toMatchObject({ enabled: false, siteLinked: false, certPresent: true, nginxUserInGroup: true });
    expect(c.steps[c.steps.length - 1]).toMatch(/kept: the certificate and key in \/etc\/diycloud\/web\/tls\/ and www-data's membership of group diycloud-web/);
    h.log.length = 0;
    expect((await disableWeb(h.deps)).changed).toBe(false);
    expect(h.log).toEqual([]);
  });
  it('never removes a file that is not ours, and refuses non-root', async () => {
    const h = host();
    h.nginx.state = { kind: 'foreign', what: 'a symlink to /srv/mine.conf' };
    const c = await disableWeb(h.deps);
    expect(c.steps[0]).toMatch(/a symlink to \/srv\/mine\.conf, not diycloud's link: left alone/);
    expect(h.nginx.state.kind).toBe('foreign');
    await expect(disableWeb(host({ root: false }).deps)).rejects.toMatchObject({ code: 'PermissionDenied' });
  });
});

describe('web status', () => {
  it('reports each part without changing anything, and needs root', async () => {
    const h = host();
    const s = await webStatus(h.deps);
    expect(s).toMatchObject({ enabled: false, siteLinked: false, certPresent: false, certExpires: null, nginxUser: 'www-data', nginxUserInGroup: false, unit: { enabled: 'disabled', active: 'inactive' } });
    expect(s.missing.length).toBe(5);
    expect(h.log).toEqual([]);
    await expect(webStatus(host({ root: false }).deps)).rejects.toMatchObject({ code: 'PermissionDenied' });
  });
});
