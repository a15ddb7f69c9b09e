// PamConfigurator for Debian and Ubuntu: pam-auth-update and the profile /usr/share/pam-configs/diycloud.

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DiycloudError } from '../../core/errors';
import { HOOK_TYPES, PROFILE_NAME, hookInManagedBlock, profileInSavedState, type PamConfigurator, type PamStatus } from '../../core/pam-stack';
import { runProgram } from '../exec/run-program';
import type { RunFn } from '../exec/program-runner';

export interface PamAuthUpdatePaths {
  readonly program: string;
  /** Where pam-auth-update writes common-account and common-session. */
  readonly pamDir: string;
  /** Its saved state: one file per type listing "Module: NAME" for each enabled profile. */
  readonly stateDir: string;
  /** Where the profile lives. */
  readonly profilesDir: string;
}

export const PAM_AUTH_UPDATE_PATHS: PamAuthUpdatePaths = { program: '/usr/sbin/pam-auth-update', pamDir: '/etc/pam.d', stateDir: '/var/lib/pam', profilesDir: '/usr/share/pam-configs' };

const readOr = (path: string, fallback: string): Promise<string> => readFile(path, 'utf8').catch(() => fallback);

/**
 * enable is `pam-auth-update --enable diycloud`, disable `pam-auth-update --disable diycloud`
 * (not `--remove`, which is for the package's removal: a removed profile counts as unseen and a
 * later `pam-auth-update --package` would enable it again, since it is `Default: yes`).
 * pam-auth-update asks through debconf: DEBIAN_FRONTEND=noninteractive (set with env(1), the only
 * variable added to the clean environment) keeps it from waiting for a terminal. It takes no "--":
 * a following "--…" argument ends its list of names; the name is our constant anyway.
 * Enabled means: the line sits in pam-auth-update's managed "Additional" block of both
 * common-account and common-session, and its saved state lists the profile for both types.
 */
export class PamAuthUpdateConfigurator implements PamConfigurator {
  readonly mechanism = 'pam-auth-update' as const;
  /** What pam-auth-update last said (e.g. "Local modifications to /etc/pam.d/common-*, not updating."). */
  private lastWords = '';

  constructor(private readonly paths: PamAuthUpdatePaths = PAM_AUTH_UPDATE_PATHS, private readonly run: RunFn = runProgram) {}

  async status(): Promise<PamStatus> {
    const profile = await readOr(join(this.paths.profilesDir, PROFILE_NAME), '');
    const missing: string[] = [];
    let noLine = 0;
    for (const type of HOOK_TYPES) {
      const common = await readOr(join(this.paths.pamDir, `common-${type}`), '');
      const saved = await readOr(join(this.paths.stateDir, type), '');
      if (!hookInManagedBlock(common, type)) {
        noLine++;
        missing.push(`common-${type} has no ${type} line for pam_diycloud.so in its pam-auth-update block`);
      } else if (!profileInSavedState(saved)) missing.push(`${join(this.paths.stateDir, type)} does not list the diycloud profile`);
    }
    const installed = profile !== '';
    const detail = !installed
      ? `the profile ${join(this.paths.profilesDir, PROFILE_NAME)} is missing (reinstall diycloud)`
      : missing.length === 0
        ? 'the diycloud profile is enabled: common-account and common-session run pam_diycloud.so'
        : noLine === HOOK_TYPES.length
          ? `the diycloud profile is not enabled: no pam_diycloud.so line in the pam-auth-update block of common-account or common-session${this.said()}`
          : `the diycloud profile is only partly enabled: ${missing.join('; ')}${this.said()}`;
    return { mechanism: this.mechanism, enabled: installed && missing.length === 0, profile: installed ? PROFILE_NAME : null, features: [], base: null, detail };
  }

  private said(): string {
    return this.lastWords ? `; pam-auth-update said: ${this.lastWords}` : '';
  }

  async enable(): Promise<void> {
    if ((await this.status()).profile === null) throw new DiycloudError('BackendFailed', `the pam-auth-update profile ${join(this.paths.profilesDir, PROFILE_NAME)} is missing: reinstall diycloud`);
    await this.pamAuthUpdate('--enable');
  }

  async disable(): Promise<void> {
    await this.pamAuthUpdate('--disable');
  }

  private async pamAuthUpdate(flag: '--enable' | '--disable'): Promise<void> {
    const r = await this.run('/usr/bin/env', ['DEBIAN_FRONTEND=noninteractive', this.paths.program, flag, PROFILE_NAME], { timeoutMs: 60_000 });
    // It exits 0 even when it declines to touch hand-edited files; the status read afterwards catches that, and its words go with it.
    const said = (r.stderr + r.stdout).trim().replace(/\s+/g, ' ');
    if (r.code !== 0) throw new DiycloudError('BackendFailed', `pam-auth-update ${flag} ${PROFILE_NAME} failed (exit ${r.code ?? r.signal})${said ? `: ${said}` : ''}`);
    this.lastWords = said;
  }
}
