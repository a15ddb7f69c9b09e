// The ports: the small interfaces the use cases need, implemented by adapters (and by test fakes).

import type { SliceLimits, SliceObservation } from './limits-plan';

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

export interface RawOverrides {
  readonly cpu: number | null;
  readonly memory: string | null;
  readonly disk: string | null;
  readonly gpu: boolean | null;
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
  appliedLimits(uid: number): SliceLimits | null;
  setAppliedLimits(uid: number, limits: SliceLimits, at: string): void;
  forgetAppliedLimits(uid: number): void;
  uidsWithAppliedLimits(): number[];
  audit(e: AuditEntry, at: string): void;
  close(): void;
}

export interface SliceState extends SliceObservation {
  /** Properties currently in force, as systemd reports them. */
  readonly limits: Partial<SliceLimits>;
}

/** Where limits are enforced: systemd user slices, or nothing (record-only hosts). */
export interface SliceManager {
  readonly backend: string;
  /** UIDs of every user slice that exists now. */
  listUserSlices(): Promise<number[]>;
  /** The slice's usage and limits, or null when it does not exist. */
  observe(uid: number): Promise<SliceState | null>;
  apply(uid: number, limits: SliceLimits): Promise<void>;
  /** Calls `onSlice` whenever a user slice appears (not through the login path, e.g. cron, linger). */
  watch(onSlice: (uid: number) => void): Promise<void>;
}

export interface Account {
  readonly name: string;
  readonly uid: number;
}

/** Name service lookups (NSS: files, LDAP, SSSD …). */
export interface AccountDb {
  byName(name: string): Promise<Account | null>;
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
