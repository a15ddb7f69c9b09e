// The portal e2e's harness (test/e2e/portal.test.ts): the throwaway nginx probe site, `diycloudctl web enable` as the
// docs give it, and API sessions through nginx with curl in the container.
import { expect } from 'vitest';
import type { Container } from './container';

export const PROBE_PORT = 8443;
/** The portal, as the browser and curl in the container reach it: the shipped site on 443. */
export const U = 'https://localhost';

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

/**
 * The portal turned on with the one documented command, behind the site install.sh put in /etc/diycloud/nginx (written
 * for this release's nginx): a self-signed certificate for localhost, nginx's user in group diycloud-web, the site
 * linked, nginx -t, the unit enabled and started, nginx reloaded. A second run changes nothing.
 */
export async function enablePortal(c: Container): Promise<void> {
  const r = await c.exec('diycloudctl --json web enable --hostname localhost', { allowFail: true, timeoutMs: 120_000 });
  expect(r.code, r.stdout + r.stderr).toBe(0);
  expect((JSON.parse(r.stdout) as { ok: boolean }).ok).toBe(true);
  expect((await c.exec('stat -c %a /etc/diycloud/web/tls/key.pem')).stdout.trim()).toBe('600');
  expect((await c.exec('readlink /etc/nginx/sites-enabled/diycloud-web')).stdout.trim()).toBe('/etc/diycloud/nginx/diycloud-web.conf');
  const again = await c.exec('diycloudctl --json web enable --hostname localhost', { allowFail: true, timeoutMs: 120_000 });
  expect(again.code, again.stderr).toBe(0);
  expect((JSON.parse(again.stdout) as { changed: boolean }).changed).toBe(false);
  const st = await c.exec('diycloudctl web status', { allowFail: true });
  expect(st.code, st.stdout + st.stderr).toBe(0);
  await c.exec('for i in $(seq 50); do [ -S /run/diycloud/web/web.sock ] && break; sleep 0.1; done');
}


/** The probe site on PROBE_PORT (self-signed for localhost), with nginx enabled and (re)loaded. */
export async function installProbeSite(c: Container): Promise<void> {
  await c.exec(`set -e; install -d -m 755 /etc/diycloud-e2e /var/www/diycloud-e2e-probe
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost -addext subjectAltName=DNS:localhost \
      -keyout /etc/diycloud-e2e/probe.key -out /etc/diycloud-e2e/probe.crt 2>/dev/null`);
  await c.writeFile('/etc/nginx/sites-enabled/diycloud-e2e-probe.conf', PROBE_SITE);
  await c.writeFile('/var/www/diycloud-e2e-probe/index.html', PROBE_HTML);
  await c.writeFile('/var/www/diycloud-e2e-probe/probe.js', PROBE_JS);
  await c.exec('nginx -t 2>&1 && systemctl enable --now nginx.service && systemctl reload-or-restart nginx.service', { timeoutMs: 60_000 });
}

/** A session through nginx with curl in the container: the cookie jar per user, and the CSRF token for changing requests. */
export async function apiLogin(c: Container, user: string, password: string) {
  const jar = `/tmp/jar-${user}`;
  const r = await c.exec(`curl -sk -c ${jar} -H 'Origin: ${U}' -H 'Content-Type: application/json' --data-binary @- ${U}/api/v1/login`,
    { input: JSON.stringify({ user, password }) });
  const csrf = (JSON.parse(r.stdout) as { csrfToken: string }).csrfToken;
  return {
    send: async (method: string, path: string, body?: unknown) => {
      const data = body === undefined ? '' : `-H 'Content-Type: application/json' --data-binary @-`;
      const out = await c.exec(`curl -sk -b ${jar} -X ${method} -H 'Origin: ${U}' -H 'X-CSRF-Token: ${csrf}' ${data} -o /tmp/sbody -w '%{http_code}' ${U}${path}; echo; cat /tmp/sbody`,
        { allowFail: true, input: body === undefined ? undefined : JSON.stringify(body) });
      const [status, ...rest] = out.stdout.split('\n');
      return { status, body: rest.join('\n') };
    },
  };
}
