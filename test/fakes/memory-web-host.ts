// In-memory stand-ins for the ports of `diycloudctl web`: nginx, the TLS store, groups and systemd units, with a log of what changed.

import { DiycloudError } from '../../src/core/errors';
import type { GroupMembership, LinkState, NginxServer, NginxTestResult, TlsStore, UnitControl, UnitState } from '../../src/core/web-portal';

/** nginx: a link place that is absent, ours or foreign; `nginx -t` fails while `broken` is set (or `brokenWhenLinked` and linked). */
export class MemoryNginx implements NginxServer {
  state: LinkState = { kind: 'absent' };
  broken: string | null = null;
  brokenWhenLinked: string | null = null;
  constructor(readonly log: string[] = [], public isInstalled = true, public directive: string | null = 'www-data', public path = '/etc/nginx/sites-enabled/diycloud-web') {}
  async installed(): Promise<boolean> {
    return this.isInstalled;
  }
  async userDirective(): Promise<string | null> {
    return this.directive;
  }
  async linkPath(): Promise<string> {
    return this.path;
  }
  async linkState(): Promise<LinkState> {
    return this.state;
  }
  async link(): Promise<void> {
    if (this.state.kind !== 'absent') throw new DiycloudError('Conflict', `${this.path} appeared meanwhile: left as it is`);
    this.state = { kind: 'ours' };
    this.log.push('link');
  }
  async unlink(): Promise<void> {
    if (this.state.kind !== 'ours') throw new DiycloudError('Conflict', `${this.path} is not diycloud's link: left as it is`);
    this.state = { kind: 'absent' };
    this.log.push('unlink');
  }
  async test(): Promise<NginxTestResult> {
    const why = this.broken ?? (this.state.kind === 'ours' ? this.brokenWhenLinked : null);
    return why === null ? { ok: true, message: 'syntax is ok' } : { ok: false, message: why };
  }
}

/** The TLS store: which files are there, and an expiry given at generate/install time. */
export class MemoryTls implements TlsStore {
  cert = false;
  key = false;
  made: { hostname: string; days: number } | null = null;
  /** Pairs install accepts: cert path -> key path. */
  readonly goodPairs = new Map<string, string>();
  constructor(readonly log: string[] = [], public hasOpenssl = true, private readonly now: () => Date = () => new Date('2026-01-01T00:00:00Z')) {}
  async available(): Promise<boolean> {
    return this.hasOpenssl;
  }
  async present(): Promise<{ cert: boolean; key: boolean }> {
    return { cert: this.cert, key: this.key };
  }
  async generate(hostname: string, days: number): Promise<void> {
    if (this.cert || this.key) throw new DiycloudError('Conflict', 'a certificate or key is there: left as it is');
    this.cert = this.key = true;
    this.made = { hostname, days };
    this.log.push(`generate ${hostname} ${days}`);
  }
  async install(certPath: string, keyPath: string): Promise<void> {
    if (this.goodPairs.get(certPath) !== keyPath) throw new DiycloudError('InvalidArgument', `--key ${keyPath} is not the key of the certificate ${certPath}`, { field: 'key' });
    if (this.cert || this.key) throw new DiycloudError('Conflict', 'a certificate or key is there: left as it is');
    this.cert = this.key = true;
    this.made = { hostname: 'given', days: 365 };
    this.log.push(`install ${certPath} ${keyPath}`);
  }
  async expiry(): Promise<string | null> {
    if (!this.cert || this.made === null) return null;
    return new Date(this.now().getTime() + this.made.days * 86_400_000).toISOString();
  }
}

/** Accounts and groups: users that exist, and each user's groups. */
export class MemoryGroups implements GroupMembership {
  readonly members = new Map<string, Set<string>>();
  constructor(readonly log: string[] = [], readonly users: Set<string> = new Set(['www-data']), readonly groups: Set<string> = new Set(['diycloud-web'])) {}
  async userExists(name: string): Promise<boolean> {
    return this.users.has(name);
  }
  async groupExists(group: string): Promise<boolean> {
    return this.groups.has(group);
  }
  async isMember(user: string, group: string): Promise<boolean> {
    return this.members.get(user)?.has(group) ?? false;
  }
  async addToGroup(user: string, group: string): Promise<void> {
    if (!this.users.has(user) || !this.groups.has(group)) throw new DiycloudError('BackendFailed', `usermod -a -G ${group} ${user} failed (exit 6): no such user or group`);
    if (!this.members.has(user)) this.members.set(user, new Set());
    this.members.get(user)!.add(group);
    this.log.push(`usermod ${user} ${group}`);
  }
}

/** systemd: each unit's is-enabled/is-active; a unit in `failsToStart` ends up "failed". */
export class MemoryUnits implements UnitControl {
  readonly units = new Map<string, { enabled: string; active: string }>([
    ['diycloud-web.service', { enabled: 'disabled', active: 'inactive' }],
    ['nginx.service', { enabled: 'enabled', active: 'active' }],
  ]);
  readonly failsToStart = new Set<string>();
  constructor(readonly log: string[] = []) {}
  async state(unit: string): Promise<UnitState> {
    return { ...(this.units.get(unit) ?? { enabled: 'not-found', active: 'inactive' }) };
  }
  private set(unit: string, s: Partial<UnitState>): void {
    const u = this.units.get(unit);
    if (!u) throw new DiycloudError('BackendFailed', `systemctl: Unit ${unit} not found`);
    Object.assign(u, s);
  }
  async enableNow(unit: string): Promise<void> {
    this.set(unit, { enabled: 'enabled', active: this.failsToStart.has(unit) ? 'failed' : 'active' });
    this.log.push(`enable --now ${unit}`);
  }
  async disableNow(unit: string): Promise<void> {
    this.set(unit, { enabled: 'disabled', active: 'inactive' });
    this.log.push(`disable --now ${unit}`);
  }
  async reload(unit: string): Promise<void> {
    if ((await this.state(unit)).active !== 'active') throw new DiycloudError('BackendFailed', `systemctl reload ${unit}: not active`);
    this.log.push(`reload ${unit}`);
  }
  async start(unit: string): Promise<void> {
    this.set(unit, { active: 'active' });
    this.log.push(`start ${unit}`);
  }
}
