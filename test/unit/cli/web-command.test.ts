// Unit: diycloudctl web through commander with fake ports: --json on stdout, progress on stderr, and the exit codes.
import { Command } from 'commander';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { WebDeps } from '../../../src/app/web-portal';
import { addWebCommand } from '../../../src/entry/cli/commands/web';
import { describeFailure } from '../../../src/entry/cli/errors';
import { MemoryGroups, MemoryNginx, MemoryTls, MemoryUnits } from '../../fakes/memory-web-host';

function setup(site = true) {
  const nginx = new MemoryNginx();
  const fake = { nginx, tls: new MemoryTls(), groups: new MemoryGroups(), units: new MemoryUnits() };
  const program = new Command('diycloudctl').option('--json').option('-q, --quiet').exitOverride();
  addWebCommand(program, (progress): WebDeps => ({ isRoot: true, ...fake, siteFileExists: async () => site, hostname: async () => 'vm.example.org', progress, now: () => new Date('2026-01-01T00:00:00Z') }));
  const out: string[] = [];
  const err: string[] = [];
  vi.spyOn(process.stdout, 'write').mockImplementation((s) => (out.push(String(s)), true));
  vi.spyOn(process.stderr, 'write').mockImplementation((s) => (err.push(String(s)), true));
  const run = async (...args: string[]): Promise<number> => {
    try {
      await program.parseAsync(args, { from: 'user' });
      return 0;
    } catch (e) {
      return describeFailure(e).exitCode;
    }
  };
  return { run, out, err, fake };
}

afterEach(() => vi.restoreAllMocks());

describe('diycloudctl web', () => {
  it('status exits 1 until enable, 0 after; enable --json prints one summary and says its steps on stderr', async () => {
    const t = setup();
    expect(await t.run('--json', 'web', 'status')).toBe(1);
    expect(JSON.parse(t.out.join(''))).toMatchObject({ enabled: false, siteLinked: false });
    t.out.length = 0;
    expect(await t.run('--json', 'web', 'enable', '--hostname', 'portal.example.org')).toBe(0);
    const summary = JSON.parse(t.out.join(''));
    expect(summary).toMatchObject({ ok: true, changed: true, status: { enabled: true } });
    expect(summary.steps.length).toBe(6);
    expect(t.err.join('')).toMatch(/self-signed certificate for portal\.example\.org/);
    t.out.length = 0;
    expect(await t.run('web', 'status')).toBe(0);
    expect(t.out.join('')).toMatch(/Enabled: yes/);
  });
  it('exit codes: 17 for a file not ours at the link, 69 without the package, 2 for --cert without --key', async () => {
    const t = setup();
    t.fake.nginx.state = { kind: 'foreign', what: 'a file' };
    expect(await t.run('web', 'enable')).toBe(17);
    expect(await setup(false).run('web', 'enable')).toBe(69);
    expect(await setup().run('web', 'enable', '--cert', '/root/c.pem')).toBe(2);
  });
  it('-q keeps the progress lines off stderr; disable says what it kept', async () => {
    const t = setup();
    expect(await t.run('-q', 'web', 'enable')).toBe(0);
    expect(t.err).toEqual([]);
    expect(await t.run('web', 'disable')).toBe(0);
    expect(t.err.join('')).toMatch(/removed the link[\s\S]*kept: the certificate and key/);
    expect(t.out.join('')).toMatch(/^disabled: /m);
  });
});
