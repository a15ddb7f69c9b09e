// polkit end to end, in a real systemd container per Debian release with the REAL polkitd: install.sh puts
// polkit/org.diycloud.policy and polkit/50-diycloud.rules in place; the polkit contract runs against polkitd,
// then every introspected Manager1 method is called through busctl by root, a plain user, an operator and
// an admin (runuser -u USER, outside any logind session, without interactive authorization), and once more
// through diycloudctl (cli-authorization.ts). Then the web path with the same polkitd: diycloud-web started as
// install.sh set it up, every caller logged in with their password, the matrix through each web session
// (Web1.Call, web-authorization.ts) and over HTTP on diycloud-web's socket (http-authorization.ts), both against the
// bus; and all of it again with a local rule in /etc/polkit-1/rules.d/ that grants the plain user the limits action.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { bootWithDiycloud, e2eSkip, type Container, type Dist } from './lib/container';
import { MGR, q } from './lib/login-env';
import { POLKIT_CONTRACT, WHO, type PolkitContractContext, type Subject, type Who } from '../contract/polkit-contract';
import { introspectedMethods, runMatrix, ROWS, type Grant } from '../contract/manager1-authorization';
import { compareWebMatrix, WEB, webCallArgs } from '../contract/web-authorization';
import { compareHttpMatrix, expectedCan, HTTP_CASES, STREAM_CASES, type HttpAnswer, type HttpRequest } from '../contract/http-authorization';
import { CLI_ROWS, runCliMatrix } from './cli-authorization';

const skip = e2eSkip();
const DISTS: Dist[] = ['bookworm', 'trixie'];
const USER: Record<Who, string | null> = { root: null, plain: 'pkplain', operator: 'pkoperator', admin: 'pkadmin' };
const TARGET = 'pktarget';
const HELPER = '/opt/diycloud-src/test/contract/polkit-subject.js';
const DBUS_NEXT = '/usr/lib/diycloud/node_modules/dbus-next';
const PATH_ENV = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const SOCK = '/run/diycloud/web/web.sock';
/** No PublicOrigin is configured: the expected origin is https:// and the Host curl sends (localhost). */
const ORIGIN = 'https://localhost';
const PASSWORD = 'Pk-e2e-web-1234';
const LOCAL_RULE_PATH = '/etc/polkit-1/rules.d/10-diycloud-local.rules';
/** A site's own rule, as an admin would write it: one plain user may manage limits. */
const LOCAL_RULE = `// e2e: a local grant beyond diycloud's shipped rules
polkit.addRule(function (action, subject) {
  if (action.id == "org.diycloud.manage-limits" && subject.user == "pkplain") return polkit.Result.YES;
});
`;
const GRANTS: Grant[] = [{ who: 'plain', action: 'org.diycloud.manage-limits' }];
const loginName = (who: Who): string => USER[who] ?? 'root';

/** curl -i output: the status, the headers and the body. */
function parseHttp(out: string): HttpAnswer & { headers: string } {
  const m = /^HTTP\/[\d.]+ (\d{3})[^\n]*\n([\s\S]*?)\r?\n\r?\n([\s\S]*)$/.exec(out);
  if (!m) return { status: 0, headers: '', body: out };
  return { status: Number(m[1]), headers: m[2], body: m[3] };
}

const asWho = (who: Who | undefined, cmd: string): string => (who && USER[who] ? `runuser -u ${USER[who]} -- ${cmd}` : cmd);

/** A long-running process inside the container (nsenter, as Container.exec does), with its stdin kept open. */
function connectAs(c: Container, who: Who): Promise<Subject> {
  const argv = ['-a', '-t', String(c.pid), '-r', '-w', '--', '/usr/bin/env', '-i', `PATH=${PATH_ENV}`, 'LANG=C.UTF-8',
    ...(USER[who] ? ['runuser', '-u', USER[who]!, '--'] : []), 'node', HELPER, DBUS_NEXT];
  const child = spawn('nsenter', argv, { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  const exited = new Promise<void>((r) => child.once('close', () => r()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => (child.kill('SIGKILL'), reject(new Error(`polkit-subject as ${who} did not connect: ${err}`))), 20_000);
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    child.once('close', (code) => (clearTimeout(timer), reject(new Error(`polkit-subject as ${who} exited ${code}: ${err}`))));
    child.stdout.on('data', (b: Buffer) => {
      out += b.toString();
      const name = /^(:\S+)\n/.exec(out)?.[1];
      if (!name) return;
      clearTimeout(timer);
      resolve({ busName: name, close: async () => (child.stdin.end(), await exited) });
    });
  });
}

describe.skipIf(skip).each(DISTS)('polkit with the real polkitd (%s)', (dist) => {
  let c: Container;
  const busctl = (args: string[], who?: Who) => c.exec(asWho(who, `busctl ${args.map(q).join(' ')}`), { allowFail: true });
  const introspect = async (): Promise<string> => {
    const intro = await busctl(['--json=short', 'call', 'org.diycloud.Manager1', '/org/diycloud/Manager1', 'org.freedesktop.DBus.Introspectable', 'Introspect'], 'plain');
    expect(intro.code, intro.stderr).toBe(0);
    return (JSON.parse(intro.stdout) as { data: [string] }).data[0];
  };

  beforeAll(async () => {
    c = await bootWithDiycloud(dist);
    await c.exec(`groupadd --system diycloud-admin && groupadd --system diycloud-operator &&
      useradd -m -s /bin/bash ${USER.plain} && useradd -m -s /bin/bash -G diycloud-operator ${USER.operator} &&
      useradd -m -s /bin/bash -G diycloud-admin ${USER.admin} && useradd -m -s /bin/bash ${TARGET}`);
    await c.exec('systemctl enable --now diycloudd.service', { timeoutMs: 60_000 });
  }, 900_000);

  afterAll(async () => {
    await c?.stop();
  }, 60_000);

  it('install.sh put the policy and the rules where polkitd reads them; polkitd knows the actions', async () => {
    const ls = await c.exec('ls -l /usr/share/polkit-1/actions/org.diycloud.policy /usr/share/polkit-1/rules.d/50-diycloud.rules');
    expect(ls.stdout).toMatch(/-rw-r--r-- .*org\.diycloud\.policy/);
    expect(ls.stdout).toMatch(/-rw-r--r-- .*50-diycloud\.rules/);
    const pk = await c.exec('pkaction --verbose --action-id org.diycloud.read-users', { allowFail: true });
    console.log(`[${dist}] polkitd ${(await c.exec('dpkg-query -W -f "\\${Version}" polkitd', { allowFail: true })).stdout}; pkaction:\n${pk.stdout}${pk.stderr}`);
    expect(pk.stdout).toMatch(/implicit active:\s+auth_admin_keep/);
  });

  describe('polkit contract', () => {
    const ctx = (): PolkitContractContext => ({ busctl: (args, o = {}) => busctl(args, o.as), connectAs: (who) => connectAs(c, who) });
    it.each(POLKIT_CONTRACT.map((k) => [k.name, k] as const))('%s', async (_name, k) => {
      await k.run(ctx());
    }, 60_000);
  });

  it('every introspected Manager1 method, called by root, plain, operator and admin, gets what the policy says', async () => {
    expect((await busctl(['call', ...MGR, 'AdoptUser', 'ss', TARGET, 'user'])).code).toBe(0);
    const { problems, seen } = await runMatrix(await introspect(), { target: TARGET }, (who, args) => busctl(args, who), WHO);
    console.log(`[${dist}] authorization matrix:\n  ${seen.join('\n  ')}`);
    expect(problems).toEqual([]);
    expect(seen.length).toBe(Object.keys(ROWS).length * WHO.length);
  }, 300_000);

  it('every introspected Manager1 method, through diycloudctl by root, plain, operator and admin, exits as the policy says', async () => {
    const adopt = await busctl(['call', ...MGR, 'AdoptUser', 'ss', TARGET, 'user']);
    expect(adopt.code === 0 || /already/.test(adopt.stderr), adopt.stderr).toBe(true);
    const ctl = (who: Who, argv: string[], stdin?: string) =>
      c.exec(asWho(who, `diycloudctl --no-ask-password ${argv.map(q).join(' ')}${stdin === undefined ? ' </dev/null' : ''}`), { allowFail: true, input: stdin, timeoutMs: 60_000 });
    const { problems, seen } = await runCliMatrix(await introspect(), { target: TARGET }, ctl, WHO);
    console.log(`[${dist}] diycloudctl authorization matrix:\n  ${seen.join('\n  ')}`);
    expect(problems).toEqual([]);
    const calls = Object.values(CLI_ROWS).reduce((n, r) => n + (typeof r === 'string' ? 0 : r.length), 0);
    expect(seen.length).toBe(calls * WHO.length);
  }, 300_000);

  it('everyone may read their own record (GetUser needs no polkit action for oneself)', async () => {
    // each with the role that matches their group: adopting keeps the role's Unix group in step
    for (const [who, role] of [['plain', 'user'], ['operator', 'operator'], ['admin', 'admin']] as const) {
      expect((await busctl(['call', ...MGR, 'AdoptUser', 'ss', USER[who]!, role])).code).toBe(0);
      const r = await busctl(['--allow-interactive-authorization=no', 'call', ...MGR, 'GetUser', 's', USER[who]!], who);
      expect(r.code, `${who}: ${r.stderr}`).toBe(0);
    }
  }, 60_000);
  describe('the web path: the same matrix over HTTP and through web sessions as on the bus', () => {
    const tokens: Partial<Record<Who, string>> = {};
    const http: Partial<Record<Who, { cookie: string; csrf: string }>> = {};
    let members: Set<string>;

    const curl = async (args: string[], input?: string) => parseHttp((await c.exec(`curl -sS -i --unix-socket ${SOCK} ${args.map(q).join(' ')}`, { allowFail: true, input, timeoutMs: 30_000 })).stdout);
    const send = (who: Who, req: HttpRequest): Promise<HttpAnswer> => {
      const s = http[who]!;
      const args = ['-X', req.method, '-H', `Origin: ${ORIGIN}`, '-H', `Cookie: ${s.cookie}`, '-H', `X-CSRF-Token: ${s.csrf}`];
      if (req.body !== undefined) args.push('-H', 'Content-Type: application/json', '--data-binary', '@-');
      if (req.stream) args.push('-N', '--max-time', '3');
      return curl([...args, `http://localhost${req.url}`], req.body === undefined ? undefined : JSON.stringify(req.body));
    };
    const webBus = (who: Who, args: string[]) => busctl(webCallArgs(tokens[who]!, args));
    const matrices = async (label: string, grants: Grant[]) => {
      const bus = await runMatrix(await introspect(), { target: TARGET }, (who, args) => busctl(args, who), WHO, grants);
      expect(bus.problems, `${label}: bus`).toEqual([]);
      const web = await compareWebMatrix({ target: TARGET }, WHO, (who, args) => busctl(args, who), webBus, grants, members);
      expect(web.problems, `${label}: web sessions`).toEqual([]);
      const h = await compareHttpMatrix({ t: { target: TARGET }, callers: WHO, introspected: members, http: send, bus: (who, args) => busctl(args, who), grants });
      console.log(`[${dist}] ${label}: bus ${bus.seen.length}, web session ${web.compared} compared with the bus, HTTP ${h.compared} compared with the bus${h.skipped.length ? `; skipped: ${h.skipped.join(', ')}` : ''}\n  ${h.seen.join('\n  ')}`);
      expect(h.problems, `${label}: HTTP`).toEqual([]);
      for (const who of WHO) {
        const s = await send(who, { method: 'GET', url: '/api/v1/session' });
        expect(s.status, s.body).toBe(200);
        expect((JSON.parse(s.body) as { can: Record<string, boolean> }).can, `${label}: ${who}'s session "can"`).toEqual(expectedCan(who, grants));
      }
      return { bus, web, h };
    };
    const pkcheckPlain = async () => (await c.exec(`runuser -u ${USER.plain} -- sh -c 'exec pkcheck --action-id org.diycloud.manage-limits --process $$'`, { allowFail: true })).code;
    const waitPk = async (want: 'granted' | 'refused') => {
      for (let i = 0; i < 100; i++) {
        if ((await pkcheckPlain() === 0) === (want === 'granted')) return;
        await new Promise((r) => setTimeout(r, 200));
      }
      throw new Error(`polkitd did not pick up the change of ${LOCAL_RULE_PATH} (want ${want})`);
    };

    it('diycloud-web runs; root, plain, operator and admin log in with their passwords (over Web1 and over HTTP)', async () => {
      const adopt = await busctl(['call', ...MGR, 'AdoptUser', 'ss', TARGET, 'user']);
      expect(adopt.code === 0 || /already/.test(adopt.stderr), adopt.stderr).toBe(true);
      await c.exec('chpasswd', { input: WHO.map((w) => `${loginName(w)}:${PASSWORD}\n`).join('') });
      await c.exec(`set -e; getent passwd diycloud-web >/dev/null || systemd-sysusers /usr/lib/sysusers.d/diycloud.conf
        busctl call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus ReloadConfig
        # diycloudd learns the diycloud-web account's uid at start (the packages create it before the daemon runs)
        systemctl restart diycloudd.service
        for i in $(seq 100); do busctl status org.diycloud.Manager1 >/dev/null 2>&1 && break; sleep 0.1; done
        systemctl enable --now diycloud-web.service
        for i in $(seq 100); do [ -S ${SOCK} ] && break; sleep 0.1; done; [ -S ${SOCK} ]`, { timeoutMs: 60_000 });
      members = new Set(introspectedMethods(await introspect()).keys());
      for (const who of WHO) {
        const r = await busctl(['--json=short', 'call', ...WEB, 'Login', 'ssa{sv}', loginName(who), PASSWORD, '1', 'address', 's', '192.0.2.1']);
        expect(r.code, `Web1.Login of ${who}: ${r.stderr}`).toBe(0);
        tokens[who] = (JSON.parse((JSON.parse(r.stdout) as { data: [string] }).data[0]) as { token: string }).token;
        const l = await curl(['-H', `Origin: ${ORIGIN}`, '-H', 'Content-Type: application/json', '--data-binary', '@-', 'http://localhost/api/v1/login'], JSON.stringify({ user: loginName(who), password: PASSWORD }));
        expect(l.status, `HTTP login of ${who}: ${l.body}${(await c.exec('journalctl -u diycloud-web -n 20 --no-pager', { allowFail: true })).stdout}`).toBe(200);
        const cookie = /^set-cookie:\s*(__Host-diycloud-session=[^;\s]+)/im.exec(l.headers)?.[1];
        expect(cookie, l.headers).toBeDefined();
        http[who] = { cookie: cookie!, csrf: (JSON.parse(l.body) as { csrfToken: string }).csrfToken };
      }
    }, 120_000);

    it('the shipped policy: every route over HTTP and every row through a web session answers as the bus does', async () => {
      const { h, web } = await matrices('shipped policy', []);
      // every introspected non-root row through the web, every covered route over HTTP, each by all four callers
      expect(web.compared).toBe(Object.entries(ROWS).filter(([m, r]) => r.need !== 'root' && members.has(m)).length * WHO.length);
      expect(h.compared).toBe((Object.keys(HTTP_CASES).length + Object.keys(STREAM_CASES).length - h.skipped.length) * WHO.length);
      expect(h.compared).toBeGreaterThanOrEqual(20 * WHO.length);
      expect(h.seen).toContain('PUT /api/v1/users/{name}/limits as plain: PermissionDenied (PermissionDenied)');
    }, 600_000);

    it(`with a local rule in ${LOCAL_RULE_PATH} granting ${USER.plain} the limits action, all three paths follow it alike`, async () => {
      await c.writeFile(LOCAL_RULE_PATH, LOCAL_RULE, 0o644);
      try {
        await waitPk('granted');
        const { bus, h } = await matrices('local rule', GRANTS);
        // the rule took effect everywhere: plain's limit rows are allowed on the bus and over HTTP
        expect(bus.seen).toContain('SetLimits as plain: allowed');
        expect(h.seen).toContain('PUT /api/v1/users/{name}/limits as plain: allowed');
        expect(h.seen).toContain('DELETE /api/v1/users/{name}/limits as plain: allowed');
        expect(h.seen).toContain('GET /api/v1/users as plain: PermissionDenied (PermissionDenied)');
      } finally {
        await c.exec(`rm -f ${LOCAL_RULE_PATH}`);
        await waitPk('refused');
      }
    }, 600_000);
  });
});
