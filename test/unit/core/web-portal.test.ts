// Unit: core/web-portal.ts: nginx's user directive, the user fallback, certificate names, openssl's end date, the certificate plan and the status verdict.
import { describe, expect, it } from 'vitest';
import { certificateNameKind, decideNginxUser, judgeWebStatus, parseNginxUserDirective, parseOpensslEndDate, planCertificate, SELF_SIGNED_DAYS, type WebFacts } from '../../../src/core/web-portal';

describe('parseNginxUserDirective', () => {
  it('reads the first word of the main context user directive', () => {
    expect(parseNginxUserDirective('user www-data;\nworker_processes auto;\n')).toBe('www-data');
    expect(parseNginxUserDirective('  user  nginx nginx ;  # RPM\n')).toBe('nginx');
  });
  it('ignores comments, other directives and user inside blocks', () => {
    expect(parseNginxUserDirective('# user root;\nevents { }\nhttp {\n  user inner;\n}\n')).toBeNull();
    expect(parseNginxUserDirective('username x;\nuser_agent y;\n')).toBeNull();
    expect(parseNginxUserDirective('')).toBeNull();
  });
});

describe('decideNginxUser', () => {
  it('prefers the directive, then www-data, then nginx', () => {
    expect(decideNginxUser('http', { wwwData: true, nginx: true })).toBe('http');
    expect(decideNginxUser(null, { wwwData: true, nginx: true })).toBe('www-data');
    expect(decideNginxUser(null, { wwwData: false, nginx: true })).toBe('nginx');
    expect(decideNginxUser(null, { wwwData: false, nginx: false })).toBeNull();
  });
});

describe('certificateNameKind', () => {
  it('accepts DNS names and IP addresses, refuses what could inject into -subj or -addext', () => {
    expect(certificateNameKind('portal.example.org')).toBe('dns');
    expect(certificateNameKind('vm')).toBe('dns');
    expect(certificateNameKind('192.0.2.7')).toBe('ip');
    expect(certificateNameKind('2001:db8::1')).toBe('ip');
    for (const bad of ['', 'a/CN=evil', 'a,DNS:evil', 'x y', '-bad', 'bad-.org', '300.1.1.1', 'a'.repeat(64) + '.org', 'ü.org']) expect(certificateNameKind(bad), bad).toBeNull();
  });
});

describe('parseOpensslEndDate', () => {
  it('parses openssl x509 -enddate', () => {
    expect(parseOpensslEndDate('notAfter=Mar  5 08:44:22 2029 GMT\n')).toBe('2029-03-05T08:44:22.000Z');
    expect(parseOpensslEndDate('notAfter=Dec 31 23:59:59 2030 GMT')).toBe('2030-12-31T23:59:59.000Z');
    expect(parseOpensslEndDate('garbage')).toBeNull();
  });
});

describe('planCertificate', () => {
  const none = { cert: false, key: false };
  const both = { cert: true, key: true };
  it('keeps a complete pair, generates when there is none, installs the admin pair when there is none', () => {
    expect(planCertificate(both, {}, 'h')).toEqual({ action: 'keep' });
    expect(planCertificate(none, {}, 'h.example')).toEqual({ action: 'generate', hostname: 'h.example', days: SELF_SIGNED_DAYS });
    expect(planCertificate(none, { certPath: '/c', keyPath: '/k' }, 'h')).toEqual({ action: 'install', certPath: '/c', keyPath: '/k' });
  });
  it('never overwrites: half a pair, or an admin pair while one is there, is refused', () => {
    expect(planCertificate({ cert: true, key: false }, {}, 'h')).toMatchObject({ action: 'refuse', reason: expect.stringMatching(/cert\.pem exists but .*key\.pem does not/) });
    expect(planCertificate({ cert: false, key: true }, {}, 'h')).toMatchObject({ action: 'refuse', reason: expect.stringMatching(/key\.pem exists but .*cert\.pem does not/) });
    expect(planCertificate(both, { certPath: '/c', keyPath: '/k' }, 'h')).toMatchObject({ action: 'refuse', reason: expect.stringMatching(/exist already/) });
  });
});

describe('judgeWebStatus', () => {
  const now = new Date('2026-06-01T00:00:00Z');
  const good: WebFacts = {
    nginxInstalled: true, sitePresent: true, linkPath: '/etc/nginx/sites-enabled/diycloud-web', siteLinked: true, linkConflict: null,
    certPresent: true, keyPresent: true, certExpires: '2028-01-01T00:00:00.000Z', nginxUser: 'www-data', nginxUserInGroup: true,
    unit: { enabled: 'enabled', active: 'active' }, nginx: { enabled: 'enabled', active: 'active' }, nginxTest: { ok: true, message: 'ok' },
  };
  it('is enabled when every part is in place', () => {
    expect(judgeWebStatus(good, now)).toMatchObject({ enabled: true, missing: [] });
  });
  it('lists each missing part', () => {
    const s = judgeWebStatus({ ...good, siteLinked: false, keyPresent: false, nginxUserInGroup: false, unit: { enabled: 'disabled', active: 'inactive' }, nginxTest: { ok: false, message: 'emerg: x' } }, now);
    expect(s.enabled).toBe(false);
    expect(s.missing).toEqual([
      'no TLS key (/etc/diycloud/web/tls/key.pem)',
      "nginx's user www-data is not in group diycloud-web",
      'the site is not linked at /etc/nginx/sites-enabled/diycloud-web',
      'nginx -t fails: emerg: x',
      'diycloud-web.service is disabled, not enabled',
      'diycloud-web.service is inactive, not active',
    ]);
  });
  it('counts an expired certificate, a foreign file at the link, no nginx and no package as missing', () => {
    expect(judgeWebStatus({ ...good, certExpires: '2026-05-31T00:00:00.000Z' }, now).missing).toEqual(['the TLS certificate expired on 2026-05-31T00:00:00.000Z']);
    expect(judgeWebStatus({ ...good, siteLinked: false, linkConflict: 'a file' }, now).missing).toEqual(["/etc/nginx/sites-enabled/diycloud-web is a file, not diycloud's link"]);
    expect(judgeWebStatus({ ...good, nginxInstalled: false, sitePresent: false }, now).missing).toEqual(['nginx is not installed', '/etc/diycloud/nginx/diycloud-web.conf is missing (install the diycloud-web package)']);
    expect(judgeWebStatus({ ...good, unit: { enabled: 'not-found', active: 'inactive' } }, now).missing).toEqual(['diycloud-web.service is not installed (install the diycloud-web package)']);
    expect(judgeWebStatus({ ...good, certPresent: false, keyPresent: false }, now).missing).toEqual(['no TLS certificate and key (/etc/diycloud/web/tls/cert.pem, /etc/diycloud/web/tls/key.pem)']);
    expect(judgeWebStatus({ ...good, nginxUser: null, nginxUserInGroup: false }, now).missing[0]).toMatch(/no nginx worker user/);
  });
});
