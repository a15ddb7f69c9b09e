// Unit: app/pam-integration.ts with a hand-written PamConfigurator: root check, idempotence, and a tool that leaves the lines out.
import { describe, expect, it } from 'vitest';
import { disablePam, enablePam, pamStatus, PamUnsupported } from '../../../src/app/pam-integration';
import type { PamConfigurator, PamStatus } from '../../../src/core/pam-stack';

/** A configurator whose enable may do nothing (as pam-auth-update does with hand-edited files). */
function fakeConfigurator(opts: { enableWorks?: boolean; enabled?: boolean } = {}) {
  let enabled = opts.enabled ?? false;
  const calls: string[] = [];
  const status = (): PamStatus => ({ mechanism: 'pam-auth-update', enabled, profile: 'diycloud', features: [], base: null, detail: enabled ? 'on' : 'off: hand edits' });
  const c: PamConfigurator = {
    mechanism: 'pam-auth-update',
    status: async () => status(),
    enable: async () => {
      calls.push('enable');
      if (opts.enableWorks !== false) enabled = true;
    },
    disable: async () => {
      calls.push('disable');
      enabled = false;
    },
  };
  return { c, calls };
}

describe('pam integration use cases', () => {
  it('enable then disable, each idempotent', async () => {
    const { c, calls } = fakeConfigurator();
    const deps = { isRoot: true, configurator: c };
    expect(await enablePam(deps)).toMatchObject({ changed: true, status: { enabled: true } });
    expect(await enablePam(deps)).toMatchObject({ changed: false });
    expect(await disablePam(deps)).toMatchObject({ changed: true, status: { enabled: false } });
    expect(await disablePam(deps)).toMatchObject({ changed: false });
    expect(calls).toEqual(['enable', 'disable']);
  });
  it('fails with BackendFailed and the status detail when the tool left the lines out', async () => {
    const { c } = fakeConfigurator({ enableWorks: false });
    await expect(enablePam({ isRoot: true, configurator: c })).rejects.toMatchObject({ code: 'BackendFailed', message: expect.stringMatching(/did not put the diycloud lines in force: off: hand edits/) });
  });
  it('refuses non-root before touching anything, and says when no tool exists', async () => {
    const { c, calls } = fakeConfigurator();
    for (const f of [enablePam, disablePam, pamStatus]) await expect(f({ isRoot: false, configurator: c })).rejects.toMatchObject({ code: 'PermissionDenied' });
    expect(calls).toEqual([]);
    await expect(enablePam({ isRoot: true, configurator: null })).rejects.toBeInstanceOf(PamUnsupported);
    await expect(pamStatus({ isRoot: true, configurator: null })).rejects.toBeInstanceOf(PamUnsupported);
  });
});
