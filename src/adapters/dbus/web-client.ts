// The client side of org.diycloud.Web1 (diycloud-web's only way into diycloudd): Login, Logout,
// Session and Call, error replies mapped to catalogue codes like diycloudctl's (fromDbusError).

import * as dbus from 'dbus-next';
import { Variant, type MessageBus } from 'dbus-next';
import { BusClient, RemoteError } from './bus-client';
import { fromDbusError, ManagerCallError } from './manager-client';
import { splitSignature } from './signature';

export const WEB1 = { destination: 'org.diycloud.Manager1', path: '/org/diycloud/Web1', interface: 'org.diycloud.Web1' } as const;

export interface LoginReply {
  readonly token: string;
  readonly csrfToken: string;
  readonly user: string;
  readonly uid: number;
  readonly role: string;
  readonly idleExpiresAt: string;
  readonly absoluteExpiresAt: string;
}

export interface SessionReply extends Omit<LoginReply, 'token'> {
  readonly can: Record<string, boolean>;
}

/** What the HTTP adapter needs of Web1 (tests pass a stub). Failures throw errors with a `code`. */
export interface Web1Port {
  login(user: string, password: string, client: { address?: string; userAgent?: string }): Promise<LoginReply>;
  logout(token: string): Promise<void>;
  session(token: string): Promise<SessionReply>;
  /** Runs Manager1.`member` as the session's user; body as for a direct call with `signature`. */
  call(token: string, member: string, signature: string, body: unknown[]): Promise<unknown[]>;
}

/** Wraps each body element in a variant of its own complete type (Web1.Call's av). Pure. */
export function wrapArgs(signature: string, body: unknown[]): Variant[] {
  const types = splitSignature(signature);
  if (types.length !== body.length) throw new ManagerCallError('InvalidArgument', `signature ${signature} has ${types.length} arguments, got ${body.length}`);
  return types.map((t, i) => new Variant(t, body[i]));
}

export class Web1Client implements Web1Port {
  private readonly calls: BusClient;
  private broken: Error | undefined;

  private constructor(private readonly bus: MessageBus, timeoutMs: number) {
    this.calls = new BusClient(bus, { timeoutMs, maxInFlight: 64 });
    bus.on('error', (e: Error) => (this.broken = e));
  }

  static fromBus(bus: MessageBus, timeoutMs = 25_000): Web1Client {
    return new Web1Client(bus, timeoutMs);
  }

  /** Connects to the bus at `address` (the system bus, or a test bus). */
  static async connect(address: string, timeoutMs = 25_000): Promise<Web1Client> {
    const bus = dbus.sessionBus({ busAddress: address });
    const client = new Web1Client(bus, timeoutMs);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new ManagerCallError('Timeout', `cannot connect to the bus at ${address}`)), timeoutMs);
      bus.once('connect', () => (clearTimeout(timer), resolve()));
      bus.once('error', (e: Error) => (clearTimeout(timer), reject(new ManagerCallError('Unavailable', `cannot connect to the bus at ${address}: ${e.message}`))));
    });
    return client;
  }

  async login(user: string, password: string, client: { address?: string; userAgent?: string }): Promise<LoginReply> {
    const info: Record<string, Variant> = {};
    if (client.address) info.address = new Variant('s', client.address);
    if (client.userAgent) info.userAgent = new Variant('s', client.userAgent.slice(0, 256));
    return this.json<LoginReply>('Login', 'ssa{sv}', [user, password, info]);
  }

  async logout(token: string): Promise<void> {
    await this.raw('Logout', 's', [token]);
  }

  async session(token: string): Promise<SessionReply> {
    return this.json<SessionReply>('Session', 's', [token]);
  }

  async call(token: string, member: string, signature: string, body: unknown[]): Promise<unknown[]> {
    const [reply] = await this.raw('Call', 'ssav', [token, member, wrapArgs(signature, body)]);
    return ((reply ?? []) as Variant[]).map((v) => (v instanceof Variant ? v.value : v));
  }

  close(): void {
    this.bus.disconnect();
  }

  private async json<T>(member: string, signature: string, body: unknown[]): Promise<T> {
    const [text] = await this.raw(member, signature, body);
    try {
      return JSON.parse(String(text)) as T;
    } catch {
      throw new ManagerCallError('Failed', `Web1.${member} returned malformed JSON`);
    }
  }

  private async raw(member: string, signature: string, body: unknown[]): Promise<unknown[]> {
    if (this.broken) throw new ManagerCallError('Unavailable', `lost the connection to the bus: ${this.broken.message}`);
    try {
      return await this.calls.call({ ...WEB1, member, signature, body });
    } catch (e) {
      if (e instanceof RemoteError) throw fromDbusError(e.remoteName, e.message.slice(e.remoteName.length + 2));
      if (e instanceof ManagerCallError) throw e;
      throw new ManagerCallError('Failed', (e as Error).message ?? String(e));
    }
  }
}
