// Issue 6 end to end, in a real systemd container per Debian release: root's hook answered in budget while a local
// user floods the daemon, a bounded number of child programs, a disabled user kept out by shadow when the daemon cannot
// answer, every login path of a managed user inside user-UID.slice (/proc/self/cgroup), parallel CreateUser.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { e2eSkip, type Dist } from './lib/container';
import {
  authorizeRootKey, BUDGET_MS, CONF, expectedSlice, HOOK, median, MGR, q, setupLoginEnv, startFlood, systemdCgroup, type FloodReport, type LoginEnv,
} from './lib/login-env';

const skip = e2eSkip();
const DISTS: Dist[] = ['bookworm', 'trixie'];
const M = 1024 ** 2;
/** The global cap on concurrent child programs (docs/security.md, "Limits under load"). */
const CHILD_PROGRAM_CAP = 16;
/** Root's hook during a flood: the median call of each mode, and every call (inside the 2 s budget, after which the
 *  failure mode decides, with room for a loaded 2-core CI machine: single calls of 1.1 s were seen there). */
const HOOK_MEDIAN_MS = 1000;
const HOOK_MAX_MS = BUDGET_MS - 500;
const FLOOD = { connections: 16, inflight: 1900 };
const FLOODER = 'mallory'; // a local user diycloud does not manage
const MARKER = '/run/diycloud/hook-unresponsive';
/** Error replies that mean "refused": the caps (Busy), the bus policy and polkit. */
const REFUSALS = ['org.diycloud.Manager1.Error.Busy', 'org.freedesktop.DBus.Error.AccessDenied', 'org.diycloud.Manager1.Error.PermissionDenied',
  'org.diycloud.Manager1.Error.InteractiveAuthorizationRequired'];

describe.skipIf(skip).each(DISTS)('the promise holds under attack and on every login path (%s)', (dist) => {
  let e: LoginEnv;
  const timings: Record<string, number> = {};
  /** When diycloudd was stopped on purpose (epoch ms): a cron job run then is let through outside its slice (FailureMode=open). */
  const daemonDown = { from: 0, to: 0 };
  const uidOf = async (u: string) => Number((await e.c.exec(`id -u ${q(u)}`)).stdout.trim());
  const cursor = async () => (await e.c.exec(`journalctl -n 0 --show-cursor | sed -n 's/^-- cursor: //p'`)).stdout.trim();
  const hookLog = async (after: string) => e.journal(`--after-cursor=${q(after)} -t diycloud-pam-hook`);
  const failureMode = async (m: 'open' | 'closed') => e.c.exec(m === 'closed'
    ? `sed -i 's/^#\\?FailureMode=.*/FailureMode=closed/' ${CONF} && grep -qx FailureMode=closed ${CONF}`
    : `sed -i 's/^FailureMode=closed$/#FailureMode=open/' ${CONF} && grep -qx '#FailureMode=open' ${CONF}`);
  /** root's hook, as pam_exec runs it for `su - USER` (without the breaker marker a timed-out call may leave) */
  const hook = async (type: 'account' | 'open_session', user: string) => {
    await e.c.exec(`rm -f ${MARKER}`);
    return e.timed(`env -i PAM_TYPE=${type} PAM_USER=${user} PAM_SERVICE=su PAM_RUSER=root PAM_TTY=/dev/pts/7 ${HOOK}`);
  };
  const shadowExpiry = async (u: string) => (await e.c.exec(`getent shadow ${q(u)} | cut -d: -f8`)).stdout.trim();
  const today = async () => Number((await e.c.exec('echo $(( $(date +%s) / 86400 ))')).stdout.trim());
  const setEnabled = async (u: string, on: boolean) => {
    const r = await e.busctl(['call', ...MGR, 'SetEnabled', 'sba{sv}', u, String(on), '0']);
    expect(r.code, r.stderr).toBe(0);
  };
  const createUser = async (u: string) => {
    const r = await e.busctl(['call', ...MGR, 'CreateUser', 'sssa{sv}', u, '', 'user', '0']);
    expect(r.code, r.stderr).toBe(0);
    await authorizeRootKey(e.c, u);
  };
  const refusedShare = (r: FloodReport) => {
    const total = r.replies.ok + Object.values(r.replies.byError).reduce((a, b) => a + b, 0);
    return REFUSALS.reduce((a, n) => a + (r.replies.byError[n] ?? 0), 0) / Math.max(1, total);
  };

  beforeAll(async () => {
    e = await setupLoginEnv(dist);
    Object.assign(timings, e.timings);
    await e.c.exec('DEBIAN_FRONTEND=noninteractive pam-auth-update --enable diycloud');
    await e.c.exec('systemctl enable --now diycloudd.service', { timeoutMs: 60_000 });
    await e.addDbUser('alice', { cpu: 0.5, mem: '512M' });
    await e.addDbUser('carol', { active: 0 });
    await e.c.exec(`useradd -m -s /bin/bash ${FLOODER}`);
    await authorizeRootKey(e.c, 'root');
    // esc1 (0.5 CPU, 512M) and its crontab first, so cron has run the job by the time the cgroup rows are checked
    const add = await e.c.exec('diycloudctl --json user add esc1 --role user --cpu 0.5 --memory 512M < /dev/null', { allowFail: true });
    expect(add.code, add.stderr + add.stdout).toBe(0);
    await authorizeRootKey(e.c, 'esc1');
    expect((await e.c.exec('systemctl is-active cron', { allowFail: true })).stdout.trim()).toBe('active');
    // one file per run, named by its start (epoch s): runs while the daemon is stopped below are told apart
    await e.c.exec(`rm -rf /tmp/esc1-cron; echo '* * * * * mkdir -p /tmp/esc1-cron && cat /proc/self/cgroup > /tmp/esc1-cron/$(date +\\%s) 2>&1' | crontab -u esc1 -`);
    timings.crontabAt = Date.now();
  }, 900_000);

  afterAll(async () => {
    console.log(`[${dist}] promise timings (ms)`, timings);
    await e?.stop();
  }, 60_000);

  describe('a flood from one local user does not starve the login path', () => {
    it(`root's hook answers correctly (median < ${HOOK_MEDIAN_MS} ms, each < ${HOOK_MAX_MS} ms) during a ListProfiles flood, in open and in closed mode; the flooder is refused`, async () => {
      const pid = (await e.c.exec('systemctl show -p MainPID --value diycloudd')).stdout.trim();
      const calls = [['account', 'alice', 0], ['account', 'carol', 1], ['open_session', 'alice', 0]] as const;
      const quiet: number[] = [];
      for (let i = 0; i < 3; i++) for (const [type, user] of calls) quiet.push((await hook(type, user)).innerMs);
      timings.hookQuietMedianMs = median(quiet);

      const results: { mode: string; type: string; user: string; code: number; ms: number; said: string }[] = [];
      const from = await cursor();
      const flood = await startFlood(e.c, FLOODER, { method: 'ListProfiles', ...FLOOD, seconds: 90 });
      let report: FloodReport;
      try {
        for (const mode of ['open', 'closed'] as const) {
          await failureMode(mode);
          for (let i = 0; i < 3; i++) {
            for (const [type, user] of calls) {
              const r = await hook(type, user);
              results.push({ mode, type, user, code: r.code, ms: r.innerMs, said: r.stdout.trim() });
            }
          }
        }
      } finally {
        report = await flood.stop();
        await failureMode('open');
      }
      console.log(`[${dist}] ListProfiles flood`, JSON.stringify(report), 'hook during it', JSON.stringify(results));
      for (const mode of ['open', 'closed']) {
        timings[`hookFlood${mode}MedianMs`] = median(results.filter((r) => r.mode === mode).map((r) => r.ms));
      }
      // every call gave the daemon's answer (alice allowed, carol refused), in time; the hook prints a reason only
      // when the daemon refused, so carol's refusals came from CheckLogin, not from the failure mode
      const expected = (r: (typeof results)[number]) => calls.find(([t, u]) => t === r.type && u === r.user)![2];
      const refusedByDaemon = (r: (typeof results)[number]) => /^diycloud: account disabled/.test(r.said);
      expect(results.filter((r) => r.code !== expected(r) || r.ms >= HOOK_MAX_MS || refusedByDaemon(r) !== (r.user === 'carol'))).toEqual([]);
      for (const mode of ['open', 'closed']) expect(timings[`hookFlood${mode}MedianMs`], `median, ${mode} mode`).toBeLessThan(HOOK_MEDIAN_MS);
      // ...and the journal agrees: the daemon's refusals, no failure-mode line
      let log = await hookLog(from);
      for (let i = 0; i < 30 && !/login of carol via su refused: account disabled/.test(log); i++) {
        await new Promise((r) => setTimeout(r, 100));
        log = await hookLog(from);
      }
      expect(log).toMatch(/login of carol via su refused: account disabled/);
      expect(log).not.toMatch(/failure mode/);
      // the flood was real, and refused
      expect(report.localErrors + report.disconnects).toBe(0);
      expect(report.calls).toBeGreaterThan(3 * FLOOD.inflight);
      expect(report.replies.ok).toBe(0);
      expect(refusedShare(report)).toBeGreaterThan(0.95);
      expect((await e.c.exec('systemctl show -p MainPID --value diycloudd')).stdout.trim()).toBe(pid);
    }, 240_000);

    it(`a GetUser(random name) flood runs at most ${CHILD_PROGRAM_CAP} child programs at once`, async () => {
      const flood = await startFlood(e.c, FLOODER, { method: 'GetUser', randomUser: true, ...FLOOD, seconds: 60 });
      let counts: number[];
      try {
        const s = await e.c.exec('for i in $(seq 24); do pgrep -c -x getent; sleep 0.25; done', { allowFail: true });
        counts = s.stdout.trim().split('\n').map(Number);
      } finally {
        const report = await flood.stop();
        console.log(`[${dist}] GetUser flood`, JSON.stringify(report));
        expect(report.calls).toBeGreaterThanOrEqual(FLOOD.inflight);
      }
      timings.getentMax = Math.max(...counts);
      console.log(`[${dist}] getent processes sampled during the GetUser flood`, counts.join(' '));
      expect(counts.length).toBe(24);
      expect(Math.max(...counts)).toBeLessThanOrEqual(CHILD_PROGRAM_CAP);
      expect((await e.c.exec('systemctl is-active diycloudd')).stdout.trim()).toBe('active');
    }, 120_000);
  });

  describe('a disabled user stays out, even when the daemon cannot answer (FailureMode=open)', () => {
    let esc3Expiry = '';
    it('SetEnabled(false) expires the account in shadow (esc2 without an expiry, esc3 with one)', async () => {
      await createUser('esc2');
      await createUser('esc3');
      await e.c.exec('chage -E 2099-12-31 esc3');
      esc3Expiry = await shadowExpiry('esc3');
      expect(Number(esc3Expiry)).toBeGreaterThan(await today());
      // they can get in before: a refusal below means something
      expect((await e.c.exec(`su - esc2 -c 'id -un'`)).stdout.trim()).toBe('esc2');
      expect((await e.ssh('esc2', 'id -un')).stdout.trim()).toBe('esc2');
      await setEnabled('esc2', false);
      await setEnabled('esc3', false);
      for (const u of ['esc2', 'esc3']) {
        const exp = await shadowExpiry(u);
        expect(exp, `${u}'s shadow expiry`).toMatch(/^\d+$/);
        expect(Number(exp)).toBeLessThanOrEqual(await today());
        expect((await e.c.exec(`chage -l ${u}`)).stdout).not.toMatch(/Account expires\s*:\s*never/);
      }
    }, 120_000);

    it('during a flood: su - and ssh are refused', async () => {
      const flood = await startFlood(e.c, FLOODER, { method: 'ListProfiles', ...FLOOD, seconds: 60 });
      try {
        const su = await e.c.exec('su - esc2 -c true', { allowFail: true });
        const ssh = await e.ssh('esc2', 'true');
        expect(su.code, `su - esc2 during a flood: ${su.stdout}${su.stderr}`).not.toBe(0);
        expect(ssh.code, `ssh esc2 during a flood: ${ssh.stderr}`).not.toBe(0);
      } finally {
        console.log(`[${dist}] flood during the disabled user's logins`, JSON.stringify(await flood.stop()));
      }
    }, 120_000);

    it('with diycloudd stopped: su - and ssh are refused', async () => {
      daemonDown.from = Date.now();
      await e.c.exec('systemctl stop diycloudd');
      try {
        const su = await e.c.exec('su - esc2 -c true', { allowFail: true });
        const ssh = await e.ssh('esc2', 'true');
        expect(su.code, `su - esc2, daemon stopped: ${su.stdout}${su.stderr}`).not.toBe(0);
        expect(ssh.code, `ssh esc2, daemon stopped: ${ssh.stderr}`).not.toBe(0);
      } finally {
        await e.c.exec('systemctl start diycloudd');
        daemonDown.to = Date.now();
      }
    }, 120_000);

    it('SetEnabled(true) lets them in again and restores the previous expiry exactly', async () => {
      await setEnabled('esc2', true);
      await setEnabled('esc3', true);
      expect(await shadowExpiry('esc2')).toBe('');
      expect(await shadowExpiry('esc3')).toBe(esc3Expiry);
      expect((await e.c.exec(`su - esc2 -c 'id -un'`)).stdout.trim()).toBe('esc2');
      expect((await e.ssh('esc2', 'id -un')).stdout.trim()).toBe('esc2');
    }, 120_000);
  });

  describe("every login path of a managed user runs in user-UID.slice (/proc/self/cgroup)", () => {
    const inSlice = (uid: number) => new RegExp(`^/user\\.slice/user-${uid}\\.slice/`);
    const parts = (out: string) => out.split('@@\n').map((p) => systemdCgroup(p) ?? `(no cgroup line in ${JSON.stringify(p)})`);

    it('ssh esc1@127.0.0.1: user-UID.slice, which carries the allocation', async () => {
      const uid = await uidOf('esc1');
      const r = await e.ssh('esc1', 'cat /proc/self/cgroup');
      expect(r.code, r.stderr).toBe(0);
      expect(systemdCgroup(r.stdout)).toMatch(inSlice(uid));
      expect(await e.waitSlice(uid, (p) => p.MemoryMax === String(512 * M))).toMatchObject(expectedSlice(0.5, 512 * M));
    }, 60_000);

    it("su - esc1 inside root's ssh session: esc1's slice; root's own shell stays in user-0.slice", async () => {
      const uid = await uidOf('esc1');
      const r = await e.ssh('root', `cat /proc/self/cgroup; echo @@; su - esc1 -c 'cat /proc/self/cgroup'; echo @@; cat /proc/self/cgroup`);
      expect(r.code, r.stderr).toBe(0);
      const [before, su, after] = parts(r.stdout);
      expect(before).toMatch(/^\/user\.slice\/user-0\.slice\/session-/);
      expect(after).toBe(before);
      expect(su).toMatch(inSlice(uid));
      expect(await e.slice(uid)).toMatchObject(expectedSlice(0.5, 512 * M));
    }, 60_000);

    it("sudo -iu esc1 inside root's ssh session: esc1's slice", async () => {
      const r = await e.ssh('root', `cat /proc/self/cgroup; echo @@; sudo -iu esc1 cat /proc/self/cgroup; echo @@; cat /proc/self/cgroup`);
      expect(r.code, r.stderr).toBe(0);
      const [before, sudo, after] = parts(r.stdout);
      expect(after).toBe(before);
      expect(sudo).toMatch(inSlice(await uidOf('esc1')));
    }, 60_000);

    it("su - root and sudo -i (target root) inside root's ssh session move nothing", async () => {
      const r = await e.ssh('root', `cat /proc/self/cgroup; echo @@; su - root -c 'cat /proc/self/cgroup'; echo @@; sudo -i cat /proc/self/cgroup; echo @@; cat /proc/self/cgroup`);
      expect(r.code, r.stderr).toBe(0);
      const [before, su, sudo, after] = parts(r.stdout);
      expect(before).toMatch(/^\/user\.slice\/user-0\.slice\/session-/);
      expect([su, sudo, after]).toEqual([before, before, before]);
    }, 60_000);

    it("a cron job of esc1: esc1's slice (every run, except those while the daemon was stopped on purpose)", async () => {
      const uid = await uidOf('esc1');
      // cron reads the new crontab at a minute and runs it at that minute or the next; a run after the daemon came back is awaited
      const end = Math.max(timings.crontabAt, daemonDown.to) + 135_000;
      const margin = 3000;
      const whileDown = (r: { atMs: number }) => daemonDown.from > 0 && r.atMs >= daemonDown.from - margin && r.atMs <= daemonDown.to + margin;
      const afterDown = (r: { atMs: number }) => !whileDown(r) && r.atMs > daemonDown.to;
      const runs = async () => {
        const r = await e.c.exec(`cd /tmp/esc1-cron 2>/dev/null && for f in *; do [ -f "$f" ] && printf '%s\\n%s@@\\n' "$f" "$(cat -- "$f")"; done`, { allowFail: true });
        return r.stdout.split('@@\n').filter((x) => x.trim()).map((x) => {
          const [at, ...rest] = x.split('\n');
          return { atMs: Number(at) * 1000, out: rest.join('\n') };
        });
      };
      let all = await runs();
      while (!all.some(afterDown) && Date.now() < end) {
        await new Promise((r) => setTimeout(r, 1000));
        all = await runs();
      }
      const log = await e.journal('-u cron -n 20');
      expect(all.some(afterDown), `no run of esc1's cron job while diycloudd ran (runs at ${all.map((r) => new Date(r.atMs).toISOString()).join(', ') || 'none'}); cron's journal:\n${log}`).toBe(true);
      const checked = all.filter((r) => !whileDown(r));
      console.log(`[${dist}] esc1's cron runs: ${all.length}, ${all.length - checked.length} while diycloudd was stopped (not checked)`);
      for (const r of checked) expect(systemdCgroup(r.out), `run at ${new Date(r.atMs).toISOString()}: ${r.out}`).toMatch(inSlice(uid));
    }, 150_000);
  });

  it.each([8, 50])('%i parallel CreateUser calls of different names all succeed with distinct UIDs; DeleteUser removes them', async (n) => {
    const names = Array.from({ length: n }, (_, i) => `pc${n}x${i}`);
    const parallel = async (call: (u: string) => string) => {
      const r = await e.c.exec(`d=$(mktemp -d); for u in ${names.join(' ')}; do ( ( ${call('$u')} ) > $d/$u 2>&1; echo "rc=$?" >> $d/$u ) & done; wait; ` +
        `for u in ${names.join(' ')}; do echo "$u $(tr '\\n' ' ' < $d/$u)"; done; rm -rf $d`, { timeoutMs: 240_000 });
      return r.stdout.trim().split('\n').map((l) => { const [u, ...rest] = l.split(' '); return { u, out: rest.join(' ').trim() }; });
    };
    const busctl = `busctl --timeout=180 call ${MGR.join(' ')}`;
    const t = Date.now();
    const made = await parallel((u) => `${busctl} CreateUser sssa{sv} ${u} '' user 0`);
    timings[`create${n}Ms`] = Date.now() - t;
    try {
      expect(made.filter((m) => !/^u \d+ rc=0$/.test(m.out))).toEqual([]);
      const uids = made.map((m) => Number(/^u (\d+)/.exec(m.out)![1]));
      expect(new Set(uids).size).toBe(n);
      for (const [i, m] of made.entries()) expect((await e.c.exec(`id -u ${m.u}`)).stdout.trim()).toBe(String(uids[i]));
    } finally {
      const gone = await parallel((u) => `getent passwd ${u} >/dev/null || exit 0; ${busctl} DeleteUser sa{sv} ${u} 1 remove_home b true`);
      expect(gone.filter((g) => g.out !== 'rc=0')).toEqual([]);
      expect((await e.c.exec(`for u in ${names.join(' ')}; do getent passwd $u; done`, { allowFail: true })).stdout).toBe('');
    }
  }, 300_000);
});
