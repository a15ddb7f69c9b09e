// The ports: the small interfaces the use cases need, implemented by adapters (and by test fakes).

import type { CgroupSettings, DiskSettings } from './enforcement-plan';

/** A user row as stored; allocation overrides are raw column values (null = inherit the default). */
export interface UserRecord {
  readonly id: number;
  readonly username: string;
  readonly uid: number;
  readonly email: string | null;
  readonly role: string;
  readonly enabled: boolean;
  readonly createdAt: string;
  readonly lastLogin: string | null;
  readonly overrides: RawOverrides;
}

/** What QueryUsers filters and sorts on, per user (AdminStore.listUserKeys): a UserRecord less its id and dates. */
export interface UserKeyRow {
  readonly uid: number;
  readonly username: string;
  readonly email: string | null;
  readonly role: string;
  readonly enabled: boolean;
  readonly overrides: RawOverrides;
}

/** A user's (role, overrides) pair (AdminStore.listUserAllocations): all its decided allocation depends on. */
export interface UserAllocationRow {
  readonly uid: number;
  readonly role: string;
  readonly overrides: RawOverrides;
}

/**
 * AdminStore.listUserKeys' filter, and its order: by one column (name, uid or role), ties by name then
 * uid, all ascending or all descending (core/user-query.ts's order for those keys).
 */
export interface UserKeyFilter {
  readonly role?: string;
  readonly enabled?: boolean;
  /** Lowercase text found in the lowercased name or e-mail address; lowercasing is ASCII only (see hasNonAsciiText). */
  readonly search?: string;
}

export interface UserKeyQuery extends UserKeyFilter {
  readonly sort: 'name' | 'uid' | 'role';
  readonly desc: boolean;
  readonly page?: { readonly offset: number; readonly limit: number };
}

export interface RawOverrides {
  readonly cpu: number | null;
  readonly memory: string | null;
  readonly disk: string | null;
  /** A GPU grant as stored: "none", "all" or indices "0,2" (core/gpu-grant.ts). */
  readonly gpu: string | null;
  readonly tasks: number | null;
}

export interface SessionEvent {
  readonly uid: number;
  readonly username: string;
  readonly service: string;
  readonly tty: string;
  readonly rhost: string;
}

export interface AuditEntry {
  readonly callerUid: number;
  readonly callerPid: number | null;
  readonly action: string;
  readonly target: string;
  readonly result: 'ok' | 'error';
  readonly detail: string;
}

/** The database. Methods are synchronous (SQLite in process); every write is durable when it returns. */
export interface Store {
  userByName(name: string): UserRecord | null;
  userByUid(uid: number): UserRecord | null;
  /** Records an opened session and updates last_login in one transaction. */
  openSession(e: SessionEvent, at: string): void;
  /** Marks the most recent matching open session closed; returns false when none was open. */
  closeSession(e: SessionEvent, at: string): boolean;
  /**
   * Closes the session logind reported ended: the most recent open one of that uid and service,
   * preferring an exact tty match (logind and PAM do not always name the tty alike).
   */
  closeEndedSession(s: LoginSession, at: string): boolean;
  /** Closes every open session of a user; returns how many. */
  closeAllSessions(uid: number, at: string): number;
  /** What was last applied to a user's cgroup, or null. */
  appliedCgroup(uid: number): CgroupSettings | null;
  /** The disk quota last applied to a user on one quota path, or null. */
  appliedDisk(uid: number, path: string): DiskSettings | null;
  /** Records what was applied, keyed by uid and resource ("cgroup", or "disk:" and the path). */
  setApplied(uid: number, applied: { resource: 'cgroup'; settings: CgroupSettings } | { resource: 'disk'; settings: DiskSettings }, at: string): void;
  /** Forgets one resource's record (disk: the path), or all of a user's records when `resource` is omitted. */
  forgetApplied(uid: number, resource?: 'cgroup' | { disk: string }): void;
  /** UIDs that have a record for the resource (every record when omitted). */
  uidsWithApplied(resource?: 'cgroup' | 'disk'): number[];
  audit(e: AuditEntry, at: string): void;
  close(): void;
}

// The enforcement ports (cgroups, quotas) live in enforcement-ports.ts.
export type { CgroupLimits, CgroupState, DiskUsage, GpuAccess, QuotaBackend, QuotaOwner, QuotaPathStatus, QuotaState } from './enforcement-ports';

export interface Account {
  readonly name: string;
  readonly uid: number;
  /** The home directory from NSS, or null when it gives none. */
  readonly home?: string | null;
}

/** Name service lookups (NSS: files, LDAP, SSSD …). */
export interface AccountDb {
  byName(name: string): Promise<Account | null>;
  byUid(uid: number): Promise<Account | null>;
  /** Forgets cached answers for a name (after the daemon created or deleted it). */
  forget(name: string): void;
  /** Whether NSS knows a group of this name. */
  groupExists(name: string): Promise<boolean>;
}

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

export interface Clock {
  now(): Date;
}

/** Timers, behind a port so that unit tests run without real time. */
export interface Scheduler {
  after(ms: number, fn: () => void): { cancel(): void };
}

export interface RoleRecord {
  readonly name: string;
  readonly builtin: boolean;
  /** The Unix group kept in step with this role's members, or null. */
  readonly unixGroup: string | null;
  readonly profile: RawOverrides;
}

export interface Intent {
  readonly id: number;
  readonly op: 'create' | 'delete';
  readonly username: string;
  readonly uid: number;
  readonly detail: Record<string, unknown>;
}

export interface AuditRow extends AuditEntry {
  readonly id: number;
  readonly at: string;
}

/** Management queries on the database (users, roles, the audit log). Synchronous and durable, like Store. */
export interface AdminStore {
  listUsers(filter: { role?: string; enabled?: boolean }): UserRecord[];
  /** QueryUsers' lean listing: the filter's users in the query's order, without building records; with `page`, that slice only. */
  listUserKeys(q: UserKeyQuery): UserKeyRow[];
  /** listUserKeys less the name, e-mail address and enabled flag (fewer strings to make: what a sort or filter on the decided allocation reads). */
  listUserAllocations(q: UserKeyQuery): UserAllocationRow[];
  /**
   * A token that changes whenever a listing's users (names, e-mail addresses, roles, enabled flags,
   * allocations) or a role's profile may have changed, by this daemon (through any store) or
   * another connection; it may change more often (any write moves it), never less: what an answer
   * kept between calls is checked against (app/decided-order-cache.ts).
   */
  listingRevision(): string;
  /** How many users the filter (listUserKeys' role, enabled and search) matches. */
  countUsers(filter: UserKeyFilter): number;
  /** Whether any of the filter's users has a name or e-mail address outside printable ASCII (where SQL's lower() may not be JavaScript's). */
  hasNonAsciiText(filter: UserKeyFilter): boolean;
  /** listUsers' records of these uids, in no particular order; a uid with no row is left out. */
  usersByUids(uids: readonly number[]): UserRecord[];
  /** Inserts a user row (and an empty allocation row); throws UserExists when the name or UID is taken. */
  addUser(u: { name: string; uid: number; role: string; email: string | null }, at: string): void;
  setRole(uid: number, role: string): void;
  setEnabled(uid: number, enabled: boolean): void;
  setEmail(uid: number, email: string | null): void;
  /** Sets the given override columns; columns not in `patch` keep their value. */
  setUserLimits(uid: number, patch: Partial<RawOverrides>): void;
  resetUserLimits(uid: number): void;
  role(name: string): RoleRecord | null;
  listRoles(): RoleRecord[];
  /** Creates the role if needed and sets the given profile columns. */
  setRoleProfile(name: string, patch: Partial<RawOverrides>): void;
  auditLog(filter: { limit: number; target?: string }): AuditRow[];
  /** Runs `fn` in one transaction. */
  transaction<T>(fn: () => T): T;
  /**
   * Picks the lowest UID in [min, max] above every UID diycloud ever allocated or a managed user
   * holds, records the allocation and a create intent for `username`, all in one transaction (so
   * two creations can never pick the same UID); null when the range is used up.
   */
  beginCreateIntent(username: string, range: { min: number; max: number }, at: string): { id: number; uid: number } | null;
  /** Records a delete intent; returns its id. */
  beginDeleteIntent(username: string, uid: number, detail: Record<string, unknown>, at: string): number;
  endIntent(id: number): void;
  intents(): Intent[];
  deleteUser(uid: number): void;
  /** The shadow expiry a disable replaced (see AccountAdmin.disable), or null when none is saved. */
  savedExpiry(uid: number): ShadowExpiry | null;
  setSavedExpiry(uid: number, expiry: ShadowExpiry | null): void;
}

/** A shadow(5) account expiration: days since 1970-01-01, or "never". */
export type ShadowExpiry = { readonly days: number } | 'never';

export type AuthorizationResult = 'allowed' | 'denied' | 'challenge';

/**
 * Who calls: the identity the bus daemon reported for the sender (never anything from the
 * arguments), and whether the call allowed an interactive polkit prompt. The one name for this
 * idea in every layer.
 */
export interface Caller {
  readonly busName: string;
  readonly uid: number;
  readonly pid: number | null;
  readonly interactive: boolean;
  /**
   * "bus" (or absent): the sender of a bus call, polkit's subject is its bus name. "web": the user of
   * a diycloud-web session (org.diycloud.Web1.Call), busName is diycloud-web's connection and polkit's
   * subject stands for `uid` (docs/security.md, "The web path").
   */
  readonly kind?: 'bus' | 'web';
}

/** polkit, or whatever decides for non-root callers. Implementations never throw for "no". */
export interface Authorizer {
  /** Asks about `caller`; a prompt is allowed only when `caller.interactive`. */
  check(caller: Caller, action: string, details: Record<string, string>): Promise<AuthorizationResult>;
}

/** Changes to Unix accounts (shadow-utils): role groups and password locks. */
export interface AccountAdmin {
  /** Makes `user`'s membership of each group match `member`, creating groups as needed. */
  setMembership(user: string, memberships: { group: string; member: boolean }[]): Promise<void>;
  /**
   * Locks the password and expires the account (usermod --lock --expiredate 1), so that pam_unix's
   * account phase refuses it even when diycloudd cannot answer. Returns the expiry it replaced, or
   * null when the account has no local shadow entry (a directory user: nothing is changed).
   */
  disable(user: string): Promise<ShadowExpiry | null>;
  /** Unlocks the password and puts back `expiry` (null: whatever was saved is unknown, so only an expiry of ours is lifted). */
  enable(user: string, expiry: ShadowExpiry | null): Promise<void>;
  /** useradd with an explicit UID, a home from the skeleton, a user group. */
  createAccount(a: { name: string; uid: number; shell: string; homeMode: string; subvolumeHome?: boolean }): Promise<void>;
  /** chpasswd, the password on stdin. */
  setPassword(user: string, password: string): Promise<void>;
  /** userdel (with --remove for the home); an account that is already gone is not an error. */
  deleteAccount(user: string, removeHome: boolean): Promise<void>;
}

/** Proves a user's current password (through PAM). */
export interface PasswordVerifier {
  verify(user: string, password: string): Promise<boolean>;
}

/** Signals to the bus. */
export interface Events {
  emit(signal: 'UserAdded' | 'UserChanged' | 'UserRemoved', name: string, uid: number): void;
}

/** A login session as logind describes it. */
export interface LoginSession {
  readonly uid: number;
  readonly service: string;
  readonly tty: string;
}

/** logind: ends sessions, and reports sessions that ended. */
export interface SessionAdmin {
  terminateUser(uid: number): Promise<void>;
  /** How many logind sessions the user has now (0 without logind). */
  sessionCount(uid: number): Promise<number>;
  /**
   * Calls `onEnded` for every login session that ends from now on, and with `service: null` when
   * a user's last session is gone (logind's UserRemoved): that also ends sessions logind never
   * listed, such as the user manager's own PAM session on older systemd.
   */
  watchEnded(onEnded: (s: LoginSession | { uid: number; service: null; tty: null }) => void): Promise<void>;
}
