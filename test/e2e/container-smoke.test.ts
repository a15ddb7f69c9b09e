// Smoke test of the e2e container platform: boot, PAM/logind sessions, slice limits, su, ssh, runtime modules, install.sh.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bootContainer, buildRuntimeModules, e2eSkip, installDiycloud, REPO_ROOT, type Container, type Dist } from './lib/container';

const skip = e2eSkip();
const DISTS: Dist[] = ['bookworm', 'trixie'];

// A stand-in for the real pam hook: puts the login's user slice under limits the way diycloud will.
const STUB_HOOK = `#!/bin/sh
uid=$(/usr/bin/id -u "$PAM_USER") || exit 0
exec /usr/bin/systemctl set-property --runtime "user-$uid.slice" CPUQuota=50% MemoryMax=256M
`;
const PAM_SERVICE = `@include common-auth
@include common-account
@include common-session
session optional pam_exec.so type=open_session quiet /usr/local/sbin/e2e-stub-hook
`;

describe.skipIf(skip).each(DISTS)('container smoke (%s)', (dist) => {
  let c: Container;
  let work: string;
  let modules: string;
  let uid: number;
  const timings: Record<string, number> = {};

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), `diycloud-e2e-work-${dist}-`));
    let t = Date.now();
    c = await bootContainer({ dist });
    timings.bootMs = Date.now() - t;
    t = Date.now();
    await c.waitRunning();
    timings.waitRunningMs = Date.now() - t;
    t = Date.now();
    modules = await buildRuntimeModules(c.root, join(work, 'modules'));
    timings.runtimeModulesMs = Date.now() - t;
    await c.exec('useradd -m -s /bin/bash alice');
    uid = Number((await c.exec('id -u alice')).stdout.trim());
  }, 600_000);

  afterAll(async () => {
    console.log(`[${dist}] timings`, timings);
    await c?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  }, 60_000);

  it('boots systemd to running (or degraded, with the failed units listed)', async () => {
    const state = (await c.exec('systemctl is-system-running', { allowFail: true })).stdout.trim();
    if (state !== 'running') console.warn(`[${dist}] ${state}:`, (await c.exec('systemctl --failed --no-legend')).stdout);
    expect(['running', 'degraded']).toContain(state);
    expect((await c.exec('systemctl is-active dbus.service systemd-logind.service')).stdout).not.toMatch(/inactive|failed/);
  });

  it('a PAM open_session creates a logind session and the pam_exec hook sets user-UID.slice limits', async () => {
    await c.writeFile('/usr/local/sbin/e2e-stub-hook', STUB_HOOK, 0o755);
    await c.writeFile('/etc/pam.d/diycloud-test', PAM_SERVICE);
    const r = await c.exec('pamtester -v diycloud-test alice open_session close_session', { timeoutMs: 30_000 });
    expect(r.stderr + r.stdout).toMatch(/successfully opened a session/);
    const show = await c.exec(`systemctl show user-${uid}.slice -p CPUQuotaPerSecUSec -p MemoryMax`);
    expect(show.stdout).toContain('CPUQuotaPerSecUSec=500ms');
    expect(show.stdout).toContain('MemoryMax=268435456');
  });

  it('su - alice works', async () => {
    const r = await c.exec('su - alice -c "id -un; id -u"');
    expect(r.stdout.trim().split('\n')).toEqual(['alice', String(uid)]);
  });

  it('ssh alice@127.0.0.1 with a key works and lands in a logind session in user-UID.slice', async () => {
    await c.exec(`su - alice -c "mkdir -p -m 700 ~/.ssh && ssh-keygen -q -t ed25519 -N '' -f ~/.ssh/id_ed25519 && cat ~/.ssh/id_ed25519.pub > ~/.ssh/authorized_keys && chmod 600 ~/.ssh/authorized_keys"`);
    await c.exec('systemctl is-active ssh.service || systemctl start ssh.service');
    const r = await c.exec(
      'su - alice -c "ssh -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null alice@127.0.0.1 \'id -u; cat /proc/self/cgroup\'"',
      { timeoutMs: 30_000 });
    expect(r.stdout).toContain(String(uid));
    expect(r.stdout).toMatch(new RegExp(`user-${uid}\\.slice/session-`));
  });

  it(`the container's node loads the runtime modules (better-sqlite3 built for its ABI)`, async () => {
    rmSync(join(c.root, 'opt/e2e-modules'), { recursive: true, force: true });
    mkdirSync(join(c.root, 'opt/e2e-modules'), { recursive: true });
    execFileSync('cp', ['-R', modules, join(c.root, 'opt/e2e-modules/node_modules')]);
    const r = await c.exec(`cd /opt/e2e-modules && node -e '
      const D = require("better-sqlite3"); const db = new D(":memory:");
      require("dbus-next"); require("zod"); require("commander");
      console.log(process.versions.modules, db.prepare("select sqlite_version() v").get().v)'`);
    expect(r.stdout.trim().split(' ')[0]).toBe(dist === 'bookworm' ? '108' : '115');
  });

  it('packaging/install.sh installs inside the container, and the installed hook binary runs there', async () => {
    const t = Date.now();
    await installDiycloud(c, modules, REPO_ROOT);
    timings.installMs = Date.now() - t;
    const hook = await c.exec('env -i PAM_TYPE=auth PAM_USER=alice /usr/libexec/diycloud/pam-hook; echo "exit $?"');
    expect(hook.stdout.trim()).toBe('exit 0'); // linked and loadable on this release (built on the host)
    await c.exec('test -x /usr/sbin/diycloudd && test -x /usr/libexec/diycloud/pam-hook && test -f /etc/diycloud/diycloud.conf');
    expect((await c.exec('stat -c %a /var/lib/diycloud')).stdout.trim()).toBe('700');
    expect((await c.exec('systemctl show -p LoadState diycloudd.service')).stdout.trim()).toBe('LoadState=loaded');
    const v = await c.exec(`node -e 'require("/usr/lib/diycloud/node_modules/better-sqlite3")(":memory:"); console.log("ok")'`);
    expect(v.stdout.trim()).toBe('ok');
  });
});
