// diycloudctl pam enable|disable|status: the hook's PAM lines through pam-auth-update or authselect, run locally as root (not via the daemon).

import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { AUTHSELECT_PATHS, AuthselectConfigurator } from '../../../adapters/pam-config/authselect';
import { PAM_AUTH_UPDATE_PATHS, PamAuthUpdateConfigurator } from '../../../adapters/pam-config/pam-auth-update';
import { ManagerCallError } from '../../../adapters/dbus/manager-client';
import { disablePam, enablePam, pamStatus, PamUnsupported, type PamChange, type PamDeps } from '../../../app/pam-integration';
import { DiycloudError } from '../../../core/errors';
import { decidePamMechanism, type PamStatus } from '../../../core/pam-stack';
import { act, emit } from '../action';
import type { CliContext } from '../context';
import { renderFields, yesNo } from '../format';

/** This host: root or not, and the tool found at its packaged path (pam-auth-update first). */
export function systemPamDeps(): PamDeps {
  const mechanism = decidePamMechanism({ pamAuthUpdate: existsSync(PAM_AUTH_UPDATE_PATHS.program), authselect: existsSync(AUTHSELECT_PATHS.program) });
  const configurator = mechanism === 'pam-auth-update' ? new PamAuthUpdateConfigurator() : mechanism === 'authselect' ? new AuthselectConfigurator() : null;
  return { isRoot: process.getuid?.() === 0, configurator };
}

/** The use case's errors as diycloudctl's exit codes: 4 not root, 11 the tool failed, 69 no tool. */
async function mapped<T>(body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (e) {
    if (e instanceof PamUnsupported) throw new ManagerCallError('Unavailable', e.message);
    if (e instanceof DiycloudError) throw new ManagerCallError(e.code, e.message);
    throw e;
  }
}

function renderStatus(s: PamStatus): string {
  const fields: [string, string][] = [
    ['Mechanism', s.mechanism],
    ['Enabled', yesNo(s.enabled)],
    ['Profile', s.profile ?? '-'],
  ];
  if (s.mechanism === 'authselect') fields.push(['Features', s.features.length ? s.features.join(' ') : '-'], ['Base', s.base ?? '-']);
  fields.push(['Detail', s.detail]);
  return renderFields(fields);
}

function emitChange(ctx: CliContext, verb: 'enabled' | 'disabled', c: PamChange): void {
  emit(ctx, { ok: true, changed: c.changed, status: c.status }, () => `${c.changed ? verb : `already ${verb}`}: ${c.status.detail}\n`, true);
}

export function addPamCommand(program: Command, deps: () => PamDeps = systemPamDeps): void {
  const pam = program
    .command('pam')
    .description('turn the PAM login hook (pam_diycloud.so) on or off for every login, through pam-auth-update or authselect (run as root)')
    .addHelpText('after', `
Runs here, not through diycloudd. On Debian and Ubuntu it uses pam-auth-update and the profile
/usr/share/pam-configs/diycloud (common-account, common-session). On Fedora and RHEL it makes the
authselect custom profile custom/diycloud from the selected profile, adds the account and session
lines to its system-auth and password-auth, and selects it with the same features; disable selects
the base profile again. No file in /etc/pam.d is edited, and authselect is never run with --force.

Examples:
  diycloudctl pam status
  diycloudctl pam enable
  diycloudctl -q pam disable
  diycloudctl --json pam status | jq .enabled

Exit status: 0 on success (also when nothing had to change), 2 for a usage error, 4 when not run
as root, 11 when pam-auth-update or authselect failed or left the lines out (the message says
why), 69 when neither tool is installed (add the lines by hand: docs/pam-hook.md).`);

  pam
    .command('status')
    .description('say which tool owns the PAM stack, whether the hook lines are in force, and the profile')
    .addHelpText('after', `
Enabled means: pam-auth-update: the line is inside its managed block of common-account and
common-session, and /var/lib/pam lists the profile; authselect: custom/diycloud is selected and
its system-auth and password-auth (template and generated file) hold both lines.

Examples:
  diycloudctl pam status
  diycloudctl --json pam status`)
    .action(act(async (ctx) => {
      const s = await mapped(() => pamStatus(deps()));
      emit(ctx, s, () => renderStatus(s));
    }));
  pam
    .command('enable')
    .description('put the hook lines in force (idempotent)')
    .addHelpText('after', `
pam-auth-update --enable diycloud; or authselect create-profile diycloud --base-on CURRENT, the
lines added to its system-auth and password-auth, authselect select custom/diycloud FEATURES.

Examples:
  diycloudctl pam enable
  diycloudctl --json pam enable`)
    .action(act(async (ctx) => emitChange(ctx, 'enabled', await mapped(() => enablePam(deps())))));
  pam
    .command('disable')
    .description('take the hook lines out again (idempotent)')
    .addHelpText('after', `
pam-auth-update --disable diycloud (it stays off across package upgrades); or authselect select
BASE FEATURES, then the custom profile is removed.

Examples:
  diycloudctl pam disable
  diycloudctl -q pam disable`)
    .action(act(async (ctx) => emitChange(ctx, 'disabled', await mapped(() => disablePam(deps())))));
}
