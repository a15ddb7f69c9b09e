// PamConfigurator for Fedora and RHEL: an authselect custom profile, custom/diycloud, made from the selected profile plus the hook's lines.

import { lstat, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DiycloudError } from '../../core/errors';
import {
  CUSTOM_PROFILE_ID,
  PROFILE_NAME,
  composeProfileReadme,
  hookLinesIn,
  insertHookLines,
  parseAuthselectCurrent,
  parseProfileBase,
  type AuthselectSelection,
  type PamConfigurator,
  type PamStatus,
} from '../../core/pam-stack';
import { runProgram } from '../exec/run-program';
import type { RunFn } from '../exec/program-runner';

export interface AuthselectPaths {
  readonly program: string;
  /** authselect's own directory: the generated files, and custom profiles under custom/. */
  readonly configDir: string;
}

export const AUTHSELECT_PATHS: AuthselectPaths = { program: '/usr/bin/authselect', configDir: '/etc/authselect' };

/** The templates that get the lines: the stacks /etc/pam.d/system-auth and password-auth (sshd includes the latter). */
export const HOOKED_TEMPLATES = ['system-auth', 'password-auth'] as const;

/** Profile and feature names go into argv; authselect reads any argument starting with "-" as an option (no "--"), so only plain names pass. */
const SAFE_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.\/-]*$/;

/**
 * enable: `authselect current --raw` gives the selected profile and features (authselect must
 * manage the host already; diycloudctl never passes --force, which would overwrite a configuration
 * authselect did not write). `authselect create-profile diycloud --base-on BASE --symlink-nsswitch
 * --symlink-dconf` copies BASE's PAM templates (copies, so editing them leaves BASE alone; nsswitch
 * and dconf stay links to BASE), the hook's lines go into system-auth and password-auth
 * (core/pam-stack.ts insertHookLines), the README records BASE, and `authselect select
 * custom/diycloud FEATURES` writes /etc/authselect/* (the /etc/pam.d links are authselect's).
 * disable: `authselect select BASE FEATURES`, then the custom profile is removed, so the next
 * enable starts from whatever is selected then. Nothing under /etc/pam.d is written by us.
 */
export class AuthselectConfigurator implements PamConfigurator {
  readonly mechanism = 'authselect' as const;

  constructor(private readonly paths: AuthselectPaths = AUTHSELECT_PATHS, private readonly run: RunFn = runProgram) {}

  private get profileDir(): string {
    return join(this.paths.configDir, 'custom', PROFILE_NAME);
  }

  async status(): Promise<PamStatus> {
    const cur = await this.current();
    if (cur === null) return this.report(false, null, [], null, 'authselect manages no configuration on this host (authselect current: "No existing configuration detected")');
    if (cur.profile !== CUSTOM_PROFILE_ID) return this.report(false, cur.profile, cur.features, null, `profile ${cur.profile} is selected, not ${CUSTOM_PROFILE_ID}`);
    const base = parseProfileBase(await readFile(join(this.profileDir, 'README'), 'utf8').catch(() => ''));
    const missing: string[] = [];
    for (const t of HOOKED_TEMPLATES) {
      const dirs = [this.profileDir, this.paths.configDir];
      for (const dir of dirs) {
        const lines = hookLinesIn(await readFile(join(dir, t), 'utf8').catch(() => ''));
        for (const type of ['account', 'session'] as const) if (!lines[type]) missing.push(`${join(dir, t)} has no ${type} line for pam_diycloud.so`);
      }
    }
    const detail = missing.length ? `${CUSTOM_PROFILE_ID} is selected, but ${missing.join('; ')}` : `${CUSTOM_PROFILE_ID} (based on ${base ?? 'an unrecorded profile'}) is selected: system-auth and password-auth run pam_diycloud.so`;
    return this.report(missing.length === 0, cur.profile, cur.features, base, detail);
  }

  async enable(): Promise<void> {
    const cur = await this.current();
    if (cur === null) throw new DiycloudError('BackendFailed', 'authselect manages no configuration on this host: select a profile first (authselect select local, or sssd); diycloudctl never uses --force');
    if (cur.profile !== CUSTOM_PROFILE_ID) {
      await rm(this.profileDir, { recursive: true, force: true }); // a leftover of an earlier enable, not selected: made again from the current base
      await this.authselect(['create-profile', PROFILE_NAME, '--base-on', cur.profile, '--symlink-nsswitch', '--symlink-dconf']);
      await this.writeRegular('README', composeProfileReadme(cur.profile));
    }
    for (const t of HOOKED_TEMPLATES) {
      const text = await readFile(join(this.profileDir, t), 'utf8');
      let result: { text: string; changed: boolean };
      try {
        result = insertHookLines(text);
      } catch (e) {
        throw new DiycloudError('BackendFailed', `cannot add the hook to ${join(this.profileDir, t)}: ${e instanceof Error ? e.message : String(e)}`);
      }
      if (result.changed) await this.writeRegular(t, result.text);
    }
    await this.authselect(['select', CUSTOM_PROFILE_ID, ...cur.features]);
  }

  async disable(): Promise<void> {
    const cur = await this.current();
    if (cur === null || cur.profile !== CUSTOM_PROFILE_ID) return;
    const base = parseProfileBase(await readFile(join(this.profileDir, 'README'), 'utf8').catch(() => ''));
    if (base === null) throw new DiycloudError('BackendFailed', `${join(this.profileDir, 'README')} does not record the base profile: select one yourself (authselect select sssd ${cur.features.join(' ')})`);
    await this.authselect(['select', base, ...cur.features]);
    await rm(this.profileDir, { recursive: true, force: true });
  }

  private report(enabled: boolean, profile: string | null, features: readonly string[], base: string | null, detail: string): PamStatus {
    return { mechanism: this.mechanism, enabled, profile, features, base, detail };
  }

  private async current(): Promise<AuthselectSelection | null> {
    const r = await this.run(this.paths.program, ['current', '--raw']);
    let sel: AuthselectSelection | null;
    try {
      sel = parseAuthselectCurrent(r.code, r.stdout);
    } catch (e) {
      throw new DiycloudError('BackendFailed', `authselect current --raw: ${e instanceof Error ? e.message : String(e)}${r.stderr.trim() ? `: ${r.stderr.trim()}` : ''}`);
    }
    for (const name of sel ? [sel.profile, ...sel.features] : []) if (!SAFE_NAME.test(name)) throw new DiycloudError('BackendFailed', `authselect current printed an unexpected name: ${JSON.stringify(name)}`);
    return sel;
  }

  private async authselect(args: string[]): Promise<void> {
    const r = await this.run(this.paths.program, args, { timeoutMs: 60_000 });
    if (r.code === 0) return;
    const said = (r.stderr + r.stdout).trim().replace(/\s+/g, ' ');
    const hint = r.code === 4 ? ' (authselect found changes it did not make and wants --force; diycloudctl never forces: see authselect check)' : '';
    throw new DiycloudError('BackendFailed', `authselect ${args.join(' ')} failed (exit ${r.code ?? r.signal})${hint}${said ? `: ${said}` : ''}`);
  }

  /** Replaces a file of the custom profile; a symbolic link there would lead into another profile, so it is refused. */
  private async writeRegular(name: string, text: string): Promise<void> {
    const path = join(this.profileDir, name);
    const st = await lstat(path).catch(() => null);
    if (st && !st.isFile()) throw new DiycloudError('BackendFailed', `${path} is not a regular file: refusing to write through it`);
    await writeFile(`${path}.diycloud-new`, text, { mode: 0o644 });
    await rename(`${path}.diycloud-new`, path);
  }
}
