// The web portal behind nginx, purely: the package's file layout, the ports `diycloudctl web` drives, and the plans for enable and the status verdict.

/** The contract with the diycloud-web package (packaging/nginx/diycloud-web.conf, systemd/diycloud-web.service). */
export const WEB_LAYOUT = {
  /** The nginx site, a conffile of diycloud-web. */
  siteFile: '/etc/diycloud/nginx/diycloud-web.conf',
  certFile: '/etc/diycloud/web/tls/cert.pem',
  keyFile: '/etc/diycloud/web/tls/key.pem',
  unit: 'diycloud-web.service',
  /** The group of the service's socket (0660): nginx's worker user must be in it. */
  group: 'diycloud-web',
  /** The package to install when the site file is missing. */
  packageName: 'diycloud-web',
} as const;

/** Days a self-signed certificate is valid: 825, the longest browsers accept for a server certificate. */
export const SELF_SIGNED_DAYS = 825;

/** What is at the place where the site is linked into nginx's configuration. */
export type LinkState =
  | { readonly kind: 'absent' }
  /** A symlink to our site file. */
  | { readonly kind: 'ours' }
  /** Something an admin put there: a file, a directory, or a symlink elsewhere. */
  | { readonly kind: 'foreign'; readonly what: string };

export interface NginxTestResult {
  readonly ok: boolean;
  /** nginx's own words (its stderr), one line per message. */
  readonly message: string;
}

/** The port: nginx on this host. */
export interface NginxServer {
  /** /usr/sbin/nginx exists. */
  installed(): Promise<boolean>;
  /** The `user` directive of nginx.conf (its first word), null when there is none. */
  userDirective(): Promise<string | null>;
  /** Where the site is linked: sites-enabled/diycloud-web on the Debian layout, else conf.d/diycloud-web.conf. */
  linkPath(): Promise<string>;
  linkState(): Promise<LinkState>;
  /** Makes the symlink (the place must be absent). */
  link(): Promise<void>;
  /** Removes the symlink (it must be ours). */
  unlink(): Promise<void>;
  /** `nginx -t`. */
  test(): Promise<NginxTestResult>;
}

/** The port: the TLS certificate and key the site names. */
export interface TlsStore {
  /** openssl is installed (needed to make or check certificates). */
  available(): Promise<boolean>;
  present(): Promise<{ readonly cert: boolean; readonly key: boolean }>;
  /** Makes a self-signed certificate and its key (0600, root); never overwrites either. */
  generate(hostname: string, days: number): Promise<void>;
  /** Copies the admin's certificate and key into place after checking that they are PEM and match; never overwrites. */
  install(certPath: string, keyPath: string): Promise<void>;
  /** The certificate's notAfter as an ISO date, null when there is none or it cannot be read. */
  expiry(): Promise<string | null>;
}

/** The port: accounts and groups, read through NSS, changed with usermod. */
export interface GroupMembership {
  userExists(name: string): Promise<boolean>;
  groupExists(group: string): Promise<boolean>;
  isMember(user: string, group: string): Promise<boolean>;
  addToGroup(user: string, group: string): Promise<void>;
}

export interface UnitState {
  /** `systemctl is-enabled` ("enabled", "disabled", "not-found" …). */
  readonly enabled: string;
  /** `systemctl is-active` ("active", "inactive", "failed" …). */
  readonly active: string;
}

/** The port: systemd units through systemctl. */
export interface UnitControl {
  state(unit: string): Promise<UnitState>;
  enableNow(unit: string): Promise<void>;
  disableNow(unit: string): Promise<void>;
  reload(unit: string): Promise<void>;
  start(unit: string): Promise<void>;
}

/**
 * nginx's worker user: the first word of the main context's `user` directive (`user www-data;`,
 * `user nginx nginx;`), comments stripped. Null when there is none (nginx then runs its workers
 * as its compiled-in default, which the packages set to www-data or nginx).
 */
export function parseNginxUserDirective(conf: string): string | null {
  let depth = 0;
  for (const raw of conf.split('\n')) {
    const line = raw.replace(/#.*$/, '');
    if (depth === 0) {
      const m = /^\s*user\s+([^\s;]+)[^;]*;/.exec(line);
      if (m) return m[1];
    }
    for (const ch of line) {
      if (ch === '{') depth++;
      else if (ch === '}') depth = Math.max(0, depth - 1);
    }
  }
  return null;
}

/** The directive's user; else www-data where it exists (Debian), else nginx (RPM family); null when none of them exists. */
export function decideNginxUser(directive: string | null, exists: { readonly wwwData: boolean; readonly nginx: boolean }): string | null {
  if (directive !== null) return directive;
  if (exists.wwwData) return 'www-data';
  if (exists.nginx) return 'nginx';
  return null;
}

/** A DNS name (letters, digits, hyphens, dots) or an IPv4/IPv6 address, as accepted for the certificate's CN and subjectAltName. */
export function certificateNameKind(name: string): 'dns' | 'ip' | null {
  if (/^(\d{1,3})(\.\d{1,3}){3}$/.test(name)) return name.split('.').every((o) => Number(o) <= 255) ? 'ip' : null;
  if (/^[0-9A-Fa-f:]+$/.test(name) && name.includes(':') && name.length <= 39) return 'ip';
  if (name.length > 253) return null;
  const labels = name.split('.');
  return labels.every((l) => /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/.test(l)) ? 'dns' : null;
}

/** `openssl x509 -noout -enddate` ("notAfter=Mar  5 08:44:22 2029 GMT") as an ISO date, null when it does not parse. */
export function parseOpensslEndDate(stdout: string): string | null {
  const m = /notAfter=(\w{3})\s+(\d{1,2})\s+(\d{2}):(\d{2}):(\d{2})\s+(\d{4})\s+GMT/.exec(stdout);
  if (!m) return null;
  const month = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'].indexOf(m[1]);
  if (month < 0) return null;
  return new Date(Date.UTC(Number(m[6]), month, Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5]))).toISOString();
}

/** What `diycloudctl web status` reports. */
export interface WebStatus {
  readonly nginxInstalled: boolean;
  /** The package's site file exists. */
  readonly sitePresent: boolean;
  /** Where the site is (or would be) linked. */
  readonly linkPath: string;
  readonly siteLinked: boolean;
  /** Set when something not ours is at linkPath. */
  readonly linkConflict: string | null;
  readonly certPresent: boolean;
  readonly keyPresent: boolean;
  /** ISO date, null when there is no readable certificate. */
  readonly certExpires: string | null;
  /** null when no nginx user could be found. */
  readonly nginxUser: string | null;
  readonly nginxUserInGroup: boolean;
  readonly unit: UnitState;
  readonly nginx: UnitState;
  readonly nginxTest: NginxTestResult;
  /** Every part is in place. */
  readonly enabled: boolean;
  /** What is missing, one line each, for a person. */
  readonly missing: readonly string[];
}

/** The facts status gathers, before the verdict. */
export type WebFacts = Omit<WebStatus, 'enabled' | 'missing'>;

/** The verdict: fully enabled, or the list of what is missing (in the order enable would fix it). */
export function judgeWebStatus(f: WebFacts, now: Date): WebStatus {
  const missing: string[] = [];
  if (!f.nginxInstalled) missing.push('nginx is not installed');
  if (!f.sitePresent) missing.push(`${WEB_LAYOUT.siteFile} is missing (install the ${WEB_LAYOUT.packageName} package)`);
  if (!f.certPresent || !f.keyPresent) missing.push(!f.certPresent && !f.keyPresent ? `no TLS certificate and key (${WEB_LAYOUT.certFile}, ${WEB_LAYOUT.keyFile})` : `no TLS ${!f.certPresent ? `certificate (${WEB_LAYOUT.certFile})` : `key (${WEB_LAYOUT.keyFile})`}`);
  else if (f.certExpires !== null && Date.parse(f.certExpires) <= now.getTime()) missing.push(`the TLS certificate expired on ${f.certExpires}`);
  if (f.nginxUser === null) missing.push('no nginx worker user found (no `user` directive, no www-data or nginx account)');
  else if (!f.nginxUserInGroup) missing.push(`nginx's user ${f.nginxUser} is not in group ${WEB_LAYOUT.group}`);
  if (f.linkConflict !== null) missing.push(`${f.linkPath} is ${f.linkConflict}, not diycloud's link`);
  else if (!f.siteLinked) missing.push(`the site is not linked at ${f.linkPath}`);
  if (!f.nginxTest.ok) missing.push(`nginx -t fails: ${f.nginxTest.message}`);
  if (f.unit.enabled === 'not-found') missing.push(`${WEB_LAYOUT.unit} is not installed (install the ${WEB_LAYOUT.packageName} package)`);
  else if (f.unit.enabled !== 'enabled') missing.push(`${WEB_LAYOUT.unit} is ${f.unit.enabled}, not enabled`);
  if (f.unit.enabled !== 'not-found' && f.unit.active !== 'active') missing.push(`${WEB_LAYOUT.unit} is ${f.unit.active}, not active`);
  if (f.nginx.active !== 'active') missing.push(`nginx.service is ${f.nginx.active}, not active`);
  return { ...f, enabled: missing.length === 0, missing };
}

/** How enable gets a certificate: keep the one in place, copy the admin's, or make a self-signed one. */
export type CertificatePlan =
  | { readonly action: 'keep' }
  | { readonly action: 'install'; readonly certPath: string; readonly keyPath: string }
  | { readonly action: 'generate'; readonly hostname: string; readonly days: number }
  /** Refused: the message says why (half a pair in place, or the admin's pair while one is in place). */
  | { readonly action: 'refuse'; readonly reason: string };

/**
 * Never overwrites: a complete pair in place is kept (and an admin's pair given while one is in
 * place is refused, since replacing it is theirs to do by hand); half a pair is refused, because
 * making a new one would overwrite the half that is there.
 */
export function planCertificate(present: { readonly cert: boolean; readonly key: boolean }, given: { readonly certPath?: string; readonly keyPath?: string }, hostname: string): CertificatePlan {
  if (present.cert && present.key) {
    if (given.certPath !== undefined) return { action: 'refuse', reason: `${WEB_LAYOUT.certFile} and ${WEB_LAYOUT.keyFile} exist already; to use yours, put it there by hand (key mode 0600) and reload nginx, or remove both and run this again` };
    return { action: 'keep' };
  }
  if (present.cert || present.key) {
    const [there, gone] = present.cert ? [WEB_LAYOUT.certFile, WEB_LAYOUT.keyFile] : [WEB_LAYOUT.keyFile, WEB_LAYOUT.certFile];
    return { action: 'refuse', reason: `${there} exists but ${gone} does not: put the missing file back, or remove ${there} and run this again` };
  }
  if (given.certPath !== undefined && given.keyPath !== undefined) return { action: 'install', certPath: given.certPath, keyPath: given.keyPath };
  return { action: 'generate', hostname, days: SELF_SIGNED_DAYS };
}
