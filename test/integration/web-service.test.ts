// Integration: diycloud-web (the Hono app on a unix socket, over node:http) in front of the real
// diycloudd on a real dbus-daemon: a PAM login as a real host user, the session, a read through
// Web1.Call, a refused change, logout and a replayed cookie.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { request, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAdaptorServer } from '@hono/node-server';
import { REPO, startTestBus, type TestBus } from './lib/test-bus';
import { busctl, MGR, startDaemon, type DaemonProcess } from './lib/daemon-process';
import { createHostUsers } from './lib/host-users';
import { startFakeSystemd, type FakeSystemd } from '../fakes/fake-systemd1';
import { startFakePolkit, type FakePolkit } from '../fakes/fake-polkit';
import { createWebApp } from '../../src/adapters/http/app';
import { Web1Client } from '../../src/adapters/dbus/web-client';

const CONF = `[Users]\nUIDMin=2000\nUIDMax=2999\n[Backend]\nSlices=systemd\n[Accounts]\nPamVerify=${REPO}/dist/pam-verify\n`;
const isRoot = process.getuid?.() === 0;
const PASSWORD = 'web service horse';
const ORIGIN = 'https://portal.test';

interface Reply { status: number; headers: Record<string, string | string[] | undefined>; body: string }

describe.skipIf(!isRoot)('diycloud-web on the real daemon', () => {
  let bus: TestBus;
  let systemd: FakeSystemd;
  let polkit: FakePolkit;
  let d: DaemonProcess;
  let hostUsers: ReturnType<typeof createHostUsers>;
  let web: Web1Client;
  let server: Server;
  const dir = mkdtempSync(join(tmpdir(), 'web-service-'));
  const sock = join(dir, 'web.sock');
  let madeServiceUser = false;

  const http = (method: string, path: string, headers: Record<string, string> = {}, body?: unknown, socketPath = sock): Promise<Reply> =>
    new Promise((resolve, reject) => {
      const data = body === undefined ? undefined : JSON.stringify(body);
      const req = request({ socketPath, method, path, headers: { Host: 'portal.test', ...(data ? { 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(data)) } : {}), ...headers } }, (res) => {
        let text = '';
        res.on('data', (c) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
      });
      req.on('error', reject);
      req.end(data);
    });

  beforeAll(async () => {
    if (spawnSync('/usr/bin/getent', ['passwd', 'diycloud-web']).status !== 0) {
      const r = spawnSync('/usr/sbin/useradd', ['--system', '--no-create-home', '--home-dir', '/', '--shell', '/usr/sbin/nologin', '--', 'diycloud-web'], { encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      madeServiceUser = true;
    }
    bus = await startTestBus();
    systemd = await startFakeSystemd(bus.address);
    hostUsers = createHostUsers(2, 2850);
    const pw = spawnSync('/usr/sbin/chpasswd', [], { input: hostUsers.users.map((u) => `${u.name}:${PASSWORD}`).join('\n') + '\n', encoding: 'utf8' });
    expect(pw.status, pw.stderr).toBe(0);
    polkit = await startFakePolkit(bus.address, {});
    d = await startDaemon(bus.address, CONF);
    for (const u of hostUsers.users) expect((await busctl(bus.address, ['call', ...MGR, 'AdoptUser', 'ss', u.name, 'user'])).stderr).toBe('');
    web = await Web1Client.connect(bus.address);
    const { app } = createWebApp({ web, config: { publicOrigin: ORIGIN, bodyLimitBytes: 16384, liveIntervalSec: 5, staticDir: dir, trustProxy: true }, version: 'test' });
    server = createAdaptorServer({ fetch: app.fetch }) as Server;
    await new Promise<void>((r) => server.listen(sock, () => r()));
  });
  afterAll(async () => {
    server?.close();
    web?.close();
    await d?.stop();
    polkit?.close();
    systemd?.close();
    await bus?.stop();
    hostUsers?.remove();
    if (madeServiceUser) spawnSync('/usr/sbin/userdel', ['--', 'diycloud-web']);
    rmSync(dir, { recursive: true, force: true });
  });

  it('logs in as a host user, reads the session and the user, is refused a limit change, and a logged-out cookie is 401', async () => {
    const [plain, other] = hostUsers.users;
    const wrong = await http('POST', '/api/v1/login', { Origin: ORIGIN, 'X-Real-IP': '192.0.2.9' }, { user: plain.name, password: 'nope' });
    expect(wrong.status).toBe(401);
    expect(JSON.parse(wrong.body).error.code).toBe('AuthenticationFailed');

    const login = await http('POST', '/api/v1/login', { Origin: ORIGIN, 'X-Real-IP': '192.0.2.9' }, { user: plain.name, password: PASSWORD });
    expect(login.status, login.body).toBe(200);
    const setCookie = String(login.headers['set-cookie']);
    expect(setCookie).toMatch(/^__Host-diycloud-session=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; Secure; SameSite=Strict/);
    const cookie = setCookie.split(';')[0];
    const s = JSON.parse(login.body) as { user: string; uid: number; csrfToken: string; token?: string; can: Record<string, boolean> };
    expect(s).toMatchObject({ user: plain.name, uid: plain.uid, role: 'user', can: { readUsers: false, manageLimits: false } });
    expect(s.token).toBeUndefined();
    expect(login.body).not.toContain(cookie.split('=')[1]);

    const session = await http('GET', '/api/v1/session', { Cookie: cookie });
    expect(session.status).toBe(200);
    expect(JSON.parse(session.body)).toMatchObject({ user: plain.name, csrfToken: s.csrfToken });

    const me = await http('GET', `/api/v1/users/${plain.name}`, { Cookie: cookie });
    expect(me.status, me.body).toBe(200);
    expect(JSON.parse(me.body)).toMatchObject({ name: plain.name });
    const them = await http('GET', `/api/v1/users/${other.name}`, { Cookie: cookie });
    expect(them.status, them.body).toBe(403);

    const headers = { Cookie: cookie, Origin: ORIGIN, 'X-CSRF-Token': s.csrfToken };
    const limits = await http('PUT', `/api/v1/users/${plain.name}/limits`, headers, { memory: '64G' });
    expect(limits.status, limits.body).toBe(403);
    expect(JSON.parse(limits.body).error.code).toMatch(/PermissionDenied|InteractiveAuthorizationRequired/);
    expect(limits.body).not.toMatch(/\n\s+at /);

    const logout = await http('POST', '/api/v1/logout', headers);
    expect(logout.status).toBe(204);
    const replay = await http('GET', `/api/v1/users/${plain.name}`, { Cookie: cookie });
    expect(replay.status).toBe(401);
    expect(JSON.parse(replay.body).error.code).toBe('SessionExpired');
  });

  it.skipIf(!existsSync(join(REPO, 'dist/entry/web.js')))('the built entry runs as diycloud-web, replaces a stale socket, makes it 0660, and logs in', async () => {
    const [plain] = hostUsers.users;
    const run = join(dir, 'run');
    spawnSync('/usr/bin/install', ['-d', '-m', '0750', '-o', 'diycloud-web', '-g', 'diycloud-web', run]);
    chmodSync(dir, 0o755);
    const entrySock = join(run, 'web.sock');
    const conf = join(dir, 'web.conf');
    writeFileSync(conf, `[Web]\nSocket=${entrySock}\nPublicOrigin=${ORIGIN}\nStaticDir=${dir}\nBusAddress=${bus.address}\n`);
    // a stale socket from an earlier run: its process died without removing it
    spawnSync(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(entrySock)}, () => process.kill(process.pid, 'SIGKILL'))`]);
    expect(statSync(entrySock).isSocket()).toBe(true);
    const uid = Number(spawnSync('/usr/bin/id', ['-u', 'diycloud-web'], { encoding: 'utf8' }).stdout);
    const gid = Number(spawnSync('/usr/bin/id', ['-g', 'diycloud-web'], { encoding: 'utf8' }).stdout);
    let child: ChildProcess | undefined;
    try {
      child = spawn(process.execPath, [join(REPO, 'dist/entry/web.js'), '--config', conf], { uid, gid, env: { PATH: '/usr/bin:/bin' }, stdio: ['ignore', 'ignore', 'pipe'] });
      let err = '';
      child.stderr!.on('data', (c) => (err += c));
      const t0 = Date.now();
      while (!/listening on/.test(err)) {
        if (Date.now() - t0 > 10_000 || child.exitCode !== null) throw new Error(`diycloud-web did not start: ${err}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      const st = statSync(entrySock);
      expect(st.isSocket()).toBe(true);
      expect(st.mode & 0o777).toBe(0o660);
      expect(st.uid).toBe(uid);
      const login = await http('POST', '/api/v1/login', { Origin: ORIGIN }, { user: plain.name, password: PASSWORD }, entrySock);
      expect(login.status, login.body + err).toBe(200);
      const cookie = String(login.headers['set-cookie']).split(';')[0];
      const me = await http('GET', `/api/v1/users/${plain.name}`, { Cookie: cookie }, undefined, entrySock);
      expect(me.status, me.body).toBe(200);
    } finally {
      child?.kill('SIGTERM');
    }
  });
});
