// The web portal end to end, per Debian release, in a real systemd container (bootWithDiycloud: install.sh, real
// diycloudd and polkitd) with the distribution's nginx, driven by a real Chromium on the host that runs in the
// container's network namespace (lib/browser.ts). docs/testing.md, "Portal", says what it covers and how to rerun it.
//
// What runs today: the harness itself (nginx with a self-signed certificate inside the container, a page loaded in the
// browser over https://localhost, a script on it ran, a cookie came back; curl through the same nginx). The portal's
// scenarios wait for the parts that are still missing (diycloud-web, the front end, the nginx site) and are it.todo,
// each naming what it needs.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootWithDiycloud, e2eSkip, type Container, type Dist } from './lib/container';
import { browserUnavailableReason, launchInNetns, type NetnsBrowser } from './lib/browser';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';

/** Where the run's screenshots go (docs/portal.md shows them); taken from one release only. */
const SHOTS = join(__dirname, '..', '..', 'docs', 'screenshots');
const SHOT_DIST: Dist = 'trixie';

const noBrowser = browserUnavailableReason();
if (noBrowser) console.warn(`\n*** diycloud portal e2e tests SKIPPED: ${noBrowser} ***\n`);
const skip = e2eSkip() || noBrowser !== null;
const DISTS: Dist[] = ['bookworm', 'trixie'];
const PROBE_PORT = 8443;

/** A throwaway nginx site on 127.0.0.1:PROBE_PORT with a self-signed certificate for localhost (the harness probe). */
const PROBE_SITE = `server {
  listen 127.0.0.1:${PROBE_PORT} ssl;
  server_name localhost;
  ssl_certificate /etc/diycloud-e2e/probe.crt;
  ssl_certificate_key /etc/diycloud-e2e/probe.key;
  root /var/www/diycloud-e2e-probe;
  add_header Set-Cookie "probe=$request_id; Path=/; Secure; HttpOnly; SameSite=Strict" always;
  index index.html;
  location / { try_files $uri $uri/ =404; }
}
`;
const PROBE_HTML = `<!doctype html><html><head><meta charset="utf-8"><title>diycloud e2e probe</title></head>
<body><p id="who">served by nginx in the container</p><script src="/probe.js"></script></body></html>
`;
const PROBE_JS = `document.getElementById('who').dataset.ran = String(1 + 1);\n`;

describe.skipIf(skip).each(DISTS)('portal in a browser (%s)', (dist) => {
  let c: Container;
  let b: NetnsBrowser;

  beforeAll(async () => {
    c = await bootWithDiycloud(dist);
    await c.exec(`set -e; install -d -m 755 /etc/diycloud-e2e /var/www/diycloud-e2e-probe
      openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost -addext subjectAltName=DNS:localhost \
        -keyout /etc/diycloud-e2e/probe.key -out /etc/diycloud-e2e/probe.crt 2>/dev/null`);
    await c.writeFile('/etc/nginx/sites-enabled/diycloud-e2e-probe.conf', PROBE_SITE);
    await c.writeFile('/var/www/diycloud-e2e-probe/index.html', PROBE_HTML);
    await c.writeFile('/var/www/diycloud-e2e-probe/probe.js', PROBE_JS);
    await c.exec('nginx -t 2>&1 && systemctl enable --now nginx.service && systemctl reload-or-restart nginx.service', { timeoutMs: 60_000 });
    b = await launchInNetns(c.pid);
  }, 900_000);

  afterAll(async () => {
    await b?.close();
    await c?.stop();
  }, 60_000);

  it('harness: the host browser in the container netns loads a page from the container nginx over https', async () => {
    const { page, errors, context } = await b.newPage();
    const res = await page.goto(`https://localhost:${PROBE_PORT}/`, { waitUntil: 'load' });
    expect(res?.status()).toBe(200);
    expect(await page.title()).toBe('diycloud e2e probe');
    // the script from the same origin ran (so the page is live, not just fetched)
    await expect.poll(() => page.locator('#who').getAttribute('data-ran')).toBe('2');
    const cookies = await context.cookies();
    expect(cookies.find((k) => k.name === 'probe')?.secure).toBe(true);
    expect(errors).toEqual([]);
    // nothing else listens there: the page came from the container, not from the host
    const host = await page.goto(`https://localhost:${PROBE_PORT}/missing.html`);
    expect(host?.status()).toBe(404);
    await context.close();
  }, 60_000);

  it('harness: curl in the container reaches the same nginx (the attacks use this path)', async () => {
    const r = await c.exec(`curl -sk -o /dev/null -w '%{http_code}' https://localhost:${PROBE_PORT}/index.html`);
    expect(r.stdout).toBe('200');
    const t = await c.exec(`curl -sk -o /dev/null -w '%{http_code}' --path-as-is https://localhost:${PROBE_PORT}/../../etc/passwd`);
    expect(t.stdout).toMatch(/^40\d$/);
  }, 30_000);

  it('web API through nginx: login as a Unix user gives a cookie; after logout the replayed cookie is 401', async () => {
    await c.exec(`set -e; useradd -m -s /bin/bash webalice && echo 'webalice:Pw-e2e-1234' | chpasswd
      getent passwd diycloud-web >/dev/null || systemd-sysusers /usr/lib/sysusers.d/diycloud.conf; busctl call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus ReloadConfig
      # the front end where the service looks for it (the package installs it there; install.sh ships it inside dist/)
      [ -e /usr/share/diycloud/web ] || { install -d /usr/share/diycloud; ln -s /usr/lib/diycloud/dist/web /usr/share/diycloud/web; }
      usermod -aG diycloud-web www-data; systemctl enable --now diycloud-web.service; systemctl restart nginx.service
      for i in $(seq 50); do [ -S /run/diycloud/web/web.sock ] && break; sleep 0.1; done`, { timeoutMs: 60_000 });
    await c.writeFile('/etc/nginx/sites-enabled/diycloud-e2e-api.conf', `server {
  listen 127.0.0.1:9443 ssl; server_name localhost;
  ssl_certificate /etc/diycloud-e2e/probe.crt; ssl_certificate_key /etc/diycloud-e2e/probe.key;
  location / { proxy_pass http://unix:/run/diycloud/web/web.sock; proxy_set_header Host $http_host;
    proxy_set_header X-Forwarded-For $remote_addr; proxy_buffering off; }
}
`);
    await c.exec('nginx -t 2>&1 && systemctl reload nginx.service');
    const curl = (args: string) => c.exec(`curl -sk -o /tmp/body -w '%{http_code}' ${args} ; echo; cat /tmp/body`, { allowFail: true });
    const login = await curl(`-c /tmp/jar -H 'Origin: https://localhost:9443' -H 'Content-Type: application/json' \
      --data '{"user":"webalice","password":"Pw-e2e-1234"}' https://localhost:9443/api/v1/login`);
    expect(login.stdout.split('\n')[0], login.stdout + (await c.exec('journalctl -u diycloud-web -n 20 --no-pager', { allowFail: true })).stdout).toBe('200');
    const csrf = (JSON.parse(login.stdout.split('\n').slice(1).join('\n')) as { csrfToken: string }).csrfToken;
    expect((await curl('-b /tmp/jar https://localhost:9443/api/v1/session')).stdout.split('\n')[0]).toBe('200');
    const out = await curl(`-b /tmp/jar -X POST -H 'Origin: https://localhost:9443' -H 'X-CSRF-Token: ${csrf}' https://localhost:9443/api/v1/logout`);
    expect(out.stdout.split('\n')[0]).toBe('204');
    expect((await curl('-b /tmp/jar https://localhost:9443/api/v1/session')).stdout.split('\n')[0]).toBe('401');
  }, 60_000);

  it('in the browser: a user signs in, sees their limits and their CPU use rise under a busy loop; an admin sees the operator pages (screenshots)', async () => {
    const shots = dist === SHOT_DIST;
    if (shots) mkdirSync(SHOTS, { recursive: true });
    await c.exec(`set -e; id webalice >/dev/null; diycloudctl user adopt webalice; diycloudctl limits set webalice --cpu 2 --memory 3G
      useradd -m -s /bin/bash webadmin && echo 'webadmin:Pw-e2e-5678' | chpasswd && diycloudctl user adopt webadmin --role admin
      # faster samples and live ticks than the defaults (10 s, 5 s), so the test waits seconds, not minutes
      grep -q '^\[Usage\]' /etc/diycloud/diycloud.conf || printf '\n[Usage]\nSampleIntervalSec=2\n' >> /etc/diycloud/diycloud.conf
      printf '\nLiveIntervalSec=1\n' >> /etc/diycloud/web.conf
      systemctl restart diycloudd.service; systemctl restart diycloud-web.service
      for i in $(seq 50); do [ -S /run/diycloud/web/web.sock ] && busctl status org.diycloud.Manager1 >/dev/null 2>&1 && break; sleep 0.2; done
      # a live cgroup for webalice (her user manager) and a busy loop of hers in it
      loginctl enable-linger webalice; uid=$(id -u webalice)
      for i in $(seq 50); do systemctl is-active -q user@$uid.service && break; sleep 0.2; done
      systemd-run --quiet --uid=webalice --slice=user-$uid.slice --unit=webalice-burn /bin/sh -c 'while :; do :; done'`, { timeoutMs: 90_000 });
    const shot = async (page: Page, name: string) => {
      if (shots) await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: false });
    };
    const signIn = async (user: string, password: string, viewport?: { width: number; height: number }) => {
      const p = await b.newPage(viewport);
      const res = await p.page.goto('https://localhost:9443/', { waitUntil: 'load' });
      expect(res?.status()).toBe(200);
      expect(res?.headers()['content-security-policy']).toContain("script-src 'self'");
      await p.page.getByRole('heading', { name: 'Sign in to diycloud' }).waitFor();
      if (user === 'webalice' && !viewport) await shot(p.page, 'login');
      await p.page.getByLabel('User name').fill(user);
      await p.page.getByLabel('Password').fill(password);
      await p.page.getByRole('button', { name: 'Sign in' }).click();
      await p.page.getByRole('heading', { name: 'Dashboard' }).waitFor({ timeout: 20_000 });
      return p;
    };
    const alice = await signIn('webalice', 'Pw-e2e-1234');
    // the allocation shows the limits just set, and where they come from
    await expect.poll(() => alice.page.locator('main').innerText(), { timeout: 20_000 }).toMatch(/3(\.0)? ?Gi?B/);
    expect(await alice.page.locator('main').innerText()).toMatch(/set for this user/);
    // live usage from the sampler through the SSE stream: the busy loop shows as CPU use of her allocation
    const cpuShown = async () => Number(/([\d.]+) % of 2 cores/.exec(await alice.page.locator('main').innerText())?.[1] ?? 0);
    // Debian 12's container has a cgroup v1 hierarchy without the cpu and memory controllers (FACTS.md): the sampler
    // finds no counters there and reports her as not live (a known gap: it should say "not measurable"); Debian 13's
    // unified hierarchy always has cpu.stat, so the live state and the rise are checked there.
    await expect.poll(() => alice.page.locator('main').innerText(), { timeout: 30_000 }).toMatch(dist === 'trixie' ? /Live: updated every few seconds/ : /Live: updated|Not logged in: no live usage/);
    if (dist === 'trixie') await expect.poll(cpuShown, { timeout: 45_000, intervals: [1000] }).toBeGreaterThan(20);
    await alice.page.waitForTimeout(4000); // a few points in the history chart
    await alice.page.getByRole('button', { name: 'Last hour' }).click();
    await shot(alice.page, 'dashboard');
    await c.exec('systemctl stop webalice-burn.service', { allowFail: true });
    for (const [route, heading, name] of [['#/request', 'Request more', 'request-more'], ['#/password', 'Change password', 'password'], ['#/sessions', 'Sessions', 'sessions']]) {
      await alice.page.goto(`https://localhost:9443/${route}`);
      await alice.page.getByRole('heading', { name: heading }).waitFor();
      await shot(alice.page, name);
    }
    // a plain user's menu has no operator pages, and the page itself says no
    expect(await alice.page.getByRole('navigation', { name: 'Main' }).innerText()).not.toMatch(/Users|Audit/);
    await alice.page.goto('https://localhost:9443/#/users');
    await alice.page.getByRole('heading', { name: 'Not allowed' }).waitFor();
    expect(alice.errors).toEqual([]);
    await alice.context.close();
    const phone = await signIn('webalice', 'Pw-e2e-1234', { width: 375, height: 740 });
    await shot(phone.page, 'dashboard-phone');
    await phone.context.close();

    const admin = await signIn('webadmin', 'Pw-e2e-5678');
    for (const [route, heading, name] of [['#/users', 'Users', 'users'], ['#/users/webalice', 'User webalice', 'user'], ['#/profiles', 'Profiles', 'profiles'],
      ['#/requests', 'Requests', 'requests'], ['#/audit', 'Audit log', 'audit'], ['#/host', 'Host', 'host']]) {
      await admin.page.goto(`https://localhost:9443/${route}`);
      await admin.page.getByRole('heading', { name: heading }).waitFor();
      await admin.page.waitForLoadState('networkidle').catch(() => undefined);
      await shot(admin.page, name);
    }
    // the users table lists the adopted users (from QueryUsers through the session)
    await admin.page.goto('https://localhost:9443/#/users');
    await expect.poll(() => admin.page.locator('main').innerText(), { timeout: 15_000 }).toContain('webalice');
    expect(admin.errors).toEqual([]);
    await admin.context.close();
  }, 180_000);

  it('attacks through nginx: foreign Origin, no CSRF token, a fixed session id, an oversized body, static traversal, a plain user on admin endpoints', async () => {
    const U = 'https://localhost:9443';
    const curl = async (args: string) => {
      const r = await c.exec(`curl -sk -o /tmp/abody -w '%{http_code}' ${args}; echo; cat /tmp/abody`, { allowFail: true });
      const [status, ...body] = r.stdout.split('\n');
      return { status, body: body.join('\n') };
    };
    const loginBody = `-H 'Content-Type: application/json' --data '{"user":"webalice","password":"Pw-e2e-1234"}'`;
    // a login posted from another origin is refused before PAM runs
    expect((await curl(`-H 'Origin: https://evil.example' ${loginBody} ${U}/api/v1/login`)).status).toBe('403');
    // session fixation: a cookie planted before login is not the one issued, and stays worthless
    const planted = 'A'.repeat(43);
    const ok = await curl(`-c /tmp/fjar -b '__Host-diycloud-session=${planted}' -H 'Origin: ${U}' ${loginBody} ${U}/api/v1/login`);
    expect(ok.status).toBe('200');
    const issued = (await c.exec("awk '$6 == \"__Host-diycloud-session\" {print $7}' /tmp/fjar")).stdout.trim();
    expect(issued).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(issued).not.toBe(planted);
    expect((await curl(`-b '__Host-diycloud-session=${planted}' ${U}/api/v1/session`)).status).toBe('401');
    const csrf = (JSON.parse(ok.body) as { csrfToken: string }).csrfToken;
    const jar = '-b /tmp/fjar';
    const limits = `-X PUT -H 'Content-Type: application/json' --data '{"cpu":1}' ${U}/api/v1/users/webalice/limits`;
    // changing requests: without the CSRF token, or from a foreign origin, 403 even with a valid cookie
    expect((await curl(`${jar} -H 'Origin: ${U}' ${limits}`)).status).toBe('403');
    expect((await curl(`${jar} -H 'Origin: https://evil.example' -H 'X-CSRF-Token: ${csrf}' ${limits}`)).status).toBe('403');
    // with both, the daemon decides: a plain user may not set her own limits (polkit)
    const own = await curl(`${jar} -H 'Origin: ${U}' -H 'X-CSRF-Token: ${csrf}' ${limits}`);
    expect(own.status).toBe('403');
    expect(own.body).toMatch(/"code":"PermissionDenied"/);
    expect(own.body).not.toMatch(/\bat \/|\.js:\d+/); // no stack trace
    // an oversized body
    await c.exec("head -c 200000 /dev/zero | tr '\\0' a > /tmp/big");
    expect((await curl(`${jar} -H 'Origin: ${U}' -H 'X-CSRF-Token: ${csrf}' -H 'Content-Type: application/json' --data-binary @/tmp/big ${U}/api/v1/requests`)).status).toMatch(/^413$/);
    // static traversal
    for (const path of ['/..%2f..%2f..%2fetc%2fpasswd', '/assets/..%2f..%2f..%2fetc%2fshadow', '/%2e%2e/%2e%2e/etc/passwd']) {
      const r = await curl(`--path-as-is ${U}${path}`);
      expect(r.body, path).not.toMatch(/root:/);
    }
    // a plain user on every operator/admin GET endpoint of the OpenAPI document
    const doc = JSON.parse((await curl(`${U}/api/v1/openapi.json`)).body) as { paths: Record<string, Record<string, unknown>> };
    const adminGets = Object.entries(doc.paths).filter(([p, ops]) => 'get' in ops && /^\/api\/v1\/(users|audit|host|profiles)$/.test(p)).map(([p]) => p);
    expect(adminGets.length).toBeGreaterThanOrEqual(3);
    for (const p of adminGets) expect((await curl(`${jar} ${U}${p}`)).status, p).toBe('403');
    expect((await curl(`${jar} ${U}/api/v1/users/webadmin`)).status).toBe('403');
    expect((await curl(`${jar} ${U}/api/v1/users/webalice`)).status).toBe('200');
  }, 90_000);

  const NEEDS = 'needs diycloud-web (src/entry/web.ts, systemd/diycloud-web.service), dist/web (npm run build:web), ' +
    'packaging/nginx/diycloud-web.conf and diycloudctl web enable';
  it.todo(`an admin creates a user and sets their limits in the browser; user-UID.slice CPUQuotaPerSecUSec/MemoryMax change (${NEEDS})`);
  it.todo(`a request is filed (plain user), approved (admin) and applied (GetUser, systemctl show) (${NEEDS}, FileRequest/DecideRequest)`);
  it.todo(`attacks: brute-force logins -> 429; oversized body -> 413; static path traversal -> 404 (${NEEDS})`);
  it.todo(`attacks: an e-mail holding <script> or "><img src=x onerror=...> renders inert in the browser (${NEEDS})`);
  it.todo(`authorization matrix: each admin/operator endpoint over HTTP equals the D-Bus result for root, plain, operator, admin; a local polkit rule granting manage-limits opens both paths (${NEEDS}, Web1.Call)`);
});
