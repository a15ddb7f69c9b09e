// diycloudctl web enable|disable|status: the portal behind nginx (certificate, group, site link, units), run locally as root (not via the daemon).

import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { NssGroupMembership } from '../../../adapters/accounts/nss-group-membership';
import { ManagerCallError } from '../../../adapters/dbus/manager-client';
import { HostNginxServer } from '../../../adapters/nginx/nginx-server';
import { SystemctlUnits } from '../../../adapters/systemd/systemctl-units';
import { hostFqdn } from '../../../adapters/tls/host-fqdn';
import { OpensslTlsStore } from '../../../adapters/tls/openssl-tls-store';
import { disableWeb, enableWeb, webStatus, WebUnavailable, type WebChange, type WebDeps } from '../../../app/web-portal';
import { DiycloudError } from '../../../core/errors';
import { WEB_LAYOUT, type WebStatus } from '../../../core/web-portal';
import { act, emit } from '../action';
import type { CliContext } from '../context';
import { renderFields, yesNo } from '../format';

/** This host's adapters; progress lines go to stderr unless -q or --json. */
export function systemWebDeps(progress: (line: string) => void): WebDeps {
  return {
    isRoot: process.getuid?.() === 0,
    nginx: new HostNginxServer(),
    tls: new OpensslTlsStore(),
    groups: new NssGroupMembership(),
    units: new SystemctlUnits(),
    siteFileExists: async () => existsSync(WEB_LAYOUT.siteFile),
    hostname: () => hostFqdn(),
    progress,
    now: () => new Date(),
  };
}

/** The use case's errors as exit codes: 2 bad option, 4 not root, 11 a step failed, 17 a file not ours in the way, 69 a package missing. */
async function mapped<T>(body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (e) {
    if (e instanceof WebUnavailable) throw new ManagerCallError('Unavailable', e.message);
    if (e instanceof DiycloudError) throw new ManagerCallError(e.code, e.message);
    throw e;
  }
}

function unitText(u: { enabled: string; active: string }): string {
  return `${u.enabled}, ${u.active}`;
}

function renderStatus(s: WebStatus): string {
  return renderFields([
    ['Enabled', yesNo(s.enabled)],
    ['Site', s.linkConflict ? `${s.linkPath}: ${s.linkConflict} (not ours)` : `${s.linkPath}: ${s.siteLinked ? 'linked' : 'not linked'}`],
    ['Certificate', s.certPresent ? `${WEB_LAYOUT.certFile}, expires ${s.certExpires ?? 'unknown'}` : 'missing'],
    ['Key', s.keyPresent ? WEB_LAYOUT.keyFile : 'missing'],
    ['nginx user', s.nginxUser === null ? 'unknown' : `${s.nginxUser} (${s.nginxUserInGroup ? 'in' : 'not in'} group ${WEB_LAYOUT.group})`],
    ['Service', `${WEB_LAYOUT.unit}: ${unitText(s.unit)}`],
    ['nginx', `nginx.service: ${unitText(s.nginx)}`],
    ['nginx -t', s.nginxTest.ok ? 'ok' : `failed: ${s.nginxTest.message.replace(/\n/g, '; ')}`],
  ]) + (s.missing.length ? `\nMissing:\n${s.missing.map((m) => `  - ${m}\n`).join('')}` : '');
}

function emitChange(ctx: CliContext, verb: 'enabled' | 'disabled', c: WebChange): void {
  emit(ctx, { ok: true, changed: c.changed, steps: c.steps, status: c.status }, () => `${c.changed ? verb : `already ${verb}`}${verb === 'enabled' ? ': nginx serves the portal over HTTPS (port 443)' : ': the certificate and the group membership were kept'}\n`, true);
}

const progressOf = (ctx: CliContext) => (line: string): void => {
  if (!ctx.quiet) process.stderr.write(`${line}\n`);
};

export function addWebCommand(program: Command, deps: (progress: (line: string) => void) => WebDeps = systemWebDeps): void {
  const web = program
    .command('web')
    .description('turn the web portal (diycloud-web behind nginx) on or off: certificate, group, site link, service (run as root)')
    .addHelpText('after', `
Runs here, not through diycloudd. Needs nginx and the diycloud-web package, which ships the site
${WEB_LAYOUT.siteFile} and ${WEB_LAYOUT.unit}.

Examples:
  diycloudctl web enable
  diycloudctl web enable --hostname portal.example.org
  diycloudctl web enable --cert /root/portal.crt --key /root/portal.key
  diycloudctl web status
  diycloudctl web disable

Exit status: 0 on success (also when nothing had to change), 2 for a bad option or an unusable
--cert/--key, 4 when not run as root, 11 when a step failed (nginx -t, openssl, usermod, systemctl:
the message says which and why), 17 when a file that is not diycloud's is where the link or the
certificate goes (it is left alone), 69 when nginx, openssl or the diycloud-web package is missing.
web status: 0 when the portal is fully enabled, 1 when something is missing (listed).`);

  web
    .command('status')
    .description('say whether the site is linked, the certificate (and its expiry), nginx\'s user in the group, the service, and nginx -t')
    .addHelpText('after', `
Exit status 0 when every part is in place and nginx -t passes, 1 when something is missing (each
listed under "Missing", or in .missing with --json), 4 when not run as root.

Examples:
  diycloudctl web status
  diycloudctl --json web status | jq .missing`)
    .action(act(async (ctx) => {
      const s = await mapped(() => webStatus(deps(progressOf(ctx))));
      emit(ctx, s, () => renderStatus(s));
      if (!s.enabled) throw new ManagerCallError('Failed', `the web portal is not fully enabled: ${s.missing.length} thing${s.missing.length === 1 ? '' : 's'} missing (diycloudctl web enable sets them up)`);
    }));
  web
    .command('enable')
    .description('set the portal up behind nginx and start it (idempotent; each step said on stderr)')
    .option('--cert <file>', 'use this PEM certificate (with --key) instead of a self-signed one; copied, never over an existing one')
    .option('--key <file>', 'the unencrypted PEM private key of --cert (copied with mode 0600)')
    .option('--hostname <name>', "the self-signed certificate's CN and subjectAltName (default: this host's FQDN)")
    .addHelpText('after', `
In order: a certificate (kept when ${WEB_LAYOUT.certFile} and key.pem exist; else --cert/--key
copied; else self-signed with openssl for --hostname or this host's name, 825 days); nginx's worker
user (nginx.conf's user directive, else www-data or nginx) added to group ${WEB_LAYOUT.group};
the site linked (/etc/nginx/sites-enabled/diycloud-web, or /etc/nginx/conf.d/diycloud-web.conf
where there is no sites-enabled); nginx -t (on failure the new link is removed again);
systemctl enable --now ${WEB_LAYOUT.unit}; nginx reloaded, or started when inactive.

Examples:
  diycloudctl web enable
  diycloudctl --json web enable --hostname portal.example.org`)
    .action(act(async (ctx, opts: { cert?: string; key?: string; hostname?: string }) => {
      const o = { certPath: opts.cert === undefined ? undefined : resolve(opts.cert), keyPath: opts.key === undefined ? undefined : resolve(opts.key), hostname: opts.hostname };
      emitChange(ctx, 'enabled', await mapped(() => enableWeb(deps(progressOf(ctx)), o)));
    }));
  web
    .command('disable')
    .description('stop the portal: remove the site link (only ours), reload nginx, systemctl disable --now diycloud-web (idempotent)')
    .addHelpText('after', `
The certificate, its key and nginx's user's membership of group ${WEB_LAYOUT.group} stay (a later
enable uses them again); a file in the link's place that is not diycloud's symlink is left alone.

Examples:
  diycloudctl web disable
  diycloudctl -q web disable`)
    .action(act(async (ctx) => emitChange(ctx, 'disabled', await mapped(() => disableWeb(deps(progressOf(ctx)))))));
}
