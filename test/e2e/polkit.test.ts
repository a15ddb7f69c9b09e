// polkit end to end, in a real systemd container per Debian release with the REAL polkitd: install.sh puts
// polkit/org.diycloud.policy and polkit/50-diycloud.rules in place; the polkit contract runs against polkitd,
// then every introspected Manager1 method is called through busctl by root, a plain user, an operator and
// an admin (runuser -u USER, outside any logind session, without interactive authorization), and once more
// through diycloudctl (cli-authorization.ts).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { bootWithDiycloud, e2eSkip, type Container, type Dist } from './lib/container';
import { MGR, q } from './lib/login-env';
import { POLKIT_CONTRACT, WHO, type PolkitContractContext, type Subject, type Who } from '../contract/polkit-contract';
import { runMatrix, ROWS } from '../contract/manager1-authorization';
import { CLI_ROWS, runCliMatrix } from './cli-authorization';

const skip = e2eSkip();
const DISTS: Dist[] = ['bookworm', 'trixie'];
const USER: Record<Who, string | null> = { root: null, plain: 'pkplain', operator: 'pkoperator', admin: 'pkadmin' };
const TARGET = 'pktarget';
const HELPER = '/opt/diycloud-src/test/contract/polkit-subject.js';
const DBUS_NEXT = '/usr/lib/diycloud/node_modules/dbus-next';
const PATH_ENV = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

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
});
