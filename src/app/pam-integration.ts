// Use case: turn the PAM hook's lines on or off through the tool that owns this host's PAM stack, and say what is in force.

import { DiycloudError } from '../core/errors';
import { CUSTOM_PROFILE_ID, type PamConfigurator, type PamStatus } from '../core/pam-stack';

export interface PamDeps {
  /** The process runs as root (both tools rewrite files under /etc). */
  readonly isRoot: boolean;
  /** The tool found on this host; null when neither pam-auth-update nor authselect is installed. */
  readonly configurator: PamConfigurator | null;
}

/** What enable and disable report: the status after the change, and whether anything changed. */
export interface PamChange {
  readonly changed: boolean;
  readonly status: PamStatus;
}

/** Thrown when neither tool is installed: the CLI exits 69 (EX_UNAVAILABLE), the lines must be added by hand. */
export class PamUnsupported extends Error {
  constructor() {
    super('neither pam-auth-update nor authselect is installed: add the pam_diycloud.so lines by hand (docs/pam-hook.md, "The PAM lines")');
    this.name = 'PamUnsupported';
  }
}

function configuratorOf(deps: PamDeps, needsRoot: boolean): PamConfigurator {
  if (needsRoot && !deps.isRoot) throw new DiycloudError('PermissionDenied', 'diycloudctl pam enable and disable change the PAM stack: run them as root');
  if (!deps.configurator) throw new PamUnsupported();
  return deps.configurator;
}

/** Status needs no change, but reading /var/lib/pam and /etc/authselect still wants root on most hosts: it asks for it too. */
export async function pamStatus(deps: PamDeps): Promise<PamStatus> {
  if (!deps.isRoot) throw new DiycloudError('PermissionDenied', 'diycloudctl pam status reads the PAM configuration: run it as root');
  return configuratorOf(deps, false).status();
}

/**
 * enable: nothing to do when both lines are in force; otherwise the tool adds them, and the status
 * read afterwards must say enabled (pam-auth-update leaves files an admin edited alone and still
 * exits 0: that is a failure here, with the tool's reason).
 */
export async function enablePam(deps: PamDeps): Promise<PamChange> {
  const c = configuratorOf(deps, true);
  const before = await c.status();
  if (before.enabled) return { changed: false, status: before };
  await c.enable();
  const after = await c.status();
  if (!after.enabled) throw new DiycloudError('BackendFailed', `${c.mechanism} did not put the diycloud lines in force: ${after.detail}`);
  return { changed: true, status: after };
}

/** disable: the mirror image; nothing to do when the lines are not in force. */
export async function disablePam(deps: PamDeps): Promise<PamChange> {
  const c = configuratorOf(deps, true);
  const before = await c.status();
  if (!before.enabled && !isDiycloudProfile(before)) return { changed: false, status: before };
  await c.disable();
  const after = await c.status();
  if (after.enabled) throw new DiycloudError('BackendFailed', `${c.mechanism} left the diycloud lines in force: ${after.detail}`);
  return { changed: true, status: after };
}

/** authselect's custom/diycloud selected but damaged (lines missing) still counts as ours to undo. */
function isDiycloudProfile(s: PamStatus): boolean {
  return s.mechanism === 'authselect' && s.profile === CUSTOM_PROFILE_ID;
}
