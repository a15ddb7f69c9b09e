// The client side of org.diycloud.Manager1: calls with a timeout, error replies mapped to catalogue codes.

import * as dbus from 'dbus-next';
import type { MessageBus, Variant } from 'dbus-next';
import { ERROR_CATALOGUE, codeFromDbusName, type ErrorCode } from '../../core/errors';
import { BusClient, RemoteError } from './bus-client';

export const MANAGER = { destination: 'org.diycloud.Manager1', path: '/org/diycloud/Manager1', interface: 'org.diycloud.Manager1' } as const;
export const DEFAULT_SYSTEM_BUS = 'unix:path=/run/dbus/system_bus_socket';

/** The message flag that lets the daemon (polkit) prompt for a password through an agent. */
export const ALLOW_INTERACTIVE_AUTHORIZATION = 0x4;

/** sysexits.h: the service is not there (EX_UNAVAILABLE), or try again later (EX_TEMPFAIL). */
export const EX_UNAVAILABLE = 69;
export const EX_TEMPFAIL = 75;

/** Catalogue codes plus the two client-side outcomes that never come from diycloudd itself. */
export type ClientErrorCode = ErrorCode | 'Unavailable' | 'Timeout';

/** A failed call: `code` says what happened, `exitCode` is what diycloudctl exits with. */
export class ManagerCallError extends Error {
  readonly exitCode: number;

  constructor(readonly code: ClientErrorCode, message: string, readonly remoteName?: string) {
    super(message);
    this.name = 'ManagerCallError';
    this.exitCode = exitCodeOf(code);
  }
}

export function exitCodeOf(code: ClientErrorCode): number {
  if (code === 'Unavailable') return EX_UNAVAILABLE;
  if (code === 'Timeout') return EX_TEMPFAIL;
  return ERROR_CATALOGUE[code].exitCode;
}

const DBUS_ERR = 'org.freedesktop.DBus.Error.';
const NOT_RUNNING = 'diycloudd is not running (start it with: systemctl start diycloudd)';

/** Maps a D-Bus error reply (name, message) to a typed error. Pure. */
export function fromDbusError(name: string, message: string): ManagerCallError {
  const code = codeFromDbusName(name);
  if (code) return new ManagerCallError(code, message, name);
  switch (name) {
    case DBUS_ERR + 'ServiceUnknown':
    case DBUS_ERR + 'NameHasNoOwner':
      return new ManagerCallError('Unavailable', NOT_RUNNING, name);
    case DBUS_ERR + 'AccessDenied':
      return new ManagerCallError('PermissionDenied', `access denied by the bus policy${message ? ` (${message})` : ''}`, name);
    case DBUS_ERR + 'NoReply':
    case DBUS_ERR + 'Timeout':
    case DBUS_ERR + 'TimedOut':
      return new ManagerCallError('Timeout', `diycloudd did not answer in time${message ? ` (${message})` : ''}`, name);
    case DBUS_ERR + 'UnknownMethod':
      return new ManagerCallError('Failed', `${message} (is diycloudd older than diycloudctl?)`, name);
    default:
      return new ManagerCallError('Failed', `${name}: ${message}`, name);
  }
}

export interface ManagerClientOptions {
  /** D-Bus address of the system bus (or a test bus). */
  readonly address: string;
  readonly timeoutMs?: number;
}

/** One connection to the bus; `close()` when done so the process can exit. */
export class ManagerClient {
  private readonly calls: BusClient;
  private broken: Error | undefined;
  private onBroken: ((e: Error) => void)[] = [];

  private constructor(private readonly bus: MessageBus, private readonly address: string, timeoutMs: number) {
    this.calls = new BusClient(bus, { timeoutMs, maxInFlight: 16 });
    bus.on('error', (e: Error) => {
      this.broken = e;
      for (const f of this.onBroken.splice(0)) f(e);
    });
  }

  /** Wraps a bus that is already connected (tests pass a fake). */
  static fromBus(bus: MessageBus, opts: ManagerClientOptions): ManagerClient {
    return new ManagerClient(bus, opts.address, opts.timeoutMs ?? 25_000);
  }

  /** Connects and says hello; an unreachable bus is `Unavailable` (exit 69). */
  static async connect(opts: ManagerClientOptions): Promise<ManagerClient> {
    const bus = dbus.sessionBus({ busAddress: opts.address });
    const client = ManagerClient.fromBus(bus, opts);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new ManagerCallError('Timeout', `cannot connect to the bus at ${opts.address}: timed out`)), opts.timeoutMs ?? 25_000);
      bus.once('connect', () => (clearTimeout(timer), resolve()));
      client.onBroken.push((e) => (clearTimeout(timer), reject(client.connectError(e))));
    });
    return client;
  }

  /** Calls a Manager1 method and returns the reply body; throws ManagerCallError. */
  async call(member: string, signature: string, body: unknown[], opts: { interactive?: boolean } = {}): Promise<unknown[]> {
    return this.guarded(() => this.calls.call({ ...MANAGER, member, signature, body, flags: opts.interactive ? ALLOW_INTERACTIVE_AUTHORIZATION : 0 }));
  }

  /** Calls a method that answers one JSON string, and parses it. */
  async callJson<T>(member: string, signature: string, body: unknown[], opts: { interactive?: boolean } = {}): Promise<T> {
    const [text] = await this.call(member, signature, body, opts);
    try {
      return JSON.parse(String(text)) as T;
    } catch {
      throw new ManagerCallError('Failed', `${member} returned malformed JSON`);
    }
  }

  /** All properties of the interface (Properties.GetAll), unwrapped from their variants. */
  async properties(): Promise<Record<string, unknown>> {
    const [all] = await this.guarded(() =>
      this.calls.call({ ...MANAGER, interface: 'org.freedesktop.DBus.Properties', member: 'GetAll', signature: 's', body: [MANAGER.interface] }),
    );
    return Object.fromEntries(Object.entries((all ?? {}) as Record<string, Variant>).map(([k, v]) => [k, v.value]));
  }

  close(): void {
    this.bus.disconnect();
  }

  private async guarded<T>(fn: () => Promise<T>): Promise<T> {
    if (this.broken) throw this.connectError(this.broken);
    let drop: ((e: Error) => void) | undefined;
    const lost = new Promise<never>((_, reject) => this.onBroken.push((drop = (e) => reject(this.connectError(e)))));
    try {
      return await Promise.race([fn(), lost]);
    } catch (e) {
      if (e instanceof ManagerCallError) throw e;
      if (e instanceof RemoteError) throw fromDbusError(e.remoteName, e.message.slice(e.remoteName.length + 2));
      throw new ManagerCallError('Failed', (e as Error).message ?? String(e));
    } finally {
      this.onBroken = this.onBroken.filter((f) => f !== drop);
      lost.catch(() => undefined);
    }
  }

  private connectError(e: Error): ManagerCallError {
    const errno = (e as { code?: string }).code;
    if (errno === 'ENOENT' || errno === 'ECONNREFUSED') return new ManagerCallError('Unavailable', `cannot connect to the bus at ${this.address}: ${errno} (is dbus running?)`);
    if (errno === 'EACCES') return new ManagerCallError('PermissionDenied', `cannot connect to the bus at ${this.address}: permission denied`);
    return new ManagerCallError('Unavailable', `lost the connection to the bus at ${this.address}: ${e.message}`);
  }
}
