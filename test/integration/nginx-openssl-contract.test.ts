// Integration: the real nginx (nginx -t -p on a temp tree) and openssl adapters pass the port contracts, and `web enable` runs through them end to end.

import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { NssGroupMembership } from '../../src/adapters/accounts/nss-group-membership';
import { HostNginxServer, type NginxPaths } from '../../src/adapters/nginx/nginx-server';
import { OpensslTlsStore, type TlsPaths } from '../../src/adapters/tls/openssl-tls-store';
import { enableWeb } from '../../src/app/web-portal';
import { NGINX_CONTRACT, TLS_CONTRACT } from '../contract/web-host-contract';
import { MemoryGroups, MemoryUnits } from '../fakes/memory-web-host';

const NGINX = '/usr/sbin/nginx';
const OPENSSL = '/usr/bin/openssl';
const haveNginx = existsSync(NGINX);
const haveOpenssl = existsSync(OPENSSL);
if (!haveNginx) console.warn('nginx-openssl-contract: /usr/sbin/nginx is not installed: the nginx contract is SKIPPED (apt install nginx)');
if (!haveOpenssl) console.warn('nginx-openssl-contract: /usr/bin/openssl is not installed: the openssl contract is SKIPPED');

/** nobody's own group (nogroup on Debian, nobody elsewhere): nginx resolves both names of the user directive. */
const NOBODY_GROUP = spawnSync('/usr/bin/id', ['-gn', '--', 'nobody'], { encoding: 'utf8' }).stdout.trim() || 'nogroup';
const SITE = readFileSync(join(__dirname, '../../packaging/nginx/diycloud-web.conf'), 'utf8');
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'diycloud-web-'));
  dirs.push(d);
  return d;
}

function openssl(args: string[]): string {
  const r = spawnSync(OPENSSL, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`openssl ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** A private nginx tree: nginx.conf including sites-enabled/*, the package's site rewritten to this tree's certificate, and that certificate. */
async function nginxTree(debianLayout = true) {
  const d = tempDir();
  mkdirSync(join(d, debianLayout ? 'sites-enabled' : 'conf.d'));
  const tlsPaths: TlsPaths = { openssl: OPENSSL, certFile: join(d, 'tls/cert.pem'), keyFile: join(d, 'tls/key.pem') };
  const site = join(d, 'diycloud-web.conf');
  writeFileSync(site, SITE.replaceAll('/etc/diycloud/web/tls/', `${d}/tls/`));
  const include = join(d, debianLayout ? 'sites-enabled/*' : 'conf.d/*.conf');
  writeFileSync(join(d, 'nginx.conf'), `user nobody ${NOBODY_GROUP};\npid ${d}/nginx.pid;\nerror_log ${d}/error.log;\nevents {}\nhttp {\n  include ${include};\n}\n`);
  const paths: NginxPaths = { program: NGINX, mainConf: join(d, 'nginx.conf'), sitesEnabledDir: join(d, 'sites-enabled'), confDir: join(d, 'conf.d'), siteFile: site, prefix: d };
  return { d, site, paths, tlsPaths, nginx: new HostNginxServer(paths), tls: new OpensslTlsStore(tlsPaths) };
}

describe.skipIf(!haveNginx || !haveOpenssl)('HostNginxServer honours the NginxServer contract (real nginx -t)', () => {
  it.each(NGINX_CONTRACT.map((c) => [c.name, c] as const))('%s', async (_n, c) => {
    const t = await nginxTree();
    await t.tls.generate('portal.example.org', 30);
    await c.run({
      nginx: t.nginx,
      expectedUser: 'nobody',
      placeForeignFile: async () => writeFileSync(join(t.d, 'sites-enabled/diycloud-web'), 'server { listen 8080; }\n'),
      breakSite: async () => writeFileSync(t.site, 'bogus_directive on;\n'),
    });
  });
  it('links into conf.d/diycloud-web.conf where there is no sites-enabled, with the absolute target the packages look for', async () => {
    const t = await nginxTree(false);
    expect(await t.nginx.linkPath()).toBe(join(t.d, 'conf.d/diycloud-web.conf'));
    await t.nginx.link();
    expect(readlinkSync(join(t.d, 'conf.d/diycloud-web.conf'))).toBe(t.site);
    const r = await t.nginx.test();
    expect(r.ok).toBe(false); // no certificate yet: nginx names the file it cannot load
    expect(r.message).toMatch(/cert\.pem/);
  });
});

describe.skipIf(!haveOpenssl)('OpensslTlsStore honours the TlsStore contract (real openssl)', () => {
  it.each(TLS_CONTRACT.map((c) => [c.name, c] as const))('%s', async (_n, c) => {
    const d = tempDir();
    const a = join(d, 'admin');
    mkdirSync(a);
    openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', join(a, 'k.pem'), '-out', join(a, 'c.pem'), '-days', '90', '-subj', '/CN=admin.example.org']);
    openssl(['genpkey', '-algorithm', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-out', join(a, 'other.pem')]);
    const tls = new OpensslTlsStore({ openssl: OPENSSL, certFile: join(d, 'tls/cert.pem'), keyFile: join(d, 'tls/key.pem') });
    await c.run({ tls, pair: { certPath: join(a, 'c.pem'), keyPath: join(a, 'k.pem') }, otherKeyPath: join(a, 'other.pem'), now: new Date() });
  });
  it('makes a key of mode 0600 and a certificate with CN and subjectAltName, leaving no temporary files', async () => {
    const d = tempDir();
    const tls = new OpensslTlsStore({ openssl: OPENSSL, certFile: join(d, 'tls/cert.pem'), keyFile: join(d, 'tls/key.pem') });
    await tls.generate('192.0.2.7', 825);
    expect(statSync(join(d, 'tls/key.pem')).mode & 0o777).toBe(0o600);
    expect(statSync(join(d, 'tls/cert.pem')).mode & 0o777).toBe(0o644);
    expect(statSync(join(d, 'tls/key.pem')).uid).toBe(process.getuid!());
    const text = openssl(['x509', '-noout', '-text', '-in', join(d, 'tls/cert.pem')]);
    expect(text).toMatch(/Subject: CN ?= ?192\.0\.2\.7/);
    expect(text).toMatch(/IP Address:192\.0\.2\.7/);
    expect(spawnSync('ls', ['-A', join(d, 'tls')], { encoding: 'utf8' }).stdout.trim().split('\n').sort()).toEqual(['cert.pem', 'key.pem']);
  });
  it('refuses an encrypted key at once instead of waiting for a passphrase', async () => {
    const d = tempDir();
    openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-passout', 'pass:secret', '-keyout', join(d, 'k.pem'), '-out', join(d, 'c.pem'), '-days', '9', '-subj', '/CN=x']);
    const tls = new OpensslTlsStore({ openssl: OPENSSL, certFile: join(d, 'tls/cert.pem'), keyFile: join(d, 'tls/key.pem') });
    await expect(tls.install(join(d, 'c.pem'), join(d, 'k.pem'))).rejects.toMatchObject({ code: 'InvalidArgument', field: 'key' });
    expect(existsSync(join(d, 'tls/key.pem'))).toBe(false);
  });
});

describe.skipIf(!haveNginx || !haveOpenssl)('web enable through the real nginx and openssl adapters (units and groups faked)', () => {
  const deps = (t: Awaited<ReturnType<typeof nginxTree>>, groups = new MemoryGroups([], new Set(['nobody']))) => ({
    isRoot: true, nginx: t.nginx, tls: t.tls, groups, units: new MemoryUnits(),
    siteFileExists: async () => existsSync(t.site), hostname: async () => 'portal.example.org', progress: () => undefined, now: () => new Date(),
  });
  it('makes the certificate, links the site and passes nginx -t; a second run keeps everything', async () => {
    const t = await nginxTree();
    const d = deps(t);
    const c = await enableWeb(d);
    expect(c.status).toMatchObject({ enabled: true, siteLinked: true, nginxUser: 'nobody', nginxTest: { ok: true } });
    expect(lstatSync(join(t.d, 'sites-enabled/diycloud-web')).isSymbolicLink()).toBe(true);
    const cert = readFileSync(t.tlsPaths.certFile, 'utf8');
    expect((await enableWeb(d)).changed).toBe(false);
    expect(readFileSync(t.tlsPaths.certFile, 'utf8')).toBe(cert);
  });
  it('removes the link again when nginx -t fails, and says what nginx said', async () => {
    const t = await nginxTree();
    writeFileSync(t.site, SITE.replaceAll('/etc/diycloud/web/tls/', `${t.d}/tls/`).replace('client_max_body_size 32k;', 'client_max_body_size 32k;\n    bogus_directive on;'));
    await expect(enableWeb(deps(t))).rejects.toMatchObject({ code: 'BackendFailed', message: expect.stringMatching(/nginx -t failed \(the link .* was removed again\): .*unknown directive "bogus_directive"/) });
    expect(existsSync(join(t.d, 'sites-enabled/diycloud-web'))).toBe(false);
  });
});

describe('NssGroupMembership against this host\'s NSS', () => {
  it('finds root and its group, and no made-up user', async () => {
    const g = new NssGroupMembership();
    expect(await g.userExists('root')).toBe(true);
    expect(await g.groupExists('root')).toBe(true);
    expect(await g.isMember('root', 'root')).toBe(true);
    expect(await g.userExists('no-such-user-diycloud')).toBe(false);
    expect(await g.groupExists('no-such-group-diycloud')).toBe(false);
  });
});
