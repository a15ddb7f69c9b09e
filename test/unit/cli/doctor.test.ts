// Unit: doctor's text rendering, the real gatherer on this host (checked against /proc/mounts read here), and the command's exit path.
import { mkdtempSync, realpathSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { gatherFacts, systemGatherDeps } from '../../../src/adapters/doctor/gather';
import { diagnose, type Check } from '../../../src/core/doctor';
import { askDaemon, renderDoctor } from '../../../src/entry/cli/commands/doctor';
import { buildProgram } from '../../../src/entry/cli/program';

const dir = mkdtempSync(join(tmpdir(), 'diycloud-doctor-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
/** No bus listens here: the daemon check must fail at once, whatever this host runs. */
const noBus = `unix:path=${join(dir, 'no-bus-socket')}`;

/** The /proc/mounts line holding `path`: the longest mount point that is a prefix (independent of the code under test). */
function mountOf(path: string): { mountPoint: string; fsType: string; options: string[] } {
  const real = realpathSync(path);
  let best = { mountPoint: '', fsType: '', options: [] as string[] };
  for (const line of readFileSync('/proc/mounts', 'utf8').split('\n')) {
    const [, mp, fsType, opts] = line.split(' ');
    if (mp === undefined || fsType === undefined || opts === undefined) continue;
    const inside = mp === '/' || real === mp || real.startsWith(`${mp}/`);
    if (inside && mp.length >= best.mountPoint.length) best = { mountPoint: mp, fsType, options: opts.split(',') };
  }
  return best;
}

const byId = (checks: Check[], id: string): Check | undefined => checks.find((c) => c.id === id);

describe('renderDoctor', () => {
  it('prints the table, then a fix line for each check that is not ok', () => {
    const checks: Check[] = [
      { id: 'a', title: 'alpha', status: 'ok', detail: 'fine', fix: null },
      { id: 'b', title: 'beta', status: 'fail', detail: 'broken', fix: 'do x' },
      { id: 'c', title: 'gamma', status: 'warn', detail: 'meh', fix: 'do y' },
    ];
    const text = renderDoctor(checks);
    expect(text.split('\n')[0]).toMatch(/^CHECK\s+STATUS\s+DETAIL$/);
    expect(text).toContain('beta   fail    broken');
    expect(text).toContain('FAIL beta\n  fix: do x\n');
    expect(text).toContain('warn gamma\n  fix: do y\n');
    expect(text).not.toContain('fix: null');
    expect(renderDoctor([checks[0]!])).not.toContain('fix:');
  });
});

describe('gatherFacts on this host', () => {
  it('judges cgroups and quota as /proc/mounts says, and an unreachable daemon fails', async () => {
    const checks = diagnose(await gatherFacts(systemGatherDeps(join(dir, 'absent.conf'), () => askDaemon(noBus, 2000))));
    expect(byId(checks, 'config')).toMatchObject({ status: 'ok' });
    expect(byId(checks, 'daemon')).toMatchObject({ status: 'fail' });

    const mounts = readFileSync('/proc/mounts', 'utf8').split('\n').map((l) => l.split(' '));
    const v1 = (c: string) => mounts.some((f) => f[2] === 'cgroup' && f[1]?.startsWith('/sys/fs/cgroup/') && f[3]?.split(',').includes(c));
    const cgroups = byId(checks, 'cgroups')!;
    if (!existsSync('/run/systemd/system') && mounts.some((f) => f[1] === '/sys/fs/cgroup' && f[2] === 'tmpfs') && v1('cpu') && v1('memory')) {
      // This host: hybrid v1, no systemd as PID 1.
      expect(cgroups).toMatchObject({ status: 'ok', fix: null });
      expect(cgroups.detail).toContain('cgroupfs (v1)');
      expect(byId(checks, 'unit')?.status).toBe('warn');
    } else if (existsSync('/run/systemd/system')) expect(cgroups.detail).toBe('systemd');

    const home = mountOf('/home');
    const quota = byId(checks, `quota:${home.mountPoint}`);
    expect(quota, checks.map((c) => c.id).join(', ')).toBeDefined();
    if (home.fsType === 'ext4' && !home.options.some((o) => o === 'usrquota' || o === 'quota' || o.startsWith('usrjquota='))) {
      // ext4 without usrquota (and here, a kernel without CONFIG_QUOTA): off, with how to turn it on.
      expect(quota!.status).toBe('fail');
      expect(quota!.fix).toBeTruthy();
      expect(quota!.detail).toContain(`${home.mountPoint} (ext4, quota-tools)`);
    }
  }, 30_000);

  it('an invalid config fails with the parser message, and the other checks still run on the defaults', async () => {
    const conf = join(dir, 'bad.conf');
    writeFileSync(conf, '[Limits]\nMinCPU = lots\n');
    const checks = diagnose(await gatherFacts(systemGatherDeps(conf, () => Promise.reject(new Error('not asked')))));
    const config = byId(checks, 'config')!;
    expect(config.status).toBe('fail');
    expect(config.detail).toContain(`${conf}: [Limits] MinCPU`);
    expect(checks.some((c) => c.id.startsWith('quota:'))).toBe(true);
    expect(byId(checks, 'daemon')).toMatchObject({ status: 'fail', detail: 'not asked' });
  }, 30_000);
});

describe('diycloudctl doctor', () => {
  it('--json prints { checks, ok } and a failed check exits 1 (not a usage error)', async () => {
    const out: string[] = [];
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => (out.push(String(s)), true));
    let err: unknown;
    try {
      await buildProgram('0.0.0').parseAsync(['node', 'diycloudctl', '--json', '--bus-address', noBus, 'doctor', '--config', join(dir, 'absent.conf')]);
    } catch (e) {
      err = e;
    } finally {
      spy.mockRestore();
    }
    const doc = JSON.parse(out.join('')) as { checks: Check[]; ok: boolean };
    expect(doc.ok).toBe(false); // at least the daemon on a bus that is not there
    expect(byId(doc.checks, 'daemon')?.status).toBe('fail');
    expect(err).toMatchObject({ name: 'ProblemsFound', exitCode: 1 });
  }, 30_000);
});
