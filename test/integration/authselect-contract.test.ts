// Contract: the authselect subcommands and outputs the PamConfigurator adapter relies on, against the fake always and against
// the real /usr/bin/authselect where it exists (in a private mount namespace over a copy of /etc, so the host is never changed).

import { afterAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from './lib/daemon-process';
import { installFakeAuthselect, type FakeAuthselect } from '../fakes/fake-authselect';

const REAL = '/usr/bin/authselect';
const isRoot = process.getuid?.() === 0;

interface Step {
  readonly sh: string;
  readonly check: (r: { code: number; out: string; err: string }, label: string) => void;
}
const ok = (r: { code: number }, label: string) => expect(r.code, label).toBe(0);

/**
 * One session of commands; `$A` is the authselect program, `$C` its /etc/authselect. They run in
 * one shell (for the real tool, inside one namespace, whose copy of /etc lasts only as long as it).
 * The first select uses --force only to set up a known state in that private copy; the adapter never
 * passes --force.
 */
const STEPS: Step[] = [
  { sh: '$A current --raw', check: (r, l) => (expect(r.code, l).toBe(2), expect(r.out, l).toMatch(/^No existing configuration detected\.$/m)) },
  { sh: '$A select local with-faillock --force --nobackup', check: ok },
  { sh: '$A current --raw', check: (r, l) => (ok(r, l), expect(r.out, l).toBe('local with-faillock\n')) },
  { sh: '$A current', check: (r, l) => (ok(r, l), expect(r.out, l).toMatch(/^Profile ID: local\nEnabled features:\n- with-faillock\n/)) },
  { sh: '$A create-profile diycloud --base-on local --symlink-nsswitch --symlink-dconf', check: (r, l) => (ok(r, l), expect(r.out, l).toMatch(/New profile was created at \S*custom\/diycloud/)) },
  { sh: '$A create-profile diycloud --base-on local --symlink-nsswitch --symlink-dconf', check: (r, l) => expect(r.code, l).toBe(4) },
  { sh: '$A create-profile diycloud-x --base-on no-such-profile', check: (r, l) => expect(r.code, l).not.toBe(0) },
  // PAM templates are copies (editable without touching the base), nsswitch.conf a link, README a copy.
  { sh: 'test -f $C/custom/diycloud/system-auth && test ! -L $C/custom/diycloud/system-auth && test ! -L $C/custom/diycloud/password-auth && test -L $C/custom/diycloud/nsswitch.conf && test ! -L $C/custom/diycloud/README', check: ok },
  { sh: 'cmp $C/custom/diycloud/system-auth "$(readlink -f $C/custom/diycloud/nsswitch.conf | sed "s|/nsswitch.conf$||")/system-auth"', check: ok },
  { sh: 'printf "account     required     pam_diycloud.so\\nsession     required     pam_diycloud.so\\n" >> $C/custom/diycloud/system-auth', check: ok },
  { sh: '$A select custom/diycloud with-faillock', check: ok },
  { sh: '$A current --raw', check: (r, l) => (ok(r, l), expect(r.out, l).toBe('custom/diycloud with-faillock\n')) },
  // The generated stack holds the added lines and honours the features.
  { sh: 'cat $C/system-auth', check: (r, l) => (ok(r, l), expect(r.out, l).toMatch(/^account\s+required\s+pam_diycloud\.so/m), expect(r.out, l).toMatch(/^auth\s+required\s+pam_faillock\.so preauth/m)) },
  { sh: '$A select no-such-profile', check: (r, l) => expect(r.code, l).not.toBe(0) },
  { sh: '$A current --raw', check: (r, l) => expect(r.out, l).toBe('custom/diycloud with-faillock\n') },
  { sh: '$A select local with-faillock', check: ok },
  { sh: 'cat $C/system-auth', check: (r, l) => (ok(r, l), expect(r.out, l).not.toMatch(/pam_diycloud/)) },
];

function script(): string {
  return STEPS.map((s, i) => `( ${s.sh} ) >"$OUT/${i}.out" 2>"$OUT/${i}.err" </dev/null; echo $? >"$OUT/${i}.code"`).join('\n') + '\n';
}

function results(out: string) {
  return STEPS.map((_, i) => ({
    code: Number(readFileSync(join(out, `${i}.code`), 'utf8')),
    out: readFileSync(join(out, `${i}.out`), 'utf8'),
    err: readFileSync(join(out, `${i}.err`), 'utf8'),
  }));
}

const dirs: string[] = [];
const tmp = (p: string) => {
  const d = mkdtempSync(join(tmpdir(), p));
  dirs.push(d);
  return d;
};
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function checkAll(rs: ReturnType<typeof results>) {
  STEPS.forEach((s, i) => s.check(rs[i], `step ${i}: ${s.sh}\nstdout: ${rs[i].out}\nstderr: ${rs[i].err}`));
}

describe('authselect contract: the fake', () => {
  let fake: FakeAuthselect;
  afterAll(() => fake?.remove());
  it('passes every step', async () => {
    fake = installFakeAuthselect();
    const out = tmp('diycloud-as-fake-');
    const r = await run('/bin/sh', ['-c', script()], { env: { PATH: '/usr/bin:/bin', A: fake.program, C: fake.configDir, OUT: out } });
    expect(r.code).toBe(0);
    checkAll(results(out));
  });
});

const realReason = !existsSync(REAL) ? `${REAL} is not installed (authselect is not in Debian): the real half runs on Fedora/RHEL` : !isRoot ? 'needs root (mount namespace)' : null;
if (realReason) console.warn(`SKIPPED authselect contract against the real tool: ${realReason}`);

describe.skipIf(realReason !== null)('authselect contract: the real /usr/bin/authselect (private copy of /etc)', () => {
  it('passes every step', async () => {
    const etc = tmp('diycloud-as-etc-');
    const out = tmp('diycloud-as-real-');
    const prelude = [
      'mount -t tmpfs tmpfs "$T" && cp -a /etc/. "$T"/ && mount --bind "$T" /etc || exit 125',
      'if [ -d /var/lib/authselect ]; then mount -t tmpfs tmpfs /var/lib/authselect || exit 125; fi',
      'rm -f /etc/authselect/authselect.conf; rm -rf /etc/authselect/custom/diycloud /etc/authselect/custom/diycloud-x',
    ].join('\n');
    const r = await run('/usr/bin/unshare', ['--mount', '--propagation', 'private', '--', '/bin/sh', '-c', `${prelude}\n${script()}`], {
      env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', A: REAL, C: '/etc/authselect', OUT: out, T: etc },
      timeoutMs: 60_000,
    });
    expect(r.code, r.stderr).toBe(0);
    checkAll(results(out));
  });
});
