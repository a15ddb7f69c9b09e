// Use case: turn the web portal on or off behind nginx (certificate, group, site link, nginx -t, units), and say what is in force.

import { DiycloudError } from '../core/errors';
import {
  certificateNameKind, decideNginxUser, judgeWebStatus, planCertificate, WEB_LAYOUT,
  type GroupMembership, type NginxServer, type TlsStore, type UnitControl, type UnitState, type WebStatus,
} from '../core/web-portal';

export interface WebDeps {
  readonly isRoot: boolean;
  readonly nginx: NginxServer;
  readonly tls: TlsStore;
  readonly groups: GroupMembership;
  readonly units: UnitControl;
  /** The package's site file (WEB_LAYOUT.siteFile) exists. */
  siteFileExists(): Promise<boolean>;
  /** This host's fully qualified name (the certificate's default CN). */
  hostname(): Promise<string>;
  /** One line for a person about the step being taken (stderr). */
  progress(line: string): void;
  now(): Date;
}

export interface WebEnableOptions {
  readonly certPath?: string;
  readonly keyPath?: string;
  readonly hostname?: string;
}

/** What enable and disable report: each step taken or found done, whether anything changed, and the status afterwards. */
export interface WebChange {
  readonly changed: boolean;
  readonly steps: readonly string[];
  readonly status: WebStatus;
}

/** A program or file the portal needs is missing: the CLI exits 69 (EX_UNAVAILABLE); the message names the package. */
export class WebUnavailable extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WebUnavailable';
  }
}

const NGINX_UNIT = 'nginx.service';

function requireRoot(deps: WebDeps, verb: string): void {
  if (!deps.isRoot) throw new DiycloudError('PermissionDenied', `diycloudctl web ${verb} changes and reads nginx's and diycloud-web's configuration: run it as root`);
}

async function nginxUser(deps: WebDeps): Promise<string | null> {
  const directive = await deps.nginx.userDirective();
  if (directive !== null) return directive;
  return decideNginxUser(null, { wwwData: await deps.groups.userExists('www-data'), nginx: await deps.groups.userExists('nginx') });
}

/** Everything status reports; never throws for a part that is missing (only for a program that fails to run). */
export async function webStatus(deps: WebDeps): Promise<WebStatus> {
  requireRoot(deps, 'status');
  const nginxInstalled = await deps.nginx.installed();
  const present = await deps.tls.present();
  const link = await deps.nginx.linkState();
  const user = await nginxUser(deps);
  const inGroup = user !== null && (await deps.groups.userExists(user)) && (await deps.groups.groupExists(WEB_LAYOUT.group)) && (await deps.groups.isMember(user, WEB_LAYOUT.group));
  return judgeWebStatus({
    nginxInstalled,
    sitePresent: await deps.siteFileExists(),
    linkPath: await deps.nginx.linkPath(),
    siteLinked: link.kind === 'ours',
    linkConflict: link.kind === 'foreign' ? link.what : null,
    certPresent: present.cert,
    keyPresent: present.key,
    certExpires: present.cert && (await deps.tls.available()) ? await deps.tls.expiry() : null,
    nginxUser: user,
    nginxUserInGroup: inGroup,
    unit: await deps.units.state(WEB_LAYOUT.unit),
    nginx: await deps.units.state(NGINX_UNIT),
    nginxTest: nginxInstalled ? await deps.nginx.test() : { ok: false, message: 'nginx is not installed' },
  }, deps.now());
}

/**
 * enable, in this order, each step skipped when already done (so a second run changes nothing):
 * 1. refuse unless root, nginx installed, the site file, the unit and the group there (the package);
 * 2. the certificate: keep a complete pair, else copy the admin's (--cert/--key), else self-signed;
 * 3. nginx's worker user into group diycloud-web (the socket is 0660);
 * 4. the site's symlink; a file or foreign link in its place is refused (Conflict), never touched;
 * 5. nginx -t; on failure a link made in step 4 is removed again and nginx's words reported;
 * 6. systemctl enable --now diycloud-web.service; nginx reloaded (started when inactive).
 * The status read at the end must say enabled; else BackendFailed with what is missing.
 */
export async function enableWeb(deps: WebDeps, opts: WebEnableOptions = {}): Promise<WebChange> {
  requireRoot(deps, 'enable');
  if ((opts.certPath === undefined) !== (opts.keyPath === undefined)) throw new DiycloudError('InvalidArgument', '--cert and --key go together: give both or neither', { field: opts.certPath === undefined ? 'cert' : 'key' });
  if (opts.hostname !== undefined && certificateNameKind(opts.hostname) === null) throw new DiycloudError('InvalidArgument', `--hostname: ${JSON.stringify(opts.hostname)} is not a host name or an IP address`, { field: 'hostname' });
  if (!(await deps.nginx.installed())) throw new WebUnavailable('nginx is not installed (/usr/sbin/nginx): install it (apt install nginx, or dnf install nginx), then run this again');
  if (!(await deps.siteFileExists())) throw new WebUnavailable(`${WEB_LAYOUT.siteFile} is missing: install the ${WEB_LAYOUT.packageName} package (or reinstall it, if the file was removed)`);
  if ((await deps.units.state(WEB_LAYOUT.unit)).enabled === 'not-found') throw new WebUnavailable(`${WEB_LAYOUT.unit} is not installed: install the ${WEB_LAYOUT.packageName} package`);
  if (!(await deps.groups.groupExists(WEB_LAYOUT.group))) throw new WebUnavailable(`the group ${WEB_LAYOUT.group} does not exist: install the ${WEB_LAYOUT.packageName} package (it makes the group)`);

  const steps: string[] = [];
  let changed = false;
  let nginxChanged = false;
  const say = (line: string, didChange: boolean): void => {
    steps.push(line);
    deps.progress(line);
    if (didChange) changed = true;
  };

  // 2. The certificate.
  const hostname = opts.hostname ?? (await deps.hostname());
  const cert = planCertificate(await deps.tls.present(), opts, hostname);
  if (cert.action === 'refuse') throw new DiycloudError('Conflict', cert.reason);
  if (cert.action !== 'keep' && !(await deps.tls.available())) throw new WebUnavailable('openssl is not installed (/usr/bin/openssl): install it (apt install openssl, or dnf install openssl), then run this again');
  if (cert.action === 'keep') say(`certificate: keeping ${WEB_LAYOUT.certFile} and ${WEB_LAYOUT.keyFile}${opts.hostname !== undefined ? ' (--hostname applies only to a certificate made here)' : ''}`, false);
  else if (cert.action === 'install') {
    deps.progress(`certificate: copying ${cert.certPath} and ${cert.keyPath} to ${WEB_LAYOUT.certFile} and ${WEB_LAYOUT.keyFile} (key mode 0600) ...`);
    await deps.tls.install(cert.certPath, cert.keyPath);
    say(`certificate: installed the certificate and key given`, true);
    nginxChanged = true;
  } else {
    if (certificateNameKind(cert.hostname) === null) throw new DiycloudError('InvalidArgument', `this host's name ${JSON.stringify(cert.hostname)} cannot name a certificate: give --hostname NAME`, { field: 'hostname' });
    deps.progress(`certificate: making a self-signed certificate for ${cert.hostname}, valid ${cert.days} days ...`);
    await deps.tls.generate(cert.hostname, cert.days);
    say(`certificate: made a self-signed certificate for ${cert.hostname} (${WEB_LAYOUT.certFile}, key ${WEB_LAYOUT.keyFile} mode 0600); browsers will warn until you install your own`, true);
    nginxChanged = true;
  }

  // 3. nginx's worker user into the socket's group.
  const user = await nginxUser(deps);
  if (user === null) throw new DiycloudError('BackendFailed', 'cannot tell which user nginx runs its workers as: no `user` directive in /etc/nginx/nginx.conf and neither www-data nor nginx exists');
  if (!(await deps.groups.userExists(user))) throw new DiycloudError('BackendFailed', `nginx's worker user ${user} (the user directive of /etc/nginx/nginx.conf) does not exist`);
  if (await deps.groups.isMember(user, WEB_LAYOUT.group)) say(`group: ${user} is in group ${WEB_LAYOUT.group} already`, false);
  else {
    await deps.groups.addToGroup(user, WEB_LAYOUT.group);
    say(`group: added nginx's user ${user} to group ${WEB_LAYOUT.group} (to reach the socket)`, true);
    nginxChanged = true;
  }

  // 4. The site's link.
  const linkPath = await deps.nginx.linkPath();
  const link = await deps.nginx.linkState();
  let linkedNow = false;
  if (link.kind === 'foreign') throw new DiycloudError('Conflict', `${linkPath} is ${link.what}, not diycloud's link: move it away (or make it a symlink to ${WEB_LAYOUT.siteFile}) and run this again; it was left as it is`);
  if (link.kind === 'ours') say(`site: ${linkPath} links to ${WEB_LAYOUT.siteFile} already`, false);
  else {
    await deps.nginx.link();
    linkedNow = true;
    say(`site: linked ${linkPath} -> ${WEB_LAYOUT.siteFile}`, true);
    nginxChanged = true;
  }

  // 5. nginx -t.
  const test = await deps.nginx.test();
  if (!test.ok) {
    if (linkedNow) {
      await deps.nginx.unlink();
      deps.progress(`site: removed ${linkPath} again`);
    }
    throw new DiycloudError('BackendFailed', `nginx -t failed${linkedNow ? ` (the link ${linkPath} was removed again)` : ''}: ${test.message}`);
  }
  say('nginx -t: the configuration is valid', false);

  // 6. The units.
  const unit = await deps.units.state(WEB_LAYOUT.unit);
  if (unit.enabled === 'enabled' && unit.active === 'active') say(`service: ${WEB_LAYOUT.unit} is enabled and active already`, false);
  else {
    await deps.units.enableNow(WEB_LAYOUT.unit);
    say(`service: systemctl enable --now ${WEB_LAYOUT.unit}`, true);
  }
  const nginxUnit = await deps.units.state(NGINX_UNIT);
  if (nginxUnit.active !== 'active') {
    await deps.units.start(NGINX_UNIT);
    say(`nginx: started ${NGINX_UNIT} (it was ${nginxUnit.active})`, true);
  } else if (nginxChanged) {
    await deps.units.reload(NGINX_UNIT);
    say(`nginx: reloaded ${NGINX_UNIT}`, true);
  } else say('nginx: running, nothing to reload', false);

  const status = await webStatus(deps);
  if (!status.enabled) throw new DiycloudError('BackendFailed', `the portal is still not fully enabled: ${status.missing.join('; ')}`);
  return { changed, steps, status };
}

/**
 * disable: removes our link (never a file or link not ours), reloads nginx when it removed it and
 * nginx runs, then systemctl disable --now diycloud-web.service. The certificate, the key and the
 * group membership stay (a later enable uses them again).
 */
export async function disableWeb(deps: WebDeps): Promise<WebChange> {
  requireRoot(deps, 'disable');
  const steps: string[] = [];
  let changed = false;
  const say = (line: string, didChange: boolean): void => {
    steps.push(line);
    deps.progress(line);
    if (didChange) changed = true;
  };
  const linkPath = await deps.nginx.linkPath();
  const link = await deps.nginx.linkState();
  if (link.kind === 'ours') {
    await deps.nginx.unlink();
    say(`site: removed the link ${linkPath}`, true);
    const n: UnitState = await deps.units.state(NGINX_UNIT);
    if (n.active === 'active') {
      await deps.units.reload(NGINX_UNIT);
      say(`nginx: reloaded ${NGINX_UNIT}`, true);
    } else say(`nginx: ${NGINX_UNIT} is ${n.active}, nothing to reload`, false);
  } else if (link.kind === 'foreign') say(`site: ${linkPath} is ${link.what}, not diycloud's link: left alone`, false);
  else say(`site: not linked (${linkPath})`, false);

  const unit = await deps.units.state(WEB_LAYOUT.unit);
  if (unit.enabled === 'not-found') say(`service: ${WEB_LAYOUT.unit} is not installed`, false);
  else if (unit.enabled !== 'enabled' && unit.active !== 'active' && unit.active !== 'activating') say(`service: ${WEB_LAYOUT.unit} is ${unit.enabled} and ${unit.active} already`, false);
  else {
    await deps.units.disableNow(WEB_LAYOUT.unit);
    say(`service: systemctl disable --now ${WEB_LAYOUT.unit}`, true);
  }
  const user = await nginxUser(deps).catch(() => null);
  const member = user !== null && (await deps.groups.isMember(user, WEB_LAYOUT.group).catch(() => false));
  say(`kept: the certificate and key in ${WEB_LAYOUT.certFile.replace(/\/[^/]*$/, '/')}${member ? ` and ${user}'s membership of group ${WEB_LAYOUT.group} (gpasswd -d ${user} ${WEB_LAYOUT.group} removes it)` : ''}`, false);
  return { changed, steps, status: await webStatus(deps) };
}
